"""Choosing the search backend: OpenSearch when one is configured, the embedded index otherwise."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from knight.local_state import state_dir
from knight.search.index import SearchIndex

if TYPE_CHECKING:
    import boto3

OPENSEARCH_URL_VARIABLE = "KNIGHT_OPENSEARCH_URL"
INDEX_VARIABLE = "KNIGHT_SEARCH_INDEX"
FOLDER_VARIABLE = "KNIGHT_SEARCH_DIR"


@dataclass(frozen=True)
class SearchSettings:
    """Where the index is.

    ``opensearch_url`` set: OpenSearch at that URL (``https://user:pass@host:9200``,
    or an Amazon OpenSearch Service endpoint, signed with boto3's credentials),
    in the index ``index_name`` (default: the table's name). Otherwise the
    embedded index in ``folder`` (default: ``<state dir>/search/<table>``).
    """

    opensearch_url: str | None = None
    index_name: str | None = None
    folder: Path | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> SearchSettings:
        """Read ``KNIGHT_OPENSEARCH_URL``, ``KNIGHT_SEARCH_INDEX`` and ``KNIGHT_SEARCH_DIR``."""
        env = env if env is not None else os.environ
        folder = env.get(FOLDER_VARIABLE, "").strip()
        return cls(
            opensearch_url=env.get(OPENSEARCH_URL_VARIABLE, "").strip() or None,
            index_name=env.get(INDEX_VARIABLE, "").strip() or None,
            folder=Path(folder) if folder else None,
        )

    def folder_for(self, table: str, base: Path | None = None) -> Path:
        return self.folder or (base or state_dir()) / "search" / table


def open_search_index(
    table: str,
    settings: SearchSettings | None = None,
    *,
    base: Path | None = None,
    session: boto3.Session | None = None,
) -> SearchIndex:
    """The search index of ``table`` as the settings (by default, the environment) say."""
    settings = settings or SearchSettings.from_environment()
    if settings.opensearch_url:
        from knight.search.opensearch_index import OpenSearchIndex

        return OpenSearchIndex.from_url(settings.opensearch_url, settings.index_name or table, session=session)
    from knight.search.sqlite_index import SqliteSearchIndex

    return SqliteSearchIndex(settings.folder_for(table, base))
