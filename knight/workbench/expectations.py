"""What an access pattern should return, in terms of its entity's fields, checked against the seed.

A pattern's request is keys and a filter; what it *means* is a condition on
its entity's fields: "the courses whose trackId is the one given", "the
chapter whose version is 0". ``Expectation.of`` works that condition out from
the model once, and it is kept (in the regression baseline) apart from the
model, so that a later change to the model's keys or filters is judged
against what the pattern meant, not against what it now asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from knight.access import Pattern
from knight.data.seed_data import SeedData
from knight.errors import RefusedError
from knight.model.templates import KeyTemplate, Placeholder

_MARK = "\x00"


@dataclass(frozen=True)
class Expectation:
    """The items of ``entity`` whose fields satisfy every part of this condition."""

    entity: str
    equal: tuple[str, ...] = ()
    """Fields equal to the argument of the same name."""
    caseless: tuple[str, ...] = ()
    """Of those, the ones compared whatever their case (their key lower-cases them)."""
    fixed: Mapping[str, str] = field(default_factory=dict)
    """Fields a constant in the key pins, such as version 0 of ``v0``."""
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()

    @classmethod
    def of(cls, pattern: Pattern) -> Expectation:
        """The condition the pattern's key condition and filter put on its entity's fields."""
        caseless = [
            part.field
            for template in _templates(pattern)
            for part in template.parts
            if isinstance(part, Placeholder) and part.transform is not None
        ]
        own = pattern.entity.keys.get(pattern.index.name)
        fixed: dict[str, str] = {}
        # An item is on an index only when it has every field the entity's key there names: an
        # optional one makes the index sparse, and a pattern on it means only the items that have it.
        sparse = [name for name in (own.fields if own is not None else ()) if not pattern.entity.fields[name].required]
        if own is not None:
            pinned = [(pattern.partition, own.partition)]
            if pattern.sort is not None and pattern.sort.operator == "equals" and own.sort is not None:
                pinned.append((pattern.sort.template, own.sort))
            for asked, stored in pinned:
                # Rendered with marks for the parameters, parsed back with the entity's own template:
                # what comes back unmarked is a constant of the key, such as the 0 of "v0".
                parsed = stored.parse(asked.render({name: f"{_MARK}{name}{_MARK}" for name in pattern.params}))
                for name, text in (parsed or {}).items():
                    if _MARK not in text:
                        fixed[name] = text
        return cls(
            entity=pattern.entity.name,
            equal=pattern.params,
            caseless=tuple(dict.fromkeys(caseless)),
            fixed=fixed,
            present=tuple(dict.fromkeys([*([pattern.filter_exists] if pattern.filter_exists else []), *sparse])),
            absent=(pattern.filter_not_exists,) if pattern.filter_not_exists else (),
        )

    def admits(self, values: Mapping[str, Any], arguments: Mapping[str, object]) -> bool:
        """Whether an item with these field values is one the pattern means for these arguments."""
        for name in self.equal:
            have, want = str(values.get(name)), str(arguments.get(name))
            if name in self.caseless:
                have, want = have.lower(), want.lower()
            if values.get(name) is None or have != want:
                return False
        if any(str(values.get(name)) != text for name, text in self.fixed.items()):
            return False
        if any(values.get(name) is None for name in self.present):
            return False
        return all(values.get(name) is None for name in self.absent)

    def group(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The values of the fields the arguments must equal, as ``admits`` compares them."""
        return tuple(
            str(values.get(name)).lower() if name in self.caseless else str(values.get(name)) for name in self.equal
        )

    def expected(
        self, seed: Iterable[tuple[str, Mapping[str, Any]]], arguments: Mapping[str, object]
    ) -> list[Mapping[str, Any]]:
        """The seed's items the pattern should return for these arguments."""
        return [values for entity, values in seed if entity == self.entity and self.admits(values, arguments)]

    def as_dict(self) -> dict[str, Any]:
        """The condition as JSON, its empty parts left out."""
        parts: dict[str, Any] = {
            "equal": list(self.equal),
            "caseless": list(self.caseless),
            "fixed": dict(self.fixed),
            "present": list(self.present),
            "absent": list(self.absent),
        }
        return {"entity": self.entity, **{name: part for name, part in parts.items() if part}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Expectation:
        return cls(
            entity=str(data["entity"]),
            equal=tuple(data.get("equal", ())),
            caseless=tuple(data.get("caseless", ())),
            fixed=dict(data.get("fixed", {})),
            present=tuple(data.get("present", ())),
            absent=tuple(data.get("absent", ())),
        )


def sample_arguments(
    pattern: Pattern,
    seed: SeedData | Iterable[tuple[str, Mapping[str, Any]]],
    expectation: Expectation | None = None,
) -> dict[str, object]:
    """Arguments for a pattern from the seed: those with the most items to return (see ``sample_item``)."""
    chosen = sample_item(pattern, seed, expectation)
    return {name: chosen[name] for name in pattern.params}


def sample_item(
    pattern: Pattern,
    seed: SeedData | Iterable[tuple[str, Mapping[str, Any]]],
    expectation: Expectation | None = None,
) -> Mapping[str, Any]:
    """The field values of the seeded item a pattern's arguments are taken from.

    The seeded items the pattern means (``expectation``, else its own meaning) are grouped by the
    values its arguments must equal; the largest group wins (the customer with the most orders),
    so that a Query has the most to read, and among equals the first seeded. Choosing by meaning
    rather than by the request keeps the item, and so the data judged, when a model change
    alters the request.
    """
    meaning = expectation or Expectation.of(pattern)
    items = list(seed.items if isinstance(seed, SeedData) else seed)
    needed = list(dict.fromkeys([*pattern.params, *meaning.equal]))
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for kind, values in items:
        # An item's own values as the arguments: what it then fails is the meaning's fixed parts.
        own = {name: values.get(name) for name in meaning.equal}
        wanted = kind == meaning.entity and all(values.get(name) is not None for name in needed)
        if wanted and meaning.admits(values, own):
            groups.setdefault(meaning.group(values), []).append(values)
    if groups:
        return max(groups.values(), key=len)[0]  # the first of the largest
    # Nothing the pattern means was seeded: any item that has the values, then the model's examples.
    entity = pattern.entity
    candidates = [values for kind, values in items if kind == entity.name] + list(entity.examples)
    for values in candidates:
        if all(values.get(name) is not None for name in pattern.params):
            return values
    if not pattern.params:
        return {}
    raise RefusedError(
        f"pattern {pattern.number} ({pattern.name}) takes {', '.join(pattern.params)}, "
        f"and no seeded or example {entity.name} has them all"
    )


def _templates(pattern: Pattern) -> list[KeyTemplate]:
    return [pattern.partition, *([pattern.sort.template] if pattern.sort is not None else [])]


def wrong_items(
    pattern: Pattern,
    items: Iterable[Mapping[str, Any]],
    expected: Iterable[Mapping[str, Any]],
) -> list[str]:
    """How the items a pattern returned differ from the ones the seed put there; empty when they match.

    Items are told apart by their table key; each returned item must be of
    the pattern's entity and carry every field the entity requires.
    """
    entity, table = pattern.entity, pattern.model.table_index
    kind = entity.type_attribute
    returned = list(items)
    wanted = {_key(entity.key(values), table.key_names) for values in expected}
    # An item without its type is still judged as the pattern's (a projection may have dropped the type).
    mine = [item for item in returned if item.get(kind, entity.name) == entity.name]
    problems = []
    if len(mine) < len(returned):
        problems.append(f"{len(returned) - len(mine)} returned item(s) are not {entity.name}s")
    got = {_key(item, table.key_names) for item in mine}
    if wanted - got:
        problems.append(f"returned {len(wanted & got)} of the {len(wanted)} items the seed put there")
    if got - wanted:
        problems.append(f"returned {len(got - wanted)} {entity.name}(s) the seed did not put there")
    required = [kind, *(name for name, spec in entity.fields.items() if spec.required)]
    for name in required:
        lacking = sum(1 for item in mine if item.get(name) is None and entity.values(item).get(name) is None)
        if lacking:
            problems.append(f"{lacking} of {len(mine)} items lack {name}")
    return problems


def _key(item: Mapping[str, Any], names: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(item.get(name)) for name in names)
