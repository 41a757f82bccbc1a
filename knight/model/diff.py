"""What a change of the model does to the items already in its table.

``diff_models`` compares two loaded models part by part and says, for each
difference, what it means for data written under the old model: whether the
new model still finds those items where it looks, whether every index holds
them, whether they carry every value it requires. ``render`` writes it as a
report. Descriptions, summaries and examples are documentation, and seed
settings shape only generated data: none of them is compared (the examples
only show what a key change does to an item).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from knight.errors import ValidationError
from knight.model.model import AccessPattern, Entity, EntityKeys, Model, Unique
from knight.model.schema import BASE_TABLE, FieldSpec

State = Literal["unreadable", "unindexed", "incomplete", "mistyped", "unguarded", "stray"]

STATES: Mapping[State, str] = {
    "unreadable": "not found where the new model looks for them",
    "unindexed": "missing from an index, or under an old key in it",
    "incomplete": "lacking a value the new model requires",
    "mistyped": "holding values the new field type may refuse",
    "unguarded": "without a uniqueness marker where the new model puts one",
    "stray": "left in the table, where a pattern of the new model still reads them",
}
"""What existing items in each state are, in the report's words."""

_MISPLACED: frozenset[State] = frozenset({"unreadable", "unindexed"})
"""The states in which a pattern of the new model misses existing items."""

SECTIONS = ("Table and indexes", "Entities and keys", "Access patterns")

_SECTION_OF = {
    "table": SECTIONS[0],
    "index": SECTIONS[0],
    "prefix": SECTIONS[1],
    "entity": SECTIONS[1],
    "key": SECTIONS[1],
    "field": SECTIONS[1],
    "attribute": SECTIONS[1],
    "unique": SECTIONS[1],
    "pattern": SECTIONS[2],
    "collection": SECTIONS[2],
}

# Every value of the narrower type passes the wider type's check, so stored values stay valid.
_WIDENINGS = {("id", "string"), ("email", "string"), ("datetime", "string")}

_SEED_RULES = frozenset({"refers", "faker", "range", "choices"})
"""Field options that say what `knight seed` makes, never what a write accepts."""

_BASIC = frozenset({"type", "required"})

_WIDTH = 110
"""The report's line width."""

_PUT_AND_DELETE = "put each item under the new primary key, then delete the old one (a key never changes in place)"


@dataclass(frozen=True)
class Backfill:
    """Existing items of one entity that must be rewritten, and how."""

    entity: str
    state: State
    target: str
    """The index, field, attribute or marker the rewrite is about."""
    action: str
    reason: str
    misses: tuple[str, ...] = ()
    """Access patterns of the new model that miss these items until they are rewritten."""


@dataclass(frozen=True)
class Change:
    """One difference between the models and what it means for existing items."""

    kind: str
    subject: str
    old: str
    new: str
    effect: str
    backfills: tuple[Backfill, ...] = ()

    @property
    def section(self) -> str:
        return _SECTION_OF[self.kind.split("-")[0]]


@dataclass(frozen=True)
class KeyMove:
    """One key attribute of an example item that the two models write differently (None: not written)."""

    attribute: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class KeyExample:
    """An example item of an entity whose keys changed, as each model writes it."""

    entity: str
    moves: tuple[KeyMove, ...]


@dataclass(frozen=True)
class ModelDiff:
    """Every difference between two models, and which existing items need a backfill."""

    old_name: str
    new_name: str
    changes: tuple[Change, ...]
    examples: tuple[KeyExample, ...]
    kept: tuple[str, ...]
    """The entities both models have: the ones with items in the table that the new model reads."""

    @property
    def backfills(self) -> tuple[Backfill, ...]:
        """Each rewrite once, the first change that asks for it giving its reason."""
        found: dict[tuple[str, State, str], Backfill] = {}
        for change in self.changes:
            for backfill in change.backfills:
                found.setdefault((backfill.entity, backfill.state, backfill.target), backfill)
        return tuple(found.values())

    @property
    def backfill_needed(self) -> bool:
        return bool(self.backfills)

    @property
    def unreadable(self) -> tuple[str, ...]:
        return self._entities_in("unreadable")

    @property
    def unindexed(self) -> tuple[str, ...]:
        return self._entities_in("unindexed")

    @property
    def fine(self) -> tuple[str, ...]:
        """Kept entities whose existing items the new model reads as they are."""
        rewritten = {backfill.entity for backfill in self.backfills}
        return tuple(name for name in self.kept if name not in rewritten)

    @property
    def left_behind(self) -> tuple[str, ...]:
        """Removed entities: their items stay in the table."""
        return tuple(change.subject for change in self.changes if change.kind == "entity-removed")

    @property
    def verdict(self) -> str:
        """The report's last line: whether existing items must be rewritten, and which."""
        if self.backfill_needed:
            needs = ", ".join(f"{b.entity} ({b.state}, {b.target})" for b in self.backfills)
            return f"backfill needed: {needs}"
        if not self.changes:
            return "no backfill needed: the models are the same"
        return "no backfill needed: the new model finds, indexes and reads every existing item as it is"

    @property
    def check_status(self) -> int:
        """The exit status of a check: 1 when existing items must be rewritten, else 0."""
        return 1 if self.backfill_needed else 0

    def _entities_in(self, state: State) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.entity for b in self.backfills if b.state == state))


