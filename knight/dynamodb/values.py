"""Values between Python and DynamoDB JSON, and as plain JSON.

boto3's TypeSerializer and TypeDeserializer do the conversion; this module is
the one place knight calls them, so that every write reports a value DynamoDB
cannot hold the same way, and every JSON output writes numbers, sets and bytes
the same way.
"""

from __future__ import annotations

import base64
import decimal
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from knight.errors import ValidationError
from knight.limits import located, number_range

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attribute(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value ({"S": ...}, {"N": ...})."""
    return dict(_serializer.serialize(value))


def to_dynamodb(values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Python values in DynamoDB JSON; ValidationError for a value DynamoDB cannot hold."""
    wire: dict[str, Any] = {}
    for name, value in values.items():
        try:
            wire[name] = _serializer.serialize(value)
        except decimal.DecimalException:
            raise ValidationError(f"{located(where, name)}: {value!r} {number_range()}") from None
        except TypeError as exc:
            raise ValidationError(f"{located(where, name)}: {exc}") from None
    return wire


def from_dynamodb(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (or key) in DynamoDB JSON as Python values."""
    values: dict[str, Any] = {}
    for name, value in item.items():
        # Most values are strings, which boto3 hands back as they are; its deserializer looks up a
        # method by name for each value, three quarters of a large read's decoding time.
        text = value.get("S") if len(value) == 1 else None
        values[name] = text if type(text) is str else _deserializer.deserialize(value)
    return values


def plain(value: Any) -> Any:
    """A JSON-ready copy of Python values as read from DynamoDB.

    Whole Decimals become int, others float; sets become sorted lists; bytes
    (and boto3's Binary) become base64 text, as DynamoDB's own JSON writes them.
    """
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        members = [_bytes(member) if isinstance(member, Binary) else member for member in value]
        try:
            ordered = sorted(members)
        except TypeError:  # a set of mixed types, which DynamoDB never returns
            ordered = sorted(members, key=repr)
        return [plain(member) for member in ordered]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Binary):
        return _base64(_bytes(value))
    if isinstance(value, bytes | bytearray):
        return _base64(value)
    return value


def whole_number(value: Any) -> int | None:
    """The value as an int when it is a whole number (a Decimal as read, an int or a float; not a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float) and value == value and value % 1 == 0:  # noqa: PLR0124 (NaN check)
        return int(value)
    return None


def _bytes(value: Binary) -> bytes:
    # boto3-stubs declare Binary.__bytes__ as returning str; it returns bytes.
    data: bytes = bytes(value)  # type: ignore[call-overload]
    return data


def _base64(data: bytes | bytearray) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")
