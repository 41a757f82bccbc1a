"""Choosing the search backend: OpenSearch when one is configured, the embedded index otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from knight.local_state import state_dir
from knight.search.index import SearchIndex
from knight.settings import Settings

if TYPE_CHECKING:
    import boto3

OPENSEARCH_URL_VARIABLE = "KNIGHT_OPENSEARCH_URL"
INDEX_VARIABLE = "KNIGHT_SEARCH_INDEX"
FOLDER_VARIABLE = "KNIGHT_SEARCH_DIR"


class SearchSettings(Settings):
    """Where the index is.

    ``opensearch_url`` set: OpenSearch at that URL (``https://user:pass@host:9200``,
    or an Amazon OpenSearch Service endpoint, signed with boto3's credentials),
    in the index ``index_name`` (default: the table's name). Otherwise the
    embedded index in ``folder`` (default: ``<state dir>/search/<table>``).
    Each can come from its variable: ``KNIGHT_OPENSEARCH_URL``,
    ``KNIGHT_SEARCH_INDEX``, ``KNIGHT_SEARCH_DIR``.
    """

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_ignore_empty=True, str_strip_whitespace=True, validate_by_name=True
    )

    opensearch_url: str | None = Field(None, validation_alias=OPENSEARCH_URL_VARIABLE)
    index_name: str | None = Field(None, validation_alias=INDEX_VARIABLE)
    folder: Path | None = Field(None, validation_alias=FOLDER_VARIABLE)

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