def diff_models(old: Model, new: Model) -> ModelDiff:
    """Compare two models: each difference, its effect on existing items, and the backfills it needs."""
    differ = _Differ(old, new)
    data = [
        *differ.table(),
        *differ.indexes(),
        *differ.prefixes(),
        *differ.entities(),
        *differ.uniques(),
    ]
    misplaced = {(b.entity, b.target) for change in data for b in change.backfills if b.state in _MISPLACED}
    changes = [*data, *differ.patterns(misplaced), *differ.collections()]
    changes.sort(key=lambda change: SECTIONS.index(change.section))
    return ModelDiff(
        old_name=old.path.name,
        new_name=new.path.name,
        changes=tuple(changes),
        examples=tuple(differ.examples()),
        kept=differ.kept,
    )


class _Differ:
    """The comparisons, one method per part of the model."""

    def __init__(self, old: Model, new: Model) -> None:
        self.old = old
        self.new = new
        self.kept = tuple(name for name in new.entities if name in old.entities)

    # Table and indexes.

    def table(self) -> Iterator[Change]:
        old, new = self.old.spec.table, self.new.spec.table
        if old.name != new.name:
            yield Change(
                "table-changed",
                "table.name",
                old.name,
                new.name,
                f"the new model reads table {new.name}; existing items stay in {old.name}: copy every item",
                self._copies(f"the new model reads table {new.name}"),
            )
        old_keys, new_keys = _names(old.keys.partition, old.keys.sort), _names(new.keys.partition, new.keys.sort)
        if old_keys != new_keys:
            yield Change(
                "table-changed",
                "table.keys",
                old_keys,
                new_keys,
                "DynamoDB never changes a table's key attributes: this is a new table, every item copied into it",
                self._copies(f"the new table is keyed on {new_keys}"),
            )
        if old.stream != new.stream:
            yield Change(
                "table-changed",
                "table.stream",
                old.stream,
                new.stream,
                "a stream's view type changes only by disabling it and enabling a new stream (a new ARN) that "
                "consumers must read; items untouched",
            )
        if old.billing != new.billing:
            yield Change(
                "table-changed", "table.billing", old.billing, new.billing, "how reads are paid; items untouched"
            )
        if old.entityTypeAttribute != new.entityTypeAttribute:
            yield self._type_attribute(old.entityTypeAttribute, new.entityTypeAttribute)
        old_deployment, new_deployment = old.deployment.model_dump(), new.deployment.model_dump()
        for setting, value in old_deployment.items():
            if new_deployment[setting] != value:
                yield Change(
                    "table-changed",
                    f"table.deployment.{setting}",
                    str(value),
                    str(new_deployment[setting]),
                    "a setting of the table, not of its items: no backfill",
                )

    def _copies(self, reason: str) -> tuple[Backfill, ...]:
        action = "copy each item into the new table with its new keys (uniqueness markers too)"
        return tuple(
            Backfill(name, "unreadable", BASE_TABLE, action, reason, self._readers(name, None)) for name in self.kept
        )

    def _type_attribute(self, old: str, new: str) -> Change:
        backfills = tuple(
            Backfill(name, "incomplete", new, f"set {new} = {name} on each item", f"existing items carry {old}")
            for name in self.kept
        )
        return Change(
            "table-changed",
            "table.entityTypeAttribute",
            old,
            new,
            f"knight tells an item's entity by {new}; existing items carry it in {old}: set {new} on each",
            backfills,
        )

    def indexes(self) -> Iterator[Change]:
        old, new = self.old.spec.indexes, self.new.spec.indexes
        for name, spec in old.items():
            if name not in new:
                yield self._index_removed(name)
            elif spec.keys != new[name].keys:
                yield self._index_rekeyed(name)
            elif spec.projection != new[name].projection:
                yield Change(
                    "index-changed",
                    name,
                    f"projection {spec.projection}",
                    f"projection {new[name].projection}",
                    "a projection never changes in place: the index is deleted and built anew from the items "
                    "(no backfill); it answers no query while it builds",
                )
        for name in new:
            if name not in old:
                yield self._index_added(name)

    def _index_removed(self, name: str) -> Change:
        index = self.old.indexes[name]
        users = [entity.name for entity in self.old.entities.values() if name in entity.keys]
        keep = f"; {', '.join(users)} items keep {', '.join(index.key_names)} (harmless; a cleanup can remove them)"
        return Change(
            "index-removed",
            name,
            _names(index.partition_key, index.sort_key),
            "",
            "DynamoDB deletes the index" + (keep if users else ""),
        )

    def _index_rekeyed(self, name: str) -> Change:
        old, new = self.old.indexes[name], self.new.indexes[name]
        backfills = self._index_backfills(name)
        return Change(
            "index-changed",
            name,
            _names(old.partition_key, old.sort_key),
            _names(new.partition_key, new.sort_key),
            "a GSI's keys never change in place: the index is deleted and created anew; "
            + _carried(backfills)
            + self._also_carried(name),
            backfills,
        )

    def _index_added(self, name: str) -> Change:
        index = self.new.indexes[name]
        users = [entity.name for entity in self.new.entities.values() if name in entity.keys]
        backfills = self._index_backfills(name)
        if not users:
            effect = "an empty index: no entity has keys on it yet"
        elif not any(user in self.kept for user in users):
            effect = f"only new entities ({', '.join(users)}) have keys on it: nothing to backfill"
        else:
            effect = "a new GSI; " + _carried(backfills)
        effect += self._also_carried(name)
        return Change("index-added", name, "", _names(index.partition_key, index.sort_key), effect, backfills)

    def _also_carried(self, name: str) -> str:
        """The kept entities without keys on a new index whose items carry its key attributes all the same."""
        index = self.new.indexes[name]
        carriers = [
            entity
            for entity in self.kept
            if name not in self.new.entities[entity].keys
            and set(index.key_names) <= _written(self.old.entities[entity]).keys()
        ]
        if not carriers:
            return ""
        # DynamoDB indexes what an item carries, not what the model says the item is.
        return f"; {', '.join(carriers)} items carry {', '.join(index.key_names)} too, so it holds them as well"

    def _index_backfills(self, index: str) -> tuple[Backfill, ...]:
        found = (self._key_backfill(name, index) for name in self.kept if index in self.new.entities[name].keys)
        return tuple(backfill for backfill in found if backfill is not None)

    def _key_backfill(self, name: str, index: str) -> Backfill | None:
        """The rewrite that existing items of a kept entity need to sit where the new keys on ``index`` put them."""
        written = _written(self.old.entities[name])
        needed = _key_texts(self.new.entities[name].keys[index])
        missing = [attribute for attribute, text in needed.items() if written.get(attribute) != text]
        if not missing:
            return None
        absent = [attribute for attribute in missing if attribute not in written]
        reasons = [f"{a} is now {needed[a]}, was {written[a]}" for a in missing if a in written]
        reasons += [f"its items carry no {', '.join(absent)}"] if absent else []
        reason = "; ".join(reasons)
        misses = self._readers(name, index)
        if index == BASE_TABLE:
            return Backfill(name, "unreadable", index, _PUT_AND_DELETE, reason, misses)
        return Backfill(name, "unindexed", index, f"update each item to set {', '.join(missing)}", reason, misses)

    def _readers(self, entity: str, index: str | None) -> tuple[str, ...]:
        """The new model's patterns that read this entity (on this index, or on any)."""
        return tuple(
            pattern.name
            for pattern in self.new.access_patterns.values()
            if pattern.entity.name == entity and index in (None, pattern.index.name)
        )

    def prefixes(self) -> Iterator[Change]:
        for change in _mapping_changes("prefix", "prefixes.", self.old.spec.prefixes, self.new.spec.prefixes):
            yield Change(*change, "a declaration of what a key prefix names: no data change")

    # Entities and keys.

    def entities(self) -> Iterator[Change]:
        for name, entity in self.old.entities.items():
            if name not in self.new.entities:
                yield self._entity_removed(entity)
        for name in self.new.entities:
            if name not in self.old.entities:
                where = _keys_text(self.new.entities[name].table_keys)
                yield Change("entity-added", name, "", where, "a new kind of item: nothing to backfill")
        for name in self.kept:
            yield from self.fields(name)
            yield from self.attributes(name)
            yield from self.keys(name)

    def _entity_removed(self, entity: Entity) -> Change:
        readers = ", ".join(sorted({p.name for item in _example_items(entity) for p in self._reading(item)}))
        where = _keys_text(entity.table_keys)
        if not readers:
            effect = "its items stay in the table, read by no pattern (delete them to stop paying for them)"
            return Change("entity-removed", entity.name, where, "", effect)
        effect = f"its items stay in the table, and {readers} still reads their partition: delete them"
        reason = f"{readers} reads the partitions they sit in and returns them"
        backfill = Backfill(entity.name, "stray", BASE_TABLE, "delete each item", reason)
        return Change("entity-removed", entity.name, where, "", effect, (backfill,))

    def _reading(self, item: Mapping[str, Any]) -> Iterator[AccessPattern]:
        """The new model's patterns whose request would return this item."""
        for pattern in self.new.access_patterns.values():
            index = pattern.index
            partition, sort = item.get(index.partition_key), item.get(index.sort_key or "")
            if partition is None or not pattern.partition.matches(str(partition)):
                continue
            if pattern.sort is None or (sort is not None and _admits(pattern, str(sort))):
                yield pattern

    def fields(self, entity: str) -> Iterator[Change]:
        old, new = self.old.entities[entity].fields, self.new.entities[entity].fields
        for name, spec in old.items():
            subject = f"{entity}.fields.{name}"
            if name not in new:
                effect = f"existing items keep their {name} values; the new model reads none of them: no backfill"
                yield Change("field-removed", subject, _field_text(spec), "", effect)
            elif _rules(spec) != _rules(new[name]):
                yield self._field_changed(entity, name, spec, new[name])
        for name, spec in new.items():
            if name not in old:
                yield self._field_added(entity, name, spec)

    def _field_added(self, entity: str, name: str, spec: FieldSpec) -> Change:
        subject = f"{entity}.fields.{name}"
        if not spec.required:
            effect = "optional: existing items read it as null; no backfill"
            return Change("field-added", subject, "", _field_text(spec), effect)
        effect = (
            f"required: existing items lack it, and a write of one without it is refused; backfill {name} "
            "or make it optional"
        )
        return Change("field-added", subject, "", _field_text(spec), effect, (self._fill(entity, name),))

    def _fill(self, entity: str, name: str) -> Backfill:
        """Setting a required value the items lack, from the old keys that hold it if any do."""
        action = f"set {name} on each item"
        holders = _holders(self.old.entities[entity], name)
        if holders:
            action += f" (its value is in {', '.join(holders)})"
        return Backfill(entity, "incomplete", name, action, f"{name} is required and items lack it")

    def _field_changed(self, entity: str, name: str, old: FieldSpec, new: FieldSpec) -> Change:
        effects: list[str] = []
        backfills: list[Backfill] = []
        if old.type != new.type:
            if (old.type, new.type) in _WIDENINGS:
                effects.append(f"every {old.type} is a valid {new.type}: no backfill")
            else:
                effects.append(f"stored values were checked as {old.type}, a {new.type} check may refuse them")
                action = f"convert each stored {name} to a {new.type}"
                backfills.append(
                    Backfill(entity, "mistyped", name, action, f"{name} was {old.type}, is now {new.type}")
                )
        if new.required and not old.required:
            effects.append(
                f"now required: items written without it fail the next write; backfill {name} or keep it optional"
            )
            backfills.append(self._fill(entity, name))
        elif old.required and not new.required:
            effects.append("now optional: every existing value stays valid; no backfill")
        effects += _rule_effects(name, old, new)
        return Change(
            "field-changed",
            f"{entity}.fields.{name}",
            _field_text(old),
            _field_text(new),
            "; ".join(effects),
            tuple(backfills),
        )

    def attributes(self, entity: str) -> Iterator[Change]:
        old, new = self.old.entities[entity], self.new.entities[entity]
        for name in old.attributes:
            if name not in new.attributes:
                effect = (
                    "existing items keep it; the new model neither writes nor reads it "
                    "(harmless; a cleanup can remove it)"
                )
                yield Change("attribute-removed", f"{entity}.attributes.{name}", name, "", effect)
        for name in new.attributes:
            if name not in old.attributes:
                yield self._attribute_added(entity, name)

    def _attribute_added(self, entity: str, name: str) -> Change:
        spec = self.new.entities[entity].fields[name]
        if any(name in keys.fields for keys in self.new.entities[entity].keys.values()):
            lacks = (
                f"existing items lack it: knight reads {name} back from the key, but a filter or any other "
                "reader of the attribute finds none"
            )
        else:
            lacks = "existing items lack it: reads give null"
        if not spec.required:
            return Change("attribute-added", f"{entity}.attributes.{name}", "", name, f"{lacks}; optional: no backfill")
        effect = f"{lacks}; required: backfill it"
        return Change("attribute-added", f"{entity}.attributes.{name}", "", name, effect, (self._fill(entity, name),))

    def keys(self, entity: str) -> Iterator[Change]:
        old, new = self.old.entities[entity].keys, self.new.entities[entity].keys
        for index, keys in old.items():
            if index not in new and index in self.new.indexes:
                attributes = ", ".join(keys.index.key_names)
                effect = (
                    f"existing items keep {attributes}, so they stay in {index} (and pay its writes) "
                    "until those are removed"
                )
                yield Change("key-removed", f"{entity}.keys.{index}", _keys_text(keys), "", effect)
        for index, keys in new.items():
            before = old.get(index)
            if before is None:
                yield self._key_added(entity, index, keys)
            elif _templates(before) != _templates(keys):
                yield self._key_changed(entity, index, before, keys)

    def _key_added(self, entity: str, index: str, keys: EntityKeys) -> Change:
        backfill = self._key_backfill(entity, index)
        attributes = ", ".join(keys.index.key_names)
        if backfill is None:
            effect = f"existing items already carry {attributes} with these values: DynamoDB indexes them; no backfill"
            return Change("key-added", f"{entity}.keys.{index}", "", _keys_text(keys), effect)
        effect = (
            f"existing items lack {attributes}: DynamoDB indexes an item only by the attributes it carries; "
            "backfill them"
        )
        return Change("key-added", f"{entity}.keys.{index}", "", _keys_text(keys), effect, (backfill,))

    def _key_changed(self, entity: str, index: str, old: EntityKeys, new: EntityKeys) -> Change:
        backfill = self._key_backfill(entity, index)
        subject = f"{entity}.keys.{index}"
        if backfill is None:
            effect = "existing items already carry these key values: no backfill"
        elif index == BASE_TABLE:
            effect = (
                "existing items stay under the old key; the new model looks under the new one and misses them, "
                "and writing one again makes a second copy: put each under the new key and delete the old"
            )
        else:
            effect = (
                f"existing items stay in {index} under the old key: a Query with the new one misses them until "
                "each is updated to carry the new key"
            )
        return Change("key-changed", subject, _keys_text(old), _keys_text(new), effect, _maybe(backfill))

    def uniques(self) -> Iterator[Change]:
        old, new = self.old.uniques, self.new.uniques
        for name, unique in old.items():
            if name not in new:
                effect = (
                    "its markers stay in the table, guarding nothing (a cleanup can delete them); "
                    "writes no longer check the value"
                )
                yield Change("unique-removed", f"uniques.{name}", _unique_text(unique), "", effect)
            elif _unique_key(unique) != _unique_key(new[name]):
                yield self._unique_changed(unique, new[name])
            elif unique.attributes != new[name].attributes:
                effect = "existing markers keep the old attributes; uniqueness does not read them: no backfill"
                yield Change(
                    "unique-changed",
                    f"uniques.{name}",
                    ", ".join(unique.attributes),
                    ", ".join(new[name].attributes),
                    effect,
                )
        for name, unique in new.items():
            if name not in old:
                yield self._unique_added(unique)

    def _unique_added(self, unique: Unique) -> Change:
        owner = unique.entity.name
        subject = f"uniques.{unique.name}"
        if owner not in self.kept:
            return Change("unique-added", subject, "", _unique_text(unique), f"{owner} is new: nothing to backfill")
        effect = (
            f"existing {owner} items have no marker: a write with a value one of them holds is not refused; "
            "put their markers (settle any duplicates first)"
        )
        action = "put a marker for each existing item (settle any duplicates first)"
        backfill = Backfill(owner, "unguarded", unique.name, action, "the markers do not exist yet")
        return Change("unique-added", subject, "", _unique_text(unique), effect, (backfill,))

    def _unique_changed(self, old: Unique, new: Unique) -> Change:
        owner = new.entity.name
        effect = (
            "existing markers sit under the old key and no longer guard: a write with a value already taken is "
            "not refused; put each marker under the new key and delete the old"
        )
        backfills: tuple[Backfill, ...] = ()
        if owner in self.kept:
            action = "put each marker under the new key, then delete the old one"
            backfills = (Backfill(owner, "unguarded", new.name, action, "the marker key changed"),)
        return Change("unique-changed", f"uniques.{new.name}", _unique_text(old), _unique_text(new), effect, backfills)

    # Access patterns.

    def patterns(self, misplaced: set[tuple[str, str]]) -> Iterator[Change]:
        old = {pattern.name: pattern for pattern in self.old.access_patterns.values()}
        new = {pattern.name: pattern for pattern in self.new.access_patterns.values()}
        for name, pattern in old.items():
            if name not in new:
                yield Change(
                    "pattern-removed", f"pattern {name}", _pattern_text(pattern), "", "no longer read; items untouched"
                )
        for name, pattern in new.items():
            catch = _catch_up(pattern, misplaced)
            if name not in old:
                effect = "a new read: it needs no data change" if not catch else f"a new read{catch}"
                yield Change("pattern-added", f"pattern {name}", "", _pattern_text(pattern), effect)
                continue
            parts = _pattern_differences(old[name], pattern)
            if parts:
                effect = f"{', '.join(parts)} changed: another request, the items are untouched{catch}"
                yield Change(
                    "pattern-changed", f"pattern {name}", _pattern_text(old[name]), _pattern_text(pattern), effect
                )

    def collections(self) -> Iterator[Change]:
        old = {
            name: _collection_text(c.index.name, [p.name for p in c.patterns])
            for name, c in self.old.collections.items()
        }
        new = {
            name: _collection_text(c.index.name, [p.name for p in c.patterns])
            for name, c in self.new.collections.items()
        }
        effects = {
            "added": "one Query of the partition now answers these patterns together; no data change",
            "removed": "these patterns are read one by one again; no data change",
            "changed": "which patterns one Query answers together; no data change",
        }
        for kind, subject, before, after in _mapping_changes("collection", "collection ", old, new):
            yield Change(kind, subject, before, after, effects[kind.split("-")[1]])

    # Examples.

    def examples(self) -> Iterator[KeyExample]:
        attributes = list(dict.fromkeys([*self.old.key_attributes, *self.new.key_attributes]))
        for name in self.kept:
            items = _example_pair(self.old.entities[name], self.new.entities[name])
            if items is None:
                continue
            before, after = items
            moves = tuple(
                KeyMove(attribute, _text(before.get(attribute)), _text(after.get(attribute)))
                for attribute in attributes
                if before.get(attribute) != after.get(attribute)
            )
            if moves:
                yield KeyExample(name, moves)


