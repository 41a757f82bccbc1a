"""Key templates such as ``c#{courseId}`` or ``s#{email|lower}``.

A template renders a key from field values and parses a key back into the
values it was made from. It is the only place where a key string is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from knight.errors import ModelError

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([a-z]+))?\}")

TRANSFORMS: dict[str, Callable[[str], str]] = {"lower": str.lower}


class TemplateError(ModelError):
    """A template string is malformed (the model loader adds where it stands in the file)."""


@dataclass(frozen=True)
class Placeholder:
    field: str
    transform: str | None = None


class KeyTemplate:
    """A parsed key template."""

    def __init__(self, text: str) -> None:
        self.text = text
        parts: list[str | Placeholder] = []
        pos = 0
        for match in _PLACEHOLDER.finditer(text):
            literal = text[pos : match.start()]
            if literal:
                parts.append(literal)
            field, transform = match.group(1), match.group(2)
            if transform is not None and transform not in TRANSFORMS:
                known = ", ".join(sorted(TRANSFORMS))
                raise TemplateError(f"unknown transform '|{transform}' in '{text}' (known: {known})")
            parts.append(Placeholder(field, transform))
            pos = match.end()
        if text[pos:]:
            parts.append(text[pos:])
        for part in parts:
            if isinstance(part, str) and ("{" in part or "}" in part):
                raise TemplateError(f"stray brace in '{text}': write placeholders as {{field}} or {{field|lower}}")
        for left, right in pairwise(parts):
            if isinstance(left, Placeholder) and isinstance(right, Placeholder):
                raise TemplateError(
                    f"'{text}' puts two placeholders side by side; separate them with a literal such as '#'"
                )
        if not text:
            raise TemplateError("a key template cannot be empty")
        self.parts: tuple[str | Placeholder, ...] = tuple(parts)
        self._placeholders = [p for p in parts if isinstance(p, Placeholder)]
        # Worked out once: reading a GraphQL answer asks for the fields of each item's templates.
        self._fields = tuple(dict.fromkeys(p.field for p in self._placeholders))
        self._regex = re.compile(
            "".join("(.+?)" if isinstance(p, Placeholder) else re.escape(p) for p in parts) + r"\Z",
            re.DOTALL,
        )

    @property
    def fields(self) -> tuple[str, ...]:
        """Field names in order of appearance, without repeats."""
        return self._fields

    @property
    def literal_prefix(self) -> str:
        """The literal text before the first placeholder (all of it for a constant)."""
        prefix = ""
        for part in self.parts:
            if isinstance(part, Placeholder):
                break
            prefix += part
        return prefix

    @property
    def is_constant(self) -> bool:
        return not self.fields

    def render(self, values: Mapping[str, object]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if values.get(part.field) is None:
                raise KeyError(part.field)
            text = str(values[part.field])
            if part.transform is not None:
                text = TRANSFORMS[part.transform](text)
            out.append(text)
        return "".join(out)

    def parse(self, key: str) -> dict[str, str] | None:
        """Return the field values a key was rendered from, or None if it does not fit."""
        match = self._regex.match(key)
        if match is None:
            return None
        values: dict[str, str] = {}
        for placeholder, text in zip(self._placeholders, match.groups(), strict=True):
            # A field used twice in one template must read the same both times.
            if values.setdefault(placeholder.field, text) != text:
                return None
        return values

    def matches(self, key: str) -> bool:
        return self.parse(key) is not None

    def __repr__(self) -> str:
        return f"KeyTemplate({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyTemplate) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _literal_ends(template: KeyTemplate) -> tuple[str, str]:
    """The literal text before the first placeholder and after the last (all of it for a constant)."""
    literals = [part if isinstance(part, str) else None for part in template.parts]
    first = literals.index(None) if None in literals else len(literals)
    last = len(literals) - literals[::-1].index(None) if None in literals else 0
    return "".join(p or "" for p in literals[:first]), "".join(p or "" for p in literals[last:])


def may_meet(one: KeyTemplate, other: KeyTemplate) -> bool:
    """Whether the two templates may render the same key: their literal heads and tails agree.

    A placeholder can hold almost any text, so only the literal ends tell keys apart (``c#{id}``
    never meets ``s#{id}``; ``o#{id}`` may meet ``o#{orderId}#p#{productId}``).
    """
    if one.is_constant and other.is_constant:
        return one.text == other.text
    (head, tail), (other_head, other_tail) = _literal_ends(one), _literal_ends(other)
    return _agree(head, other_head) and _agree(tail[::-1], other_tail[::-1])


def may_begin_with(key: KeyTemplate, prefix: KeyTemplate) -> bool:
    """Whether a key made by ``key`` may begin with what ``prefix`` renders."""
    head, _ = _literal_ends(key)
    wanted, _ = _literal_ends(prefix)
    if key.is_constant:
        return key.text.startswith(wanted)
    return _agree(head, wanted)


def _agree(one: str, other: str) -> bool:
    return one.startswith(other) or other.startswith(one)
