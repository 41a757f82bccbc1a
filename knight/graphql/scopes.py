"""Which items one read covers: an index, one partition of it, and a range of sort keys.

Loaders decide from these whether an item collection already read (or being
read) answers a field, and merge the ranges siblings need into one Query.
Every partition value and sort prefix is rendered from the model's templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
class Source:
    """One read: a partition of an index (``table`` or a GSI name) and the sort keys wanted."""

    index: str
    partition: str
    scope: Scope = WHOLE

    @property
    def collection(self) -> tuple[str, str]:
        return (self.index, self.partition)

    def covers(self, other: Source) -> bool:
        return self.collection == other.collection and self.scope.covers(other.scope)

    def merged(self, other: Source) -> Source:
        """This read widened to serve ``other`` as well; unchanged when ``other`` is another partition."""
        if self.collection != other.collection:
            return self
        return Source(self.index, self.partition, self.scope.merged(other.scope))

    def is_point_read(self, table_index: Index) -> bool:
        """One item by its full primary key: a BatchGetItem key rather than a Query."""
        return self.index == table_index.name and self.scope.exact


def pattern_source(pattern: Pattern, values: Mapping[str, object]) -> Source:
    """The partition and sort keys an access pattern reads, for checked values."""
    partition, sort, exact = pattern.key_range(values)
    return Source(pattern.index.name, partition, WHOLE if sort is None else Scope(sort, exact=exact))


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