def _maybe(backfill: Backfill | None) -> tuple[Backfill, ...]:
    return () if backfill is None else (backfill,)


def _names(partition: str, sort: str | None) -> str:
    return partition if sort is None else f"{partition}, {sort}"


def _carried(backfills: tuple[Backfill, ...]) -> str:
    """How a GSI built from existing items turns out: complete, or missing these entities' items."""
    if not backfills:
        return "existing items already carry its key attributes, and DynamoDB fills it from them: no backfill"
    lacking = ", ".join(dict.fromkeys(b.entity for b in backfills))
    return (
        f"DynamoDB fills it only from attributes items already carry, and {lacking} items lack them: "
        "it misses those until they are backfilled"
    )


def _holders(entity: Entity, field: str) -> list[str]:
    """The key attributes whose template holds this field's value."""
    found: list[str] = []
    for keys in entity.keys.values():
        if field in keys.partition.fields:
            found.append(keys.index.partition_key)
        if keys.sort is not None and keys.index.sort_key is not None and field in keys.sort.fields:
            found.append(keys.index.sort_key)
    return found


def _key_texts(keys: EntityKeys) -> dict[str, str]:
    """Each key attribute the entity writes on this index, with the template of its value."""
    texts = {keys.index.partition_key: keys.partition.text}
    if keys.sort is not None and keys.index.sort_key is not None:
        texts[keys.index.sort_key] = keys.sort.text
    return texts


