"""`knight up` started as a user starts it: a process of its own in a temporary folder, its banner
read, GraphQL spoken over HTTP.

On the embedded lane `knight up` starts its own embedded engine, as it does for a
user; on the DynamoDB Local lane it uses the lane's endpoint.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from conftest import engine_at

from knight.engine import Engine
from knight.table import delete_table


@dataclass
class Up:
    url: str | None
    """The GraphQL API's; None on a model other than Sir learn a lot's, where `knight up` serves none."""
    engine: Engine
    table: str
    search_folder: Path
    process: subprocess.Popen[str]
    env: dict[str, str]
    """The environment `knight up` runs in: another knight command in it sees the same table and state."""
    banner: str

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        assert self.url is not None, "this `knight up` serves no GraphQL API"
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as error:  # a 4xx answer still carries GraphQL errors
            answer = json.load(error)
        return answer

    def ok(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.graphql(query, **variables)
        assert "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        return data

    def refused(self, query: str, **variables: Any) -> str:
        """The code of the error a rejected request answers with."""
        answer = self.graphql(query, **variables)
        assert answer.get("errors"), answer
        return str(answer["errors"][0]["extensions"]["code"])


def _lines(stream: Any, into: Queue[str]) -> None:
    for line in stream:
        into.put(line)


@contextmanager
def knight_up(engine: Engine, state: Path, table: str, *options: str, model: Path | None = None) -> Iterator[Up]:
    """`knight up` for ``table`` (on ``model``, else knight's own) with its state in ``state``, until the block
    ends; then it must stop cleanly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNIGHT_")}
    if engine.kind == "embedded":
        env = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(KNIGHT_TABLE=table, KNIGHT_STATE_DIR=str(state))
    process = subprocess.Popen(
        [sys.executable, "-m", "knight", *(["--model", str(model)] if model else []), "up", "--port", "0",
         "--graphql-port", "0", *options],
        cwd=state, env=env, stdout=subprocess.PIPE, stderr=(state / "stderr.log").open("w"), text=True,
    )  # fmt: skip
    lines: Queue[str] = Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    banner: list[str] = []
    deadline = time.monotonic() + 120
    while not banner or "Press Ctrl-C" not in banner[-1]:
        assert process.poll() is None, (state / "stderr.log").read_text()
        assert time.monotonic() < deadline, banner
        try:
            banner.append(lines.get(timeout=1))
        except Empty:
            continue
    text = "".join(banner)
    url = re.search(r"graphql\s+(http://\S+/graphql)", text)
    exports = re.search(r"export (.*)", text)
    assert exports, text
    variables = dict(pair.split("=", 1) for pair in exports.group(1).split())
    client = engine_at(variables)
    try:
        yield Up(
            url.group(1) if url else None, client, table, state / "search" / table, process, {**env, **variables}, text
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        finally:
            process.kill()
        if engine.kind != "embedded":
            delete_table(engine, table)
        client.close()
    stderr = (state / "stderr.log").read_text()
    assert process.returncode == 0, stderr
    assert "Warning" not in stderr, stderr
