"""Plain JSON values from what boto3's deserializer hands back."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary


def plain(value: Any) -> Any:
    """A JSON-ready copy: whole Decimals become int, others float, sets sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Binary):
        # boto3-stubs declare Binary.__bytes__ as returning str; it returns bytes.
        return base64.b64encode(bytes(value)).decode("ascii")  # type: ignore[call-overload]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value
