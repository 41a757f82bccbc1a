"""The embedded search backend: SQLite's FTS5 full-text engine, ranked by BM25, in a folder.

SQLite ships with Python, so this needs no service and no package. One file,
``index.sqlite3``, holds a row per document id (its version, whether it is
deleted, its fields) and an FTS5 table with the searchable text, joined on
rowid. Several processes may share the folder: `knight up` writes while
`knight search` reads (WAL mode).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from knight.errors import SearchUnavailableError
from knight.search.documents import (
    BASE_VERSION,
    ApplyReport,
    DocumentChange,
    SearchDocument,
    SearchHit,
    dumps,
)
from knight.search.index import DEFAULT_LIMIT, clamp_limit

FILE_NAME = "index.sqlite3"

_HEADER = b"SQLite format 3\x00"

_DAMAGED = {11, 26}
"""SQLITE_CORRUPT and SQLITE_NOTADB: the file itself is bad, unlike a folder or permission problem."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    rowid INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL UNIQUE,
    entity_type TEXT NOT NULL,
    version TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    text TEXT NOT NULL,
    item_values TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_text USING fts5(
    entity_type UNINDEXED,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SearchIndexCorruptError(SearchUnavailableError):
    """The index file is damaged or not a database: it can only be set aside and rebuilt."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def _not_a_database(path: Path) -> bool:
    """Whether ``path`` is a file with something other than SQLite's header (an empty file is a new database)."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_HEADER))
    except OSError:
        return False  # missing, a folder, no permission: SQLite says which
    return bool(head) and head != _HEADER


_WORD = re.compile(r"\w+", re.UNICODE)


def match_expression(text: str) -> str | None:
    """An FTS5 query for free text: every word must match, the last one as a prefix.

    Words are quoted, so FTS5's own syntax (AND, NEAR, column filters, quotes)
    in user input is taken literally instead of failing or misleading.
    """
    words = _WORD.findall(text)
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class SqliteSearchIndex:
    """A full-text index kept in ``folder`` (created when missing)."""

    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise SearchUnavailableError(
                f"cannot open the search index: {self.folder}, or a folder above it, is a file, not a folder"
            ) from None
        except OSError as exc:
            raise SearchUnavailableError(f"cannot open the search index at {self.path}: {exc}") from None
        if _not_a_database(self.path):
            # Decided before SQLite opens it: closing a connection to such a file deletes the -wal beside it.
            raise SearchIndexCorruptError(f"the index file {self.path} is corrupt (not an SQLite database)", self.path)
        try:
            connection = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise SearchUnavailableError(f"cannot open the search index at {self.path}: {exc}") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            connection.close()  # the file may be set aside next: hold no handle on it
            if exc.sqlite_errorcode & 0xFF in _DAMAGED:
                raise SearchIndexCorruptError(f"the index file {self.path} is corrupt ({exc})", self.path) from None
            raise SearchUnavailableError(f"cannot open the search index at {self.path}: {exc}") from None
        self._connection = connection
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"embedded full-text index (SQLite FTS5, BM25) at {self.folder}"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._connection
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                raise SearchUnavailableError(f"the search index at {self.path} failed: {exc}") from None

    def apply(self, changes: Sequence[DocumentChange]) -> ApplyReport:
        applied = skipped = 0
        with self._transaction() as db:
            for change in changes:
                row = db.execute("SELECT version FROM documents WHERE doc_id = ?", (change.doc_id,)).fetchone()
                if row is not None and row[0] >= change.version:
                    skipped += 1  # an older (or the same) record: the index already has newer
                    continue
                self._put(db, change.doc_id, change.version, change.document, change.document is None)
                applied += 1
        return ApplyReport(applied=applied, skipped_older=skipped)

    def overwrite(self, documents: Sequence[SearchDocument], deleted: Sequence[str] = ()) -> ApplyReport:
        count = 0
        with self._transaction() as db:
            for doc_id, document in [*((d.doc_id, d) for d in documents), *((i, None) for i in deleted)]:
                row = db.execute("SELECT version FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
                self._put(db, doc_id, row[0] if row else BASE_VERSION, document, document is None)
                count += 1
        return ApplyReport(applied=count)

    @staticmethod
    def _put(db: sqlite3.Connection, doc_id: str, version: str, document: SearchDocument | None, deleted: bool) -> None:
        entity_type = document.entity_type if document else ""
        text = dumps(dict(document.text)) if document else "{}"
        values = dumps(dict(document.values)) if document else "{}"
        db.execute(
            "INSERT INTO documents (doc_id, entity_type, version, deleted, text, item_values) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(doc_id) DO UPDATE SET entity_type = excluded.entity_type, "
            "version = excluded.version, deleted = excluded.deleted, text = excluded.text, "
            "item_values = excluded.item_values",
            (doc_id, entity_type, version, int(deleted), text, values),
        )
        (rowid,) = db.execute("SELECT rowid FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        db.execute("DELETE FROM documents_text WHERE rowid = ?", (rowid,))
        if document is not None:
            db.execute(
                "INSERT INTO documents_text (rowid, entity_type, body) VALUES (?, ?, ?)",
                (rowid, document.entity_type, document.body),
            )

    def search(self, text: str, entity_type: str | None = None, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
        expression = match_expression(text)
        if expression is None:
            return []
        sql = (
            "SELECT d.doc_id, d.entity_type, d.item_values, bm25(documents_text) AS rank, "
            "snippet(documents_text, 1, '[', ']', '...', 12) "
            "FROM documents_text JOIN documents d ON d.rowid = documents_text.rowid "
            "WHERE documents_text MATCH ? AND d.deleted = 0"
        )
        params: list[object] = [expression]
        if entity_type:
            sql += " AND d.entity_type = ?"
            params.append(entity_type)
        sql += " ORDER BY rank LIMIT ?"
        params.append(clamp_limit(limit))
        with self._lock:
            try:
                rows = self._connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise SearchUnavailableError(f"the search index at {self.path} failed: {exc}") from None
        # bm25() is lower for better matches; a score reads more naturally the other way round.
        return [
            SearchHit(doc_id, kind, -float(rank), json.loads(values), snippet)
            for doc_id, kind, values, rank, snippet in rows
        ]

    def documents(self) -> dict[str, SearchDocument]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT doc_id, entity_type, text, item_values FROM documents WHERE deleted = 0"
            ).fetchall()
        return {
            doc_id: SearchDocument(doc_id, kind, json.loads(text), json.loads(values))
            for doc_id, kind, text, values in rows
        }

    def version_of(self, doc_id: str) -> str | None:
        with self._lock:
            row = self._connection.execute("SELECT version FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return None if row is None else str(row[0])

    def reset(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM documents")
            db.execute("DELETE FROM documents_text")

    def get_meta(self, name: str) -> str | None:
        with self._lock:
            row = self._connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    def close(self) -> None:
        with self._lock:
            self._connection.close()
