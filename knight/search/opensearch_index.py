"""The OpenSearch backend, through opensearch-py and its bulk helper.

Each change is a scripted upsert that keeps the document's version (the
stream sequence number, zero-padded text) and only replaces a document with
a newer one; deletes are tombstones (``deleted: true``) with their version,
so an older record arriving late cannot bring a deleted item back. A bulk
request answers 200 even when some documents fail: those come back as
per-item errors and are reported by id; rejections for load (429) are
retried by the helper.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from knight.dynamodb import plain
from knight.errors import SearchUnavailableError
from knight.extras import missing_extra
from knight.search.documents import (
    BASE_VERSION,
    ApplyReport,
    DocumentChange,
    SearchDocument,
    SearchHit,
)
from knight.search.index import DEFAULT_LIMIT, clamp_limit

if TYPE_CHECKING:
    import boto3
    from opensearchpy import OpenSearch

_NEWER_WINS = (
    "if (ctx._source.version == null || ctx._source.version.compareTo(params.version) < 0) {"
    " ctx._source.clear(); ctx._source.putAll(params.doc); ctx._source.version = params.version;"
    " } else { ctx.op = 'none'; }"
)
_KEEP_VERSION = (
    "String v = ctx._source.version == null ? params.base : ctx._source.version;"
    " ctx._source.clear(); ctx._source.putAll(params.doc); ctx._source.version = v;"
)

MAPPINGS: dict[str, Any] = {
    "properties": {
        "entityType": {"type": "keyword"},
        "version": {"type": "keyword"},
        "deleted": {"type": "boolean"},
        "body": {"type": "text"},
        "text": {"type": "object", "dynamic": True},
        "values": {"type": "object", "enabled": False},
    }
}


def _source(document: SearchDocument | None) -> dict[str, Any]:
    if document is None:
        return {"deleted": True, "entityType": "", "body": "", "text": {}, "values": {}}
    return {
        "deleted": False,
        "entityType": document.entity_type,
        "body": document.body,
        "text": dict(document.text),
        "values": plain(dict(document.values)),
    }


class OpenSearchIndex:
    """Documents in one OpenSearch index (and its ``-meta`` companion for bookkeeping)."""

    name = "opensearch"

    def __init__(self, client: OpenSearch, index: str, *, max_retries: int = 3, initial_backoff: float = 0.5) -> None:
        self.client = client
        self.index = index
        self.meta_index = f"{index}-meta"
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self._ready = False

    @classmethod
    def from_url(cls, url: str, index: str, *, session: boto3.Session | None = None) -> OpenSearchIndex:
        """A client for ``url``; Amazon OpenSearch Service endpoints are signed with boto3's credentials."""
        try:
            from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth
        except ImportError as exc:
            raise missing_extra("search on OpenSearch (KNIGHT_OPENSEARCH_URL)", "search", exc.name) from None

        parsed = urlparse(url)
        kwargs: dict[str, Any] = {"hosts": [url], "timeout": 10}
        host = parsed.hostname or ""
        if host.endswith((".es.amazonaws.com", ".aoss.amazonaws.com")):
            import boto3

            session = session or boto3.Session()
            credentials = session.get_credentials()
            region = host.split(".")[-4] if host.count(".") >= 4 else (session.region_name or "us-east-1")
            service = "aoss" if host.endswith(".aoss.amazonaws.com") else "es"
            kwargs["http_auth"] = Urllib3AWSV4SignerAuth(credentials, region, service)
        elif parsed.username:
            kwargs["http_auth"] = (parsed.username, parsed.password or "")
            kwargs["hosts"] = [url.replace(f"{parsed.username}:{parsed.password}@", "")]
        return cls(OpenSearch(**kwargs), index)

    def describe(self) -> str:
        return f"OpenSearch index {self.index}"

    def _call(self, what: str, action: Any) -> Any:
        from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
        from opensearchpy.exceptions import TransportError

        try:
            return action()
        except OpenSearchConnectionError as exc:
            raise SearchUnavailableError(f"OpenSearch cannot be reached ({what}): {exc}") from None
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            if status in (429,) or status >= 500 or status == 0:
                raise SearchUnavailableError(f"OpenSearch is unavailable ({what}): {exc}") from None
            raise

    def _ensure(self) -> None:
        if self._ready:
            return
        indices = self.client.indices
        for name, body in ((self.index, {"mappings": MAPPINGS}), (self.meta_index, {})):
            if not self._call("check index", lambda name=name: indices.exists(index=name)):
                self._call("create index", lambda name=name, body=body: indices.create(index=name, body=body))
        self._ready = True

    def _bulk(self, actions: list[dict[str, Any]]) -> tuple[int, dict[str, str]]:
        from opensearchpy import helpers

        self._ensure()
        ok, errors = self._call(
            "bulk",
            lambda: helpers.bulk(
                self.client,
                actions,
                raise_on_error=False,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
            ),
        )
        failed: dict[str, str] = {}
        for error in errors:
            (_, detail), *_ = error.items()
            reason = detail.get("error")
            if isinstance(reason, dict):
                reason = f"{reason.get('type', 'error')}: {reason.get('reason', '')}"
            failed[str(detail.get("_id"))] = f"status {detail.get('status')}: {reason}"
        return int(ok), failed

    def apply(self, changes: Sequence[DocumentChange]) -> ApplyReport:
        if not changes:
            return ApplyReport()
        latest: dict[str, DocumentChange] = {}
        for change in changes:  # one action per id: a bulk request may not order two for the same id
            if change.doc_id not in latest or latest[change.doc_id].version < change.version:
                latest[change.doc_id] = change
        actions = [
            {
                "_op_type": "update",
                "_index": self.index,
                "_id": change.doc_id,
                "scripted_upsert": True,
                "upsert": {},
                "script": {
                    "lang": "painless",
                    "source": _NEWER_WINS,
                    "params": {"version": change.version, "doc": _source(change.document)},
                },
            }
            for change in latest.values()
        ]
        ok, failed = self._bulk(actions)
        return ApplyReport(applied=ok, failed=failed)

    def overwrite(self, documents: Sequence[SearchDocument], deleted: Sequence[str] = ()) -> ApplyReport:
        pairs: list[tuple[str, SearchDocument | None]] = [(d.doc_id, d) for d in documents]
        pairs += [(doc_id, None) for doc_id in deleted]
        if not pairs:
            return ApplyReport()
        actions = [
            {
                "_op_type": "update",
                "_index": self.index,
                "_id": doc_id,
                "scripted_upsert": True,
                "upsert": {},
                "script": {
                    "lang": "painless",
                    "source": _KEEP_VERSION,
                    "params": {"base": BASE_VERSION, "doc": _source(document)},
                },
            }
            for doc_id, document in pairs
        ]
        ok, failed = self._bulk(actions)
        return ApplyReport(applied=ok, failed=failed)

    def search(self, text: str, entity_type: str | None = None, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
        if not text.strip():
            return []
        self._ensure()
        filters: list[dict[str, Any]] = [{"term": {"deleted": False}}]
        if entity_type:
            filters.append({"term": {"entityType": entity_type}})
        body = {
            "size": clamp_limit(limit),
            "query": {
                "bool": {
                    "must": {
                        "multi_match": {"query": text, "type": "bool_prefix", "fields": ["body"], "operator": "and"}
                    },
                    "filter": filters,
                }
            },
            "highlight": {"fields": {"body": {"pre_tags": ["["], "post_tags": ["]"]}}},
        }
        response = self._call("search", lambda: self.client.search(index=self.index, body=body))
        hits = []
        for hit in response.get("hits", {}).get("hits", []):
            source = hit.get("_source", {})
            snippet = " ... ".join(hit.get("highlight", {}).get("body", []))
            hits.append(
                SearchHit(
                    hit["_id"],
                    source.get("entityType", ""),
                    float(hit.get("_score") or 0),
                    source.get("values", {}),
                    snippet,
                )
            )
        return hits

    def _scan(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        from opensearchpy import helpers

        self._ensure()
        self._call("refresh", lambda: self.client.indices.refresh(index=self.index))
        yield from self._call("scan", lambda: list(helpers.scan(self.client, index=self.index, query=query)))

    def documents(self) -> dict[str, SearchDocument]:
        found = {}
        for hit in self._scan({"query": {"term": {"deleted": False}}}):
            source = hit["_source"]
            found[hit["_id"]] = SearchDocument(
                hit["_id"], source["entityType"], source.get("text", {}), source.get("values", {})
            )
        return found

    def reset(self) -> None:
        self._ensure()
        self._call(
            "reset",
            lambda: self.client.delete_by_query(index=self.index, body={"query": {"match_all": {}}}, refresh=True),
        )

    def get_meta(self, name: str) -> str | None:
        from opensearchpy.exceptions import NotFoundError

        self._ensure()
        try:
            found = self._call("meta", lambda: self.client.get(index=self.meta_index, id=name))
        except NotFoundError:
            return None
        value = found.get("_source", {}).get("value")
        return None if value is None else str(value)

    def set_meta(self, name: str, value: str) -> None:
        self._ensure()
        self._call(
            "meta", lambda: self.client.index(index=self.meta_index, id=name, body={"value": value}, refresh=True)
        )

    def close(self) -> None:
        self.client.close()