def _written(entity: Entity) -> dict[str, str]:
    """Each attribute the entity's items carry, with the template its value is made by."""
    written: dict[str, str] = {}
    for keys in entity.keys.values():
        written.update(_key_texts(keys))
    for name in entity.attributes:
        # A number is no string key: an index keyed on the attribute would not take it as it is stored.
        if entity.fields[name].type != "int":
            written.setdefault(name, "{" + name + "}")
    return written


def _templates(keys: EntityKeys) -> tuple[str, str | None]:
    """The templates alone: a change of the index's attribute names is the index's change, not the entity's."""
    return keys.partition.text, keys.sort.text if keys.sort is not None else None


def _keys_text(keys: EntityKeys) -> str:
    return ", ".join(f"{attribute} = {text}" for attribute, text in _key_texts(keys).items())


def _rules(spec: FieldSpec) -> dict[str, Any]:
    """What a field spec says about stored values: every option but those for seed data."""
    return {key: value for key, value in spec.model_dump().items() if key not in _SEED_RULES}


def _field_text(spec: FieldSpec) -> str:
    text = f"{spec.type}, {'required' if spec.required else 'optional'}"
    others = {key: value for key, value in _rules(spec).items() if key not in _BASIC and value is not None}
    return text + "".join(f", {key} {value}" for key, value in others.items())


