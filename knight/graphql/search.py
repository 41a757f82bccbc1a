"""The `search` query: full-text search over the index the stream processor keeps."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType

from knight.errors import SearchUnavailableError, ValidationError
from knight.graphql.context import Info
from knight.search import SEARCHABLE, SearchHit
from knight.search.index import MAX_LIMIT

TYPES = tuple(searchable.entity for searchable in SEARCHABLE)

search_query = QueryType()
"""The ``search`` field of Query; the schema binds it beside the other queries."""


@search_query.field("search")
async def resolve_search(_: None, info: Info, text: str, entityType: str | None = None, limit: int = 10) -> Any:
    if not text.strip():
        raise ValidationError("search needs some text to look for")
    if entityType is not None and entityType not in TYPES:
        raise ValidationError(f"entityType must be one of {', '.join(TYPES)}, not {entityType!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    index = info.context.search_index
    if index is None:
        raise SearchUnavailableError(
            "search is not running here: `knight up` and `knight stream` keep an index, or set KNIGHT_OPENSEARCH_URL"
        )
    return await info.context.call(index.search, text, entityType, limit)


search_hit = ObjectType("SearchHit")


@search_hit.field("entityType")
def resolve_hit_type(hit: SearchHit, _: Info) -> str:
    return hit.entity_type


@search_hit.field("id")
def resolve_hit_id(hit: SearchHit, _: Info) -> str:
    return str(hit.values.get("id", hit.doc_id))


def _only(entity: str) -> Any:
    def resolve(hit: SearchHit, _: Info) -> Any:
        return dict(hit.values) if hit.entity_type == entity else None

    return resolve


for _entity in TYPES:
    search_hit.set_field(_entity, _only(_entity))
