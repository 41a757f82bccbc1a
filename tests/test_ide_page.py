"""The in-browser IDE in a real headless Chromium, with no way to the internet: it falls back to the plain form.

The browser is Chromium as installed (``scripts/browser`` installs it); every
host name but loopback is made unresolvable, as on a machine offline.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from knight.engine import Engine
from knight.graphql import Executor, GraphQLServer
from knight.model import Model
from knight.repositories import Repositories
from knight.table import create_table, delete_table

sync_api = pytest.importorskip("playwright.sync_api")

OFFLINE = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def _chromium() -> str:
    found = os.environ.get("KNIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium to test the IDE page in; scripts/browser installs it")
        pytest.skip("no Chromium on this machine; scripts/browser installs it")
    return found


@pytest.fixture(scope="module")
def page(engine: Engine, model: Model) -> Iterator[tuple[Any, str]]:
    table = f"knight-test-ide-{uuid.uuid4().hex[:8]}"
    create_table(engine, model, table)
    Repositories(engine, model, table).tracks.add("Offline track")
    executor = Executor(engine, model, table)
    server = GraphQLServer(executor, port=0, owns=(executor,))
    server.start()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=_chromium(), args=OFFLINE)
            try:
                yield browser.new_page(), server.url
            finally:
                browser.close()
    finally:
        server.stop()
        delete_table(engine, table)


@pytest.mark.embedded_only("the page is the same whatever the engine; one lane shows it in a browser")
def test_the_ide_says_it_cannot_load_and_offers_a_form_that_works_offline(page: tuple[Any, str]) -> None:
    browser_page, url = page
    browser_page.goto(url)
    why = browser_page.wait_for_selector("#knight-why", timeout=20_000)
    assert "esm.sh" in why.inner_text()
    assert browser_page.query_selector("#graphiql .loading") is None
    browser_page.fill("#knight-query", "{ getTracks { name } }")
    browser_page.click("#knight-run")
    browser_page.wait_for_function("document.getElementById('knight-answer').textContent.includes('HTTP 200')")
    answer = browser_page.inner_text("#knight-answer")
    assert "Offline track" in answer, answer


@pytest.mark.embedded_only("the page is the same whatever the engine; one lane shows it in a browser")
def test_the_plain_form_opens_directly_and_shows_errors_with_their_code(page: tuple[Any, str]) -> None:
    browser_page, url = page
    browser_page.goto(url + "?ide=plain")
    assert browser_page.query_selector("#knight-why") is None
    assert "exploreDb" in browser_page.input_value("#knight-query")
    browser_page.fill("#knight-query", "{ getTracks { size } }")
    browser_page.click("#knight-run")
    browser_page.wait_for_function("document.getElementById('knight-answer').textContent.includes('HTTP 400')")
    assert "GRAPHQL_VALIDATION_FAILED" in browser_page.inner_text("#knight-answer")