def _rule_effects(name: str, old: FieldSpec, new: FieldSpec) -> list[str]:
    """The effects of the options a field spec has besides its type and whether it is required (``format``)."""
    before, after = _rules(old), _rules(new)
    effects: list[str] = []
    for rule in sorted((set(before) | set(after)) - _BASIC):
        was, now = before.get(rule), after.get(rule)
        if was == now:
            continue
        if now is None:
            effects.append(f"no {rule} now: writes accept what it refused; no backfill")
        elif rule == "format":
            effects.append(
                f"writes now refuse any {name} that is not a {str(now).upper()}; values stored before are not "
                "rewritten, so check them (no backfill)"
            )
        else:
            effects.append(f"{rule} {was} -> {now} applies to writes from now on; stored values are not rewritten")
    return effects


def _unique_key(unique: Unique) -> tuple[str, tuple[str, str | None]]:
    """What makes a marker's key: its owner and templates (the table's attribute names are the table's)."""
    return unique.entity.name, _templates(unique.keys)


def _unique_text(unique: Unique) -> str:
    return f"{unique.entity.name}: {_keys_text(unique.keys)}"


def _pattern_text(pattern: AccessPattern) -> str:
    text = f"#{pattern.number} {pattern.entity.name} on {pattern.index.name}: {pattern.key_condition}"
    if pattern.filter_exists:
        text += f", filter {pattern.filter_exists} exists"
    if pattern.filter_not_exists:
        text += f", filter {pattern.filter_not_exists} does not exist"
    if pattern.order_by:
        text += f", ordered by {pattern.order_by}"
    return text


