"""Import a NoSQL Workbench data model (its JSON export, format 3.0) as a knight model file.

A workbench model holds a table, its indexes and sample items; a knight model
also says how each key is made (its key templates). The templates come from
the facets' key aliases when those already are knight templates (knight's own
export), else they are inferred from the sample items, which become the
examples. What the export does not say, and each choice made in its place, is
reported in :attr:`Imported.notes` and at the top of the file.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from knight.dynamodb import from_dynamodb
from knight.errors import KnightError, ModelError
from knight.model.fields import check_value
from knight.model.load import parse_model
from knight.model.model import Entity, EntityKeys, Index
from knight.model.schema import BASE_TABLE, FieldSpec
from knight.model.templates import KeyTemplate, TemplateError, may_begin_with, may_meet

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""What a template placeholder may name (and so an entity, whose name makes ``{courseId}``)."""

_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
"""Text that can be a key prefix before its '#': ``c``, ``USER``, ``gsi1``."""

_WORD = re.compile(r"[A-Za-z][A-Za-z_-]*\Z")
"""A constant such as ``track``: no digits, so that it is not taken for an id."""

_GLUED = re.compile(r"([A-Za-z]+)([0-9].*)\Z", re.DOTALL)
"""A prefix glued to a value without its '#': ``h1``."""

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

_TYPE_NAMES = ("entitytype", "type", "_type", "__typename", "itemtype", "kind", "_et")
"""Names of the attribute that says which entity an item is, most likely first."""

_STREAMS = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")

_Note = Callable[[str], None]
"""Where a note goes: the importer's ``note``."""

_NO_WRAP = 1 << 16

_DLQ_SUFFIX = "-stream-dlq"
_QUEUE_NAME_MAX = 80


@dataclass(frozen=True)
class Imported:
    """A knight model file made from a workbench model, and what the import could not infer or chose."""

    text: str
    """The model file (YAML), its notes as comments at the top."""
    notes: tuple[str, ...]
    """One line for each thing the export did not say or the import chose."""
    table: str
    """The table's name in the model (a default file name for the CLI)."""


def import_workbench_json(text: str, *, source: str = "", table: str | None = None) -> Imported:
    """Import the text of a workbench export; ModelError if it is not JSON or not a workbench model."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Importer(source).fail(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    return import_workbench(data, source=source, table=table)


def import_workbench(data: Mapping[str, Any], *, source: str = "", table: str | None = None) -> Imported:
    """Import a workbench model (the parsed JSON) as a knight model file.

    ``table`` names the table to import when the model has several; ``source``
    (the file name) is quoted in the header comment and in error messages.
    Raises ModelError when ``data`` is not a workbench model.
    """
    return _Importer(source).run(data, table)


@dataclass
class _Group:
    """The sample items of one entity, as the export gives them."""

    label: str
    """The entity's name in the export: a facet's name, or a value of the type attribute."""
    name: str
    """Its name in knight's model."""
    origin: str
    """Where the group comes from, said in the entity's description."""
    items: list[dict[str, Any]]
    aliases: dict[str, KeyTemplate] = field(default_factory=dict)
    """Key attribute -> the facet's alias, when it is a knight key template."""
    alias_names: dict[str, str] = field(default_factory=dict)
    """Key attribute -> the facet's alias, when it is a plain name (a field name for what no rule explains)."""
    listed: list[str] = field(default_factory=list)
    """The facet's NonKeyAttributes."""


@dataclass(frozen=True)
class _Layout:
    """What every entity of the table shares: its indexes, the prefixes' owners, the type attribute."""

    table: Index
    indexes: tuple[Index, ...]
    owners: Mapping[str, str]
    """Key prefix (c#) -> the entity it names."""
    type_attribute: str
    key_names: frozenset[str]
    """The key attributes of the table and every index."""


@dataclass
class _Facet:
    name: str
    aliases: dict[str, str]
    rows: list[dict[str, Any]]
    listed: list[str]


@dataclass
class _EntityOut:
    """One entity of the model file."""

    name: str
    description: str
    fields: dict[str, dict[str, Any]]
    keys: dict[str, dict[str, str]]
    attributes: list[str]
    examples: list[dict[str, Any]]


@dataclass
class _Reading:
    """One sample item read: the template of each key attribute and the field values in them."""

    item: dict[str, Any]
    templates: dict[str, str]
    values: dict[str, str]
    notes: dict[str, str]
    """Keyed by what they are about, so that one thing is noted once however many items show it."""


