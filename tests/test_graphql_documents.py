"""The executor's document cache: each query text parsed and validated once, the same answers, a bounded cache."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from knight.data.seed import seed_table
from knight.engine import Engine
from knight.graphql import Executor, GraphQLSettings
from knight.graphql.documents import Documents, Prepared
from knight.model import Model
from knight.table import create_table, delete_table

STUDENT = "query($id: String!) { getStudent(id: $id) { id email } }"


@pytest.fixture(scope="module")
def seeded(engine: Engine, model: Model) -> Iterator[tuple[Executor, list[str]]]:
    """An executor over a seeded table, and two of its students' ids."""
    table = f"knight-test-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, table)
    data = seed_table(engine, model, table, scale=1, random_seed=3, show_progress=False)
    # Low limits, so that a refused cost shows the cached cost is the one enforced.
    runner = Executor(engine, model, table, GraphQLSettings(max_cost=50, list_size=10))
    students = sorted(str(values["id"]) for entity, values in data.items if entity == "student")
    try:
        yield runner, students[:2]
    finally:
        runner.close()
        delete_table(engine, table)


@pytest.fixture
def executor(seeded: tuple[Executor, list[str]]) -> Executor:
    return seeded[0]


@pytest.fixture
def students(seeded: tuple[Executor, list[str]]) -> list[str]:
    return seeded[1]


def _counting(executor: Executor, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each query text the executor prepares, for the rest of the test."""
    prepared: list[str] = []
    original = executor.documents._prepare

    def prepare(query: str) -> Prepared:
        prepared.append(query)
        return original(query)

    monkeypatch.setattr(executor.documents, "_prepare", prepare)
    return prepared


def test_the_same_query_answers_the_same_and_is_prepared_once(
    executor: Executor, students: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = students[0]
    prepared = _counting(executor, monkeypatch)
    answers = [executor.run(STUDENT, {"id": first}) for _ in range(3)]
    assert answers[0]["data"]["getStudent"]["id"] == first
    assert answers[1] == answers[0] == answers[2]
    assert prepared.count(STUDENT) <= 1


def test_other_variables_share_the_cached_document(
    executor: Executor, students: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = students
    executor.run(STUDENT, {"id": first})
    prepared = _counting(executor, monkeypatch)
    answer = executor.run(STUDENT, {"id": second})
    assert answer["data"]["getStudent"]["id"] == second
    assert prepared == []
    assert executor.documents.get(STUDENT).document is executor.documents.get(STUDENT).document


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param("{ getTracks { id ", "GRAPHQL_PARSE_FAILED", id="parse"),
        pytest.param("{ getTracks { nope } }", "GRAPHQL_VALIDATION_FAILED", id="invalid"),
        pytest.param(
            "{ getTracks { courses { enrollments { student { id } } } } }", "QUERY_TOO_COSTLY", id="too-costly"
        ),
    ],
)
def test_a_refused_query_gives_the_same_errors_each_time(
    executor: Executor, monkeypatch: pytest.MonkeyPatch, query: str, code: str
) -> None:
    prepared = _counting(executor, monkeypatch)
    first, second = executor.run(query), executor.run(query)
    assert "data" not in first
    assert [e["extensions"]["code"] for e in first["errors"]] == [code]
    assert second == first
    assert prepared.count(query) <= 1


def test_operations_of_one_document_keep_their_own_cost_and_kind(executor: Executor) -> None:
    document = (
        "query cheap { getTracks { id } } "
        "mutation change { removeProgress("
        'ProgressKeyInput: {studentId: "s", enrollmentId: "e", chapterId: "c"}) { xp } }'
    )
    assert executor.run(document, operation_name="cheap")["data"]["getTracks"]
    cached = executor.documents.get(document)
    assert cached.costs is not None and set(cached.costs) == {"cheap", "change"}
    # The same cached document, sent with GET, still refuses its mutation.
    refused = asyncio.run(executor.execute(document, None, "change", read_only=True))
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["METHOD_NOT_ALLOWED"]


def _prepare(_: str) -> Prepared:
    return Prepared(None, (), "TEST")


def test_the_cache_is_bounded_in_entries() -> None:
    documents = Documents(_prepare, max_entries=3, max_chars=10_000)
    for number in range(10):
        documents.get(f"{{ a{number} }}")
    assert len(documents) == 3
    # The least recently used go first: the one just asked for again stays.
    documents.get("{ a7 }")
    documents.get("{ b }")
    assert len(documents) == 3
    assert "{ a7 }" in documents._entries and "{ a8 }" not in documents._entries


def test_the_cache_is_bounded_in_characters() -> None:
    documents = Documents(_prepare, max_entries=100, max_chars=800)
    for number in range(50):
        documents.get(f"{{ f{number:03} }}" + " " * 90)
    assert documents.chars <= 800
    assert 0 < len(documents) < 50
    documents.get("{ long }" + " " * 200)  # over an eighth of the budget: prepared, never kept
    assert "{ long }" + " " * 200 not in documents._entries
