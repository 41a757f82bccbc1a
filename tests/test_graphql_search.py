"""The `search` query over the index the stream processor keeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import new_table_name

from knight.data.seed import generate, seed_table
from knight.engine import Engine
from knight.graphql import Executor
from knight.model import Model
from knight.search.reindex import reindex
from knight.search.sqlite_index import SqliteSearchIndex
from knight.table import create_table, delete_table

SEED = generate(1, 1)
TRACKS = {str(v["id"]): str(v["name"]) for e, v in SEED.items if e == "track"}


@pytest.fixture(scope="module")
def indexed(engine: Engine, model: Model, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    name = new_table_name()
    create_table(engine, model, name)
    index = SqliteSearchIndex(Path(tmp_path_factory.mktemp("search")))
    executor = Executor(engine, model, name, search_index=index)
    try:
        seed_table(engine, model, name, scale=1, random_seed=1, show_progress=False)
        reindex(engine, model, name, index, show_progress=False)
        yield executor
    finally:
        executor.close()
        index.close()
        delete_table(engine, name)


def _search(executor: Executor, arguments: str, selection: str = "entityType id score snippet") -> Any:
    return executor.run(f"{{ search({arguments}) {{ {selection} }} }}")


def test_a_track_is_found_by_a_word_of_its_name(indexed: Executor) -> None:
    track_id, name = next(iter(TRACKS.items()))
    word = name.split()[0]
    response = _search(indexed, f'text: "{word}", entityType: "track"', "entityType id score track { id name }")
    hits = response["data"]["search"]
    assert hits and all(hit["entityType"] == "track" for hit in hits)
    assert {"id": track_id, "name": name} in [hit["track"] for hit in hits]
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)


def test_the_field_of_another_type_is_null(indexed: Executor) -> None:
    name = next(iter(TRACKS.values()))
    response = _search(indexed, f'text: "{name.split()[0]}", entityType: "track"', "track { id } chapter { id }")
    assert all(hit["chapter"] is None and hit["track"] for hit in response["data"]["search"])


def test_limit_caps_the_hits(indexed: Executor) -> None:
    assert len(_search(indexed, 'text: "the", limit: 2')["data"]["search"]) <= 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('text: "  "', "some text"),
        ('text: "web", entityType: "progress"', "entityType must be one of"),
        ('text: "web", limit: 0', "limit must be between"),
    ],
)
def test_bad_arguments_are_validation_errors(indexed: Executor, arguments: str, message: str) -> None:
    (error,) = _search(indexed, arguments)["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert message in error["message"]


def test_without_an_index_search_is_unavailable(engine: Engine, model: Model) -> None:
    executor = Executor(engine, model, "knight-test-no-index")
    try:
        (error,) = _search(executor, 'text: "web"')["errors"]
    finally:
        executor.close()
    assert error["extensions"]["code"] == "SEARCH_UNAVAILABLE"
