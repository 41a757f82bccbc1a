"""Settings come from arguments, then the variables given (or the process's), then defaults; bad ones are named."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from knight.errors import ValidationError
from knight.graphql.settings import GraphQLSettings
from knight.search.config import SearchSettings
from knight.settings import truthy


def test_a_given_mapping_is_read_instead_of_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNIGHT_GRAPHQL_MAX_DEPTH", "3")
    assert GraphQLSettings().max_depth == 3
    assert GraphQLSettings.from_environment().max_depth == 3
    assert GraphQLSettings.from_environment({}).max_depth == 10
    assert GraphQLSettings.from_environment({"knight_graphql_max_depth": "5"}).max_depth == 5
    # After a call with a mapping, the process's variables count again.
    assert GraphQLSettings.from_environment().max_depth == 3


def test_blank_variables_count_as_not_set_and_lists_are_comma_separated() -> None:
    env = {"KNIGHT_GRAPHQL_DEBUG": " ", "KNIGHT_GRAPHQL_ALLOWED_HOSTS": "a.example, b.example/,"}
    settings = GraphQLSettings.from_environment(env)
    assert (settings.debug, settings.allowed_hosts) == (False, ("a.example", "b.example"))


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KNIGHT_GRAPHQL_PRODUCTION": "maybe"}, "KNIGHT_GRAPHQL_PRODUCTION"),
        ({"KNIGHT_GRAPHQL_QUEUE_SECONDS": "0"}, "KNIGHT_GRAPHQL_QUEUE_SECONDS"),
        ({"KNIGHT_GRAPHQL_CHEAP_COST": "-1"}, "KNIGHT_GRAPHQL_CHEAP_COST"),
    ],
)
def test_a_bad_variable_is_a_validation_error_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        GraphQLSettings.from_environment(env)


def test_settings_are_frozen_and_refuse_unknown_names() -> None:
    with pytest.raises(ValidationError, match="has no max_detph"):
        GraphQLSettings.from_environment({}, max_detph=3)
    settings = GraphQLSettings()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.max_depth = 2  # type: ignore[misc]


def test_search_settings_read_their_own_variables(tmp_path: Path) -> None:
    env = {
        "KNIGHT_OPENSEARCH_URL": " http://localhost:9200 ",
        "KNIGHT_SEARCH_INDEX": "",
        "KNIGHT_SEARCH_DIR": str(tmp_path),
    }
    settings = SearchSettings.from_environment(env)
    assert (settings.opensearch_url, settings.index_name, settings.folder) == ("http://localhost:9200", None, tmp_path)
    assert SearchSettings(folder=tmp_path).folder_for("t") == tmp_path
    assert SearchSettings.from_environment({}).folder_for("t", base=tmp_path) == tmp_path / "search" / "t"


@pytest.mark.parametrize(
    ("text", "expected"), [("1", True), (" Yes ", True), ("on", True), ("0", False), ("", False), (None, False)]
)
def test_truthy_reads_a_yes(text: str | None, expected: bool) -> None:
    assert truthy(text) is expected
