"""The loaded model: indexes, entities with their key templates, access patterns."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from knight.errors import NotFoundError, ValidationError
from knight.model.fields import check_field
from knight.model.schema import BASE_TABLE, FieldSpec, ModelSpec, SeedSpec
from knight.model.templates import KeyTemplate, Placeholder


@dataclass(frozen=True)
class Index:
    """The base table (name ``table``) or a global secondary index."""

    name: str
    partition_key: str
    sort_key: str | None
    projection: str = "ALL"

    @property
    def is_table(self) -> bool:
        return self.name == BASE_TABLE

    @property
    def index_name(self) -> str | None:
        """The ``IndexName`` a request names, None for the base table."""
        return None if self.is_table else self.name

    @property
    def key_names(self) -> tuple[str, ...]:
        """The attributes the index is keyed on: the partition key, then the sort key if it has one."""
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)


@dataclass(frozen=True)
class EntityKeys:
    """An entity's key templates on one index."""

    index: Index
    partition: KeyTemplate
    sort: KeyTemplate | None

    @property
    def fields(self) -> tuple[str, ...]:
        names = list(self.partition.fields)
        if self.sort is not None:
            names += [f for f in self.sort.fields if f not in names]
        return tuple(names)

    def render(self, values: Mapping[str, object]) -> dict[str, str]:
        key = {self.index.partition_key: self.partition.render(values)}
        if self.sort is not None and self.index.sort_key is not None:
            key[self.index.sort_key] = self.sort.render(values)
        return key


@dataclass(frozen=True)
class Entity:
    """One kind of item in the table."""

    name: str
    description: str
    fields: Mapping[str, FieldSpec]
    keys: Mapping[str, EntityKeys]
    attributes: tuple[str, ...]
    examples: tuple[Mapping[str, Any], ...]
    type_attribute: str
    seed: SeedSpec | None = None
    """How many items `knight seed` makes (see knight.data.generator)."""

    @property
    def table_keys(self) -> EntityKeys:
        return self.keys[BASE_TABLE]

    def check(self, values: Mapping[str, object]) -> dict[str, object]:
        """Check every field value against its type; raise ValidationError naming the field."""
        unknown = sorted(set(values) - set(self.fields))
        if unknown:
            raise ValidationError(
                f"{self.name} has no field {', '.join(unknown)}; its fields are {', '.join(self.fields)}"
            )
        checked: dict[str, object] = {}
        for name, spec in self.fields.items():
            value = values.get(name)
            if value is None:
                if spec.required:
                    raise ValidationError(f"{self.name}.{name} is required")
                continue
            try:
                checked[name] = check_field(spec, value)
            except ValueError as exc:
                raise ValidationError(f"{self.name}.{name}: {exc}") from None
        return checked

    def key(self, values: Mapping[str, object], index: str = BASE_TABLE) -> dict[str, str]:
        """The key attributes of the item with these values on one index."""
        try:
            return self.keys[index].render(values)
        except KeyError as exc:
            raise ValidationError(f"{self.name} key on {index} needs '{exc.args[0]}'") from None

    def item(self, values: Mapping[str, object]) -> dict[str, Any]:
        """The full item: keys on every index the entity uses, its type, its attributes."""
        checked = self.check(values)
        item: dict[str, Any] = {}
        for entity_keys in self.keys.values():
            if all(checked.get(f) is not None for f in entity_keys.fields):
                item.update(entity_keys.render(checked))
        item[self.type_attribute] = self.name
        for attribute in self.attributes:
            if checked.get(attribute) is not None:
                item[attribute] = checked[attribute]
        return item

    def values(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The field values an item holds, read back from its keys and attributes."""
        values: dict[str, Any] = {}
        for template, attribute, fields in self._key_parts:
            # A key whose fields an earlier key gave adds nothing (the first reading of a field stands).
            if attribute in item and not fields <= values.keys():
                parsed = template.parse(str(item[attribute]))
                if parsed:
                    # A lower-cased copy (student email on gsi1) never overrides the original.
                    for name, text in parsed.items():
                        values.setdefault(name, text)
        for attribute in self.attributes:
            if attribute in item:
                values[attribute] = item[attribute]
        for name in self._whole_fields:
            if name in values:
                # Another writer may have stored anything: a read shows it as it is, never fails on it.
                with contextlib.suppress(TypeError, ValueError):
                    values[name] = int(values[name])
        return values

    # ``values`` runs for every item a GraphQL answer holds: what it walks is worked out once.
    @functools.cached_property
    def _key_parts(self) -> list[tuple[KeyTemplate, str, frozenset[str]]]:
        """Each key template with the attribute it is stored in and the fields it holds, on every index."""
        parts: list[tuple[KeyTemplate, str, frozenset[str]]] = []
        for entity_keys in self.keys.values():
            templates = [(entity_keys.partition, entity_keys.index.partition_key)]
            if entity_keys.sort is not None and entity_keys.index.sort_key is not None:
                templates.append((entity_keys.sort, entity_keys.index.sort_key))
            parts += [(template, attribute, frozenset(template.fields)) for template, attribute in templates]
        return parts

    @functools.cached_property
    def _whole_fields(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.type == "int"]


SortOperator = Literal["equals", "begins_with"]


@dataclass(frozen=True)
class SortKeyCondition:
    operator: SortOperator
    template: KeyTemplate


@dataclass(frozen=True)
class AccessPattern:
    """A named read: one request on one index."""

    number: int
    name: str
    summary: str
    entity: Entity
    index: Index
    partition: KeyTemplate
    sort: SortKeyCondition | None
    filter_exists: str | None
    filter_not_exists: str | None = None
    order_by: str | None = None

    @functools.cached_property
    def params(self) -> tuple[str, ...]:
        # Cached (a frozen pattern's parameters never change): every read a resolver queues checks them.
        names = list(self.partition.fields)
        if self.sort is not None:
            names += [f for f in self.sort.template.fields if f not in names]
        return tuple(names)

    @property
    def operation(self) -> Literal["GetItem", "Query"]:
        """GetItem when the table's whole primary key is given (its partition key alone, on a table without a
        sort key); Query otherwise."""
        if self.index.is_table and (
            self.index.sort_key is None or (self.sort is not None and self.sort.operator == "equals")
        ):
            return "GetItem"
        return "Query"

    @property
    def key_condition(self) -> str:
        """The key condition in words, as DESIGN and the docs write it."""
        text = f"{self.index.partition_key} = {self.partition.text}"
        if self.sort is not None:
            sort_key = self.index.sort_key
            if self.sort.operator == "equals":
                text += f" and {sort_key} = {self.sort.template.text}"
            else:
                text += f" and {sort_key} begins with {self.sort.template.text}"
        return text


@dataclass(frozen=True)
class Collection:
    """An item collection: access patterns that read one partition of one index.

    Their partition templates are the same but for the names of the fields,
    so one Query of the partition holds what each of them returns.
    """

    name: str
    summary: str
    index: Index
    patterns: tuple[AccessPattern, ...]

    def holds(self, pattern: str) -> bool:
        return pattern in self._renamings

    def values_for(self, pattern: str, given: str, values: Mapping[str, object]) -> dict[str, object]:
        """The partition values of ``pattern`` for the partition that ``given`` reads with ``values``.

        Course ``id`` 42 (course-by-id) is ``courseId`` 42 for chapters-of-course.
        """
        return {to: values[of] for of, to in self._renamings[given][pattern] if of in values}

    # GraphQL resolution asks these of every object it reads: worked out once per model.
    @functools.cached_property
    def _renamings(self) -> dict[str, dict[str, list[tuple[str, str]]]]:
        """For each pattern, each other pattern's partition fields as (this one's field, that one's)."""
        return {
            given.name: {
                other.name: [
                    (of.field, to.field)
                    for of, to in zip(_placeholders(given.partition), _placeholders(other.partition), strict=True)
                ]
                for other in self.patterns
            }
            for given in self.patterns
        }


