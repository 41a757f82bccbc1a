"""Reads sent straight to a local engine over HTTP, botocore's hooks kept; boto3 for the rest.

On a local engine (the embedded one, DynamoDB Local) most of a read's CPU is
botocore building and sending the request (event hooks, endpoint rules,
urllib3); sent as below, a read costs 0.17 of it (benchmarks/direct_reads.py).
exploreDb sends 58 Queries under one interpreter lock, so that CPU is most of
its time.

``DirectReads`` sends Query and BatchGetItem as DynamoDB's JSON protocol
defines them: the parameters as JSON (bytes in base64), signed with SigV4 as
botocore signs them (``signing``) with the client's credentials (DynamoDB
Local keeps one database per access key and region), on kept-alive
connections, the answer read off the socket by ``wire.read_answer`` and
parsed by ``parsing.read_output``. ``query_all`` writes a round of Queries, each on a
connection of its own, before it reads any answer: one thread waits for them
all, where a thread per read would pass the interpreter lock back and forth
at every read (a wave costs 0.63 of their CPU per read). It emits the
client's own events (provide-client-params, before-call, before-send,
after-call) with what botocore passes them, so a meter, a recorder or a test
that holds or counts calls sees these reads as it sees every other.

Anything but a plain 200 answer (an error, throttling, a dropped connection, a
checksum that does not match, a hook that answers in the request's place) sends
the read again through the boto3 client, which retries and raises as it always
does: a read is safe to send twice. Such a read meets the hooks before the
call twice, once for each try (the meter, after the call, once). Only plain-HTTP loopback endpoints get
direct reads; AWS itself (TLS, proxies, its retry quota) is always boto3's.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import botocore
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.hooks import first_non_none_response

from knight.dynamodb.parsing import read_output
from knight.dynamodb.signing import Signer
from knight.dynamodb.wire import Answer, Unreadable, read_answer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
WAVE = 64
"""Requests written before their answers are read (exploreDb at scale 1 reads 33 courses at once)."""
MAX_IDLE = 96
"""Connections kept open between reads; more are closed once their answer is read."""


class DirectReads:
    """Query and BatchGetItem of one boto3 DynamoDB client, sent directly; its other calls are its own.

    Safe to share between threads: they take connections from one pool of idle ones.
    """

    def __init__(self, client: DynamoDBClient, credentials: Credentials) -> None:
        self.client = client
        endpoint = urlsplit(client.meta.endpoint_url)
        self._host = endpoint.hostname or "127.0.0.1"
        self._port = endpoint.port or 80
        # Host as SigV4 signs it: without the default port.
        self._netloc = endpoint.netloc.removesuffix(":80") if endpoint.port == 80 else endpoint.netloc
        self._path = endpoint.path or "/"
        self._url = f"{endpoint.scheme}://{endpoint.netloc}{self._path}"
        self._region = client.meta.region_name
        self._credentials = credentials
        config: Any = client.meta.config  # its type stubs leave the timeouts out
        self._connect_timeout = float(config.connect_timeout)
        self._read_timeout = float(config.read_timeout)
        self._user_agent = f"knight-direct-reads botocore/{botocore.__version__}"
        self._models = {name: client.meta.service_model.operation_model(name) for name in ("Query", "BatchGetItem")}
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._kept_signer: Signer | None = None
        self.fallbacks = 0
        """Reads sent again through boto3 (any answer but a plain 200)."""

    @staticmethod
    def serves(client: DynamoDBClient) -> bool:
        """Whether this client's endpoint takes direct reads: plain HTTP on this machine's loopback."""
        endpoint = urlsplit(client.meta.endpoint_url)
        return endpoint.scheme == "http" and (endpoint.hostname or "") in LOOPBACK

    # The boto3 client's methods, with its keyword arguments

    def query(self, **params: Any) -> dict[str, Any]:
        return self.query_all([params])[0]

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self._read_all("BatchGetItem", [params], _as_read)[0]

    def get_item(self, **params: Any) -> dict[str, Any]:
        return dict(self.client.get_item(**params))

    def scan(self, **params: Any) -> dict[str, Any]:
        return dict(self.client.scan(**params))

    def query_all(self, requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """A Query for each of these parameters, answers in their order.

        Up to ``WAVE`` requests are written, each on a connection of its own,
        before any answer is read: they wait on the engine together, and one
        thread does what one thread per read would, without handing the
        interpreter lock back and forth at every read.
        """
        return self.query_each(requests, _as_read)

    def query_each(self, requests: Sequence[dict[str, Any]], then: Callable[[int, dict[str, Any]], T]) -> list[T]:
        """``query_all``, each answer passed through ``then`` (with its request's position) as soon as it is read.

        The engine is still answering the requests behind it meanwhile, so what
        the caller makes of an answer (items as Python values) costs no wait.
        """
        return self._read_all("Query", requests, then)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def idle_connections(self) -> int:
        with self._lock:
            return len(self._idle)

    # Sending

    def _read_all(
        self, operation: str, requests: Sequence[dict[str, Any]], then: Callable[[int, dict[str, Any]], T]
    ) -> list[T]:
        answers: list[tuple[T] | None] = []
        for first in range(0, len(requests), WAVE):
            answers += self._wave(operation, requests[first : first + WAVE], then, first)
        # boto3 after the waves, so that no connection is left with an answer unread when it raises.
        method = getattr(self.client, "query" if operation == "Query" else "batch_get_item")
        for at, answer in enumerate(answers):
            if answer is None:
                with self._lock:
                    self.fallbacks += 1
                answers[at] = (then(at, dict(method(**requests[at]))),)
        return [answer[0] for answer in answers if answer is not None]

    def _wave(
        self,
        operation: str,
        requests: Sequence[dict[str, Any]],
        then: Callable[[int, dict[str, Any]], T],
        first: int,
    ) -> list[tuple[T] | None]:
        """Each request written, then each answer read (``then`` given its position, from ``first``);
        None for one that boto3 must send."""
        sent: list[tuple[_Prepared, _Connection | None] | None] = []
        answers: list[tuple[T] | None] = []
        try:
            for params in requests:
                prepared = self._prepare(operation, params)
                sent.append(None if prepared is None else (prepared, self._send(prepared.message)))
            # One deadline for the wave: the answers wait on the engine together, so their timeouts do not add up.
            deadline = time.monotonic() + self._read_timeout
            for entry in sent:
                if entry is None:
                    answers.append(None)
                    continue
                prepared, connection = entry
                exchanged = self._receive(connection, deadline) if connection is not None else None
                if connection is not None and connection.timed_out:
                    break  # the engine is slow, not gone: boto3 waits and retries its own way, for the rest too
                if exchanged is None:
                    # A kept connection the engine has since closed fails at once: once more on a new one.
                    connection = self._send(prepared.message, fresh=True)
                    exchanged = self._receive(connection, deadline) if connection is not None else None
                parsed = None if exchanged is None else self._finish(operation, prepared, exchanged)
                answers.append(None if parsed is None else (then(first + len(answers), parsed),))
        finally:
            # A connection whose answer was not read must not go back to the pool: close it.
            for entry in sent[len(answers) :]:
                if entry is not None and entry[1] is not None:
                    entry[1].close()
        return answers + [None] * (len(requests) - len(answers))

    def _prepare(self, operation: str, params: dict[str, Any]) -> _Prepared | None:
        """The request's bytes, after the hooks botocore calls before sending; None if one answered instead."""
        model = self._models[operation]
        events: Any = self.client.meta.events  # a HierarchicalEmitter; the stubs name only its base
        context: dict[str, Any] = {"knight_direct_read": True}
        params = dict(params)  # hooks may change what they are given, as boto3 lets them: not the caller's
        responses = events.emit(
            f"provide-client-params.dynamodb.{operation}", params=params, model=model, context=context
        )
        params = first_non_none_response(responses, default=params)
        try:
            body = json.dumps(params, default=_blob, separators=(",", ":")).encode()
        except (TypeError, ValueError):  # not DynamoDB JSON: boto3's validation says why
            return None
        headers = {
            "Content-Type": CONTENT_TYPE,
            "X-Amz-Target": TARGET_PREFIX + operation,
            "User-Agent": self._user_agent,
        }
        request_dict: dict[str, Any] = {
            "url_path": self._path,
            "query_string": "",
            "method": "POST",
            "headers": headers,
            "body": body,
            "url": self._url,
            "context": context,
        }
        _, answered = events.emit_until_response(
            f"before-call.dynamodb.{operation}",
            model=model,
            params=request_dict,
            # What botocore passes its before-call hooks; its type stubs leave the attribute out.
            request_signer=getattr(self.client, "_request_signer", None),
            context=context,
        )
        if answered is not None:
            return None
        headers, body = request_dict["headers"], request_dict["body"]  # as the hooks left them
        # Host said out loud, as SigV4 signs it; Content-Length added after signing, as botocore does.
        headers = {"Host": self._netloc, **headers}
        headers.update(self._signer(self._credentials.get_frozen_credentials()).sign(headers, body))
        headers["Content-Length"] = str(len(body))
        # botocore hands its before-send hooks its headers as a HeadersDict; its type stubs say HTTPHeaders.
        kept: Any = HeadersDict(headers)
        prepared = AWSPreparedRequest("POST", self._url, kept, body, stream_output=False)
        _, answered = events.emit_until_response(f"before-send.dynamodb.{operation}", request=prepared)
        if answered is not None or not isinstance(prepared.body, bytes):
            return None
        head = [f"POST {self._path} HTTP/1.1\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in prepared.headers.items()]
        # One write for head and body: with Nagle off, two writes are two packets and two wake-ups.
        return _Prepared("".join(head).encode("latin-1") + b"\r\n" + prepared.body, model, context)

    def _signer(self, credentials: ReadOnlyCredentials) -> Signer:
        """The SigV4 signer for these credentials, kept while they last (they may be refreshed)."""
        signer = self._kept_signer
        if signer is None or signer.credentials != credentials:
            # Threads racing here each make one; either signs the same.
            signer = self._kept_signer = Signer(credentials, self._region, self._path)
        return signer

    def _finish(self, operation: str, prepared: _Prepared, answer: Answer) -> dict[str, Any] | None:
        """The parsed answer, after the hooks botocore calls; None unless it is a plain 200."""
        checksum = answer.headers.get("x-amz-crc32")
        if answer.status != 200 or (checksum is not None and checksum != str(zlib.crc32(answer.body))):
            return None
        try:
            parsed = read_output(answer.body)
        except ValueError:
            return None
        events: Any = self.client.meta.events
        # AWSResponse keeps any mapping as a case-insensitive HeadersDict; its type stubs ask for HTTPHeaders.
        headers: Any = answer.headers
        events.emit(
            f"after-call.dynamodb.{operation}",
            http_response=AWSResponse(self._url, answer.status, headers, _Raw(answer.body)),
            parsed=parsed,
            model=prepared.model,
            context=prepared.context,
        )
        return parsed

    def _send(self, message: bytes, *, fresh: bool = False) -> _Connection | None:
        """The connection the request was written on (an idle one unless ``fresh``), or None."""
        connection = None
        if not fresh:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
        try:
            connection = connection or self._connect()
            connection.sock.sendall(message)
        except OSError:
            if connection is not None:
                connection.close()
            return None
        return connection

    def _receive(self, connection: _Connection, deadline: float) -> Answer | None:
        """The answer on this connection, which goes back to the idle ones."""
        try:
            connection.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            answer = read_answer(connection.sock)
        except TimeoutError:  # the engine is slow, not gone: boto3 waits and retries its own way
            connection.timed_out = True
            connection.close()
            return None
        except (OSError, Unreadable):
            connection.close()
            return None
        if not answer.keep_alive:
            connection.close()
        else:
            with self._lock:
                keep = len(self._idle) < MAX_IDLE
                if keep:
                    self._idle.append(connection)
            if not keep:
                connection.close()
        return answer

    def _connect(self) -> _Connection:
        sock = socket.create_connection((self._host, self._port), timeout=self._connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self._read_timeout)
        return _Connection(sock)


@dataclass(frozen=True)
class _Prepared:
    message: bytes
    model: Any
    context: dict[str, Any]


class _Connection:
    """A socket to the engine, closed once."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.timed_out = False

    @property
    def closed(self) -> bool:
        return self.sock.fileno() == -1

    def close(self) -> None:
        self.sock.close()


class _Raw:
    """The body of an answer already read, as AWSResponse reads its raw stream."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]


def _as_read(_: int, answer: dict[str, Any]) -> dict[str, Any]:
    return answer


def _blob(value: Any) -> str:
    # The JSON protocol sends blobs (B and BS values) in base64; boto3's Binary holds bytes.
    raw = getattr(value, "value", value)
    if isinstance(raw, bytes | bytearray):
        return base64.b64encode(raw).decode()
    raise TypeError(f"{type(value).__name__} is not a DynamoDB JSON value")
