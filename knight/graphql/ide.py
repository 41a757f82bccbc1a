"""The in-browser IDE: GraphiQL (ariadne's page, scripts from a CDN), and a plain query form knight serves itself.

GraphiQL's scripts come from esm.sh. On a machine that cannot reach it the page
would say "Loading…" forever; the script added here notices the failed
loads (or that nothing started within a few seconds), says so, and puts the
plain form in its place. The form is this file's own HTML and JavaScript, so
it works offline; ``?ide=plain`` opens it directly.
"""

from __future__ import annotations

import html
import json

from ariadne.explorer import ExplorerGraphiQL

STARTUP_SECONDS = 8
"""How long GraphiQL may take to appear before the page gives up on it."""

_FORM = """
<style>
  #knight-plain { font-family: system-ui, sans-serif; margin: 1.5rem; max-width: 72rem; }
  #knight-plain textarea { width: 100%; font-family: ui-monospace, monospace; font-size: 0.9rem; }
  #knight-plain pre { background: #f4f4f4; padding: 0.75rem; overflow: auto; max-height: 60vh; }
  #knight-plain .why { background: #fff4d6; padding: 0.5rem 0.75rem; }
</style>
<script>
(function () {
  "use strict";
  var shown = false;
  function plainForm(why) {
    if (shown) { return; }
    shown = true;
    var root = document.getElementById("graphiql") || document.body;
    root.innerHTML = "";
    var box = document.createElement("div");
    box.id = "knight-plain";
    var heading = document.createElement("h1");
    heading.textContent = __TITLE__ + ": plain query form";
    box.appendChild(heading);
    if (why) {
      var note = document.createElement("p");
      note.className = "why";
      note.id = "knight-why";
      note.textContent = "The IDE could not start (" + why + "): its scripts come from esm.sh, which this " +
        "browser cannot reach. This form is served by knight itself and works offline.";
      box.appendChild(note);
    }
    function area(id, label, text, rows) {
      var caption = document.createElement("label");
      caption.htmlFor = id;
      caption.textContent = label;
      var input = document.createElement("textarea");
      input.id = id;
      input.rows = rows;
      input.value = text;
      box.appendChild(caption);
      box.appendChild(input);
      return input;
    }
    var query = area("knight-query", "Query", __QUERY__, 14);
    var variables = area("knight-variables", "Variables (JSON)", "{}", 3);
    var run = document.createElement("button");
    run.id = "knight-run";
    run.textContent = "Run";
    box.appendChild(run);
    var answer = document.createElement("pre");
    answer.id = "knight-answer";
    box.appendChild(answer);
    run.addEventListener("click", function () {
      var given;
      try {
        given = variables.value.trim() ? JSON.parse(variables.value) : null;
      } catch (problem) {
        answer.textContent = "The variables are not JSON: " + problem.message;
        return;
      }
      answer.textContent = "Running...";
      fetch(window.location.pathname, {
        method: "POST",
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
        body: JSON.stringify({query: query.value, variables: given})
      }).then(function (response) {
        return response.text().then(function (text) {
          var pretty = text;
          try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (ignored) { /* not JSON: as is */ }
          answer.textContent = "HTTP " + response.status + "\\n" + pretty;
        });
      }).catch(function (problem) {
        answer.textContent = "The request failed: " + problem;
      });
    });
    root.appendChild(box);
  }
  window.knightPlainForm = plainForm;
  if (__PLAIN__) {
    document.addEventListener("DOMContentLoaded", function () { plainForm(""); });
    return;
  }
  // A script or stylesheet that fails to load fires "error" on its element, seen here while capturing.
  window.addEventListener("error", function (event) {
    var element = event.target;
    if (element && (element.tagName === "SCRIPT" || element.tagName === "LINK")) {
      plainForm("could not load " + (element.src || element.href || "a module script"));
    }
  }, true);
  window.setTimeout(function () {
    if (document.querySelector("#graphiql .loading")) {
      plainForm("it did not start within __SECONDS__ s");
    }
  }, __SECONDS__ * 1000);
})();
</script>
"""


def _js(value: str) -> str:
    """A JavaScript string literal that cannot end the script element it sits in."""
    return json.dumps(value).replace("</", "<\\/")


def _form(title: str, default_query: str, *, plain: bool) -> str:
    return (
        _FORM.replace("__TITLE__", _js(title))
        .replace("__QUERY__", _js(default_query))
        .replace("__PLAIN__", "true" if plain else "false")
        .replace("__SECONDS__", str(STARTUP_SECONDS))
    )


def ide_page(title: str, default_query: str) -> str:
    """GraphiQL, falling back to the plain form when its scripts cannot load."""
    page = ExplorerGraphiQL(title=title, default_query=default_query).html(None)
    assert isinstance(page, str) and "</body>" in page
    return page.replace("</body>", _form(title, default_query, plain=False) + "</body>", 1)


def plain_page(title: str, default_query: str) -> str:
    """The plain form alone: no script from anywhere but this page."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="UTF-8" />'
        f"<title>{html.escape(title)}</title></head>"
        f'<body><div id="graphiql"></div>{_form(title, default_query, plain=True)}</body></html>'
    )
