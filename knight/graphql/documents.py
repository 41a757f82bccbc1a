"""Query texts parsed, validated and measured once, then shared by every request that sends the same text.

Clients send a few query texts again and again with other variables. What
parsing, validation and the cost estimate make of a text depends only on the
text, the schema, the rules and the limits, all fixed for one executor, and
graphql-core never changes a document it executes; redoing them costs more
than executing a single-item query. The cache is least-recently-used and
bounded twice: in entries, and in the characters of the texts it holds (a
document's size follows its text's), so no stream of distinct queries makes
a process grow; a text too long to be worth a share of it is prepared anew.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode

MAX_ENTRIES = 256
MAX_CHARS = 256 * 1024
"""Characters of query text the cache holds at most, all entries together."""


@dataclass(frozen=True)
class Prepared:
    """What became of one query text: a valid document with each operation's cost, or the errors and their code."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    code: str = ""
    """The code the errors are reported with (parse failed, too large, validation failed)."""
    costs: Mapping[str | None, int] | None = None
    """Estimated cost of each operation, by name (None for an anonymous one)."""

    def cost(self, operation: OperationDefinitionNode) -> int:
        assert self.costs is not None, "only a valid document has costs"
        return self.costs[operation.name.value if operation.name else None]


class Documents:
    """A bounded LRU of prepared query texts; safe to share between threads and event loops."""

    def __init__(
        self, prepare: Callable[[str], Prepared], *, max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS
    ) -> None:
        self._prepare = prepare
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, query: str) -> Prepared:
        """The prepared form of a query text, from the cache when it is there."""
        with self._lock:
            found = self._entries.get(query)
            if found is not None:
                self._entries.move_to_end(query)
                return found
        # Prepared outside the lock: two requests may both prepare a new text, and get equal results.
        prepared = self._prepare(query)
        if len(query) <= self.max_chars // 8:
            self._keep(query, prepared)
        return prepared

    def _keep(self, query: str, prepared: Prepared) -> None:
        with self._lock:
            if query in self._entries:
                return
            self._entries[query] = prepared
            self._chars += len(query)
            while len(self._entries) > self.max_entries or self._chars > self.max_chars:
                oldest, _ = self._entries.popitem(last=False)
                self._chars -= len(oldest)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def chars(self) -> int:
        """Characters of query text held now."""
        return self._chars
