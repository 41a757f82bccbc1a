"""Reads sent straight to a local engine over HTTP, botocore's hooks kept; boto3 for the rest.

On a local engine (the embedded one, DynamoDB Local) botocore's request
pipeline costs more CPU than the engine's answer: about 0.9 ms a call (request
building, event hooks, endpoint rules, urllib3), measured against 0.3 ms for
the same request sent as below. exploreDb sends 55 Queries under one
interpreter lock, so that CPU is most of its time.

``DirectReads`` sends Query and BatchGetItem as DynamoDB's JSON protocol
defines them: the parameters as JSON (bytes in base64), signed by botocore's
own SigV4 signer with the client's credentials (DynamoDB Local keeps one
database per access key and region), over one kept-alive connection per
thread, the answer read by ``parsing.read_output``. It emits the client's own
events (provide-client-params, before-call, before-send, after-call) with what
botocore passes them, so a meter, a recorder or a test that holds or counts
calls sees these reads as it sees every other.

Anything but a plain 200 answer (an error, throttling, a dropped connection, a
checksum that does not match, a hook that answers in the request's place) sends
the read again through the boto3 client, which retries and raises as it always
does: a read is safe to send twice. Only plain-HTTP loopback endpoints get
direct reads; AWS itself (TLS, proxies, its retry quota) is always boto3's.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import weakref
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from botocore.hooks import first_non_none_response

from knight.dynamodb.parsing import read_output

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"


class DirectReads:
    """Query and BatchGetItem of one boto3 DynamoDB client, sent directly; its other calls are its own.

    Safe to share between threads (each thread keeps its own connection).
    """

    def __init__(self, client: DynamoDBClient, credentials: Credentials) -> None:
        self.client = client
        endpoint = urlsplit(client.meta.endpoint_url)
        self._host = endpoint.hostname or "127.0.0.1"
        self._port = endpoint.port or 80
        self._netloc = endpoint.netloc
        self._url = f"{endpoint.scheme}://{endpoint.netloc}/"
        self._region = client.meta.region_name
        self._credentials = credentials
        config: Any = client.meta.config  # its type stubs leave the timeouts out
        self._connect_timeout = float(config.connect_timeout)
        self._read_timeout = float(config.read_timeout)
        self._user_agent = f"knight-direct-reads botocore/{botocore.__version__}"
        self._models = {name: client.meta.service_model.operation_model(name) for name in ("Query", "BatchGetItem")}
        self._local = threading.local()
        self._lock = threading.Lock()
        # Weak: a thread's connection goes (and closes) with the thread; close() closes those left.
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self.fallbacks = 0
        """Reads sent again through boto3 (any answer but a plain 200)."""

    @staticmethod
    def serves(client: DynamoDBClient) -> bool:
        """Whether this client's endpoint takes direct reads: plain HTTP on this machine's loopback."""
        endpoint = urlsplit(client.meta.endpoint_url)
        return endpoint.scheme == "http" and (endpoint.hostname or "") in LOOPBACK

    # The boto3 client's methods, with its keyword arguments

    def query(self, **params: Any) -> dict[str, Any]:
        return self._read("Query", params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self._read("BatchGetItem", params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return dict(self.client.get_item(**params))

    def scan(self, **params: Any) -> dict[str, Any]:
        return dict(self.client.scan(**params))

    def close(self) -> None:
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            connection.close()

    def open_connections(self) -> int:
        """Connections open now, one at most per thread that read and is still alive."""
        with self._lock:
            return sum(1 for connection in self._connections if not connection.closed)

    # Sending

    def _read(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = self._direct(operation, params)
        if answer is not None:
            return answer
        with self._lock:
            self.fallbacks += 1
        method = getattr(self.client, "query" if operation == "Query" else "batch_get_item")
        return dict(method(**params))

    def _direct(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The answer, or None when boto3 must send the read (after this one was tried, or instead of it)."""
        model = self._models[operation]
        events: Any = self.client.meta.events  # a HierarchicalEmitter; the stubs name only its base
        context: dict[str, Any] = {"knight_direct_read": True}
        responses = events.emit(
            f"provide-client-params.dynamodb.{operation}", params=params, model=model, context=context
        )
        params = first_non_none_response(responses, default=params)
        body = json.dumps(params, default=_blob, separators=(",", ":")).encode()
        headers = {
            "Content-Type": CONTENT_TYPE,
            "X-Amz-Target": TARGET_PREFIX + operation,
            "User-Agent": self._user_agent,
        }
        request_dict = {
            "url_path": "/",
            "query_string": "",
            "method": "POST",
            "headers": headers,
            "body": body,
            "url": self._url,
            "context": context,
        }
        _, answered = events.emit_until_response(
            f"before-call.dynamodb.{operation}", model=model, params=request_dict, request_signer=None, context=context
        )
        if answered is not None:
            return None
        request = AWSRequest("POST", self._url, headers=headers, data=body)
        SigV4Auth(self._credentials.get_frozen_credentials(), "dynamodb", self._region).add_auth(request)
        prepared = request.prepare()
        _, answered = events.emit_until_response(f"before-send.dynamodb.{operation}", request=prepared)
        if answered is not None:
            return None
        exchanged = self._exchange(prepared.headers.items(), body)
        if exchanged is None:
            return None
        status, reply_headers, raw = exchanged
        checksum = reply_headers.get("x-amz-crc32")
        if status != 200 or (checksum is not None and int(checksum) != zlib.crc32(raw)):
            return None
        try:
            parsed = read_output(raw)
        except ValueError:
            return None
        http_response = AWSResponse(self._url, status, reply_headers, _Raw(raw))
        events.emit(
            f"after-call.dynamodb.{operation}",
            http_response=http_response,
            parsed=parsed,
            model=model,
            context=context,
        )
        return parsed

    def _exchange(self, headers: Any, body: bytes) -> tuple[int, HTTPHeaders, bytes] | None:
        """Status, headers and body of one exchange on this thread's connection; None if it broke."""
        # The prepared headers hold Content-Length; Host is the endpoint's, as signed.
        head = [f"POST / HTTP/1.1\r\nHost: {self._netloc}\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in headers]
        # One write for head and body: with Nagle off, two writes are two packets and two wake-ups.
        message = "".join(head).encode("latin-1") + b"\r\n" + body
        kept: _Connection | None = getattr(self._local, "connection", None)
        if kept is not None and kept.closed:
            kept = None
        # A kept connection the engine has since closed fails at once: once more on a new one.
        for reused in (kept, None) if kept is not None else (None,):
            connection = reused
            try:
                connection = reused or self._connect()
                connection.sock.sendall(message)
                response = http.client.HTTPResponse(connection.sock, method="POST")
                response.begin()
                raw = response.read()
            except TimeoutError:  # the engine is slow, not gone: boto3 waits and retries its own way
                self._forget(connection)
                return None
            except (OSError, http.client.HTTPException):
                self._forget(connection)
                continue
            if response.will_close:
                self._forget(connection)
            return response.status, HTTPHeaders.from_pairs(response.getheaders()), raw
        return None

    def _connect(self) -> _Connection:
        sock = socket.create_connection((self._host, self._port), timeout=self._connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self._read_timeout)
        connection = self._local.connection = _Connection(sock)
        with self._lock:
            self._connections.add(connection)
        return connection

    def _forget(self, connection: _Connection | None) -> None:
        self._local.connection = None
        if connection is not None:
            connection.close()


class _Connection:
    """One thread's socket to the engine; closed when closed, or when the thread that held it ends."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @property
    def closed(self) -> bool:
        return self.sock.fileno() == -1

    def close(self) -> None:
        self.sock.close()

    def __del__(self) -> None:
        self.sock.close()


class _Raw:
    """The body of an answer already read, as AWSResponse reads its raw stream."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]


def _blob(value: Any) -> str:
    # The JSON protocol sends blobs (B and BS values) in base64; boto3's Binary holds bytes.
    raw = getattr(value, "value", value)
    if isinstance(raw, bytes | bytearray):
        return base64.b64encode(raw).decode()
    raise TypeError(f"{type(value).__name__} is not a DynamoDB JSON value")
