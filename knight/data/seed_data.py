"""What a seed made: each item's entity and field values, in the order they are written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SeedData:
    """The generated items, by entity, in the order they are written."""

    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    written: int = 0
    """Items written to the table, uniqueness markers included (set by seed_table)."""

    def add(self, entity: str, values: dict[str, Any]) -> None:
        self.items.append((entity, values))

    def count(self, entity: str) -> int:
        return sum(1 for name, _ in self.items if name == entity)

    def __len__(self) -> int:
        return len(self.items)
