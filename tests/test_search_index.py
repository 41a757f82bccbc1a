"""The search backends on their own: the embedded SQLite FTS5 index, and OpenSearch's bulk handling."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from knight.errors import SearchUnavailableError
from knight.model import Model
from knight.search import SearchSettings, SqliteSearchIndex, open_search_index
from knight.search.documents import BASE_VERSION, DocumentChange, SearchDocument, SearchMapping
from knight.search.opensearch_index import OpenSearchIndex
from knight.search.sqlite_index import match_expression
from knight.stream.records import sortable_sequence


def doc(doc_id: str, entity_type: str, **text: str) -> SearchDocument:
    return SearchDocument(doc_id, entity_type, text, {"id": doc_id, **text})


def upsert(document: SearchDocument, sequence: int) -> DocumentChange:
    return DocumentChange(document.doc_id, sortable_sequence(str(sequence)), document, str(sequence))


def delete(doc_id: str, sequence: int) -> DocumentChange:
    return DocumentChange(doc_id, sortable_sequence(str(sequence)), None, str(sequence))


@pytest.fixture
def index(tmp_path: Path) -> Any:
    built = SqliteSearchIndex(tmp_path / "index")
    yield built
    built.close()


def test_bm25_ranks_the_better_match_first(index: SqliteSearchIndex) -> None:
    index.apply(
        [
            upsert(doc("a", "chapter", content="Partition keys spread load; a hot partition key throttles."), 10),
            upsert(doc("b", "chapter", content="Sort keys order items inside one partition."), 11),
            upsert(doc("c", "course", name="Cooking for beginners"), 12),
        ]
    )
    hits = index.search("partition")
    assert [hit.doc_id for hit in hits] == ["a", "b"]
    assert hits[0].score > hits[1].score
    assert "[partition]" in hits[0].snippet.lower()
    assert [hit.doc_id for hit in index.search("partition", entity_type="course")] == []
    assert [hit.doc_id for hit in index.search("cook")] == ["c"]  # the last word is a prefix
    assert [hit.doc_id for hit in index.search("sort partition")] == ["b"]  # every word must match
    assert index.search("   ") == []
    assert len(index.search("partition", limit=1)) == 1


def test_search_syntax_in_user_text_is_taken_literally(index: SqliteSearchIndex) -> None:
    index.apply([upsert(doc("s", "student", email="ada.lovelace@example.com", firstName="Ada"), 1)])
    assert [h.doc_id for h in index.search("ada.lovelace@example.com")] == ["s"]
    for text in ('"unbalanced', "a AND OR NOT", "NEAR(x y)", "email:ada", "*", "-ada"):
        index.search(text)  # never an FTS5 syntax error
    assert match_expression("Hot keys!") == '"Hot" "keys"*'
    assert match_expression("...") is None


def test_an_older_change_never_overwrites_a_newer_one(index: SqliteSearchIndex) -> None:
    old, new = doc("t", "track", name="Serverless"), doc("t", "track", name="Databases")
    index.apply([upsert(new, 20)])
    report = index.apply([upsert(old, 19)])
    assert report.skipped_older == 1
    assert index.documents()["t"].text == {"name": "Databases"}
    assert index.apply([upsert(new, 20)]).skipped_older == 1  # the same record again


def test_a_deleted_document_cannot_be_resurrected_by_a_late_record(index: SqliteSearchIndex) -> None:
    index.apply([upsert(doc("t", "track", name="Serverless"), 5), delete("t", 7)])
    assert index.search("serverless") == []
    index.apply([upsert(doc("t", "track", name="Serverless"), 6)])  # delivered late
    assert index.search("serverless") == []
    assert "t" not in index.documents()
    index.apply([upsert(doc("t", "track", name="Serverless again"), 8)])  # a real re-creation
    assert [h.doc_id for h in index.search("serverless")] == ["t"]


def test_overwrite_keeps_versions_and_reset_empties(index: SqliteSearchIndex) -> None:
    index.apply([upsert(doc("t", "track", name="Old"), 30)])
    index.overwrite([doc("t", "track", name="From the table"), doc("u", "track", name="New")])
    assert index.documents()["t"].text == {"name": "From the table"}
    assert index.version_of("t") == sortable_sequence("30")
    assert index.version_of("u") == BASE_VERSION
    assert index.apply([upsert(doc("u", "track", name="Stream"), 1)]).applied == 1  # any record beats the table
    index.overwrite([], deleted=["u"])
    assert set(index.documents()) == {"t"}
    index.set_meta("stream", "arn:x")
    index.reset()
    assert index.documents() == {}
    assert index.get_meta("stream") == "arn:x"


def test_the_index_lives_in_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "search" / "sir-learn-a-lot"
    first = open_search_index("sir-learn-a-lot", SearchSettings(), base=tmp_path)
    first.apply([upsert(doc("t", "track", name="Kept"), 1)])
    first.close()
    again = open_search_index("sir-learn-a-lot", SearchSettings(folder=folder))
    assert [h.doc_id for h in again.search("kept")] == ["t"]
    again.close()
    settings = SearchSettings.from_environment({"KNIGHT_OPENSEARCH_URL": "http://localhost:9200"})
    assert settings.opensearch_url == "http://localhost:9200"


def test_an_unusable_folder_is_an_outage(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SearchUnavailableError):
        SqliteSearchIndex(blocker / "index")


def test_the_mapping_indexes_names_content_and_emails(model: Model) -> None:
    mapping = SearchMapping(model)
    s, e, h, c = (str(uuid.uuid4()) for _ in range(4))
    student = model.entity("student").item(
        {"id": s, "firstName": "Ada", "lastName": "Lovelace", "email": "Ada@Example.com", "xp": 5}
    )
    document = mapping.document(student)
    assert document is not None
    assert document.text == {"firstName": "Ada", "lastName": "Lovelace", "email": "Ada@Example.com"}
    pointer = model.entity("chapter").item({"id": h, "courseId": c, "version": 0, "latest": 2, "content": "x"})
    version = model.entity("chapter").item({"id": h, "courseId": c, "version": 2, "content": "x"})
    assert mapping.document(pointer) is not None
    assert mapping.document(version) is None  # only the current chapter is searchable
    progress = model.entity("progress").item(
        {"studentId": s, "enrollmentId": e, "chapterId": h, "marker": "m", "xp": 1}
    )
    assert mapping.change(progress, None, progress, "1") is None
    assert mapping.doc_id(student) == f"s#{s}|s#{s}"


# -- OpenSearch, through opensearch-py's real client and bulk helper ------------


class FakeOpenSearch:
    """Answers the requests OpenSearchIndex makes, as an OpenSearch cluster would, in memory.

    Only the newer-wins rule of the update script is imitated, which is
    enough to check what the backend sends and how it reads per-item errors.
    """

    def __init__(self) -> None:
        self.sources: dict[str, dict[str, Any]] = {}
        self.reject: set[str] = set()
        self.down = False
        self.bulk_requests = 0

    def perform(self, method: str, url: str, body: bytes | None) -> tuple[int, dict[str, Any]]:
        from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError

        if self.down:
            raise OpenSearchConnectionError("N/A", "connection refused", Exception("refused"))
        if method == "HEAD":
            return 200, {}
        if url.endswith("/_bulk"):
            self.bulk_requests += 1
            lines = [json.loads(line) for line in (body or b"").decode().splitlines() if line.strip()]
            items = []
            for action, request in zip(lines[::2], lines[1::2], strict=True):
                doc_id = action["update"]["_id"]
                if doc_id in self.reject:
                    items.append(
                        {
                            "update": {
                                "_id": doc_id,
                                "status": 400,
                                "error": {"type": "mapper_parsing_exception", "reason": "bad field"},
                            }
                        }
                    )
                    continue
                params = request["script"]["params"]
                current = self.sources.get(doc_id, {})
                if "version" in params and current.get("version", "") >= params["version"]:
                    items.append({"update": {"_id": doc_id, "status": 200, "result": "noop"}})
                    continue
                self.sources[doc_id] = {**params["doc"], "version": params.get("version", current.get("version"))}
                items.append({"update": {"_id": doc_id, "status": 200, "result": "updated"}})
            errors = any(item["update"]["status"] >= 300 for item in items)
            return 200, {"took": 1, "errors": errors, "items": items}
        return 200, {"acknowledged": True}


def fake_client(cluster: FakeOpenSearch) -> Any:
    from opensearchpy import OpenSearch
    from opensearchpy.connection import Connection

    class Fake(Connection):
        def perform_request(  # Connection's signature: the client passes params and body by position
            self,
            method: str,
            url: str,
            params: Mapping[str, Any] | None = None,
            body: bytes | str | None = None,
            *_: Any,
            **__: Any,
        ) -> Any:
            del params  # the fake cluster answers from the method, the path and the body
            status, answer = cluster.perform(method, url, body if isinstance(body, bytes | None) else body.encode())
            return status, {}, json.dumps(answer)

    return OpenSearch(hosts=[{"host": "localhost", "port": 9200}], connection_class=Fake)


def test_opensearch_bulk_reports_per_document_errors_and_keeps_the_newest() -> None:
    cluster = FakeOpenSearch()
    index = OpenSearchIndex(fake_client(cluster), "sir-learn-a-lot", max_retries=0)
    cluster.reject.add("bad")

    report = index.apply(
        [
            upsert(doc("t", "track", name="Serverless"), 2),
            upsert(doc("t", "track", name="Older"), 1),  # same id, older: not sent
            upsert(doc("bad", "track", name="x"), 3),
            delete("gone", 4),
        ]
    )

    assert report.failed == {"bad": "status 400: mapper_parsing_exception: bad field"}
    assert cluster.sources["t"]["body"] == "Serverless"
    assert cluster.sources["t"]["version"] == sortable_sequence("2")
    assert cluster.sources["gone"]["deleted"] is True
    index.apply([upsert(doc("t", "track", name="Late"), 1)])
    assert cluster.sources["t"]["body"] == "Serverless"
    assert cluster.bulk_requests == 2


def test_opensearch_unreachable_is_an_outage() -> None:
    cluster = FakeOpenSearch()
    cluster.down = True
    index = OpenSearchIndex(fake_client(cluster), "sir-learn-a-lot")
    with pytest.raises(SearchUnavailableError, match="cannot be reached"):
        index.apply([upsert(doc("t", "track", name="x"), 1)])
