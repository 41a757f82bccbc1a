"""The xp aggregate: a student's xp is the sum of the xp of that student's progress items.

How it stays exact whatever the stream does: the student item carries, next to
``xp``, a ledger (``xpLedger``) of how much each progress item contributes,
keyed by a short digest of that item's key, and a revision (``xpRevision``)
that every stream update raises by one. A record is applied by reconciling the
ledger entry of the item it names with that item as it is in the table now,
in one conditional UpdateItem of the student: INSERT adds, MODIFY applies
new - old, REMOVE subtracts. Applying a record again finds the entry already
equal to the table and changes nothing, whatever the order or the number of
deliveries. Because xp and the ledger live in one item, the guard is written
atomically with the xp, and a bulk copy of the table (export, import) carries
both together.

The ledger is one string, ``<entry>=<amount>`` pairs separated by spaces in
entry order, rather than a map: it is only ever written whole, and a plain
string keeps stream records small and cheap to read (every xp update puts
the student's old and new ledger in the stream).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from knight.errors import ModelError, PoisonRecordError
from knight.model import Entity, Model


@dataclass(frozen=True)
class SumAggregate:
    """``target.target_field`` = sum of ``source.source_field`` over the linked source items."""

    target: str = "student"
    target_field: str = "xp"
    source: str = "progress"
    source_field: str = "xp"
    link: tuple[tuple[str, str], ...] = (("id", "studentId"),)
    """Pairs (target field, source field) that tie a source item to its target."""
    ledger_attribute: str = "xpLedger"
    revision_attribute: str = "xpRevision"


XP = SumAggregate()
"""Sir learn a lot's aggregate: student.xp = sum of progress.xp."""


@dataclass(frozen=True)
class LedgerState:
    """What a target item says about its aggregate."""

    total: int
    ledger: dict[str, int]
    revision: int
    has_ledger: bool
    has_revision: bool
    has_total: bool

    @property
    def consistent(self) -> bool:
        """Whether the total is the sum of the ledger, as every stream update leaves it."""
        return self.total == sum(self.ledger.values())

    def same_as(self, other: LedgerState) -> bool:
        return (self.total, self.ledger, self.revision) == (other.total, other.ledger, other.revision)


EMPTY = LedgerState(0, {}, 0, has_ledger=False, has_revision=False, has_total=False)
"""The state before a target item exists."""


def whole_number(value: Any) -> int | None:
    """The value as an int when it is a whole number (not a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float) and value == value and value % 1 == 0:  # noqa: PLR0124 (NaN check)
        return int(value)
    return None


def encode_ledger(ledger: Mapping[str, int]) -> str:
    """The ledger as stored: ``entry=amount`` pairs, separated by spaces, in entry order."""
    return " ".join(f"{entry}={amount}" for entry, amount in sorted(ledger.items()))


def decode_ledger(value: Any) -> dict[str, int]:
    """The ledger a stored value holds; raise ValueError when it is not one."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for part in value.split():
            entry, sep, text = part.partition("=")
            if not sep or not entry:
                raise ValueError(f"has {part!r}, not entry=amount")
            pairs.append((entry, text))
    else:
        raise ValueError(f"is a {type(value).__name__}, not a string")
    ledger: dict[str, int] = {}
    for entry, raw in pairs:
        counted = whole_number(raw) if not isinstance(raw, str) else _whole_text(raw)
        if counted is None:
            raise ValueError(f"gives {entry} the amount {raw!r}, not a whole number")
        ledger[entry] = counted
    return ledger


