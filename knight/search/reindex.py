"""Rebuilding the search index from the table."""

from __future__ import annotations

from knight.data.progress import progress_bar
from knight.data.purge import scan_pages
from knight.dynamodb import from_dynamodb
from knight.engine import Engine
from knight.errors import SearchUnavailableError
from knight.model import Model
from knight.search.documents import SearchDocument, SearchMapping
from knight.search.index import SearchIndex

_CHUNK = 500

STREAM_META = "stream"
"""The index remembers which stream it follows; another stream (a new table) means a reindex."""


def reindex(
    engine: Engine,
    model: Model,
    table: str,
    index: SearchIndex,
    *,
    mapping: SearchMapping | None = None,
    show_progress: bool | None = None,
) -> int:
    """Empty the index and fill it from a scan of the table; return how many documents it holds.

    Documents read from the table get the lowest version, so any stream record
    still to be indexed is applied on top of them: a stream consumer may keep
    running during a reindex.
    """
    mapping = mapping or SearchMapping(model)
    index.reset()
    bar = progress_bar("indexing", None, enabled=show_progress)
    pending: list[SearchDocument] = []
    count = 0

    def flush() -> None:
        report = index.overwrite(pending)
        if report.failed:
            first = next(iter(report.failed.items()))
            raise SearchUnavailableError(
                f"the search backend refused {len(report.failed)} documents (first: {first[0]}: {first[1]})"
            )
        bar.update(len(pending))
        pending.clear()

    try:
        for page in scan_pages(engine, table):
            for raw in page:
                document = mapping.document(from_dynamodb(raw))
                if document is not None:
                    pending.append(document)
                    count += 1
            if len(pending) >= _CHUNK:
                flush()
        flush()
    finally:
        bar.close()
    return count


def reindex_for_stream(
    engine: Engine,
    model: Model,
    table: str,
    index: SearchIndex,
    stream_arn: str,
    *,
    mapping: SearchMapping | None = None,
) -> bool:
    """Rebuild the index unless it already follows ``stream_arn``; return whether it was rebuilt."""
    if index.get_meta(STREAM_META) == stream_arn:
        return False
    reindex(engine, model, table, index, mapping=mapping, show_progress=False)
    index.set_meta(STREAM_META, stream_arn)
    return True
