"""Access patterns as objects that build, run and measure their one request.

A ``Pattern`` is one of the model's access patterns, made executable. Given
the values its key templates need, it builds the exact boto3 request (a dry
run sends nothing), runs it, reads every page unless the caller pages, and
reports the cost; and it says which items of a partition read by other means
its request would return. Key formats, index names and conditions all come
from the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Attr, ConditionBase

from knight.access.cost import Cost
from knight.access.cursor import decode_cursor, encode_cursor
from knight.access.request import Request, partition_query
from knight.dynamodb import from_dynamodb, plain, to_attribute
from knight.engine import Engine
from knight.errors import ValidationError
from knight.failures import engine_errors
from knight.model import AccessPattern, Model
from knight.model.fields import check_field

ItemT = TypeVar("ItemT", bound=Mapping[str, Any])


@dataclass
class Result:
    """What a pattern returned, the request it sent first, and what that cost."""

    pattern: Pattern
    request: Request
    items: list[dict[str, Any]]
    cost: Cost
    cursor: str | None = None
    """Where the next page starts when the caller paged; None when there is no more."""

    @property
    def values(self) -> list[dict[str, Any]]:
        """The entity's field values of each item (ids, numbers as int)."""
        return [self.pattern.entity.values(item) for item in self.items]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `knight query --json`."""
        return {
            "pattern": {"number": self.pattern.number, "name": self.pattern.name},
            "request": self.request.as_dict(),
            "items": plain(self.items),
            "requests": self.cost.requests,
            "consumedCapacity": self.cost.capacity_units,
            "cost": self.cost.as_dict(),
            "cursor": self.cursor,
        }


@dataclass(frozen=True, eq=False)
class Pattern(AccessPattern):
    """One access pattern of the model, executable (the model resolves its table keys)."""

    model: Model = field(repr=False, kw_only=True)

    @classmethod
    def of(cls, spec: AccessPattern, model: Model) -> Pattern:
        return cls(**{f.name: getattr(spec, f.name) for f in fields(spec)}, model=model)

    @property
    def filter_condition(self) -> str | None:
        """The filter in words; it runs after the read, so what it drops is still paid for."""
        if self.filter_exists is not None:
            return f"attribute_exists({self.filter_exists})"
        if self.filter_not_exists is not None:
            return f"attribute_not_exists({self.filter_not_exists})"
        return None

    def arguments(self, values: Mapping[str, object]) -> dict[str, object]:
        """Check the caller's values: every parameter given, nothing else, each of its field type."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ValidationError(
                f"pattern {self.number} ({self.name}) takes {self._takes()}, not {', '.join(unknown)}"
            )
        missing = [name for name in self.params if values.get(name) is None]
        if missing:
            raise ValidationError(
                f"pattern {self.number} ({self.name}) needs {', '.join(missing)}; it takes {self._takes()}"
            )
        checked: dict[str, object] = {}
        for name in self.params:
            try:
                checked[name] = check_field(self.entity.fields[name], values[name])
            except ValueError as exc:
                raise ValidationError(f"pattern {self.number} ({self.name}), {name}: {exc}") from None
        return checked

    def parse_arguments(self, pairs: Sequence[str]) -> dict[str, object]:
        """Values from ``key=value`` words, as the command line gives them; then checked."""
        values: dict[str, object] = {}
        for pair in pairs:
            name, sep, text = pair.partition("=")
            name = name.strip()
            if not sep or not name:
                raise ValidationError(f"'{pair}' is not key=value; pattern {self.number} takes {self._takes()}")
            if name in values:
                raise ValidationError(f"{name} is given twice")
            spec = self.entity.fields.get(name)
            if spec is not None and spec.type == "int":
                try:
                    values[name] = int(text)
                except ValueError:
                    raise ValidationError(f"{name}: expected a whole number, got '{text}'") from None
            else:
                values[name] = text
        return self.arguments(values)

    def _takes(self) -> str:
        return ", ".join(f"{name}=<{self.entity.fields[name].type}>" for name in self.params) or "no values"

    def request(
        self,
        table: str,
        values: Mapping[str, object],
        *,
        limit: int | None = None,
        cursor: str | None = None,
        consistent: bool = False,
        as_stored: bool = False,
    ) -> Request:
        """The exact request, built from checked values; nothing is sent.

        ``as_stored`` takes the values as they are, such as values read back
        from a stored key: a key another writer made need not follow the field
        types (an id in capitals), checking would change the value, and the
        request would read another partition than the one the key names.
        """
        if not as_stored:
            values = self.arguments(values)
        if consistent and not self.index.is_table:
            raise ValidationError(
                f"pattern {self.number} reads {self.index.name}, and a global secondary index "
                "offers eventually consistent reads only"
            )
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValidationError(f"limit must be a whole number of 1 or more, got {limit!r}")
        partition, sort, exact = self.key_range(values)
        if self.operation == "GetItem":
            key = {self.index.partition_key: to_attribute(partition)}
            if self.index.sort_key is not None:
                assert sort is not None
                key[self.index.sort_key] = to_attribute(sort)
            params: dict[str, Any] = {"TableName": table, "Key": key}
            if consistent:
                params["ConsistentRead"] = True
            params["ReturnConsumedCapacity"] = "INDEXES"
            return Request(self.operation, params)
        return partition_query(
            table,
            self.index,
            partition,
            sort,
            exact=exact,
            condition=self._filter(),
            consistent=consistent,
            limit=limit,
            start=decode_cursor(cursor, self.number, self._key_attributes()) if cursor is not None else None,
        )

    def matches(self, item: Mapping[str, Any], values: Mapping[str, object]) -> bool:
        """Whether the pattern's request for these values returns this item (plain values, as read)."""
        return self._admits(item, *self.key_range(self.arguments(values)))

    def admitted(self, items: Iterable[Mapping[str, Any]], checked: Mapping[str, object]) -> list[Mapping[str, Any]]:
        """The items among these that the pattern's request returns, in its order (values checked by ``arguments``).

        Given every item of the pattern's partition, read by any request,
        this is what the pattern's own request would have returned: the items
        themselves, not copies.
        """
        keys = self.key_range(checked)
        return self._ordered([item for item in items if self._admits(item, *keys)])

    def key_range(self, checked: Mapping[str, object]) -> tuple[str, str | None, bool]:
        """The partition value, the sort value (None: any) and whether the sort key must equal it."""
        partition = self.partition.render(checked)
        if self.sort is None or self.index.sort_key is None:
            return partition, None, False
        return partition, self.sort.template.render(checked), self.sort.operator == "equals"

    def _admits(self, item: Mapping[str, Any], partition: str, sort: str | None, exact: bool) -> bool:
        # The request's key condition and filter, then its entity: the model's key prefixes keep
        # other kinds of item out of every pattern's key range, and an item of another type is
        # never read as this entity.
        index = self.index
        if item.get(index.partition_key) != partition:
            return False
        if sort is not None and index.sort_key is not None:
            sort_value = item.get(index.sort_key)
            if not isinstance(sort_value, str) or not (sort_value == sort if exact else sort_value.startswith(sort)):
                return False
        if self.filter_exists is not None and self.filter_exists not in item:
            return False
        if self.filter_not_exists is not None and self.filter_not_exists in item:
            return False
        return item.get(self.entity.type_attribute) == self.entity.name

    def _filter(self) -> ConditionBase | None:
        if self.filter_exists is not None:
            return Attr(self.filter_exists).exists()
        if self.filter_not_exists is not None:
            return Attr(self.filter_not_exists).not_exists()
        return None

    def _key_attributes(self) -> list[str]:
        # A LastEvaluatedKey of an index holds the index's keys and the table's.
        return [*self.index.key_names, *self.model.table_index.key_names]

    def run(
        self,
        engine: Engine,
        table: str,
        values: Mapping[str, object],
        *,
        consistent: bool = False,
        page_size: int | None = None,
    ) -> Result:
        """Send the request and read every page; the cost counts each page's request.

        ``page_size`` sets each request's Limit, to show what smaller pages cost.
        """
        first = self.request(table, values, limit=page_size, consistent=consistent)
        cost = Cost()
        items: list[dict[str, Any]] = []
        for page_items, _ in self._pages(engine, first, cost):
            items += page_items
        return Result(self, first, self._ordered(items), cost)

    def page(
        self,
        engine: Engine,
        table: str,
        values: Mapping[str, object],
        *,
        limit: int | None = None,
        cursor: str | None = None,
        consistent: bool = False,
    ) -> Result:
        """One page (at most ``limit`` items evaluated), with a cursor for the next when there is one.

        An ordered pattern (``orderBy``) orders the items within the page only.
        """
        request = self.request(table, values, limit=limit, cursor=cursor, consistent=consistent)
        cost = Cost()
        items, last_key = next(self._pages(engine, request, cost, follow=False))
        next_cursor = encode_cursor(self.number, last_key) if last_key else None
        return Result(self, request, self._ordered(items), cost, next_cursor)

    def _pages(
        self, engine: Engine, request: Request, cost: Cost, *, follow: bool = True
    ) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        with engine_errors(engine, str(request.params["TableName"])):
            for response in request.pages(engine.dynamodb()):
                found = [response["Item"]] if "Item" in response else response.get("Items", [])
                cost.record(response, evaluated=int(response.get("ScannedCount", len(found))), returned=len(found))
                yield [from_dynamodb(item) for item in found], response.get("LastEvaluatedKey")
                if not follow:
                    return

    def _ordered(self, items: list[ItemT]) -> list[ItemT]:
        order_by = self.order_by
        if order_by is None:
            return items
        return sorted(items, key=lambda item: self.entity.values(item).get(order_by, 0))


class Catalog:
    """Every access pattern of a model, by number and by name."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._patterns = {number: Pattern.of(spec, model) for number, spec in sorted(model.access_patterns.items())}

    def get(self, ref: str | int) -> Pattern:
        """A pattern by number or name; NotFoundError naming `knight access-patterns` otherwise."""
        return self._patterns[self.model.pattern(ref).number]

    def __iter__(self) -> Iterator[Pattern]:
        return iter(self._patterns.values())

    def __len__(self) -> int:
        return len(self._patterns)
