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
            present=(pattern.filter_exists,) if pattern.filter_exists else (),
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