def _whole_text(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


class BoundAggregate:
    """An aggregate resolved against the model: entities, keys and the recount query."""

    def __init__(self, model: Model, spec: SumAggregate = XP) -> None:
        self.model = model
        self.spec = spec
        self.target: Entity = model.entity(spec.target)
        self.source: Entity = model.entity(spec.source)
        for entity, name in ((self.target, spec.target_field), (self.source, spec.source_field)):
            if name not in entity.fields or entity.fields[name].type != "int":
                raise ModelError(
                    f"aggregate {spec.target}.{spec.target_field}: {entity.name}.{name} must be an int field"
                )
        for target_field, source_field in spec.link:
            if target_field not in self.target.fields or source_field not in self.source.fields:
                raise ModelError(
                    f"aggregate link {spec.target}.{target_field} = {spec.source}.{source_field} names no field"
                )
        linked = {source_field for _, source_field in spec.link}
        source_keys = self.source.table_keys
        if not set(source_keys.partition.fields) <= linked:
            # The recount reads a target's source items with one Query on their partition.
            raise ModelError(
                f"{spec.source} items must be partitioned by {', '.join(sorted(linked))} "
                "so that a recount can query them"
            )
        self.key_names = [model.table_index.partition_key] + (
            [model.table_index.sort_key] if model.table_index.sort_key else []
        )

    def table_key(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.key_names if name in item}

    def is_source(self, item: Mapping[str, Any] | None) -> bool:
        return item is not None and self.model.entity_of(item) is self.source

    def is_target(self, item: Mapping[str, Any] | None) -> bool:
        return item is not None and self.model.entity_of(item) is self.target

    def key_values(self, entity: Entity, key: Mapping[str, Any]) -> dict[str, str] | None:
        """The field values a table key of ``entity`` was built from; None when the key is not one."""
        keys = entity.table_keys
        index = self.model.table_index
        values = keys.partition.parse(str(key.get(index.partition_key, "")))
        if values is None:
            return None
        if keys.sort is not None and index.sort_key is not None:
            sort = keys.sort.parse(str(key.get(index.sort_key, "")))
            if sort is None:
                return None
            values.update(sort)
        return values

    def target_key_of(self, source_item: Mapping[str, Any], where: str) -> dict[str, str]:
        """The table key of the target a source item belongs to."""
        # Read the link from the key first: the item's other fields may be malformed (a poison record).
        values: dict[str, Any] = self.key_values(self.source, self.table_key(source_item)) or {}
        if not all(values.get(source_field) for _, source_field in self.spec.link):
            try:
                values = self.source.values(source_item)
            except (ValueError, TypeError) as exc:
                raise PoisonRecordError(f"{where}: the {self.source.name} cannot be read ({exc})") from None
        linked: dict[str, object] = {}
        for target_field, source_field in self.spec.link:
            if values.get(source_field) in (None, ""):
                raise PoisonRecordError(f"{where}: the {self.source.name} names no {source_field}")
            linked[target_field] = values[source_field]
        return self.target.key(linked)

    def amount(self, source_item: Mapping[str, Any], where: str) -> int:
        """A source item's contribution; raise PoisonRecordError when it is missing or not a whole number."""
        name = self.spec.source_field
        if name not in source_item:
            raise PoisonRecordError(f"{where}: the {self.source.name} has no {name}")
        value = whole_number(source_item[name])
        if value is None:
            raise PoisonRecordError(f"{where}: {self.source.name}.{name} is {source_item[name]!r}, not a whole number")
        return value

    def counted_amount(self, source_item: Mapping[str, Any]) -> int | None:
        """What the ledger records for a source item as it is now: a malformed item counts as nothing."""
        return whole_number(source_item.get(self.spec.source_field))

    def entry(self, source_key: Mapping[str, Any]) -> str:
        """The ledger entry name of a source item: a short digest of its table key."""
        text = "\x00".join(str(source_key[name]) for name in self.key_names)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def state(self, target_item: Mapping[str, Any] | None, where: str) -> LedgerState:
        if target_item is None:
            return EMPTY
        spec = self.spec
        raw_total = target_item.get(spec.target_field)
        total = 0 if raw_total is None else whole_number(raw_total)
        if total is None:
            raise PoisonRecordError(
                f"{where}: {self.target.name}.{spec.target_field} is {raw_total!r}, not a whole number"
            )
        raw_ledger = target_item.get(spec.ledger_attribute)
        ledger: dict[str, int] = {}
        if raw_ledger is not None:
            try:
                ledger = decode_ledger(raw_ledger)
            except ValueError as exc:
                raise PoisonRecordError(f"{where}: {spec.ledger_attribute} {exc}") from None
        revision = whole_number(target_item.get(spec.revision_attribute, 0))
        return LedgerState(
            total,
            ledger,
            revision or 0,
            has_ledger=raw_ledger is not None,
            has_revision=spec.revision_attribute in target_item,
            has_total=raw_total is not None,
        )

    def recount_query(self, target_item: Mapping[str, Any]) -> dict[str, Any]:
        """Query parameters (without TableName) for every source item of a target."""
        values = self.target.values(target_item)
        linked = {source_field: values[target_field] for target_field, source_field in self.spec.link}
        keys = self.source.table_keys
        index = self.model.table_index
        names = {"#p": index.partition_key, "#t": self.model.type_attribute}
        params: dict[str, Any] = {
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {
                ":p": {"S": keys.partition.render(linked)},
                ":t": {"S": self.source.name},
            },
            "KeyConditionExpression": "#p = :p",
            "FilterExpression": "#t = :t",
            "ConsistentRead": True,
        }
        prefix = keys.sort.literal_prefix if keys.sort is not None else ""
        if prefix and index.sort_key:
            names["#s"] = index.sort_key
            params["ExpressionAttributeValues"][":s"] = {"S": prefix}
            params["KeyConditionExpression"] += " AND begins_with(#s, :s)"
        return params
