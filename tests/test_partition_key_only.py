"""A table keyed by a partition key alone: a whole key given is a GetItem, and the rest of knight follows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import new_table_name

from knight.access import Catalog
from knight.data.seed import seed_table
from knight.engine import Engine
from knight.model import Model, parse_model
from knight.table import create_table, delete_table

SESSIONS = """
version: 1
table:
  name: sessions
  keys: {partition: pk}
  billing: PAY_PER_REQUEST
  stream: NEW_AND_OLD_IMAGES
  entityTypeAttribute: entityType
  deployment: {deadLetterQueue: sessions-dlq}
indexes:
  byUser:
    keys: {partition: userKey, sort: started}
    projection: ALL
prefixes: {"s#": session, "u#": session}
entities:
  session:
    fields:
      id: {type: id, format: uuid}
      user: {type: string, faker: user_name}
      started: {type: datetime}
    keys:
      table: {partition: "s#{id}"}
      byUser: {partition: "u#{user}", sort: "{started}"}
    attributes: [user, started]
    examples: [{id: 6f1c2a2e-1b3d-4c5e-8f70-1a2b3c4d5e01, user: ada, started: "2026-01-05T09:30:00Z"}]
    seed: {count: 8}
accessPatterns:
  1: {name: session-by-id, summary: One session., entity: session, index: table, partition: "s#{id}"}
  2: {name: sessions-of-user, summary: "A user's sessions, oldest first.", entity: session, index: byUser,
      partition: "u#{user}"}
"""


@pytest.fixture
def sessions(engine: Engine) -> Iterator[tuple[Model, str]]:
    model = parse_model(SESSIONS, Path("sessions.yaml"))
    name = new_table_name("knight-sessions")
    create_table(engine, model, name)
    yield model, name
    delete_table(engine, name)


def test_the_whole_key_of_a_partition_key_table_is_a_getitem(engine: Engine, sessions: tuple[Model, str]) -> None:
    model, table = sessions
    catalog = Catalog(model)
    by_id = catalog.get("session-by-id")
    assert (by_id.operation, catalog.get("sessions-of-user").operation) == ("GetItem", "Query")
    data = seed_table(engine, model, table, show_progress=False)
    session = next(values for entity, values in data.items if entity == "session")
    request = by_id.request(table, {"id": session["id"]})
    assert request.params["Key"] == {"pk": {"S": f"s#{session['id']}"}}
    found = by_id.run(engine, table, {"id": session["id"]})
    assert (found.values, found.cost.requests) == ([session], 1)
    mine = catalog.get("sessions-of-user").run(engine, table, {"user": session["user"]})
    assert session in mine.values
    assert [v["started"] for v in mine.values] == sorted(v["started"] for v in mine.values)
