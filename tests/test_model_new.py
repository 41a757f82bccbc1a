"""`knight model new`: a starter model that loads, answers its access patterns on a real engine,
and the commands a new user runs on it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import new_table_name
from up_process import knight_up

from knight import application
from knight.access import Catalog
from knight.dynamodb import to_dynamodb
from knight.engine import Engine
from knight.errors import NotFoundError, RefusedError, ValidationError
from knight.model import Model, load_model
from knight.model.starter import LONGEST_NAME, starter_text, table_name_for, write_starter
from knight.table import create_table, delete_table

KNIGHT = [sys.executable, "-m", "knight"]


def knight(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KNIGHT, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


@pytest.fixture
def starter(tmp_path: Path) -> Model:
    path = tmp_path / "my-blog.yaml"
    write_starter(path)
    return load_model(path)


@pytest.fixture
def starter_table(engine: Engine, starter: Model) -> Iterator[str]:
    """The starter's table on the test engine, holding the starter's examples."""
    name = new_table_name("knight-starter")
    create_table(engine, starter, name)
    client = engine.dynamodb()
    for entity in starter.entities.values():
        for example in entity.examples:
            client.put_item(TableName=name, Item=to_dynamodb(entity.item(example)))
    yield name
    delete_table(engine, name)


def test_the_starter_is_a_model_of_two_entities_one_index_and_four_patterns(starter: Model) -> None:
    assert starter.table_name == "my-blog"
    assert list(starter.entities) == ["author", "post"]
    assert [index.name for index in starter.secondary_indexes] == ["gsi1"]
    assert [pattern.name for pattern in Catalog(starter)] == [
        "author-by-id",
        "author-by-email",
        "posts-of-author",
        "post-by-id",
    ]
    # Its ids are plain words, not UUIDs: a new model asks for a format only when it wants one.
    assert starter.entity("author").examples[0]["id"] == "ada"


@pytest.mark.parametrize(
    ("pattern", "values", "expected"),
    [
        ("author-by-id", {"id": "ada"}, [("author", "ada")]),
        ("author-by-email", {"email": "ADA@example.com"}, [("author", "ada")]),
        ("posts-of-author", {"authorId": "ada"}, [("post", "first-steps"), ("post", "notes")]),
        ("post-by-id", {"id": "notes"}, [("post", "notes")]),
        ("posts-of-author", {"authorId": "nobody"}, []),
    ],
)
def test_each_starter_pattern_reads_its_examples_in_one_request(
    engine: Engine, starter: Model, starter_table: str, pattern: str, values: dict[str, str], expected: list[object]
) -> None:
    result = Catalog(starter).get(pattern).run(engine, starter_table, values)
    assert result.cost.requests == 1
    found = zip(result.items, result.values, strict=True)
    assert sorted((item["entityType"], value["id"]) for item, value in found) == expected


def test_a_table_name_is_made_from_the_file_name() -> None:
    assert table_name_for(Path("my blog.yaml")) == "my-blog"
    assert table_name_for(Path("shop.v2.yaml")) == "shop.v2"
    assert table_name_for(Path("a.yaml")) == "a-table"
    assert table_name_for(Path("ü.yaml")) == "my-table"


@pytest.mark.parametrize("name", ["no", "has space", "x" * (LONGEST_NAME + 1)])
def test_a_table_name_dynamodb_or_its_queue_would_refuse_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationError):
        starter_text(name)
    with pytest.raises(ValidationError):
        write_starter(tmp_path / "model.yaml", name)
    assert not (tmp_path / "model.yaml").exists()


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(RefusedError, match="--force"):
        write_starter(path)
    assert path.read_text(encoding="utf-8") == "mine"
    write_starter(path, force=True)
    assert load_model(path).table_name == "mine"


def test_a_new_user_session_new_check_generate_and_patterns(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    readme = project / "README.md"
    readme.write_text("# My project\n", encoding="utf-8")

    made = knight("model", "new", "models/shop.yaml", cwd=project)
    assert made.returncode == 0, made.stderr
    assert "starter model for table shop" in made.stdout
    again = knight("model", "new", "models/shop.yaml", cwd=project)
    assert (again.returncode, again.stderr.strip()) == (
        1,
        "knight: error [REFUSED]: models/shop.yaml exists; knight will not overwrite it without --force",
    )

    checked = knight("--model", "models/shop.yaml", "model", "check", cwd=project)
    assert checked.returncode == 0, checked.stderr
    assert "is valid; it has no generated artifacts" in checked.stdout

    generated = knight("--model", "models/shop.yaml", "model", "generate", cwd=project)
    assert generated.returncode == 0, generated.stderr
    assert sorted(path.name for path in (project / "models" / "generated").iterdir()) == [
        "cloudformation.yaml",
        "create-table.json",
        "nosql-workbench.json",
        "stack.yaml",
    ]
    # The project's own README carries no generated sections of knight's: it is not knight's to write.
    assert readme.read_text(encoding="utf-8") == "# My project\n"
    assert "README" not in generated.stdout
    rechecked = knight("--model", "models/shop.yaml", "model", "check", cwd=project)
    assert rechecked.returncode == 0, rechecked.stderr
    assert "match it" in rechecked.stdout

    patterns = knight("--model", "models/shop.yaml", "access-patterns", cwd=project)
    assert patterns.returncode == 0, patterns.stderr
    assert "gsi1_pk = a#{email|lower}" in patterns.stdout


def test_a_new_user_session_on_an_engine_create_seed_and_query(
    engine: Engine, endpoint_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "blog.yaml"
    write_starter(path)
    table = new_table_name("knight-blog")

    def run(*args: str) -> str:
        done = subprocess.run(
            [*KNIGHT, "--model", str(path), "--table", table, *args],
            capture_output=True,
            text=True,
            env=endpoint_env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        assert "created" in run("table", "create")
        seeded = run("seed", "--scale", "2")
        assert f"into {table} (scale 2, random seed 1): author 10, post " in seeded
        posts = json.loads(run("query", "posts-of-author", "authorId=author-1", "--json"))
        assert posts["pattern"]["name"] == "posts-of-author"
        assert {item["entityType"] for item in posts["items"]} <= {"post"}
        assert posts["cost"]["itemsReturned"] == len(posts["items"])
        author = json.loads(run("query", "author-by-id", "id=author-1", "--json"))
        assert [(item["pk"], item["entityType"]) for item in author["items"]] == [("a#author-1", "author")]
    finally:
        delete_table(engine, table)


def test_the_application_says_it_is_sir_learn_a_lots_before_it_starts(engine: Engine, starter: Model) -> None:
    from knight.graphql import Executor
    from knight.stream import build_stream_processor

    for start, what in (
        (lambda: Executor(engine, starter), "the GraphQL API"),
        (lambda: build_stream_processor(engine, starter), "the stream processor"),
    ):
        with pytest.raises(
            NotFoundError,
            match=f"{what}.* is Sir learn a lot's application: it needs the entities "
            "track, course, chapter, student, preference, enrollment, progress, which my-blog.yaml",
        ):
            start()
    assert application.missing(load_model()) == []


def test_knight_up_on_a_model_of_one_s_own_runs_the_engine_table_and_seed_and_says_what_it_left_out(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "blog.yaml"
    write_starter(path)
    table = new_table_name("knight-blog-up")
    # On the embedded lane `knight up` starts its own engine, as for a user; it must stop cleanly at the end.
    with knight_up(engine, tmp_path, table, model=path) as up:
        assert f"table    {table} created, stream NEW_AND_OLD_IMAGES, seeded with " in up.banner
        assert "graphql and stream: not started; they are Sir learn a lot's application" in up.banner
        assert "graphql  http" not in up.banner and up.url is None
        found = subprocess.run(
            [*KNIGHT, "--model", str(path), "query", "author-by-id", "id=author-1", "--json"],
            capture_output=True, text=True, env=up.env, timeout=120, check=False,
        )  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert [item["pk"] for item in json.loads(found.stdout)["items"]] == ["a#author-1"]
        refused = subprocess.run(
            [*KNIGHT, "--model", str(path), "query", "author-by-email", "email=nobody"],
            capture_output=True, text=True, env=up.env, timeout=120, check=False,
        )  # fmt: skip
        assert refused.returncode == 1 and "error [VALIDATION]" in refused.stderr