def _pattern_differences(old: AccessPattern, new: AccessPattern) -> list[str]:
    parts = {
        "number": (old.number, new.number),
        "entity": (old.entity.name, new.entity.name),
        "index": (old.index.name, new.index.name),
        "partition": (old.partition.text, new.partition.text),
        "sort": (_sort_text(old), _sort_text(new)),
        "filter": ((old.filter_exists, old.filter_not_exists), (new.filter_exists, new.filter_not_exists)),
        "order": (old.order_by, new.order_by),
    }
    return [part for part, (before, after) in parts.items() if before != after]


def _sort_text(pattern: AccessPattern) -> str | None:
    return None if pattern.sort is None else f"{pattern.sort.operator} {pattern.sort.template.text}"


def _catch_up(pattern: AccessPattern, misplaced: set[tuple[str, str]]) -> str:
    """What a pattern misses until a backfill has run, or nothing."""
    if (pattern.entity.name, pattern.index.name) in misplaced:
        return f"; it misses {pattern.entity.name} items written before until they are backfilled"
    return ""


def _collection_text(index: str, patterns: Iterable[str]) -> str:
    return f"on {index}: {', '.join(patterns)}"


def _mapping_changes(
    part: str, prefix: str, old: Mapping[str, str], new: Mapping[str, str]
) -> Iterator[tuple[str, str, str, str]]:
    """(kind, subject, old, new) for each key added to, removed from or changed between two mappings."""
    for key, value in old.items():
        if key not in new:
            yield f"{part}-removed", f"{prefix}{key}", value, ""
        elif new[key] != value:
            yield f"{part}-changed", f"{prefix}{key}", value, new[key]
    for key, value in new.items():
        if key not in old:
            yield f"{part}-added", f"{prefix}{key}", "", value


