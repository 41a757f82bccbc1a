"""What a request cost: requests made, capacity consumed, items read and returned."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knight.model import BASE_TABLE


@dataclass
class Cost:
    """Counters summed over every request of one operation.

    ``capacity_units`` stays None while the engine reports nothing (moto does
    not report every call the way AWS does); 0.0 would claim it was free.
    ``by_index`` splits the units between the table and each index when the
    engine says so (``ReturnConsumedCapacity="INDEXES"``).
    """

    requests: int = 0
    capacity_units: float | None = None
    read_units: float | None = None
    write_units: float | None = None
    by_index: dict[str, float] = field(default_factory=dict)
    items_evaluated: int = 0
    items_returned: int = 0

    def record(self, response: Mapping[str, Any], *, evaluated: int = 0, returned: int = 0) -> None:
        """Count one response (of any operation) towards this cost."""
        self.requests += 1
        self.items_evaluated += evaluated
        self.items_returned += returned
        consumed = response.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        for entry in entries:
            self._add_capacity(entry)

    def _add_capacity(self, entry: Mapping[str, Any]) -> None:
        self.capacity_units = _plus(self.capacity_units, entry.get("CapacityUnits"))
        self.read_units = _plus(self.read_units, entry.get("ReadCapacityUnits"))
        self.write_units = _plus(self.write_units, entry.get("WriteCapacityUnits"))
        table = entry.get("Table") or {}
        if "CapacityUnits" in table:
            self.by_index[BASE_TABLE] = self.by_index.get(BASE_TABLE, 0.0) + float(table["CapacityUnits"])
        # moto files GSI capacity under LocalSecondaryIndexes; an index name is unique either way.
        for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for name, units in (entry.get(group) or {}).items():
                if "CapacityUnits" in units:
                    self.by_index[name] = self.by_index.get(name, 0.0) + float(units["CapacityUnits"])

    def __add__(self, other: Cost) -> Cost:
        total = Cost(
            requests=self.requests + other.requests,
            capacity_units=_plus(self.capacity_units, other.capacity_units),
            read_units=_plus(self.read_units, other.read_units),
            write_units=_plus(self.write_units, other.write_units),
            by_index=dict(self.by_index),
            items_evaluated=self.items_evaluated + other.items_evaluated,
            items_returned=self.items_returned + other.items_returned,
        )
        for name, units in other.by_index.items():
            total.by_index[name] = total.by_index.get(name, 0.0) + units
        return total

    def as_dict(self) -> dict[str, Any]:
        """The cost with the camelCase names the JSON output uses."""
        return {
            "requests": self.requests,
            "consumedCapacity": self.capacity_units,
            "readCapacityUnits": self.read_units,
            "writeCapacityUnits": self.write_units,
            "capacityByIndex": dict(self.by_index),
            "itemsEvaluated": self.items_evaluated,
            "itemsReturned": self.items_returned,
        }

    def summary(self) -> str:
        """One line for people: requests, capacity, items."""
        units = "not reported" if self.capacity_units is None else f"{self.capacity_units:g}"
        return (
            f"{self.requests} request{'s' if self.requests != 1 else ''}, "
            f"consumed capacity {units}, "
            f"{self.items_evaluated} item{'s' if self.items_evaluated != 1 else ''} evaluated, "
            f"{self.items_returned} returned"
        )


def _plus(total: float | None, value: Any) -> float | None:
    if value is None:
        return total
    return (total or 0.0) + float(value)
