"""`knight stream`, `knight search` and `knight dlq`, run as a user runs them (in-process)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from stream_checks import add_student, delete_queue, new_id, progress_ref, put_progress, student_xp

from knight.cli import main
from knight.engine import Engine
from knight.model import Model
from knight.stream import dead_letter_queue_name


@pytest.fixture
def cli_env(engine: Engine, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    env.update(engine.environment())
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    env["KNIGHT_STATE_DIR"] = str(tmp_path / "state")
    env["KNIGHT_OPENSEARCH_URL"] = ""
    env["KNIGHT_SEARCH_DIR"] = ""
    return env


def knight(env: dict[str, str], table: str, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, ["--table", table, *args], env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_stream_search_and_dlq_commands(engine: Engine, model: Model, table: str, cli_env: dict[str, str]) -> None:
    try:
        student = add_student(engine, model, table, firstName="Katherine", lastName="Johnson")
        put_progress(engine, model, table, progress_ref(student), 30)
        ghost = new_id()
        put_progress(engine, model, table, progress_ref(ghost), 5)

        out = knight(cli_env, table, "stream", "--once", "--max-retries", "0").output
        assert "xp: " in out and "1 to the dead-letter queue" in out
        assert student_xp(engine, model, table, student) == 30

        out = knight(cli_env, table, "search", "johnson").output
        assert "student" in out and student in out
        assert "no match" in knight(cli_env, table, "search", "--type", "chapter", "johnson").output

        out = knight(cli_env, table, "dlq", "list").output
        assert "1 failed range(s)" in out and "STREAM_TARGET_MISSING" in out

        out = knight(cli_env, table, "dlq", "replay", code=1).output
        assert "still failing 1" in out
        add_student(engine, model, table, ghost)
        out = knight(cli_env, table, "dlq", "replay").output
        assert "replayed 1, still failing 0" in out
        assert student_xp(engine, model, table, ghost) == 5
        assert "is empty" in knight(cli_env, table, "dlq", "list").output

        out = knight(cli_env, table, "search", "reindex").output
        assert "indexed 2 documents" in out
        assert student in knight(cli_env, table, "search", "katherine").output
    finally:
        delete_queue(engine, dead_letter_queue_name(model, table))


def test_search_before_any_index_says_how_to_fill_it(tmp_path: Path) -> None:
    env = {"KNIGHT_STATE_DIR": str(tmp_path), "KNIGHT_OPENSEARCH_URL": "", "KNIGHT_SEARCH_DIR": ""}
    result = CliRunner().invoke(main, ["search", "anything"], env=env, catch_exceptions=False)
    assert result.exit_code == 0
    assert "knight search reindex" in result.output
