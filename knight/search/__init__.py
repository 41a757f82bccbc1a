"""Full-text search over the table: the embedded SQLite FTS5 index or OpenSearch.

The stream keeps the index up to date (knight.stream.indexing); ``reindex``
rebuilds it from the table; ``open_search_index(table).search(text, entity_type, limit)``
answers queries (GraphQL ``search`` and `knight search TEXT`).
"""

from knight.search.config import SearchSettings, open_search_index
from knight.search.documents import (
    SEARCHABLE,
    ApplyReport,
    DocumentChange,
    Searchable,
    SearchDocument,
    SearchHit,
    SearchMapping,
)
from knight.search.index import SearchIndex
from knight.search.reindex import reindex
from knight.search.sqlite_index import SqliteSearchIndex

__all__ = [
    "SEARCHABLE",
    "ApplyReport",
    "DocumentChange",
    "SearchDocument",
    "SearchHit",
    "SearchIndex",
    "SearchMapping",
    "SearchSettings",
    "Searchable",
    "SqliteSearchIndex",
    "open_search_index",
    "reindex",
]
