"""A search index that cannot be opened: the rest runs, a corrupt file is set aside and rebuilt, a bad path waits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from stream_checks import (
    add_student,
    assert_consistent,
    delete_queue,
    make_processor,
    progress_ref,
    put_progress,
    scan_items,
    search_problems,
    student_xp,
)

from knight.cli import main
from knight.engine import Engine
from knight.errors import SearchUnavailableError
from knight.graphql import Executor
from knight.model import Model
from knight.search import SqliteSearchIndex, reindex
from knight.search.index import SearchIndex
from knight.search.recovery import RecoveringIndex, set_aside

GARBAGE = b"not a database, whatever its name says " * 100


def corrupt_index(folder: Path) -> Path:
    folder.mkdir(parents=True)
    damaged = folder / "index.sqlite3"
    damaged.write_bytes(GARBAGE)
    return damaged


def waited(condition: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


def test_a_corrupt_file_is_set_aside_with_its_log_and_the_index_rebuilt_from_the_table(
    engine: Engine, model: Model, table: str, tmp_path: Path
) -> None:
    add_student(engine, model, table, firstName="Radia", lastName="Perlman")
    damaged = corrupt_index(tmp_path / "index")
    Path(f"{damaged}-wal").write_bytes(b"its write-ahead log")
    index = RecoveringIndex(
        lambda: SqliteSearchIndex(damaged.parent),
        lambda fresh: reindex(engine, model, table, fresh, show_progress=False),
    )
    try:
        assert not index.available and "corrupt" in (index.problem or "")
        assert damaged.read_bytes() == GARBAGE  # a first look changes nothing
        with pytest.raises(SearchUnavailableError, match="setting it aside"):
            index.search("perlman")

        assert index.recover_once()

        (aside,) = [path for path in damaged.parent.glob("index.sqlite3.corrupt-*") if not path.name.endswith("-wal")]
        assert aside.read_bytes() == GARBAGE
        assert Path(f"{aside}-wal").read_bytes() == b"its write-ahead log"  # the log stays with its file
        assert [hit.entity_type for hit in index.search("perlman")] == ["student"]
        assert search_problems(model, scan_items(engine, table), index) == []
        assert f"the corrupt file is now {aside.name}" in index.describe()
    finally:
        index.close()


def test_a_rebuilt_index_answers_only_once_it_is_filled(tmp_path: Path) -> None:
    corrupt_index(tmp_path / "index")
    filling, release = threading.Event(), threading.Event()

    def fill(_: SearchIndex) -> None:
        filling.set()
        release.wait(10)

    index = RecoveringIndex(lambda: SqliteSearchIndex(tmp_path / "index"), fill)
    index.start()
    try:
        assert filling.wait(10)
        with pytest.raises(SearchUnavailableError, match="rebuilding the index from the table"):
            index.search("anything")  # never a half-built index
        release.set()
        assert index.wait_available(10)
        assert index.search("anything") == []
    finally:
        release.set()
        index.close()


def test_set_aside_never_overwrites_an_earlier_copy(tmp_path: Path) -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    first = corrupt_index(tmp_path / "index")
    assert set_aside(first, now).name == "index.sqlite3.corrupt-20240501T120000Z"
    first.write_bytes(b"second")
    assert set_aside(first, now).name == "index.sqlite3.corrupt-20240501T120000Z-1"
    assert (tmp_path / "index" / "index.sqlite3.corrupt-20240501T120000Z").read_bytes() == GARBAGE


def _folder_is_a_file(base: Path) -> Path:
    (base / "index").write_text("my notes")
    return base / "index"


def _file_is_a_folder(base: Path) -> Path:
    (base / "index" / "index.sqlite3").mkdir(parents=True)
    (base / "index" / "index.sqlite3" / "keep.txt").write_text("mine")
    return base / "index"


@pytest.mark.parametrize("block", [_folder_is_a_file, _file_is_a_folder])
def test_a_path_that_cannot_be_used_is_left_alone(tmp_path: Path, block: Callable[[Path], Path]) -> None:
    folder = block(tmp_path)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    index = RecoveringIndex(lambda: SqliteSearchIndex(folder))
    try:
        assert not index.recover_once() and not index.recover_once()
        assert "trying again" in index.describe()
        with pytest.raises(SearchUnavailableError, match="until the path is usable"):
            index.search("anything")
        assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before
    finally:
        index.close()


def test_a_blocked_path_is_tried_again_until_it_is_fixed(tmp_path: Path) -> None:
    folder = _folder_is_a_file(tmp_path)
    index = RecoveringIndex(lambda: SqliteSearchIndex(folder), retry_delay=0.01, max_retry_delay=0.05)
    assert "is a file, not a folder" in (index.problem or "")
    index.start()
    try:
        assert waited(lambda: index.attempts >= 3)
        assert folder.read_text() == "my notes" and not index.available
        folder.unlink()  # the user moves their file away
        assert index.wait_available(10)
        assert index.search("anything") == []
    finally:
        index.close()


def test_xp_runs_and_the_search_checkpoint_waits_while_the_index_cannot_be_opened(
    engine: Engine, model: Model, table: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "search").write_text("not a folder")  # where make_processor puts the index
    processor = make_processor(engine, model, table, state)  # this used to raise
    try:
        assert processor.search_problem is not None
        student = add_student(engine, model, table, firstName="Frances", lastName="Allen")
        put_progress(engine, model, table, progress_ref(student), 12)

        handled = processor.poll_once()

        assert handled["xp"] > 0 and handled["search"] == 0
        assert student_xp(engine, model, table, student) == 12
        assert processor.checkpoints.shards("search", processor.runner.stream_arn) == {}  # nothing skipped
        assert "SEARCH_UNAVAILABLE" in (processor.stats["search"].waiting or "")

        (state / "search").unlink()
        assert processor.recover_search()
        later = add_student(engine, model, table, firstName="Barbara", lastName="Allen")
        assert_consistent(processor)
        index = processor.search_index
        assert index is not None
        assert sorted(hit.values["id"] for hit in index.search("allen")) == sorted([student, later])
    finally:
        processor.close()
        delete_queue(engine, processor.dead_letters.name)


def test_graphql_search_is_unavailable_while_the_rest_of_the_request_answers(
    engine: Engine, model: Model, table: str, tmp_path: Path
) -> None:
    student = add_student(engine, model, table, firstName="Hedy", lastName="Lamarr")
    corrupt_index(tmp_path / "index")
    index = RecoveringIndex(
        lambda: SqliteSearchIndex(tmp_path / "index"),
        lambda fresh: reindex(engine, model, table, fresh, show_progress=False),
    )
    executor = Executor(engine, model, table, search_index=index)
    query = f'{{ search(text: "lamarr") {{ id }} getStudent(id: "{student}") {{ firstName }} }}'
    try:
        answer = executor.run(query)
        (error,) = answer["errors"]
        assert error["extensions"]["code"] == "SEARCH_UNAVAILABLE" and error["path"] == ["search"]
        assert "corrupt" in error["message"] and "rebuilding the index from the table" in error["message"]
        assert answer["data"] == {"search": None, "getStudent": {"firstName": "Hedy"}}

        assert index.recover_once()
        assert executor.run(query)["data"]["search"] == [{"id": student}]
    finally:
        executor.close()
        index.close()


def test_stream_status_reports_an_index_that_cannot_be_opened(engine: Engine, table: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    env.update(engine.environment())
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    env.update(KNIGHT_STATE_DIR=str(tmp_path), KNIGHT_OPENSEARCH_URL="", KNIGHT_SEARCH_DIR="")
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / table).write_text("my notes")
    result = CliRunner().invoke(main, ["--table", table, "stream", "--status"], env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "search index unavailable" in result.output and "is a file, not a folder" in result.output
    assert (tmp_path / "search" / table).read_text() == "my notes"


def test_knight_serve_starts_with_a_corrupt_index_and_searches_once_it_is_rebuilt(
    engine: Engine, model: Model, table: str, tmp_path: Path
) -> None:
    add_student(engine, model, table, firstName="Grace", lastName="Hopper")
    damaged = corrupt_index(tmp_path / "search" / table)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "KNIGHT_"))}
    env.update(engine.environment(), KNIGHT_TABLE=table, KNIGHT_STATE_DIR=str(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "-m", "knight", "serve", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = ""
        while "Press Ctrl-C" not in banner:
            line = process.stdout.readline()
            assert line, process.communicate(timeout=30)[1]
            banner += line
        url = re.search(r"(http://127\.0\.0\.1:\d+/graphql)", banner)
        assert url, banner

        def found() -> list[str]:
            request = urllib.request.Request(
                url.group(1),
                data=json.dumps({"query": '{ search(text: "hopper") { entityType } }'}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.load(response)
            if answer.get("errors"):
                assert answer["errors"][0]["extensions"]["code"] == "SEARCH_UNAVAILABLE", answer
            return [hit["entityType"] for hit in answer["data"]["search"] or []]

        assert waited(found) == ["student"]
        (aside,) = damaged.parent.glob("index.sqlite3.corrupt-*")
        assert aside.read_bytes() == GARBAGE
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
