"""DynamoDB's own rules for an item, checked before anything is written.

DynamoDB refuses an item whose number has more than 38 digits, whose key is
too long or which is over 400 KB, and the embedded engine accepts many of
them. Every write knight makes (repositories, seed, import) goes through
``knight.dynamodb.to_dynamodb`` and ``check_item`` here, so a bad value is a
VALIDATION error naming the limit, and nothing of the request is written. Sizes follow the
developer guide's "item sizes and formats" section.
"""

from __future__ import annotations

import base64
import binascii
import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from knight.errors import ValidationError

ITEM_BYTES = 400 * 1024
"""The largest item DynamoDB stores: attribute names and values together."""

PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024
NUMBER_DIGITS = 38
"""Significant digits a DynamoDB number keeps; more is an error, not rounding."""

NUMBER_LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")
NUMBER_SMALLEST = Decimal("1E-130")
"""The smallest magnitude a number other than zero may have."""

NESTING = 32
"""Levels of lists and maps inside one attribute."""

NAME_BYTES = 65535
KEY_NAME_BYTES = 255

_SETS = {"SS": "S", "NS": "N", "BS": "B"}


@dataclass(frozen=True)
class KeyRule:
    """An attribute some index is keyed on: a non-empty string no longer than ``max_bytes``."""

    name: str
    max_bytes: int
    required: bool
    """Only the table's own key must be on every item; an item without a GSI's key is left out of it."""


def key_rules(table: tuple[str, str | None], indexes: Iterable[tuple[str, str | None]] = ()) -> list[KeyRule]:
    """The key rules of a table keyed on ``table`` (partition, sort) with GSIs keyed on ``indexes``."""
    rules: dict[str, KeyRule] = {}
    for (partition, sort), required in [(table, True), *((index, False) for index in indexes)]:
        for name, most in ((partition, PARTITION_KEY_BYTES), (sort, SORT_KEY_BYTES)):
            if name is None:
                continue
            known = rules.get(name, KeyRule(name, most, required))
            rules[name] = KeyRule(name, min(most, known.max_bytes), required or known.required)
    return list(rules.values())


def check_item(item: Mapping[str, Any], keys: Sequence[KeyRule], where: str = "") -> int:
    """Raise ValidationError for the first rule the item (DynamoDB JSON) breaks; return its size in bytes."""
    for rule in keys:
        if rule.name in item:
            _check_key(item[rule.name], rule, where)
        elif rule.required:
            raise ValidationError(f"{located(where, rule.name)}: the table's key attribute is missing")
    size = item_bytes(item, where)
    if size > ITEM_BYTES:
        raise ValidationError(f"{where or 'the item'}: {size:,} bytes; DynamoDB stores items of at most {ITEM_BYTES:,}")
    return size


def item_bytes(item: Mapping[str, Any], where: str = "") -> int:
    """The size DynamoDB counts for an item (DynamoDB JSON): UTF-8 names plus values."""
    return sum(_check_name(name, where) + check_value(value, located(where, name)) for name, value in item.items())


def check_values(values: Mapping[str, Any], where: str = "") -> None:
    """Check values an update sets (DynamoDB JSON): each must be a value DynamoDB can hold."""
    for name, value in values.items():
        size = check_value(value, located(where, name))
        if size > ITEM_BYTES:
            raise ValidationError(f"{located(where, name)}: {size:,} bytes; an item holds at most {ITEM_BYTES:,}")


