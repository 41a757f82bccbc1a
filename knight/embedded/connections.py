"""Connections kept open between requests, as DynamoDB keeps them.

werkzeug's server (3.1) closes every connection after its response, because
Python's http.server does not skip an unread request body before reading the
next request (after the answer werkzeug reads and drops whatever the client
sends next). So every boto3 call opened a new connection and the engine a new
thread for it: under load the clients' connection set-up was the API
process's largest single cost. This handler reads each request's body whole
before the application runs, so that nothing unread is left on the
connection, hides the connection from werkzeug's drain, and keeps the
connection open when the answer has a length; a chunked request, an answer
without a length, or a client that asks for ``Connection: close`` still
closes it.
"""

from __future__ import annotations

import io
from typing import Any

from moto.server import MotoRequestHandler  # type: ignore[attr-defined]

MAX_BUFFERED = 64 * 1024 * 1024
"""A body larger than this is streamed as werkzeug streams it, and its connection closed after."""


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, keeping a connection open when nothing of the request is left unread."""

    disable_nagle_algorithm = True
    """An answer goes out in two writes (head, body): with Nagle on a kept connection, the body would
    wait for the client's delayed ACK of the head (about 40 ms)."""
    _read_whole = False
    _sized = False
    _connection_input: Any = None

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        self._read_whole = self._sized = False
        length = str(environ.get("CONTENT_LENGTH") or "0")
        if "HTTP_TRANSFER_ENCODING" not in environ and length.isdigit() and int(length) <= MAX_BUFFERED:
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(int(length)))
            self._read_whole = True
            # werkzeug drains self.rfile after the answer: let it drain nothing, the next request is there.
            self._connection_input, self.rfile = self.rfile, io.BytesIO()
        return environ

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            if self._connection_input is not None:
                self.rfile, self._connection_input = self._connection_input, None

    def send_header(self, keyword: str, value: str) -> None:
        name = keyword.lower()
        if name == "content-length":
            self._sized = True
        keep = self._read_whole and self._sized and not self.close_connection
        if name == "connection" and value.lower() == "close" and keep:
            return  # werkzeug's unconditional close, not needed here
        super().send_header(keyword, value)
