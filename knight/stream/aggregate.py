"""The xp aggregate: a student's xp is the sum of the xp of that student's progress items.

How it stays exact whatever the stream does: for every progress item it has
counted, the processor keeps a small **guard** item saying how much it
counted (partition ``x#<student id>``, sort key a short digest of the
progress item's table key, ``entityType`` ``xpCount``, ``xp`` the amount). A
record is applied by reconciling the progress item it names, as the table
holds it now, with that guard: when they differ, one TransactWriteItems
changes the guard (on condition that it still holds what was read, or does
not exist) and adds the difference to the student's xp (on condition that
the student exists). Applying a record again finds the guard already equal
and changes nothing, whatever the order or the number of deliveries; a
transaction cancelled because another applier got there first is reconciled
again from fresh reads. Every transaction leaves xp equal to the sum of the
student's guards.

Why items of their own: the guard used to be a ledger string on the student
item, about 21 bytes per progress item, and a student with some 19,000
progress items reached DynamoDB's 400 KB item limit. Guards grow the table,
not an item. They live in partitions no entity's key can render (checked
when the aggregate is bound), carry no index keys and a type that is no
entity of the model, so no access pattern, search document or consumer ever
takes one for an entity; the xp and search consumers ignore their records.

The student item keeps, besides xp, ``xpRevision``: a counter every write of
this processor raises by one. It does not grow, and it is how the processor
tells its own updates from anyone else's in the stream (a write that changes
xp alone looks the same either way), and what makes a recount safe: the
counter moves with every transaction, so a recount conditioned on it cannot
overwrite a change it did not see, which xp alone cannot promise (it can
come back to the value read).

A student written by anyone else (seed, import, a person setting xp by hand)
is recounted: its xp becomes the sum of its guards. A replay rebuilds from
the table instead: every progress item is reconciled with its guard, the
guards of items that are gone are dropped, then the student is recounted.
An export carries the guards with their students; an import writes the
guards first and the students next (``import_rank``), so that each
student's record is recounted with every guard in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from boto3.dynamodb.conditions import Attr

from knight.access import Pattern, Request, partition_query, table_scan
from knight.dynamodb import whole_number
from knight.errors import ModelError, NotFoundError, PoisonRecordError
from knight.model import Entity, Model


@dataclass(frozen=True)
class TargetState:
    """What a target item says about its aggregate."""

    total: int
    revision: int
    has_total: bool
    has_revision: bool


class XpAggregate:
    """Sir learn a lot's aggregate, student.xp = sum of progress.xp, resolved against the model.

    The names are the model's; binding checks that the model has them the way
    this code needs: int fields, the link in the keys, the pattern that reads
    every progress item of a student, guards apart from every entity.
    """

    target_field: ClassVar[str] = "xp"
    source_field: ClassVar[str] = "xp"
    target_link: ClassVar[str] = "id"
    source_link: ClassVar[str] = "studentId"
    """A progress item belongs to the student whose ``id`` is its ``studentId``."""
    sources_pattern: ClassVar[str] = "progress-of-student"
    """The access pattern that reads every progress item of a student (a rebuild reads them all)."""
    revision_attribute: ClassVar[str] = "xpRevision"
    guard_prefix: ClassVar[str] = "x#"
    """Guards of a student live in the partition ``x#<student id>``."""
    guard_type: ClassVar[str] = "xpCount"
    guard_field: ClassVar[str] = "xp"

    def __init__(self, model: Model) -> None:
        self.model = model
        self.target: Entity = model.entity("student")
        self.source: Entity = model.entity("progress")
        for entity, name in ((self.target, self.target_field), (self.source, self.source_field)):
            if name not in entity.fields or entity.fields[name].type != "int":
                raise ModelError(f"aggregate student.{self.target_field}: {entity.name}.{name} must be an int field")
        if self.target_link not in self.target.fields or self.source_link not in self.source.fields:
            raise ModelError(f"aggregate link student.{self.target_link} = progress.{self.source_link} names no field")
        self.sources = self._sources_pattern()
        if self.target_link not in self.target.table_keys.fields:
            raise ModelError(f"student's table key must hold {self.target_link}, which the aggregate links on")
        index = model.table_index
        if index.sort_key is None:
            raise ModelError("aggregate guards need a table with a sort key")
        self.key_names = list(index.key_names)
        self._check_guards_stand_apart()

    def _sources_pattern(self) -> Pattern:
        """The pattern a rebuild reads a student's progress items with: every one, strongly consistent."""
        where = f"aggregate student.{self.target_field}"
        try:
            pattern = self.model.pattern(self.sources_pattern)
        except NotFoundError:
            raise ModelError(f"{where}: no access pattern {self.sources_pattern!r}") from None
        own_sort = self.source.table_keys.sort
        # Every progress key of the student's partition: a sort condition, if any, is a prefix they all share.
        every = pattern.sort is None or (
            pattern.sort.operator == "begins_with"
            and (own_sort is None or own_sort.literal_prefix.startswith(pattern.sort.template.text))
        )
        if (
            pattern.entity is not self.source
            or not pattern.index.is_table
            or pattern.params != (self.source_link,)
            or not every
        ):
            raise ModelError(
                f"{where}: access pattern {pattern.number} ({pattern.name}) must read every progress item "
                f"of a student from the table, given {self.source_link}, so that a recount can query them"
            )
        return Pattern.of(pattern, self.model)

    def _check_guards_stand_apart(self) -> None:
        """Refuse a model in which an entity's or marker's table key could fall among the guards."""
        names = set(self.model.entities) | set(self.model.uniques)
        if self.guard_type in names:
            raise ModelError(f"aggregate guards' type {self.guard_type!r} is the name of an entity or a marker")
        templates = [(entity.name, entity.table_keys.partition) for entity in self.model.entities.values()]
        templates += [(unique.name, unique.keys.partition) for unique in self.model.uniques.values()]
        for name, template in templates:
            head = template.literal_prefix
            if head.startswith(self.guard_prefix) or self.guard_prefix.startswith(head):
                raise ModelError(
                    f"{name}'s partition key {template.text!r} could fall among the aggregate guards "
                    f"({self.guard_prefix}...); give the guards another prefix"
                )

    # -- items --------------------------------------------------------------

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
        if not values.get(self.source_link):
            try:
                values = self.source.values(source_item)
            except (ValueError, TypeError) as exc:
                raise PoisonRecordError(f"{where}: the {self.source.name} cannot be read ({exc})") from None
        if values.get(self.source_link) in (None, ""):
            raise PoisonRecordError(f"{where}: the {self.source.name} names no {self.source_link}")
        return self.target.key({self.target_link: values[self.source_link]})

    def amount(self, source_item: Mapping[str, Any], where: str) -> int:
        """A source item's contribution; raise PoisonRecordError when it is missing or not a whole number."""
        name = self.source_field
        if name not in source_item:
            raise PoisonRecordError(f"{where}: the {self.source.name} has no {name}")
        value = whole_number(source_item[name])
        if value is None:
            raise PoisonRecordError(f"{where}: {self.source.name}.{name} is {source_item[name]!r}, not a whole number")
        return value

    def counted_amount(self, source_item: Mapping[str, Any] | None) -> int:
        """What a source item as it is now counts for: nothing when it is gone or malformed."""
        if source_item is None or not self.is_source(source_item):
            return 0
        return whole_number(source_item.get(self.source_field)) or 0

    def state(self, target_item: Mapping[str, Any], where: str) -> TargetState:
        """The target's total and revision; raise PoisonRecordError when the total is not a whole number."""
        raw_total = target_item.get(self.target_field)
        total = 0 if raw_total is None else whole_number(raw_total)
        if total is None:
            raise PoisonRecordError(
                f"{where}: {self.target.name}.{self.target_field} is {raw_total!r}, not a whole number"
            )
        revision = whole_number(target_item.get(self.revision_attribute)) or 0
        return TargetState(total, revision, raw_total is not None, self.revision_attribute in target_item)

    # -- guards -------------------------------------------------------------

    def entry(self, source_key: Mapping[str, Any]) -> str:
        """The sort key of a source item's guard: a short digest of the item's table key."""
        text = "\x00".join(str(source_key[name]) for name in self.key_names)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def guard_partition(self, target_key: Mapping[str, Any]) -> str:
        values = self.key_values(self.target, target_key) or {}
        return self.guard_prefix + str(values.get(self.target_link, ""))

    def guard_key(self, target_key: Mapping[str, Any], source_key: Mapping[str, Any]) -> dict[str, str]:
        partition, sort = self.key_names
        return {partition: self.guard_partition(target_key), sort: self.entry(source_key)}

    def guard_item(self, guard_key: Mapping[str, str], amount: int) -> dict[str, Any]:
        return {**guard_key, self.model.type_attribute: self.guard_type, self.guard_field: amount}

    def guarded_amount(self, guard: Mapping[str, Any] | None, where: str) -> int | None:
        """What a guard says was counted; None when there is no guard."""
        if guard is None:
            return None
        value = whole_number(guard.get(self.guard_field))
        if value is None:
            key = "/".join(str(guard.get(name)) for name in self.key_names)
            raise PoisonRecordError(f"{where}: the guard {key} holds {guard.get(self.guard_field)!r}, not a count")
        return value

    def import_rank(self, item: Mapping[str, Any]) -> int:
        """Where an item (DynamoDB JSON) goes in an import: guards first, then targets, then the rest."""
        kind = item.get(self.model.type_attribute, {}).get("S")
        return 0 if kind == self.guard_type else 1 if kind == self.target.name else 2

    # -- queries ------------------------------------------------------------

    def read_projection(self) -> dict[str, Any]:
        """ProjectionExpression and names for reads of targets, sources and guards: what the handler looks at."""
        wanted = [*self.key_names, self.model.type_attribute, self.target_field, self.revision_attribute]
        wanted += [self.source_field, self.guard_field]
        names = {f"#r{n}": name for n, name in enumerate(dict.fromkeys(wanted))}
        return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}

    def guards_query(self, table: str, target_key: Mapping[str, Any]) -> Request:
        """Every guard of a target (its key and count), strongly consistent."""
        return partition_query(
            table,
            self.model.table_index,
            self.guard_partition(target_key),
            projection=[*self.key_names, self.guard_field],
            consistent=True,
        )

    def sources_query(self, table: str, target_key: Mapping[str, Any]) -> Request:
        """Every source item of a target, strongly consistent: the model's access pattern for them."""
        values = self.key_values(self.target, target_key) or {}
        # The id as the key holds it: the progress items sit under the very same text.
        return self.sources.request(
            table, {self.source_link: values[self.target_link]}, consistent=True, as_stored=True
        )

    def targets_scan(self, table: str) -> Request:
        """Every target item of the table (a replay with nothing else to go on reads them all)."""
        return table_scan(table, condition=Attr(self.model.type_attribute).eq(self.target.name))