class _Importer:
    """One import: the notes it gathers and the errors it raises."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def fail(self, problem: str) -> ModelError:
        return ModelError(f"{self.source}: {problem}" if self.source else problem)

    def run(self, data: object, choice: str | None) -> Imported:
        raw = self.pick_table(data, choice)
        name = self.table_name(raw)
        table = self.table_keys(raw, name)
        indexes = self.indexes(raw, table)
        key_names = {key for index in (table, *indexes) for key in index.key_names}
        stream = self.stream(raw)
        self.billing(raw)
        dead_letter_queue = self.dead_letter_queue(name)
        type_attribute, groups = self.groups(raw, table, key_names)
        owners = _own_prefixes(groups, table, self.note)
        layout = _Layout(table, tuple(indexes), owners, type_attribute, frozenset(key_names))
        entities = [out for group in groups if (out := _EntityReader(self, group, layout).read())]
        if not entities:
            why = "; ".join(note for note in self.notes if "left out" in note)
            raise self.fail(f"table '{name}': no sample item could be read as an entity ({why})")
        _link_references(entities, self.note)
        used = {index for entity in entities for index in entity.keys}
        for index in indexes:
            if index.name not in used:
                self.note(f"index {index.name}: no sample item carries its keys, so no entity is keyed on it")
        self.note(
            "accessPatterns: the export has none; one get-by-key per entity and one query per index it is "
            "keyed on are written to start from"
        )
        model_name = data.get("ModelName") if isinstance(data, Mapping) else None
        document = _Document(
            name=name,
            model_name=model_name if isinstance(model_name, str) else name,
            source=self.source,
            description=self.description(data),
            table=table,
            indexes=[index for index in indexes if index.name in used],
            type_attribute=type_attribute,
            stream=stream,
            dead_letter_queue=dead_letter_queue,
            entities=entities,
            prefixes=_prefixes(entities, owners, self.note),
            patterns=_patterns(entities, self.note),
        )
        text = document.render(self.notes)
        try:
            parse_model(text, Path(self.source or "imported.yaml"))
        except ModelError as exc:
            raise self.fail(f"the imported model does not load (a fault of the importer): {exc}") from None
        return Imported(text, tuple(self.notes), name)

    # -- the table --------------------------------------------------------

    def pick_table(self, data: object, choice: str | None) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(f"not a NoSQL Workbench model: expected a JSON object with a DataModel, got {_kind(data)}")
        tables = data.get("DataModel")
        if tables is None:
            raise self.fail("not a NoSQL Workbench model: it has no DataModel (the list of tables of an export)")
        if not isinstance(tables, list) or not tables:
            raise self.fail("DataModel holds no table: a workbench export lists its tables there")
        for i, table in enumerate(tables):
            if not isinstance(table, Mapping) or not isinstance(table.get("TableName"), str):
                raise self.fail(f"DataModel[{i}] is not a table with a TableName")
        metadata = data.get("ModelMetadata")
        version = metadata.get("Version") if isinstance(metadata, Mapping) else None
        if version is not None and str(version) != "3.0":
            self.note(f"the export says format {version}; it is read as format 3.0")
        names = [str(table["TableName"]) for table in tables]
        if choice is not None:
            if choice not in names:
                raise self.fail(f"no table '{choice}' in the model; it has {', '.join(names)}")
            picked: Mapping[str, Any] = tables[names.index(choice)]
            return picked
        if len(tables) > 1:
            raise self.fail(f"the model has {len(tables)} tables ({', '.join(names)}): name the one to import")
        first: Mapping[str, Any] = tables[0]
        return first

    def table_name(self, raw: Mapping[str, Any]) -> str:
        given = str(raw["TableName"])
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", given).strip("-")
        if not 3 <= len(name) <= 255:
            raise self.fail(f"table name '{given}' is no DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)")
        if name != given:
            self.note(f"table '{given}' renamed {name}: a DynamoDB table name has only A-Z a-z 0-9 _ . -")
        return name

    def table_keys(self, raw: Mapping[str, Any], name: str) -> Index:
        keys = raw.get("KeyAttributes")
        partition = _attribute_name(keys, "PartitionKey")
        if partition is None:
            raise self.fail(
                f"table '{name}' has no KeyAttributes with a PartitionKey: a workbench table names its keys there"
            )
        self.key_types(keys, "table")
        return Index(BASE_TABLE, partition, _attribute_name(keys, "SortKey"))

    def key_types(self, keys: object, where: str) -> None:
        """Knight's keys are strings: say so of a key the export declares as a number or bytes."""
        for part in ("PartitionKey", "SortKey"):
            spec = keys.get(part) if isinstance(keys, Mapping) else None
            kind = spec.get("AttributeType", "S") if isinstance(spec, Mapping) else "S"
            if kind != "S" and isinstance(spec, Mapping):
                self.note(
                    f"{where}: key attribute {spec.get('AttributeName')} is {kind} in the export; knight's keys are "
                    "strings, so it is imported as a string"
                )

    def indexes(self, raw: Mapping[str, Any], table: Index) -> list[Index]:
        found: list[Index] = []
        used = set(table.key_names)
        specs = raw.get("GlobalSecondaryIndexes") or []
        if not isinstance(specs, list):
            raise self.fail("GlobalSecondaryIndexes is not a list of indexes")
        for i, spec in enumerate(specs):
            if not isinstance(spec, Mapping) or not isinstance(spec.get("IndexName"), str):
                raise self.fail(f"GlobalSecondaryIndexes[{i}] is not an index with an IndexName")
            name = str(spec["IndexName"])
            keys = spec.get("KeyAttributes")
            partition = _attribute_name(keys, "PartitionKey")
            if partition is None:
                raise self.fail(f"index '{name}' has no KeyAttributes with a PartitionKey")
            sort = _attribute_name(keys, "SortKey")
            if name == BASE_TABLE:
                self.note(f"index '{name}' renamed table-index: knight's models call the base table '{BASE_TABLE}'")
                name = "table-index"
            if not 3 <= len(name) <= 255:
                self.note(f"index '{name}' left out: an index name has 3 to 255 characters")
                continue
            clash = [key for key in (partition, sort) if key is not None and key in used]
            if clash:
                self.note(
                    f"index {name} left out: it is keyed on {clash[0]}, a key of another index, and knight keys "
                    "each index on attributes of its own"
                )
                continue
            used.update(key for key in (partition, sort) if key is not None)
            self.key_types(keys, f"index {name}")
            found.append(Index(name, partition, sort, self.projection(name, spec.get("Projection"))))
        if raw.get("LocalSecondaryIndexes"):
            self.note("local secondary indexes left out: knight models global secondary indexes only")
        return found

    def projection(self, index: str, spec: object) -> str:
        kind = spec.get("ProjectionType") if isinstance(spec, Mapping) else None
        if kind in ("ALL", "KEYS_ONLY"):
            return str(kind)
        if kind == "INCLUDE":
            self.note(f"index {index}: projection INCLUDE imported as ALL: knight projects ALL or KEYS_ONLY")
        else:
            self.note(f"index {index}: the export gives no projection; ALL is chosen")
        return "ALL"

    def description(self, data: object) -> str:
        metadata = data.get("ModelMetadata") if isinstance(data, Mapping) else None
        said = metadata.get("Description") if isinstance(metadata, Mapping) else None
        text = " ".join(said.split()) if isinstance(said, str) else ""
        text = text if not text or text.endswith(".") else text + "."
        return f"{text} Imported from NoSQL Workbench.".strip()

    def billing(self, raw: Mapping[str, Any]) -> None:
        mode = raw.get("BillingMode")
        if mode == "PAY_PER_REQUEST":
            return
        said = f"billing {mode}" if isinstance(mode, str) else "the export gives no billing mode; it is"
        dropped = " (its capacity settings are dropped)" if raw.get("ProvisionedCapacitySettings") else ""
        self.note(f"{said} imported as PAY_PER_REQUEST: knight models on-demand tables only{dropped}")

    def stream(self, raw: Mapping[str, Any]) -> str:
        spec = raw.get("StreamSpecification")
        view = spec.get("StreamViewType") if isinstance(spec, Mapping) else None
        if view in _STREAMS:
            return str(view)
        self.note(
            "stream NEW_AND_OLD_IMAGES chosen: the export says nothing of streams, and knight's stream "
            "processor reads both images"
        )
        return "NEW_AND_OLD_IMAGES"

    def dead_letter_queue(self, table: str) -> str:
        # An SQS queue name has at most 80 of A-Z a-z 0-9 - _ (a table name may also have '.').
        head = re.sub(r"[^A-Za-z0-9_-]", "-", table)[: _QUEUE_NAME_MAX - len(_DLQ_SUFFIX)]
        queue = head + _DLQ_SUFFIX
        self.note(
            f"deployment: dead-letter queue {queue}, encryption and point-in-time recovery on: knight's defaults "
            "(the export says nothing of them)"
        )
        return queue

    # -- the sample items and the entities they belong to ---------------

    def rows(self, value: object, where: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{where} is not a list of items")
        return [self.decode(row, f"{where}[{i}]") for i, row in enumerate(value)]

    def decode(self, row: object, where: str) -> dict[str, Any]:
        wrong = f'{where} is not an item in DynamoDB JSON (each attribute as {{"S": ...}}, {{"N": ...}}, ...)'
        if not isinstance(row, Mapping) or not all(isinstance(v, Mapping) and len(v) == 1 for v in row.values()):
            raise self.fail(wrong)
        try:
            return from_dynamodb(row)
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError):
            raise self.fail(wrong) from None

    def facets(self, raw: Mapping[str, Any]) -> list[_Facet]:
        specs = raw.get("TableFacets") or []
        if not isinstance(specs, list):
            raise self.fail("TableFacets is not a list of facets")
        facets: list[_Facet] = []
        for i, spec in enumerate(specs):
            if not isinstance(spec, Mapping) or not isinstance(spec.get("FacetName"), str):
                raise self.fail(f"TableFacets[{i}] is not a facet with a FacetName")
            alias = spec.get("KeyAttributeAlias")
            aliases = {k: v for k, v in alias.items() if isinstance(v, str)} if isinstance(alias, Mapping) else {}
            listed = spec.get("NonKeyAttributes")
            facets.append(
                _Facet(
                    name=str(spec["FacetName"]),
                    aliases=aliases,
                    rows=self.rows(spec.get("TableData"), f"facet {spec['FacetName']}: TableData"),
                    listed=[name for name in listed if isinstance(name, str)] if isinstance(listed, list) else [],
                )
            )
        return facets

    def groups(self, raw: Mapping[str, Any], table: Index, key_names: set[str]) -> tuple[str, list[_Group]]:
        """The type attribute and the sample items of each entity."""
        facets = self.facets(raw)
        rows = self.rows(raw.get("TableData"), "TableData")
        if facets:
            type_attribute, groups = self.facet_groups(facets, rows, table, key_names)
        else:
            type_attribute, groups = self.row_groups(rows, table, key_names)
        if not any(group.items for group in groups):
            raise self.fail(
                f"table '{raw['TableName']}' has no sample items (TableData): knight infers the entities from them"
            )
        return type_attribute, [group for group in groups if group.items]

    def facet_groups(
        self, facets: list[_Facet], rows: list[dict[str, Any]], table: Index, key_names: set[str]
    ) -> tuple[str, list[_Group]]:
        named = [(facet.name, row) for facet in facets for row in facet.rows]
        type_attribute = (
            _naming_attribute(named, key_names)
            or _naming_attribute_of_rows(rows, {facet.name for facet in facets}, key_names)
            or _typed_attribute(rows, key_names)
        )
        names = _entity_names([facet.name for facet in facets], self.note)
        groups: list[_Group] = []
        for facet, name in zip(facets, names, strict=True):
            items = facet.rows or [row for row in rows if type_attribute and row.get(type_attribute) == facet.name]
            if not items:
                self.note(f"facet {facet.name} left out: it has no sample items, and knight infers keys from them")
            group = _Group(facet.name, name, f"the facet {facet.name} of the workbench model", items)
            group.listed = facet.listed
            self.aliases(group, facet.aliases, table)
            groups.append(group)
        return self.type_attribute(type_attribute, key_names), groups

    def aliases(self, group: _Group, aliases: Mapping[str, str], table: Index) -> None:
        for alias_key, attribute in (("PartitionKeyAlias", table.partition_key), ("SortKeyAlias", table.sort_key)):
            text = aliases.get(alias_key)
            if attribute is None or not text:
                continue
            if "{" in text:
                try:
                    template = KeyTemplate(text)
                except TemplateError as exc:
                    self.note(f"{group.name}: the alias of {attribute} is no key template ({exc}); inferred instead")
                    continue
                if template.fields and all(_IDENTIFIER.match(name) for name in template.fields):
                    group.aliases[attribute] = template
                    continue
            if _IDENTIFIER.match(text):
                group.alias_names[attribute] = text

    def row_groups(self, rows: list[dict[str, Any]], table: Index, key_names: set[str]) -> tuple[str, list[_Group]]:
        type_attribute = _typed_attribute(rows, key_names)
        by_label: dict[str, list[dict[str, Any]]] = {}
        origins: dict[str, str] = {}
        if type_attribute is not None:
            untyped = [row for row in rows if not isinstance(row.get(type_attribute), str)]
            if untyped:
                self.note(f"{len(untyped)} sample item(s) without a {type_attribute} left out")
            for row in rows:
                if isinstance(label := row.get(type_attribute), str):
                    by_label.setdefault(label, []).append(row)
                    origins[label] = f"the items whose {type_attribute} is {label}"
        else:
            for row in rows:
                lead = _lead(_key_text(row.get(table.partition_key)))
                label = lead[:-1] if lead else "item"
                by_label.setdefault(label, []).append(row)
                begins = f"begins with {lead}" if lead else "has no prefix"
                origins[label] = f"the items whose {table.partition_key} {begins}"
            self.note(
                f"no attribute names the items' entity: they are grouped by the prefix of {table.partition_key} "
                f"into {', '.join(by_label)}; rename them"
            )
        names = _entity_names(list(by_label), self.note)
        groups = [
            _Group(label, name, f"{origins[label]} in the workbench model", items)
            for (label, items), name in zip(by_label.items(), names, strict=True)
        ]
        return self.type_attribute(type_attribute, key_names), groups

    def type_attribute(self, found: str | None, key_names: set[str]) -> str:
        if found is not None:
            return found
        name = "entityType"
        while name in key_names:
            name = "_" + name
        self.note(f"no attribute of the samples names the entity: {name} is chosen as entityTypeAttribute")
        return name