def _placeholders(template: KeyTemplate) -> list[Placeholder]:
    return [part for part in template.parts if isinstance(part, Placeholder)]


@dataclass(frozen=True)
class Unique:
    """A value that must be unique, guarded by a marker item keyed by that value.

    DynamoDB enforces uniqueness only on primary keys, so the marker is put
    with ``attribute_not_exists`` in the same transaction as its owner.
    """

    name: str
    summary: str
    entity: Entity
    keys: EntityKeys
    attributes: tuple[str, ...]

    def key(self, values: Mapping[str, object]) -> dict[str, str]:
        """The marker's table key for the owner with these values."""
        try:
            return self.keys.render(values)
        except KeyError as exc:
            raise ValidationError(f"{self.name} marker needs '{exc.args[0]}'") from None

    def item(self, values: Mapping[str, object]) -> dict[str, Any]:
        """The marker item for an owner: its key, its own type, the owner's listed fields."""
        checked = self.entity.check(values)
        item: dict[str, Any] = {**self.key(checked), self.entity.type_attribute: self.name}
        for attribute in self.attributes:
            if checked.get(attribute) is not None:
                item[attribute] = checked[attribute]
        return item


@dataclass(frozen=True)
class Model:
    """Everything knight knows about the table, loaded from one file."""

    path: Path
    spec: ModelSpec
    indexes: Mapping[str, Index]
    entities: Mapping[str, Entity]
    access_patterns: Mapping[int, AccessPattern] = field(default_factory=dict)
    uniques: Mapping[str, Unique] = field(default_factory=dict)
    collections: Mapping[str, Collection] = field(default_factory=dict)

    @property
    def table_name(self) -> str:
        return self.spec.table.name

    @property
    def table_index(self) -> Index:
        return self.indexes[BASE_TABLE]

    @property
    def secondary_indexes(self) -> list[Index]:
        return [index for index in self.indexes.values() if not index.is_table]

    @property
    def type_attribute(self) -> str:
        return self.spec.table.entityTypeAttribute

    @property
    def key_attributes(self) -> list[str]:
        """Every attribute any index is keyed on, table first."""
        names: list[str] = []
        for index in self.indexes.values():
            names += [name for name in index.key_names if name not in names]
        return names

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise NotFoundError(f"no entity '{name}'; the model has {', '.join(self.entities)}") from None

    def uniques_of(self, entity: str) -> list[Unique]:
        """The uniqueness markers an item of this entity owns."""
        return [unique for unique in self.uniques.values() if unique.entity.name == entity]

    def entity_of(self, item: Mapping[str, Any]) -> Entity | None:
        return self.entities.get(str(item.get(self.type_attribute, "")))

    def collection_of(self, pattern: str) -> Collection | None:
        """The item collection an access pattern (by name) is part of, if any."""
        return self._collection_by_pattern.get(pattern)

    @functools.cached_property
    def _collection_by_pattern(self) -> dict[str, Collection]:
        found: dict[str, Collection] = {}
        for collection in self.collections.values():
            for pattern in collection.patterns:
                found.setdefault(pattern.name, collection)
        return found

    def pattern(self, ref: str | int) -> AccessPattern:
        """An access pattern by number or name."""
        text = str(ref).strip()
        if text.isdigit() and int(text) in self.access_patterns:
            return self.access_patterns[int(text)]
        for pattern in self.access_patterns.values():
            if pattern.name == text:
                return pattern
        raise NotFoundError(f"no access pattern '{ref}'; `knight access-patterns` lists them")
