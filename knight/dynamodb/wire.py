"""An HTTP/1.1 answer read off a socket: its status, headers and body, nothing more.

Direct reads (``knight.dynamodb.direct``) get one answer per request from a
local engine. ``http.client`` reads an answer's headers through the ``email``
package's parser, which cost more CPU than the rest of reading a 20-item
Query answer; a read needs only the status, three headers and the body. What
this reader does not know how to frame (no length, an upgrade, a head too
large) is ``Unreadable``, and the caller sends the read through boto3 instead.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from knight.errors import EngineError

MAX_HEAD = 64 * 1024
"""Bytes of status line and headers an answer may have (DynamoDB's are under 1 KiB)."""
RECEIVE = 256 * 1024
"""Bytes asked of the socket at a time."""


class Unreadable(EngineError):
    """An answer this reader cannot frame; the connection is no use any more (the read goes through boto3)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    """By name, lower-cased (HTTP names are case-insensitive)."""
    body: bytes
    keep_alive: bool
    """Whether the connection may carry another request."""


def read_answer(sock: socket.socket) -> Answer:
    """One answer from the socket; OSError (TimeoutError included) as the socket raises it, ConnectionError
    if it closes early, ``Unreadable`` for an answer this reader does not frame."""
    buffer = bytearray()
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > MAX_HEAD:
            raise Unreadable(f"an answer's head longer than {MAX_HEAD} bytes")
        _receive(sock, buffer)
    lines = buffer[:end].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise Unreadable(f"not an HTTP/1 status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or name != name.strip():
            raise Unreadable(f"not a header line: {line[:80]!r}")
        name = name.lower()
        value = value.strip()
        # A repeated header is one list, comma-separated (RFC 9110, 5.3).
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    status = int(code)
    if status < 200:  # 1xx: an interim answer (a request without Expect never gets one)
        raise Unreadable(f"an interim answer, {status}")
    del buffer[: end + 4]
    if "transfer-encoding" in headers:
        if headers["transfer-encoding"].lower() != "chunked":
            raise Unreadable(f"transfer encoding {headers['transfer-encoding']!r}")
        body = _chunked(sock, buffer)
    elif "content-length" in headers:
        length = headers["content-length"]
        if not length.isdigit():
            raise Unreadable(f"content length {length!r}")
        body = _exactly(sock, buffer, int(length))
    else:
        raise Unreadable("an answer without a length (read until the connection closes)")
    options = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    keep_alive = "keep-alive" in options if version == "HTTP/1.0" else "close" not in options
    return Answer(status, headers, body, keep_alive)


def _receive(sock: socket.socket, buffer: bytearray) -> None:
    received = sock.recv(RECEIVE)
    if not received:
        raise ConnectionError("the engine closed the connection before its answer was complete")
    buffer += received


def _exactly(sock: socket.socket, buffer: bytearray, length: int) -> bytes:
    """The next ``length`` bytes; anything after them (which no request asked for) spoils the connection."""
    while len(buffer) < length:
        _receive(sock, buffer)
    if len(buffer) > length:
        raise Unreadable("bytes after the answer's body")
    return bytes(buffer)


def _line(sock: socket.socket, buffer: bytearray) -> bytes:
    """The next line, without its CRLF."""
    while (end := buffer.find(b"\r\n")) < 0:
        if len(buffer) > MAX_HEAD:
            raise Unreadable("a line of a chunked body too long")
        _receive(sock, buffer)
    line = bytes(buffer[:end])
    del buffer[: end + 2]
    return line


def _chunked(sock: socket.socket, buffer: bytearray) -> bytes:
    body = bytearray()
    while True:
        size_text = _line(sock, buffer).split(b";", 1)[0].strip()  # a chunk extension is ignored
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Unreadable(f"chunk size {size_text[:20]!r}") from None
        if size == 0:
            while _line(sock, buffer):  # trailer fields, up to the empty line that ends the answer
                pass
            if buffer:
                raise Unreadable("bytes after the answer's body")
            return bytes(body)
        while len(buffer) < size + 2:
            _receive(sock, buffer)
        if buffer[size : size + 2] != b"\r\n":
            raise Unreadable("a chunk not ended by CRLF")
        body += buffer[:size]
        del buffer[: size + 2]
