"""What is searchable, and the search document an item becomes.

A document's id is its item's table key, so indexing the same item again
(a replay, a redelivery, a reindex) overwrites instead of duplicating. Each
change carries a version, the stream sequence number of the record it came
from; an index keeps the highest version it has seen per id, deletes
included (as tombstones), so a late, older record can never bring back a
deleted item or an old text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from knight.dynamodb import plain, whole_number
from knight.errors import ModelError
from knight.model import Entity, Model

BASE_VERSION = "0"
"""The version of a document read from the table: any stream record is newer."""


@dataclass(frozen=True)
class Searchable:
    """An entity whose items are indexed, the fields whose text is searched, and which items count."""

    entity: str
    fields: tuple[str, ...]
    only_with: str | None = None
    """Index only items that carry this attribute (chapters: the current ``latest`` pointer)."""


SEARCHABLE: tuple[Searchable, ...] = (
    Searchable("track", ("name",)),
    Searchable("course", ("name",)),
    Searchable("chapter", ("content",), only_with="latest"),
    Searchable("student", ("firstName", "lastName", "email")),
)
"""What Sir learn a lot makes searchable: names, chapter content, student names and emails."""


@dataclass(frozen=True)
class SearchDocument:
    """The searchable form of one item."""

    doc_id: str
    entity_type: str
    text: Mapping[str, str]
    """Searched field -> its text."""
    values: Mapping[str, Any]
    """The item's field values (ids, names ...), returned with a hit."""

    @property
    def body(self) -> str:
        return "\n".join(value for value in self.text.values() if value)


@dataclass(frozen=True)
class DocumentChange:
    """Index (``document``) or delete (``document`` None) one id, at a version."""

    doc_id: str
    version: str
    document: SearchDocument | None
    source: str = ""
    """The stream sequence number it came from, for failure reports."""


@dataclass(frozen=True)
class SearchHit:
    """One result of a search, best first."""

    doc_id: str
    entity_type: str
    score: float
    values: Mapping[str, Any]
    snippet: str = ""


@dataclass(frozen=True)
class ApplyReport:
    """What an index did with a list of changes: the ids it could not apply, and why."""

    applied: int = 0
    skipped_older: int = 0
    failed: Mapping[str, str] = field(default_factory=dict)


def readable_values(entity: Entity, item: Mapping[str, Any]) -> dict[str, Any]:
    """The item's field values, leaving out whole-number fields that hold something else."""
    try:
        return entity.values(item)
    except (ValueError, TypeError):
        bad = {
            name
            for name, spec in entity.fields.items()
            if spec.type == "int" and name in item and whole_number(item[name]) is None
        }
        return entity.values({k: v for k, v in item.items() if k not in bad})


class SearchMapping:
    """Turns items into search documents, for one model."""

    def __init__(self, model: Model, searchable: Iterable[Searchable] = SEARCHABLE) -> None:
        self.model = model
        self.searchable = {spec.entity: spec for spec in searchable}
        for spec in self.searchable.values():
            entity = model.entity(spec.entity)
            missing = [name for name in (*spec.fields, spec.only_with) if name and name not in entity.fields]
            if missing:
                raise ModelError(f"search: {spec.entity} has no field {', '.join(missing)}")
        self.key_names = model.table_index.key_names

    @property
    def entity_types(self) -> tuple[str, ...]:
        return tuple(self.searchable)

    def doc_id(self, key: Mapping[str, Any]) -> str:
        """The document id of the item with this table key: its key attributes joined by '|'."""
        return "|".join(str(key[name]) for name in self.key_names)

    def document(self, item: Mapping[str, Any] | None) -> SearchDocument | None:
        """The document for an item, or None when the item is not searchable."""
        if item is None:
            return None
        entity = self.model.entity_of(item)
        if entity is None or entity.name not in self.searchable:
            return None
        spec = self.searchable[entity.name]
        if spec.only_with is not None and item.get(spec.only_with) is None:
            return None
        values = plain(readable_values(entity, item))
        text = {name: str(values[name]) for name in spec.fields if values.get(name) not in (None, "")}
        return SearchDocument(self.doc_id(item), entity.name, text, values)

    def change(
        self,
        key: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        version: str,
        source: str = "",
    ) -> DocumentChange | None:
        """The change that makes the index agree with ``after`` (None: the item is gone).

        None when the item was not searchable before and is not after (other
        entities, chapter versions, helper items): the index never holds it.
        """
        document = self.document(after)
        if document is None and self.document(before) is None:
            return None
        return DocumentChange(self.doc_id(key), version, document, source)

    def documents_of(self, items: Iterable[Mapping[str, Any]]) -> dict[str, SearchDocument]:
        """The documents a set of items should produce, by id (what a complete index holds)."""
        found: dict[str, SearchDocument] = {}
        for item in items:
            document = self.document(item)
            if document is not None:
                found[document.doc_id] = document
        return found


def dumps(value: Any) -> str:
    return json.dumps(plain(value), sort_keys=True, ensure_ascii=False)
