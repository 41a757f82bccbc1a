"""The interface every search backend offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from knight.search.documents import ApplyReport, DocumentChange, SearchDocument, SearchHit

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


class SearchIndex(Protocol):
    """A full-text index of the table's searchable items.

    ``apply`` raises SearchUnavailableError when the backend cannot be reached
    (nothing was applied, try again later) and reports per-document failures
    in its ApplyReport otherwise.
    """

    name: str

    def apply(self, changes: Sequence[DocumentChange]) -> ApplyReport: ...

    def overwrite(self, documents: Sequence[SearchDocument], deleted: Sequence[str] = ()) -> ApplyReport:
        """Put these documents (and delete these ids) as the table has them now, keeping versions."""
        ...

    def search(self, text: str, entity_type: str | None = None, limit: int = DEFAULT_LIMIT) -> list[SearchHit]: ...

    def documents(self) -> dict[str, SearchDocument]:
        """Every live (not deleted) document, by id: for checks and notebooks."""
        ...

    def reset(self) -> None:
        """Remove every document and tombstone."""
        ...

    def get_meta(self, name: str) -> str | None: ...

    def set_meta(self, name: str, value: str) -> None: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


def clamp_limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))
