"""Opaque cursors: where the next page of a pattern starts.

A cursor is DynamoDB's LastEvaluatedKey, tagged with the pattern it belongs to
and base64-encoded, so callers pass it back untouched and a cursor from one
pattern is never fed to another.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from typing import Any

from knight.errors import ValidationError


def encode_cursor(pattern: int, last_key: dict[str, Any]) -> str:
    payload = json.dumps({"p": pattern, "k": last_key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, pattern: int, key_attributes: Collection[str]) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor holds; ValidationError unless it came from this pattern."""
    problem = f"'{cursor[:40]}' is not a cursor of pattern {pattern}: pass back the cursor a page of it returned"
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise ValidationError(problem) from None
    if not isinstance(payload, dict) or payload.get("p") != pattern:
        raise ValidationError(problem)
    key = payload.get("k")
    # Only the key attributes of the table and the index, each a DynamoDB string.
    if (
        not isinstance(key, dict)
        or not key
        or set(key) - set(key_attributes)
        or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
    ):
        raise ValidationError(problem)
    return key
