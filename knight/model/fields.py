"""Field types of the model and the checks each applies to a value."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from decimal import Decimal

from knight.model.schema import FieldSpec

_EMAIL = re.compile(r"^[^@\s#\x00-\x1f\x7f]+@[^@\s#\x00-\x1f\x7f]+\.[^@\s#\x00-\x1f\x7f]+$")

LARGEST_WHOLE = 2**53 - 1
"""The largest whole number every JSON client (JavaScript's numbers) holds exactly."""

_UUID_AS_WRITTEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A UUID as ``str(uuid.UUID(...))`` spells it: most ids checked are, and need no parsing."""
_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
"""A ULID in Crockford's base 32 (no I, L, O, U); its first character at most 7, so that it fits 128 bits."""

_NOT_IN_ID = re.compile(r"[#\s\x00-\x1f\x7f]")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters other than tab and line breaks: never part of a name or a text."""


def _visible(text: str) -> bool:
    """Whether any character shows: a letter, digit, punctuation or symbol, not only spaces or format marks."""
    return any(unicodedata.category(ch)[0] in "LNPS" for ch in text)


def _utf8(text: str) -> None:
    """DynamoDB stores strings as UTF-8: a lone surrogate (half of a UTF-16 pair) has no encoding."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = ord(text[exc.start])
        raise ValueError(
            f"contains U+{bad:04X} at position {exc.start}, which is not a character (not UTF-8)"
        ) from None


def check_field(spec: FieldSpec, value: object) -> object:
    """``check_value`` for a field of the model: its type, and the format it asks an id to have."""
    return check_value(spec.type, value, spec.format)


def check_value(field_type: str, value: object, id_format: str | None = None) -> object:
    """Return ``value`` in its stored form, or raise ValueError saying why it is wrong.

    ``id_format`` is the format an id field asks for (``uuid``, ``ulid``), if any.
    """
    if isinstance(value, str):
        _utf8(value)
    if field_type == "id":
        return _id(value, id_format)
    if field_type == "string":
        if not isinstance(value, str) or not _visible(value):
            raise ValueError("expected a string with at least one visible character")
        if bad := _CONTROL.search(value):
            raise ValueError(f"contains the control character U+{ord(bad.group()):04X} at position {bad.start()}")
        return value
    if field_type == "email":
        if not isinstance(value, str) or not _EMAIL.match(value):
            raise ValueError(f"{value!r:.80} is not an email address such as ada@example.com")
        return value
    if field_type == "int":
        # Reads from DynamoDB give Decimal; a whole Decimal is as good as an int.
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
            raise ValueError(f"expected a whole number, got {value!r}")
        whole = int(value)
        if not 0 <= whole <= LARGEST_WHOLE:
            shown = f"{whole:.3e}" if abs(whole) > LARGEST_WHOLE else str(whole)
            raise ValueError(f"expected a whole number from 0 to {LARGEST_WHOLE:,} (2^53 - 1), got {shown}")
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


def _id(value: object, id_format: str | None) -> str:
    if not isinstance(value, str):
        wanted = f"a {id_format.upper()} string" if id_format else "a string"
        raise ValueError(f"expected an id ({wanted}), got {type(value).__name__}")
    # One spelling per id, so that a read finds what a write stored under another one.
    if id_format == "uuid":
        if _UUID_AS_WRITTEN.fullmatch(value):
            return value
        try:
            # No hyphens, braces, urn:uuid: or capitals: all read as the same UUID.
            return str(uuid.UUID(value.strip()))
        except ValueError:
            raise ValueError(f"'{value}' is not a UUID") from None
    if id_format == "ulid":
        if not _ULID.match(spelled := value.strip().upper()):
            raise ValueError(f"'{value}' is not a ULID (26 characters of Crockford's base 32)")
        return spelled
    if not value:
        raise ValueError("an id cannot be empty")
    if bad := _NOT_IN_ID.search(value):
        # A key such as h#{id}#v{version} must read back into the values it was made from.
        raise ValueError(
            f"contains {'#' if bad.group() == '#' else f'U+{ord(bad.group()):04X}'} at position {bad.start()}: "
            "an id is one word, without '#' (it separates the parts of a key) or spaces"
        )
    return value
