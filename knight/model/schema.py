"""The shape of a model file, checked by pydantic.

These classes say which keys a model file may have and of what type. Rules
that span several parts of the file (a template naming an unknown field, a
pattern that disagrees with its entity) are checked in ``load``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

BASE_TABLE = "table"
"""The name an entity or access pattern uses for the base table's own keys."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyNames(_Strict):
    partition: str = Field(min_length=1)
    sort: str | None = Field(default=None, min_length=1)


class Deployment(_Strict):
    encryption: bool = True
    pointInTimeRecovery: bool = True
    deadLetterQueue: str = Field(min_length=1, max_length=80)


class TableSpec(_Strict):
    name: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    keys: KeyNames
    billing: Literal["PAY_PER_REQUEST"]
    stream: Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"]
    entityTypeAttribute: str = Field(min_length=1)
    deployment: Deployment


class IndexSpec(_Strict):
    keys: KeyNames
    projection: Literal["ALL", "KEYS_ONLY"]


FieldType = Literal["id", "string", "email", "int", "datetime"]

IdFormat = Literal["uuid", "ulid"]
"""What an id may be asked to look like; without one, an id is any string that fits in a key."""


class FieldSpec(_Strict):
    type: FieldType
    required: bool = True
    format: IdFormat | None = None
    # What `knight seed` makes for the field (see knight.data.generator).
    refers: str | None = Field(default=None, min_length=1)
    """The entity whose id this field holds."""
    faker: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    """The Faker provider that makes its values (a string or an email)."""
    range: tuple[int, int] | None = None
    """The smallest and largest value made (an int)."""
    choices: list[str] | None = Field(default=None, min_length=1)
    """The values to pick from (a string)."""

    @model_validator(mode="after")
    def _options_of_their_type(self) -> FieldSpec:
        for option, types in _FIELD_OPTIONS.items():
            if getattr(self, option) is not None and self.type not in types:
                raise ValueError(f"'{option}' is for {' and '.join(types)} fields; a {self.type} field has none")
        if self.range is not None and not 0 <= self.range[0] <= self.range[1]:
            raise ValueError(f"range {list(self.range)} must be [smallest, largest], from 0")
        return self


_FIELD_OPTIONS: dict[str, tuple[str, ...]] = {
    "format": ("id",),
    "refers": ("id",),
    "faker": ("string", "email"),
    "range": ("int",),
    "choices": ("string",),
}


class SeedSpec(_Strict):
    """How many items of an entity `knight seed` makes: per scale, or per item of a parent entity."""

    count: int | tuple[int, int]
    """A number, or [fewest, most] picked at random for each parent."""
    per: str | None = Field(default=None, min_length=1)
    """The parent entity; the entity's field that refers to it takes the parent's id."""

    @model_validator(mode="after")
    def _a_count_from_zero(self) -> SeedSpec:
        low, high = self.count if isinstance(self.count, tuple) else (self.count, self.count)
        if not 0 <= low <= high:
            raise ValueError(f"count {self.count} must be a number from 0, or [fewest, most]")
        return self


class KeyPair(_Strict):
    partition: str = Field(min_length=1)
    sort: str | None = Field(default=None, min_length=1)


class EntitySpec(_Strict):
    description: str = ""
    fields: dict[str, FieldSpec] = Field(min_length=1)
    keys: dict[str, KeyPair] = Field(min_length=1)
    attributes: list[str]
    examples: list[dict[str, Any]] = Field(min_length=1)
    seed: SeedSpec | None = None


class SortCondition(_Strict):
    equals: str | None = None
    beginsWith: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SortCondition:
        if (self.equals is None) == (self.beginsWith is None):
            raise ValueError("give exactly one of 'equals' or 'beginsWith'")
        return self


class FilterSpec(_Strict):
    exists: str | None = Field(default=None, min_length=1)
    notExists: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> FilterSpec:
        if (self.exists is None) == (self.notExists is None):
            raise ValueError("give exactly one of 'exists' or 'notExists'")
        return self


class AccessPatternSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    summary: str = Field(min_length=1)
    entity: str
    index: str
    partition: str = Field(min_length=1)
    sort: SortCondition | None = None
    filter: FilterSpec | None = None
    orderBy: str | None = Field(default=None, min_length=1)


class CollectionSpec(_Strict):
    """Access patterns that read one partition of one index, so one Query of it answers them all."""

    summary: str = Field(min_length=1)
    index: str
    patterns: list[str] = Field(min_length=2)


UNIQUES = "uniques"
"""What the ``prefixes`` block calls the marker items of the ``uniques`` block."""


class UniqueSpec(_Strict):
    """A value that must be unique: a marker item whose key is that value."""

    summary: str = Field(min_length=1)
    entity: str
    partition: str = Field(min_length=1)
    sort: str | None = Field(default=None, min_length=1)
    attributes: list[str] = []


class ModelSeedSpec(_Strict):
    extension: str = Field(min_length=1)
    """A seed generator registered by name in knight.data.seed, for what fields and counts cannot say."""


class ModelSpec(_Strict):
    version: Literal[1]
    table: TableSpec
    indexes: dict[str, IndexSpec]
    prefixes: dict[str, str] = {}
    """Each key prefix and what it names: an entity, or ``uniques`` for the marker items."""
    entities: dict[str, EntitySpec] = Field(min_length=1)
    accessPatterns: dict[int, AccessPatternSpec] = Field(min_length=1)
    collections: dict[str, CollectionSpec] = {}
    uniques: dict[str, UniqueSpec] = {}
    seed: ModelSeedSpec | None = None
