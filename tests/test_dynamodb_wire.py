"""knight.dynamodb.wire: an HTTP/1.1 answer read off a socket as http.client reads it, or refused.

Each well-framed answer is written to one end of a socket pair, in pieces that
split its head and body at awkward places, and read from the other; the
status, headers and body must be what the standard library's own
``http.client`` reads from the same bytes. What the reader does not frame
must be ``Unreadable`` (so that the read goes through boto3), an engine that
closes early a ``ConnectionError``, a silent one the socket's timeout.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from knight.dynamodb.wire import MAX_HEAD, Unreadable, read_answer

BODY = b'{"Items":[{"pk":{"S":"c#1"}}],"Count":1}'

WELL_FRAMED = {
    "content length": b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: 123\r\n"
    + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
    + BODY,
    "chunked, an extension and a trailer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"5;name=value\r\n"
    + BODY[:5]
    + b"\r\n"
    + f"{len(BODY) - 5:x}\r\n".encode()
    + BODY[5:]
    + b"\r\n0\r\nExpires: never\r\n\r\n",
    "an error status": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}",
    "an empty body": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "connection close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
    "HTTP/1.0 without keep-alive": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "HTTP/1.0 with keep-alive": b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}",
    "a repeated header": b"HTTP/1.1 200 OK\r\nVia: a\r\nVia: b\r\nContent-Length: 2\r\n\r\n{}",
}


@contextmanager
def answering(*pieces: bytes, close: bool = False, timeout: float = 5.0) -> Iterator[socket.socket]:
    """The reading end of a socket pair; the other end writes the pieces one by one (then closes, if asked)."""
    reader, writer = socket.socketpair()
    reader.settimeout(timeout)

    def write() -> None:
        for piece in pieces:
            writer.sendall(piece)
        if close:
            writer.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield reader
    finally:
        thread.join(5)
        reader.close()
        writer.close()


def pieces_of(raw: bytes, size: int) -> list[bytes]:
    return [raw[at : at + size] for at in range(0, len(raw), size)]


class _Bytes:
    """Bytes that http.client reads as from a socket."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def makefile(self, *_: object, **__: object) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self._raw))


@pytest.mark.parametrize("name", WELL_FRAMED)
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_a_well_framed_answer_reads_as_http_client_reads_it(name: str, size: int) -> None:
    raw = WELL_FRAMED[name]
    expected = http.client.HTTPResponse(_Bytes(raw), method="POST")  # type: ignore[arg-type]
    expected.begin()
    expected_body = expected.read()
    with answering(*pieces_of(raw, size)) as sock:
        answer = read_answer(sock)
    assert answer.status == expected.status
    assert answer.body == expected_body
    assert answer.keep_alive is not expected.will_close
    assert answer.headers == {name.lower(): ", ".join(expected.msg.get_all(name) or []) for name in expected.msg}


def test_answers_one_after_another_on_one_connection() -> None:
    """A kept-alive connection carries one request at a time: each answer is read to its end, no further."""
    reader, writer = socket.socketpair()
    try:
        for raw in (WELL_FRAMED["content length"], WELL_FRAMED["chunked, an extension and a trailer"]):
            writer.sendall(raw)
            assert read_answer(reader).body == BODY
    finally:
        reader.close()
        writer.close()


def test_bytes_no_request_asked_for_spoil_the_connection() -> None:
    raw = WELL_FRAMED["content length"]
    with answering(raw + raw) as sock, pytest.raises(Unreadable, match="after the answer"):
        read_answer(sock)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\n\r\n{}",  # no length: read until the connection closes
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n{}",
        b"ICY 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 2xx OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\n Folded: header\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}extra",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nextra",
    ],
)
def test_an_answer_it_cannot_frame_is_unreadable(raw: bytes) -> None:
    with answering(raw, close=True) as sock, pytest.raises(Unreadable):
        read_answer(sock)


def test_a_head_without_end_is_unreadable_once_too_long() -> None:
    endless = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"x" * (MAX_HEAD + 10)
    with answering(endless, close=True) as sock, pytest.raises(Unreadable, match="head longer"):
        read_answer(sock)


@pytest.mark.parametrize(
    "raw",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Le", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"],
    ids=["nothing", "half a head", "half a body"],
)
def test_an_engine_closing_early_is_a_connection_error(raw: bytes) -> None:
    with answering(raw, close=True) as sock, pytest.raises(ConnectionError):
        read_answer(sock)


def test_a_silent_engine_is_the_sockets_timeout() -> None:
    with answering(b"HTTP/1.1 200 OK\r\n", timeout=0.05) as sock, pytest.raises(TimeoutError):
        read_answer(sock)
