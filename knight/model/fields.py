"""Field types of the model and the checks each applies to a value."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal

_EMAIL = re.compile(r"^[^@\s#]+@[^@\s#]+\.[^@\s#]+$")


def _utf8(text: str) -> None:
    """DynamoDB stores strings as UTF-8: a lone surrogate (half of a UTF-16 pair) has no encoding."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = ord(text[exc.start])
        raise ValueError(
            f"contains U+{bad:04X} at position {exc.start}, which is not a character (not UTF-8)"
        ) from None


def check_value(field_type: str, value: object) -> object:
    """Return ``value`` in its stored form, or raise ValueError saying why it is wrong."""
    if isinstance(value, str):
        _utf8(value)
    if field_type == "id":
        if not isinstance(value, str):
            raise ValueError(f"expected an id (a UUID string), got {type(value).__name__}")
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a UUID") from None
        return value.lower()
    if field_type == "string":
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected a non-empty string")
        return value
    if field_type == "email":
        if not isinstance(value, str) or not _EMAIL.match(value):
            raise ValueError(f"'{value}' is not an email address such as ada@example.com")
        return value
    if field_type == "int":
        # Reads from DynamoDB give Decimal; a whole Decimal is as good as an int.
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
            raise ValueError(f"expected a whole number, got {value!r}")
        whole = int(value)
        if whole < 0:
            raise ValueError(f"expected a number of 0 or more, got {whole}")
        return whole
    if field_type == "datetime":
        if not isinstance(value, str):
            raise ValueError("expected an ISO-8601 date-time string")
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'{value}' is not an ISO-8601 date-time") from None
        return value
    raise ValueError(f"unknown field type '{field_type}'")