def _admits(pattern: AccessPattern, sort_key: str) -> bool:
    assert pattern.sort is not None
    if pattern.sort.operator == "equals":
        return pattern.sort.template.matches(sort_key)
    return sort_key.startswith(pattern.sort.template.literal_prefix)


def _only(values: Mapping[str, Any], entity: Entity) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in entity.fields}


def _example_items(entity: Entity) -> Iterator[dict[str, Any]]:
    for values in entity.examples:
        yield entity.item(values)


def _example_pair(old: Entity, new: Entity) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """One example item as the old entity writes it and as the new one does, from the first example both accept."""
    for values in (*new.examples, *old.examples):
        try:
            return old.item(_only(values, old)), new.item(_only(values, new))
        except ValidationError:
            continue
    return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def render(diff: ModelDiff) -> str:
    """The diff as a report: the changes by section, the examples, what happens to existing items, the verdict."""
    lines = [f"knight model diff: {diff.old_name} -> {diff.new_name}", ""]
    for section in SECTIONS:
        lines.append(section)
        changes = [change for change in diff.changes if change.section == section]
        lines += [line for change in changes for line in _change_lines(change)] or ["  no change"]
        if section == SECTIONS[1]:
            lines += [line for example in diff.examples for line in _example_lines(example)]
        lines.append("")
    lines += ["Existing items", *_existing_lines(diff), "", diff.verdict]
    return "\n".join(lines) + "\n"


