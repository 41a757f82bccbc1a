"""A search backend that can be taken away and brought back, to watch the stream ride out an outage."""

from __future__ import annotations

from collections.abc import Sequence

from knight.errors import SearchUnavailableError
from knight.search.documents import ApplyReport, DocumentChange, SearchDocument, SearchHit
from knight.search.index import DEFAULT_LIMIT, SearchIndex


class SwitchableIndex:
    """Wraps a real index; while down, every call fails as an unreachable backend does.

    ``documents()`` and ``inner`` still see the real index, so a notebook can
    show what it holds during the outage.
    """

    def __init__(self, inner: SearchIndex) -> None:
        self.inner = inner
        self.name = f"switchable {inner.name}"
        self.is_down = False
        self.refused = 0
        """Calls refused while down."""

    def take_down(self) -> None:
        self.is_down = True

    def bring_back(self) -> None:
        self.is_down = False

    def _check(self) -> None:
        if self.is_down:
            self.refused += 1
            raise SearchUnavailableError(f"the search backend ({self.inner.name}) is down; try again later")

    def apply(self, changes: Sequence[DocumentChange]) -> ApplyReport:
        self._check()
        return self.inner.apply(changes)

    def overwrite(self, documents: Sequence[SearchDocument], deleted: Sequence[str] = ()) -> ApplyReport:
        self._check()
        return self.inner.overwrite(documents, deleted)

    def search(self, text: str, entity_type: str | None = None, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
        self._check()
        return self.inner.search(text, entity_type, limit)

    def documents(self) -> dict[str, SearchDocument]:
        return self.inner.documents()

    def reset(self) -> None:
        self._check()
        self.inner.reset()

    def get_meta(self, name: str) -> str | None:
        self._check()
        return self.inner.get_meta(name)

    def set_meta(self, name: str, value: str) -> None:
        self._check()
        self.inner.set_meta(name, value)

    def describe(self) -> str:
        state = "down" if self.is_down else "up"
        return f"{self.inner.describe()} ({state})"

    def close(self) -> None:
        self.inner.close()
