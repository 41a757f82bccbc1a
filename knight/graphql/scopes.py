"""Which items one read covers: an index, one partition of it, a range of sort keys, and a filter.

Loaders decide from these whether an item collection already read (or being
read) answers a field, and merge the ranges siblings need into one Query.
Every partition value and sort prefix is rendered from the model's templates.

A pattern with a filter (a course's current chapters: only the version-0
pointers, which have ``latest``) reads every item of its range and pays for
them all, but DynamoDB need not send back the ones the filter drops: its
source says so (``Kept``), and the Query carries the filter. Merged with a
sibling's range (the course's enrollments) the filter still goes along when
that range cannot hold the filtered entity's items; otherwise the merged read
takes every item, as before. Nearly half the bytes of exploreDb's answers were
chapter versions no field asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr, ConditionBase

from knight.access import Pattern
from knight.errors import ValidationError
from knight.model import BASE_TABLE, Entity, Index, KeyTemplate
from knight.model.templates import TRANSFORMS, Placeholder


@dataclass(frozen=True)
class Scope:
    """Sort keys of one partition: exactly ``prefix`` (exact) or every key that begins with it.

    ``Scope("")`` is the whole partition.
    """

    prefix: str
    exact: bool = False

    def covers(self, other: Scope) -> bool:
        """Whether every key ``other`` admits, this admits too."""
        if self.exact:
            return other.exact and other.prefix == self.prefix
        return other.prefix.startswith(self.prefix)

    def merged(self, other: Scope) -> Scope:
        """The narrowest scope covering both: one Query instead of two."""
        if self.covers(other):
            return self
        if other.covers(self):
            return other
        return Scope(_common_prefix(self.prefix, other.prefix))


WHOLE = Scope("")


def _common_prefix(first: str, second: str) -> str:
    size = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        size += 1
    return first[:size]


@dataclass(frozen=True)
class Kept:
    """Of one entity's items, only those with (or without) an attribute: a read's filter.

    DynamoDB filters on attributes, not on sort keys, so the entity is told
    apart by its type attribute: the filter keeps every item of another type.
    """

    type_attribute: str
    entity: str
    attribute: str
    exists: bool
    sort_head: str
    """The literal start of the entity's sort keys on the index: which ranges may hold its items."""

    def may_be_in(self, scope: Scope) -> bool:
        """Whether items of the entity may lie in this range of sort keys."""
        return self.sort_head.startswith(scope.prefix) or scope.prefix.startswith(self.sort_head)

    def condition(self) -> ConditionBase:
        kept = Attr(self.attribute).exists() if self.exists else Attr(self.attribute).not_exists()
        return Attr(self.type_attribute).ne(self.entity) | kept


@dataclass(frozen=True)
class Source:
    """One read: a partition of an index (``table`` or a GSI name), the sort keys wanted, and a filter, if any."""

    index: str
    partition: str
    scope: Scope = WHOLE
    kept: Kept | None = None
    """Items the read leaves out: the entity's that fail the filter. None: every item in range."""

    @property
    def collection(self) -> tuple[str, str]:
        return (self.index, self.partition)

    def covers(self, other: Source) -> bool:
        """Whether every item ``other`` reads, this read returned too."""
        if self.collection != other.collection or not self.scope.covers(other.scope):
            return False
        kept = self.kept
        return kept is None or kept == other.kept or not kept.may_be_in(other.scope)

    def merged(self, other: Source) -> Source:
        """This read widened to serve ``other`` as well; unchanged when ``other`` is another partition."""
        if self.collection != other.collection:
            return self
        scope = self.scope.merged(other.scope)
        if self.kept == other.kept:
            kept = self.kept
        elif self.kept is not None and other.kept is not None:
            kept = None  # two filters: one Query keeps what either wants, so it reads everything
        else:
            # The filter goes along only if the other range cannot hold the items it drops.
            filtered, plain = (self, other) if self.kept is not None else (other, self)
            assert filtered.kept is not None
            kept = None if filtered.kept.may_be_in(plain.scope) else filtered.kept
        return Source(self.index, self.partition, scope, kept)

    def is_point_read(self, table_index: Index) -> bool:
        """One item by its full primary key: a BatchGetItem key rather than a Query."""
        return self.index == table_index.name and self.scope.exact


def pattern_source(pattern: Pattern, values: Mapping[str, object]) -> Source:
    """The partition and sort keys an access pattern reads, for checked values, and its filter where DynamoDB
    can apply it."""
    partition, sort, exact = pattern.key_range(values)
    scope = WHOLE if sort is None else Scope(sort, exact=exact)
    return Source(pattern.index.name, partition, scope, None if exact else _kept(pattern))


def _kept(pattern: Pattern) -> Kept | None:
    """The pattern's filter as a read's ``Kept``; None without one, or where DynamoDB cannot filter on it."""
    attribute = pattern.filter_exists or pattern.filter_not_exists
    entity = pattern.entity
    keys = entity.keys.get(pattern.index.name)
    if attribute is None or keys is None or keys.sort is None or pattern.index.projection != "ALL":
        return None
    # A filter may not name a key attribute of the table or of the index read.
    key_attributes = {
        key for index in (pattern.index, pattern.model.table_index) for key in (index.partition_key, index.sort_key)
    }
    if attribute in key_attributes or entity.type_attribute in key_attributes:
        return None
    return Kept(
        entity.type_attribute,
        entity.name,
        attribute,
        pattern.filter_exists is not None,
        keys.sort.literal_prefix,
    )


def entity_source(entity: Entity, values: Mapping[str, object], index: str = BASE_TABLE) -> Source:
    """The part of a partition holding an entity's items whose leading key fields are known.

    For progress with a student and an enrollment this is the student's
    collection, narrowed to the keys that begin with that enrollment.
    """
    keys = entity.keys[index]
    try:
        partition = keys.partition.render(values)
    except KeyError as exc:
        raise ValidationError(f"{entity.name} partition on {index} needs '{exc.args[0]}'") from None
    prefix = template_prefix(keys.sort, values) if keys.sort is not None else ""
    return Source(index, partition, Scope(prefix))


def template_prefix(template: KeyTemplate, values: Mapping[str, object]) -> str:
    """A key template rendered up to its first field without a value."""
    text = ""
    for part in template.parts:
        if isinstance(part, str):
            text += part
            continue
        if not isinstance(part, Placeholder) or values.get(part.field) is None:
            break
        value = str(values[part.field])
        text += TRANSFORMS[part.transform](value) if part.transform is not None else value
    return text