def check_value(value: Any, where: str, depth: int = 0) -> int:
    """The size in bytes of one attribute value (DynamoDB JSON), once it is known to be valid."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValidationError(f'{where}: expected one type and its value, such as {{"S": "text"}}')
    ((kind, body),) = value.items()
    if kind == "S":
        return _string(body, where)
    if kind == "N":
        return _number(body, where)
    if kind == "B":
        return len(_binary(body, where))
    if kind == "BOOL":
        if not isinstance(body, bool):
            raise ValidationError(f"{where}: BOOL takes true or false, not {body!r}")
        return 1
    if kind == "NULL":
        if body is not True:
            raise ValidationError(f"{where}: NULL takes true, not {body!r}")
        return 1
    if kind in ("L", "M"):
        if depth >= NESTING:
            raise ValidationError(f"{where}: lists and maps nest at most {NESTING} levels deep")
        if kind == "L":
            if not isinstance(body, list):
                raise ValidationError(f"{where}: L takes a list")
            return 3 + sum(check_value(v, f"{where}[{i}]", depth + 1) + 1 for i, v in enumerate(body))
        if not isinstance(body, Mapping):
            raise ValidationError(f"{where}: M takes an object")
        return 3 + sum(_check_name(k, where) + check_value(v, f"{where}.{k}", depth + 1) + 1 for k, v in body.items())
    if kind in _SETS:
        return _set(kind, body, where)
    raise ValidationError(f"{where}: {kind!r} is not a DynamoDB type (S, N, B, BOOL, NULL, L, M, SS, NS, BS)")


def _check_key(value: Any, rule: KeyRule, where: str) -> None:
    at = located(where, rule.name)
    if not isinstance(value, Mapping) or set(value) != {"S"} or not isinstance(value["S"], str):
        raise ValidationError(f'{at}: a key attribute is a string ({{"S": ...}}), not {value!r:.60}')
    size = _string(value["S"], at)
    if size == 0:
        raise ValidationError(f"{at}: a key attribute cannot be an empty string")
    if size > rule.max_bytes:
        role = "partition" if rule.max_bytes == PARTITION_KEY_BYTES else "sort"
        shown = value["S"][:24] + "..."
        raise ValidationError(
            f"{at} {shown!r}: {size:,} bytes; DynamoDB takes a {role} key of at most {rule.max_bytes:,} bytes (UTF-8)"
        )


def _check_name(name: Any, where: str) -> int:
    if not isinstance(name, str) or not name:
        raise ValidationError(f"{where or 'the item'}: attribute names are non-empty strings, not {name!r}")
    size = _string(name, f"{where} attribute name {name[:40]!r}")
    if size > NAME_BYTES:
        raise ValidationError(f"{where}: an attribute name of {size:,} bytes; at most {NAME_BYTES:,}")
    return size


def _string(text: Any, where: str) -> int:
    if not isinstance(text, str):
        raise ValidationError(f"{where}: S takes a string, not {text!r:.60}")
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{where}: U+{ord(text[exc.start]):04X} at position {exc.start} is half of a UTF-16 pair, "
            "not a character; DynamoDB stores UTF-8"
        ) from None


def _number(text: Any, where: str) -> int:
    if not isinstance(text, str):
        raise ValidationError(f'{where}: N takes a number written as a string, such as {{"N": "42"}}')
    try:
        number = Decimal(text.strip())
    except decimal.InvalidOperation:
        raise ValidationError(f"{where}: {text[:60]!r} is not a number") from None
    if not number.is_finite():
        raise ValidationError(f"{where}: {text!r} is not a finite number; DynamoDB has no NaN or Infinity")
    # Significant digits, counted without rounding (normalize() would round to the context's 28).
    digits = "".join(map(str, number.as_tuple().digits)).strip("0") or "0"
    if len(digits) > NUMBER_DIGITS or (number and not NUMBER_SMALLEST <= abs(number) <= NUMBER_LARGEST):
        raise ValidationError(f"{where}: {text[:60]} {number_range()}")
    return (len(digits) + 1) // 2 + 1


def _binary(body: Any, where: str) -> bytes:
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise ValidationError(f"{where}: B takes base64 text") from None
    raise ValidationError(f"{where}: B takes bytes (base64 in JSON)")


def _set(kind: str, body: Any, where: str) -> int:
    if not isinstance(body, list):
        raise ValidationError(f"{where}: {kind} takes a list")
    if not body:
        raise ValidationError(f"{where}: an empty set; DynamoDB stores no empty {kind} (remove the attribute)")
    member = _SETS[kind]
    sizes = [check_value({member: element}, f"{where}[{i}]") for i, element in enumerate(body)]
    as_keys = [Decimal(e) if kind == "NS" else (_binary(e, where) if kind == "BS" else e) for e in body]
    if len(set(as_keys)) != len(as_keys):
        raise ValidationError(f"{where}: a set holds each value once; {kind} repeats one")
    return 3 + sum(size + 1 for size in sizes)


def located(where: str, name: str) -> str:
    """``where: name`` for a message, or just ``name`` when nothing says where."""
    return f"{where}: {name}" if where else name


def number_range() -> str:
    """What is wrong with a number DynamoDB cannot hold, to follow the number in a message."""
    return (
        f"is out of DynamoDB's range for numbers: at most {NUMBER_DIGITS} significant digits, "
        f"magnitude from {NUMBER_SMALLEST} to about 1E+126"
    )