def _change_lines(change: Change) -> list[str]:
    lines = [f"  {change.kind:<18} {change.subject}"]
    if change.old:
        lines += _wrapped("was: ", change.old, 21)
    if change.new:
        lines += _wrapped("now: ", change.new, 21)
    return lines + _wrapped("so:  ", change.effect, 21)


def _wrapped(label: str, text: str, indent: int) -> list[str]:
    """``text`` after ``label``, wrapped under itself at the report's width."""
    first = " " * indent + label
    return textwrap.wrap(text, _WIDTH, initial_indent=first, subsequent_indent=" " * len(first), break_on_hyphens=False)


def _example_lines(example: KeyExample) -> list[str]:
    lines = [f"  example {example.entity} item, old model -> new model:"]
    for move in example.moves:
        before = move.old if move.old is not None else "(none)"
        after = move.new if move.new is not None else "(none)"
        lines.append(f"    {move.attribute}: {before} -> {after}")
    return lines


def _existing_lines(diff: ModelDiff) -> list[str]:
    lines: list[str] = []
    for backfill in diff.backfills:
        lines.append(f"  {backfill.state:<11} {backfill.entity} ({backfill.target}): {STATES[backfill.state]}")
        lines += _wrapped("why:    ", backfill.reason, 14)
        lines += _wrapped("fix:    ", backfill.action, 14)
        if backfill.misses:
            lines += _wrapped("missed: ", f"by {', '.join(backfill.misses)} until the fix has run", 14)
    for name in diff.left_behind:
        if not any(b.entity == name for b in diff.backfills):
            lines.append(f"  {'left':<11} {name}: its items stay in the table, read by no pattern")
    if diff.fine:
        lines.append(f"  {'fine':<11} {', '.join(diff.fine)}")
    return lines