class _EntityReader:
    """Infers one entity (keys, fields, attributes, examples) from its sample items."""

    def __init__(self, importer: _Importer, group: _Group, layout: _Layout) -> None:
        self.importer = importer
        self.group = group
        self.name = group.name
        self.table = layout.table
        self.owners = layout.owners
        self.type_attribute = layout.type_attribute
        self.key_names = layout.key_names
        self.all_indexes = [layout.table, *layout.indexes]
        self.indexes = [layout.table, *(index for index in layout.indexes if self.carried(index))]
        self.key_attributes = [key for index in self.indexes for key in index.key_names]
        self.constants = {attribute: self.constant_pieces(attribute) for attribute in self.key_attributes}

    def note(self, text: str) -> None:
        self.importer.note(f"{self.name}: {text}")

    def carried(self, index: Index) -> bool:
        """Whether any sample item carries the whole key of the index (a sparse index needs only some)."""
        return any(all(key in item for key in index.key_names) for item in self.group.items)

    def constant_pieces(self, attribute: str) -> tuple[dict[int, str], int]:
        """The parts (between '#') every sample's key has alike, by position, and how many samples have the key."""
        splits = [text.split("#") for item in self.group.items if (text := _key_text(item.get(attribute)))]
        if not splits or len({len(split) for split in splits}) != 1:
            return {}, len(splits)
        first = splits[0]
        return {i: part for i, part in enumerate(first) if all(split[i] == part for split in splits)}, len(splits)

    def id_field(self, owner: str) -> str:
        return "id" if owner == self.name else _lower_first(owner) + "Id"

    def unexplained_field(self, attribute: str) -> str:
        alias = self.group.alias_names.get(attribute)
        if alias is not None:
            return _lower_first(alias)
        return attribute if _IDENTIFIER.match(attribute) else _identifier(attribute)

    def label(self, item: Mapping[str, Any]) -> str:
        return ", ".join(f"{key}={item[key]}" for key in self.table.key_names if key in item)

    def read(self) -> _EntityOut | None:
        readings: list[_Reading] = []
        for item in self.group.items:
            reading = _ItemReader(self, item).read()
            if isinstance(reading, str):
                self.note(f"sample item ({self.label(item)}) left out: {reading}")
            else:
                readings.append(reading)
        templates = self.templates(readings)
        kept = [reading for reading in readings if self.fits(reading, templates)]
        notes: dict[str, str] = {}
        for reading in kept:
            for about, text in reading.notes.items():
                notes.setdefault(about, text)
        for text in notes.values():
            self.note(text)
        if not kept:
            self.note("no sample item could be read, so the entity is left out")
            return None
        return self.build(templates, kept)

    def templates(self, readings: Sequence[_Reading]) -> dict[str, str]:
        """For each key attribute, the template most sample items read as (the first of equals)."""
        chosen: dict[str, str] = {}
        for attribute in self.key_attributes:
            counts = Counter(r.templates[attribute] for r in readings if attribute in r.templates)
            if counts:
                chosen[attribute] = max(counts, key=lambda text: counts[text])
        return chosen

    def fits(self, reading: _Reading, templates: Mapping[str, str]) -> bool:
        for attribute, text in reading.templates.items():
            if text != templates[attribute]:
                self.note(
                    f"sample item ({self.label(reading.item)}) left out: its {attribute} reads as '{text}', "
                    f"most others' as '{templates[attribute]}'"
                )
                return False
        return True

    def build(self, templates: Mapping[str, str], kept: Sequence[_Reading]) -> _EntityOut | None:
        keys: dict[str, dict[str, str]] = {}
        key_fields: list[str] = []
        for index in self.indexes:
            if index.partition_key not in templates:
                continue
            pair = {"partition": templates[index.partition_key]}
            if index.sort_key is not None:
                pair["sort"] = templates[index.sort_key]
            keys[index.name] = pair
            for text in pair.values():
                key_fields += [name for name in KeyTemplate(text).fields if name not in key_fields]
        fields, attributes = self.fields(key_fields, self.attribute_names(kept), kept)
        examples = self.examples(fields, keys, attributes, kept)
        if not examples:
            self.note("no sample item fits the keys inferred, so the entity is left out")
            return None
        return _EntityOut(
            name=self.name,
            description=f"Imported from {self.group.origin}.",
            fields=fields,
            keys=keys,
            attributes=attributes,
            examples=examples,
        )

    def attribute_names(self, kept: Sequence[_Reading]) -> list[str]:
        """The non-key attributes of the samples: the facet's list first, then in the order items hold them."""
        present = {name for reading in kept for name in reading.item}
        names = [name for name in self.group.listed if name in present]
        for name in self.group.listed:
            if name not in present and name not in self.key_names and name != self.type_attribute:
                self.note(f"attribute {name} is listed by the facet but no sample item has it, so it is left out")
        for reading in kept:
            names += [name for name in reading.item if name not in names]
        return [name for name in names if name not in self.key_names and name != self.type_attribute]

    def fields(
        self, key_fields: list[str], attribute_names: list[str], kept: Sequence[_Reading]
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        fields: dict[str, dict[str, Any]] = {}
        for name in [*key_fields, *(a for a in attribute_names if a not in key_fields)]:
            values = [value for reading in kept if (value := _value_of(reading, name)) is not None]
            spec = _field_type(name, values, placeholder=name in key_fields)
            if isinstance(spec, str):
                if name not in key_fields:
                    self.note(f"attribute {name} {spec}; knight has no type for it, so it is left out")
                    continue
                self.note(f"field {name} {spec}; typed string")
                spec = {"type": "string"}
            if len(values) < len(kept):
                spec["required"] = False
            fields[name] = spec
        return fields, [name for name in attribute_names if name in fields]

    def examples(
        self,
        fields: Mapping[str, Mapping[str, Any]],
        keys: Mapping[str, Mapping[str, str]],
        attributes: list[str],
        kept: Sequence[_Reading],
    ) -> list[dict[str, Any]]:
        """Each sample item's field values, kept when the model renders them back into the item."""
        by_name = {index.name: index for index in self.indexes}
        entity = Entity(
            name=self.name,
            description="",
            fields={name: FieldSpec.model_validate(spec) for name, spec in fields.items()},
            keys={
                name: EntityKeys(
                    by_name[name],
                    KeyTemplate(pair["partition"]),
                    KeyTemplate(pair["sort"]) if "sort" in pair else None,
                )
                for name, pair in keys.items()
            },
            attributes=tuple(attributes),
            examples=(),
            type_attribute=self.type_attribute,
        )
        examples: list[dict[str, Any]] = []
        for reading in kept:
            example = {
                name: _example_value(spec, value)
                for name, spec in fields.items()
                if (value := _value_of(reading, name)) is not None
            }
            expected = self.expected(reading.item, set(fields))
            try:
                rendered = entity.item(example)
                same = rendered == expected and entity.values(rendered) == entity.check(example)
            except KnightError as exc:
                self.note(f"sample item ({self.label(reading.item)}) left out: {exc}")
                continue
            if not same:
                differ = sorted(k for k in {*rendered, *expected} if rendered.get(k) != expected.get(k))
                self.note(f"sample item ({self.label(reading.item)}) left out: the model renders {differ} otherwise")
                continue
            examples.append(example)
        return examples

    def expected(self, item: Mapping[str, Any], fields: set[str]) -> dict[str, Any]:
        """The sample item as the model can render it: keys as text, without what the model leaves out."""
        left_out: set[str] = set()
        for index in self.all_indexes:
            if index not in self.indexes or not all(key in item for key in index.key_names):
                held = [key for key in index.key_names if key in item]
                if held:
                    left_out.update(held)
                    self.note(f"{', '.join(held)} left out where an item carries only part of {index.name}'s key")
        expected: dict[str, Any] = {}
        for name, value in item.items():
            if name in left_out or (name not in self.key_names and name not in fields):
                continue
            expected[name] = _key_text(value) if name in self.key_names else value
        expected[self.type_attribute] = self.name
        return expected


class _ItemReader:
    """Reads one sample item's keys into templates, naming the values they hold."""

    def __init__(self, entity: _EntityReader, item: dict[str, Any]) -> None:
        self.entity = entity
        self.item = item
        self.known: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        # Only text is matched against keys: a number that equals some key part is as likely chance.
        self.texts = {
            name: value
            for name, value in item.items()
            if isinstance(value, str) and name not in entity.key_names and name != entity.type_attribute
        }

    def read(self) -> _Reading | str:
        """The reading, or why the item cannot be read."""
        templates: dict[str, str] = {}
        for attribute in self.entity.key_attributes:
            if attribute not in self.item:
                if attribute in self.entity.table.key_names:
                    return f"it has no {attribute}"
                continue
            text = _key_text(self.item[attribute])
            if text is None:
                return f"its {attribute} is neither a string nor a number"
            if "{" in text or "}" in text:
                return f"its {attribute} '{text}' has a brace, which a key template cannot hold"
            alias = self.entity.group.aliases.get(attribute)
            if alias is None:
                templates[attribute] = self.template(attribute, text)
                continue
            parsed = alias.parse(text)
            if parsed is None or not all(self.claim(name, value) for name, value in parsed.items()):
                return f"its {attribute} '{text}' does not fit the facet's alias '{alias.text}'"
            templates[attribute] = alias.text
        return _Reading(self.item, templates, dict(self.known), self.notes)

    def claim(self, name: str, value: str) -> bool:
        """Name a value; False if the name already stands for another value in this item."""
        if name in self.known:
            return self.known[name] == value
        held = self.item.get(name)
        if name not in self.entity.key_names and held is not None and _key_text(held) != value:
            return False
        self.known[name] = value
        return True

    def template(self, attribute: str, text: str) -> str:
        whole = self.known_field(text) or self.attribute_field(attribute, text)
        if whole is not None:
            return whole
        out: list[str] = []
        owner: str | None = None  # the entity whose prefix came just before, "" for a prefix of none
        pieces = text.split("#")
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            prefix_of = None if last else self.entity.owners.get(piece + "#")
            if prefix_of is not None:
                out.append(piece)
                owner = prefix_of
                continue
            if not piece:
                out.append(piece)
                owner = None
                continue
            part, literal = self.piece(attribute, i, piece, owner, last)
            out.append(part)
            owner = "" if literal and not last else None
        return "#".join(out)

    def piece(self, attribute: str, i: int, piece: str, owner: str | None, last: bool) -> tuple[str, bool]:
        """One part of a key between '#': a placeholder, or literal text (True)."""
        if owner:
            # A value after an entity's prefix is that entity's id: c#123 holds a courseId.
            name = self.entity.id_field(owner)
            if self.claim(name, piece):
                return "{" + name + "}", False
        found = self.known_field(piece) or self.attribute_field(attribute, piece) or self.glued(attribute, piece)
        if found is not None:
            return found, False
        if owner is None and self.constant(attribute, i, piece, last):
            return piece, True
        name = base = self.entity.unexplained_field(attribute)
        n = 1
        while not self.claim(name, piece):
            n += 1
            name = f"{base}{n}"
        self.notes[f"unexplained {attribute} {i}"] = (
            f"no rule explains '{piece}' in {attribute}; it is the field {name} (rename it, or write the key "
            "template as the facet's alias)"
        )
        return "{" + name + "}", False

    def known_field(self, piece: str) -> str | None:
        """The field an earlier key of this item already gave this value (track's gsi1 sort 1234 is its id)."""
        for name, value in self.known.items():
            if value == piece:
                return "{" + name + "}"
        return None

    def attribute_field(self, attribute: str, piece: str) -> str | None:
        """An attribute whose value the key holds, as it is or lower-cased."""
        for name, value in self.texts.items():
            if not _IDENTIFIER.match(name) or piece not in (value, value.lower()):
                continue
            if not self.claim(name, value):
                continue
            if piece != value:
                return "{" + name + "|lower}"
            if piece == value.lower() and _fits("email", value):
                # An email is matched whatever its case: a key that holds one as it is would miss Ada@ for ada@.
                self.notes[f"lower {attribute} {name}"] = (
                    f"{attribute} holds {name} lower-cased or as it is (the samples are lower-case); "
                    f"{{{name}|lower}} is chosen, so that a lookup finds it whatever its case"
                )
                return "{" + name + "|lower}"
            return "{" + name + "}"
        return None

    def glued(self, attribute: str, piece: str) -> str | None:
        """A value glued to a literal: v0 is v{version}, h1 is h{chapterId} (chapter's prefix h# without '#')."""
        for name, value in self.known.items():
            head = piece[: -len(value)] if value and piece.endswith(value) else ""
            if head.isascii() and head.isalpha():
                return head + "{" + name + "}"
        match = _GLUED.match(piece)
        owner = self.entity.owners.get(match.group(1) + "#") if match else None
        if match is None or owner is None:
            return None
        name = self.entity.id_field(owner)
        if not self.claim(name, match.group(2)):
            return None
        template = match.group(1) + "{" + name + "}"
        self.notes[f"glued {attribute} {name}"] = (
            f"'{piece}' in {attribute} read as {template}: {owner}'s prefix {match.group(1)}# without its '#'"
        )
        return template

    def constant(self, attribute: str, i: int, piece: str, last: bool) -> bool:
        """Whether a part is literal: alike in every sample, and a word (or a prefix), or alike in several."""
        constants, samples = self.entity.constants[attribute]
        if constants.get(i) != piece:
            return False
        if not last:
            return bool(_TAG.match(piece))
        return bool(_WORD.match(piece)) or samples > 1


@dataclass
class _Document:
    """The model file's parts, and how they are written."""

    name: str
    model_name: str
    source: str
    description: str
    table: Index
    indexes: list[Index]
    type_attribute: str
    stream: str
    dead_letter_queue: str
    entities: list[_EntityOut]
    prefixes: dict[str, str]
    patterns: dict[int, dict[str, Any]]

    def render(self, notes: Sequence[str]) -> str:
        sections = [
            self.header(notes),
            "version: 1\n",
            _dump({"table": self.table_part()}),
            "# Global secondary indexes, named as in the export.\n" + _dump({"indexes": self.index_part()})
            if self.indexes
            else "indexes: {}\n",
            "# Each key prefix (a key's text up to its first '#') and the entity it names.\n"
            + (_dump({"prefixes": self.prefixes}) if self.prefixes else "prefixes: {}\n"),
            "# One entity for each kind of sample item; its examples are the sample items.\n"
            "entities:\n" + "\n".join(textwrap.indent(_dump({e.name: _entity_part(e)}), "  ") for e in self.entities),
            "# Reads to start from: the export has none. Rename them, say what each is for, and add the\n"
            "# application's own; knight checks that each agrees with its entity's key templates.\n"
            + _dump({"accessPatterns": self.patterns}),
        ]
        return "\n".join(sections)

    def header(self, notes: Sequence[str]) -> str:
        where = f" ({self.source})" if self.source else ""
        lines = [
            f"# {self.name}: a knight model imported from the NoSQL Workbench model '{self.model_name}'{where}.",
            "#",
            "# `knight model import` read the table, its indexes and its sample items, and inferred",
            "# each entity's key templates from them. Review what it could not tell (the notes),",
            "# then `knight --model THIS_FILE model check`.",
        ]
        if notes:
            lines += ["#", "# Notes:"]
            for text in notes:
                wrapped = textwrap.wrap(text, width=114) or [""]
                lines += [f"# - {wrapped[0]}", *(f"#   {more}" for more in wrapped[1:])]
        return "\n".join(lines) + "\n"

    def table_part(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "keys": _key_names(self.table),
            "billing": "PAY_PER_REQUEST",
            "stream": self.stream,
            "entityTypeAttribute": self.type_attribute,
            "deployment": {"encryption": True, "pointInTimeRecovery": True, "deadLetterQueue": self.dead_letter_queue},
        }

    def index_part(self) -> dict[str, Any]:
        return {index.name: {"keys": _key_names(index), "projection": index.projection} for index in self.indexes}


def _entity_part(entity: _EntityOut) -> dict[str, Any]:
    return {
        "description": entity.description,
        "fields": {name: _Flow(spec) for name, spec in entity.fields.items()},
        "keys": {name: _Flow(pair) for name, pair in entity.keys.items()},
        "attributes": _FlowList(entity.attributes),
        "examples": [_Flow(example) for example in entity.examples],
    }


def _patterns(entities: Sequence[_EntityOut], note: _Note) -> dict[int, dict[str, Any]]:
    """Per entity: a GetItem by its table key, and a Query of each index partition it is keyed on.

    A Query whose key condition would also take in another entity's items is left out, with a note.
    """
    patterns: dict[int, dict[str, Any]] = {}
    names: set[str] = set()
    for entity in entities:
        for index, pair in entity.keys.items():
            pattern: dict[str, Any] = {"entity": entity.name, "index": index, "partition": pair["partition"]}
            sort = pair.get("sort")
            if index == BASE_TABLE:
                name = f"{_slug(entity.name)}-by-key"
                summary = f"One {entity.name} by its table key."
                if sort is not None:
                    pattern["sort"] = _Flow({"equals": sort})
            else:
                name = f"{_slug(entity.name)}-by-{_slug(index)}"
                summary = f"The {entity.name} items of one {index} partition."
                head = KeyTemplate(sort).literal_prefix if sort is not None else ""
                if head:
                    pattern["sort"] = _Flow({"beginsWith": head})
                other = _also_read(entity, index, pair["partition"], head, entities)
                if other is not None:
                    note(f"{entity.name}: no pattern on {index}: a Query of its partition would read {other} items too")
                    continue
            unique, n = name, 1
            while unique in names:
                n += 1
                unique = f"{name}-{n}"
            names.add(unique)
            patterns[len(patterns) + 1] = {"name": unique, "summary": summary, **pattern}
    return patterns


def _also_read(entity: _EntityOut, index: str, partition: str, head: str, entities: Sequence[_EntityOut]) -> str | None:
    """Another entity whose items a Query of this partition, with this sort prefix, would read too."""
    for other in entities:
        pair = other.keys.get(index)
        if other is entity or pair is None or not may_meet(KeyTemplate(partition), KeyTemplate(pair["partition"])):
            continue
        sort = pair.get("sort")
        if not head or sort is None or may_begin_with(KeyTemplate(sort), KeyTemplate(head)):
            return other.name
    return None


def _prefixes(entities: Sequence[_EntityOut], owners: Mapping[str, str], note: _Note) -> dict[str, str]:
    """Every prefix the templates begin with (as the loader reads them), and the entity it names."""
    users: dict[str, list[str]] = {}
    for entity in entities:
        for pair in entity.keys.values():
            for text in pair.values():
                lead = KeyTemplate(text).literal_prefix
                if "#" in lead:
                    found = users.setdefault(lead[: lead.index("#") + 1], [])
                    found += [] if entity.name in found else [entity.name]
    prefixes: dict[str, str] = {}
    for prefix, names in users.items():
        owner = owners.get(prefix)
        if owner not in names:
            owner = names[0]
            note(f"prefix {prefix} is no entity's own (keys of {', '.join(names)} begin with it): declared as {owner}")
        prefixes[prefix] = owner
    return prefixes


def _own_prefixes(groups: Sequence[_Group], table: Index, note: _Note) -> dict[str, str]:
    """Which entity each key prefix names, from the prefixes the entities' table keys begin with.

    An entity keyed by one prefix twice (t#1234 / t#1234) names it. Then an
    entity left with one prefix no other entity took names it (course c#/t#,
    once track took t#), again until none is left; where an entity still has
    several, the first in the export takes its partition key's (a choice,
    noted). An entity keyed only by others' prefixes (preference s#/t#) has none.
    """
    leads: dict[str, list[str]] = {}
    owners: dict[str, str] = {}
    for group in groups:
        found = [_most_common(_lead(_key_text(item.get(key))) for item in group.items) for key in table.key_names]
        leads[group.name] = list(dict.fromkeys(lead for lead in found if lead is not None))
        if len(found) == 2 and found[0] is not None and found[0] == found[1]:
            owners.setdefault(found[0], group.name)
    pending = [group.name for group in groups if group.name not in owners.values()]
    while pending:
        progress = False
        for name in list(pending):
            free = [lead for lead in leads[name] if lead not in owners]
            if len(free) <= 1:
                owners.update({free[0]: name} if free else {})
                pending.remove(name)
                progress = True
        if not progress:
            name = pending.pop(0)
            free = [lead for lead in leads[name] if lead not in owners]
            owners[free[0]] = name
            note(f"prefix {free[0]} taken as {name}'s own: it is also keyed by {', '.join(free[1:])}")
    return owners


def _naming_attribute(named: Sequence[tuple[str, Mapping[str, Any]]], key_names: set[str]) -> str | None:
    """An attribute whose value, in every item of every facet, is the facet's name."""
    if not named:
        return None
    candidates = [name for name in named[0][1] if name not in key_names]
    fits = [name for name in candidates if all(item.get(name) == facet for facet, item in named)]
    return _likeliest(fits)


def _naming_attribute_of_rows(
    rows: Sequence[Mapping[str, Any]], names: set[str], key_names: frozenset[str] | set[str]
) -> str | None:
    """An attribute whose value, in every item of the table, is the name of a facet (the facets hold no items)."""
    if not rows:
        return None
    candidates = [name for name in rows[0] if name not in key_names]
    return _likeliest([name for name in candidates if all(row.get(name) in names for row in rows)])


def _typed_attribute(rows: Sequence[Mapping[str, Any]], key_names: set[str]) -> str | None:
    """The attribute with a type-like name (entityType, type, kind) that the most items hold as text."""
    counts = Counter(
        name
        for row in rows
        for name, value in row.items()
        if isinstance(value, str) and name not in key_names and _is_type_name(name)
    )
    if not counts:
        return None
    most = max(counts.values())
    return _likeliest([name for name, count in counts.items() if count == most])


def _is_type_name(name: str) -> bool:
    return name.lower() in _TYPE_NAMES or "type" in name.lower()


def _likeliest(names: Sequence[str]) -> str | None:
    """The most type-like of several names: entityType before type before the rest (alphabetical)."""
    if not names:
        return None
    order = {name: i for i, name in enumerate(_TYPE_NAMES)}
    return min(names, key=lambda name: (order.get(name.lower(), len(order)), name))


def _entity_names(labels: Sequence[str], note: _Note) -> list[str]:
    """knight's name for each entity: the export's if it is an identifier (it makes {courseId}), else one made."""
    names: list[str] = []
    for label in labels:
        name = label if _IDENTIFIER.match(label) else _identifier(label)
        unique, n = name, 1
        while unique in names:
            n += 1
            unique = f"{name}{n}"
        if unique != label:
            note(
                f"entity '{label}' named {unique}: an entity's name is an identifier; its items' type becomes {unique}"
            )
        names.append(unique)
    return names


def _identifier(text: str) -> str:
    """camelCase of the words of ``text``: 'Order Item' -> orderItem."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    name = "".join(word if i == 0 else word[:1].upper() + word[1:] for i, word in enumerate(words))
    name = _lower_first(name) if name[:1].isupper() and not name.isupper() else name
    if not name:
        return "entity"
    return name if not name[0].isdigit() else "e" + name


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _slug(name: str) -> str:
    """A name as a pattern name likes it: orderItem -> order-item, gsi_1 -> gsi-1."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text if text[:1].isalpha() else f"e-{text}".rstrip("-")


def _lead(text: str | None) -> str | None:
    """A key's prefix: its text up to and with its first '#' (c# of c#123), if that looks like one."""
    if not text or "#" not in text:
        return None
    head = text[: text.index("#")]
    return head + "#" if _TAG.match(head) else None


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(value for value in values if value is not None)
    return max(counts, key=lambda value: counts[value]) if counts else None


def _key_text(value: object) -> str | None:
    """A key value as knight writes keys: text (a number as its digits), None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return None


def _value_of(reading: _Reading, name: str) -> Any:
    """A field's sample value: the attribute as stored, else the text its key holds."""
    if name in reading.item and name not in reading.templates:
        return reading.item[name]
    return reading.values.get(name)


def _fits(field_type: str, value: object, id_format: str | None = None) -> bool:
    """Whether knight stores the value as it is under this type (so the sample renders back unchanged)."""
    try:
        return check_value(field_type, value, id_format) == value
    except ValueError:
        return False


def _field_type(name: str, values: Sequence[Any], *, placeholder: bool) -> dict[str, Any] | str:
    """The spec of a field the sample values fit, or what is wrong with them."""
    if all(isinstance(value, str) for value in values):
        if placeholder and (name == "id" or name.endswith("Id")) and all(_fits("id", value) for value in values):
            return {"type": "id", "format": "uuid"} if all(_fits("id", v, "uuid") for v in values) else {"type": "id"}
        if placeholder and values and all(value.isdigit() and str(int(value)) == value for value in values):
            return {"type": "int"}
        if values and all(_fits("email", value) for value in values):
            return {"type": "email"}
        if values and all(_DATETIME.match(value) and _fits("datetime", value) for value in values):
            return {"type": "datetime"}
        if all(_fits("string", value) for value in values):
            return {"type": "string"}
        return "has a value without a visible character"
    if all(isinstance(value, Decimal | int) and not isinstance(value, bool) for value in values):
        bad = next((value for value in values if not _fits("int", value)), None)
        if bad is None:
            return {"type": "int"}
        return f"has the number {bad}, and knight's int is a whole number from 0 to 2^53 - 1"
    kinds = sorted({type(value).__name__ for value in values})
    return f"holds {', '.join(kinds)} values"


def _example_value(spec: Mapping[str, Any], value: Any) -> Any:
    if spec["type"] == "int":
        return int(value)
    return value


def _attribute_name(keys: object, part: str) -> str | None:
    spec = keys.get(part) if isinstance(keys, Mapping) else None
    name = spec.get("AttributeName") if isinstance(spec, Mapping) else None
    return name if isinstance(name, str) and name else None


def _kind(data: object) -> str:
    kinds = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true or false"}
    return "null" if data is None else kinds.get(type(data), type(data).__name__)


def _key_names(index: Index) -> _Flow:
    return _Flow({"partition": index.partition_key, **({"sort": index.sort_key} if index.sort_key else {})})


class _Flow(dict[str, Any]):
    """A mapping written on one line: {partition: pk, sort: sk}."""


class _FlowList(list[str]):
    """A list written on one line: [name, email]."""


class _Dumper(yaml.SafeDumper):
    """safe_dump, with a list under a key indented as people write it."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        super().increase_indent(flow, False)


def _flow_mapping(dumper: _Dumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _flow_list(dumper: _Dumper, data: _FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_Flow, _flow_mapping)
_Dumper.add_representer(_FlowList, _flow_list)


def _dump(data: Mapping[Any, Any]) -> str:
    # No wrapping: an example on one line reads better than one broken inside a value.
    return yaml.dump(
        dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_NO_WRAP, default_flow_style=False
    )


def _link_references(entities: Sequence[_EntityOut], note: _Note) -> None:
    """Give each id field named after an entity (courseId) ``refers`` to it, so that seed data links them.

    A reference that would close a circle is left out, with a note: seed data could not start.
    """
    with_ids = {entity.name for entity in entities if "id" in entity.fields}
    refers: dict[str, set[str]] = {entity.name: set() for entity in entities}
    for entity in entities:
        for name, spec in entity.fields.items():
            target = name[:-2] if name.endswith("Id") else None
            if spec.get("type") != "id" or target not in with_ids or target == entity.name:
                continue
            if _reaches(target, entity.name, refers):
                note(f"{entity.name}.{name}: not marked as referring to {target}, which would close a circle")
                continue
            spec["refers"] = target
            refers[entity.name].add(target)


def _reaches(start: str, goal: str, refers: Mapping[str, set[str]]) -> bool:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo += refers.get(name, ())
    return False
