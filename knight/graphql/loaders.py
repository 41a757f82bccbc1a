"""Per-request loading: item collections read once, point reads batched, answers filtered in memory.

Resolvers ask for an access pattern with its values. The loader works out
which partition (and which sort keys) the pattern reads and, before reading,
whether a read already made or under way in this request covers it: the
course's collection, read for its chapters, also holds its enrollments. Reads
asked for in the same tick go to a DataLoader, which de-duplicates them,
merges the ones on one partition into a single Query, sends every point read
in one BatchGetItem, and runs all of them concurrently. Each pattern's answer
is then picked out of the items by the pattern itself (``Pattern.admitted``),
with the conditions of its own request, so it is the same as running the
pattern alone.

A read that an earlier read in the request already answered is answered at
once, as a value rather than an awaitable: graphql-core completes a value
without a coroutine, and a list of values without a task per item. In
exploreDb, each enrollment's student's preferences (read with the student) and
each preference's track (read with all tracks) are answered so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader
from graphql.pyutils import AwaitableOrValue

from knight.access import Catalog, Pattern
from knight.dynamodb.batches import GET_KEYS, chunks
from knight.graphql.reader import Item, Reader
from knight.graphql.scopes import Source, entity_source, pattern_source
from knight.model import Model

T = TypeVar("T")
Call = Callable[..., Awaitable[Any]]
"""Runs a blocking function off the event loop and awaits its result."""

Values = dict[str, Any]
"""An object's field values, as resolvers hand them to graphql-core."""

Need = tuple[str, Mapping[str, object]] | Source
"""What a read is widened with: an access pattern (by name) and its values, or a place to read whole
(where a field further down reads with ``also``)."""


class Loaders:
    """The reads of one GraphQL request; create one per request, inside its event loop."""

    def __init__(self, model: Model, reader: Reader, call: Call, catalog: Catalog | None = None) -> None:
        self.model = model
        self.reader = reader
        # A catalog never changes: an executor builds one and shares it with every request's loaders.
        self.catalog = catalog or Catalog(model)
        self._call = call
        self._partitions: DataLoader[Source, list[Item]] = DataLoader(self._load_batch)
        # Every read asked for or made: ranges by (index, partition), single keys by (index, partition, sort).
        self._ranges: dict[tuple[str, str], list[tuple[Source, asyncio.Future[list[Item]]]]] = {}
        self._keys: dict[tuple[str, str, str], asyncio.Future[list[Item]]] = {}
        # Answers given, by pattern, values and the read's items (kept, so that their id stays theirs):
        # a student's preferences are asked for once per enrollment of theirs, a track once per preference.
        self._answers: dict[tuple[str, tuple[tuple[str, object], ...], int], tuple[list[Item], list[Values]]] = {}
        self._types: dict[tuple[int, str], tuple[list[Item], dict[object, list[Item]]]] = {}
        # Items read, by primary key: a point read of one is answered without another request.
        self._primed: dict[tuple[str, str, str], list[Item]] = {}
        self.lookahead: dict[tuple[object, ...], Any] = {}
        """What resolvers' lookahead found, by what they looked at (see resolvers.collection_needs)."""
        # Each pattern's values as checked, by what the resolver gave: list items ask again and again.
        self._checks: dict[tuple[str, tuple[tuple[str, type, object], ...]], tuple[Pattern, dict[str, object]]] = {}

    # What resolvers call

    def read(
        self,
        pattern: str,
        values: Mapping[str, object],
        *,
        load_from: Source | None = None,
        also: Sequence[Source] = (),
        widen: Iterable[Need] = (),
    ) -> AwaitableOrValue[list[dict[str, Any]]]:
        """The field values a pattern returns, from this request's reads where they cover it (at once
        when a finished read covers it).

        ``load_from`` reads another place that holds every item the pattern
        returns (progress of an enrollment from the student's collection);
        ``also`` lists such places only worth using when already read;
        ``widen`` names patterns on the same partition that fields further
        down will ask for (or places they read whole), so that one Query
        serves them all. Called synchronously, so that sibling fields queue
        their reads in one batch.
        """
        access, checked = self._checked(pattern, values)
        own = pattern_source(access, checked)
        future = self._covering([own, *also, *([load_from] if load_from else [])])
        if future is None:
            target = load_from or own
            for need in widen:
                if isinstance(need, Source):
                    target = target.merged(need)
                else:
                    other, other_values = self._checked(*need)
                    target = target.merged(pattern_source(other, other_values))
            future = self._load(target)
        elif future.done() and future.exception() is None:
            return self._picked(access, checked, future.result())
        return self._answer(access, checked, future)

    def _picked(self, pattern: Pattern, values: Mapping[str, object], items: list[Item]) -> list[Values]:
        key = (pattern.name, tuple(values.items()), id(items))
        known = self._answers.get(key)
        if known is None:
            entity = pattern.entity
            # Only the pattern's own entity's items can be admitted: a course's collection holds four
            # kinds, and each pattern on it looked at every item.
            of_entity = self._by_type(items, entity.type_attribute).get(entity.name, [])
            picked = [entity.values(item) for item in pattern.admitted(of_entity, values)]
            known = self._answers[key] = (items, picked)
        return known[1]

    def _by_type(self, items: list[Item], type_attribute: str) -> dict[object, list[Item]]:
        """A read's items by their type, in their order (kept with the items, whose id is in the key)."""
        key = (id(items), type_attribute)
        known = self._types.get(key)
        if known is None:
            grouped: dict[object, list[Item]] = {}
            for item in items:
                grouped.setdefault(item.get(type_attribute), []).append(item)
            known = self._types[key] = (items, grouped)
        return known[1]

    async def _answer(
        self, pattern: Pattern, values: Mapping[str, object], future: Awaitable[list[Item]]
    ) -> list[Values]:
        return self._picked(pattern, values, await future)

    def read_one(
        self, pattern: str, values: Mapping[str, object], *, widen: Iterable[Need] = ()
    ) -> AwaitableOrValue[dict[str, Any] | None]:
        """The first value a pattern returns, or None; queued at once like ``read``."""
        found = self.read(pattern, values, widen=widen)
        if isinstance(found, list):
            return found[0] if found else None
        return _first(found)

    def entity_source(self, entity: str, values: Mapping[str, object]) -> Source:
        """Where on the table an entity's items with these leading key values live."""
        return entity_source(self.model.entity(entity), values)

    def clear(self) -> None:
        """Forget every read, so that what follows a write sees the write."""
        self._partitions.clear_all()
        self._ranges.clear()
        self._keys.clear()
        self._answers.clear()
        self._types.clear()
        self._primed.clear()

    # Reading

    def _checked(self, pattern: str, values: Mapping[str, object]) -> tuple[Pattern, dict[str, object]]:
        # Types in the key too: True and 1 are equal as keys, not as values a field type checks.
        key = (pattern, tuple((name, type(value), value) for name, value in values.items()))
        try:
            known = self._checks.get(key)
        except TypeError:  # a value that cannot be a key (no pattern takes one): checked, and refused, there
            access = self.catalog.get(pattern)
            return access, access.arguments(values)
        if known is None:
            access = self.catalog.get(pattern)
            known = self._checks[key] = (access, access.arguments(values))
        return known

    def _covering(self, sources: Iterable[Source]) -> asyncio.Future[list[Item]] | None:
        for source in sources:
            if source.scope.exact:
                key = (*source.collection, source.scope.prefix)
                if key in self._keys:
                    return self._keys[key]
                if key in self._primed:
                    future = self._keys[key] = _done(asyncio.get_running_loop(), self._primed[key])
                    return future
            for read, future in self._ranges.get(source.collection, ()):
                if read.covers(source):
                    return future
        return None

    def _load(self, source: Source) -> asyncio.Future[list[Item]]:
        future = self._partitions.load(source)
        self._remember(source, future)
        return future

    def _remember(self, source: Source, future: asyncio.Future[list[Item]]) -> None:
        if source.scope.exact:
            self._keys.setdefault((*source.collection, source.scope.prefix), future)
        else:
            self._ranges.setdefault(source.collection, []).append((source, future))

    async def _load_batch(self, sources: list[Source]) -> list[list[Item]]:
        """One tick's reads: one Query per partition, every point read in BatchGetItem, all at once."""
        merged: dict[tuple[str, str], Source] = {}
        for source in sources:
            known = merged.get(source.collection)
            merged[source.collection] = source if known is None else known.merged(source)
        table = self.model.table_index
        points = [source for source in merged.values() if source.is_point_read(table)]
        queries = [source for source in merged.values() if not source.is_point_read(table)]
        # Direct reads send a tick's Queries together from one thread; boto3 needs a thread each.
        together = self.reader.reads_together and len(queries) > 1
        results = await asyncio.gather(
            *(
                [self._call(self.reader.query_all, queries)]
                if together
                else (self._call(self.reader.query, source) for source in queries)
            ),
            *(
                self._call(self.reader.batch_get, [self._primary_key(source) for source in chunk])
                for chunk in chunks(points, GET_KEYS)
            ),
        )
        if together:
            results = [*results[0], *results[1:]]
        items: dict[tuple[str, str], list[Item]] = {source.collection: [] for source in merged.values()}
        for source, found in zip(queries, results, strict=False):
            items[source.collection] = found
        for found in results[len(queries) :]:
            for item in found:
                items[(table.name, str(item[table.partition_key]))].append(item)
        loop = asyncio.get_running_loop()
        for collection, source in merged.items():
            if source not in sources:
                self._remember(source, _done(loop, items[collection]))
            self._prime(items[collection])
        # Each caller gets its partition's items; the pattern's own conditions pick its answer.
        return [items[source.collection] for source in sources]

    def _primary_key(self, source: Source) -> dict[str, str]:
        table = self.model.table_index
        assert table.sort_key is not None
        return {table.partition_key: source.partition, table.sort_key: source.scope.prefix}

    def _prime(self, items: list[Item]) -> None:
        """Remember items read from any index as the answers to point reads of their primary keys.

        Every index projects all attributes, so a track read with all tracks
        answers a later track-by-id without another request.
        """
        table = self.model.table_index
        name, partition_key, sort_key = table.name, table.partition_key, table.sort_key
        if sort_key is None:
            return
        primed = self._primed
        for item in items:
            if partition_key in item and sort_key in item:
                # Kept as items: most are never asked for, and a future each would cost more than the rest of this.
                primed.setdefault((name, str(item[partition_key]), str(item[sort_key])), [item])


async def _first(found: Awaitable[list[dict[str, Any]]]) -> dict[str, Any] | None:
    values = await found
    return values[0] if values else None


def _done(loop: asyncio.AbstractEventLoop, value: T) -> asyncio.Future[T]:
    future: asyncio.Future[T] = loop.create_future()
    future.set_result(value)
    return future
