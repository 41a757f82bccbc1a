"""Where DynamoDB, DynamoDB Streams and SQS are, and the clients that reach them.

boto3's own configuration decides (``AWS_ENDPOINT_URL``, the service-specific
``AWS_ENDPOINT_URL_DYNAMODB`` and friends, profiles, region). When it names no
endpoint, knight starts its embedded engine, a moto server in this process,
unless real AWS was asked for explicitly.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.util import find_spec
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from knight.dynamodb import parsing
from knight.dynamodb.direct import DirectReads
from knight.embedded.process import EngineProcess
from knight.errors import EngineError, RefusedError
from knight.extras import missing_extra
from knight.ports import listening_socket
from knight.settings import truthy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

AWS_OPT_IN_VARIABLE = "KNIGHT_AWS"
"""Set to 1 (or pass --aws) to let knight talk to real AWS."""

DEFAULT_PORT = 4566
"""LocalStack's port, so that `aws --endpoint-url` habits carry over."""

DEFAULT_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
POOLED_CONNECTIONS = 32
"""Connections each client keeps (boto3 keeps 10): the GraphQL API's threads and the xp consumer's
writes to several students at once share one client in `knight up`."""
SERVICES = ("dynamodb", "dynamodbstreams", "sqs")
DIRECT_READS_VARIABLE = "KNIGHT_DIRECT_READS"

_ENDPOINT_VARIABLES = {
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
    "dynamodbstreams": "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
    "sqs": "AWS_ENDPOINT_URL_SQS",
}
"""boto3's variable for each service's own endpoint."""

EngineKind = Literal["embedded", "endpoint", "aws"]

_AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


def is_aws_url(url: str) -> bool:
    """Whether an endpoint is AWS's own (by its host), not a local engine's."""
    host = urlparse(url).hostname or ""
    return host.endswith(_AWS_HOST_SUFFIXES)


def _direct_reads_wanted(env: Mapping[str, str]) -> bool:
    """Direct reads unless the variable says no; they are how knight reads a local engine."""
    text = env.get(DIRECT_READS_VARIABLE)
    return text is None or truthy(text)


def aws_opt_in(env: Mapping[str, str] | None = None) -> bool:
    return truthy((env if env is not None else os.environ).get(AWS_OPT_IN_VARIABLE))


class EmbeddedServer:
    """A moto server serving DynamoDB, DynamoDB Streams and SQS from a thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, sock: socket.socket | None = None) -> None:
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._sock = sock
        """A listening socket to serve on instead of binding one (the engine's own process gets it)."""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EngineError("the embedded engine is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        # Imported here: moto is heavy, and endpoint users never need it.
        from moto.server import (  # type: ignore[attr-defined]
            DomainDispatcherApplication,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from knight.embedded import install
        from knight.embedded.connections import KeepAliveHandler
        from knight.embedded.serialized import SerializedDynamoDB

        # moto, made to behave like DynamoDB where knight depends on it (see knight.embedded).
        install()
        app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))

        # werkzeug reports a taken port by printing and exiting; given a bound socket, it only serves.
        sock = self._sock or listening_socket(self.host, self.requested_port, "the embedded engine", any_if_taken=True)
        self._sock = None
        try:
            port = int(sock.getsockname()[1])
            self._server = make_server(
                self.host, port, app, threaded=True, request_handler=KeepAliveHandler, fd=sock.fileno()
            )
        finally:
            sock.close()  # werkzeug serves a duplicate of it
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="knight-embedded-engine", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


@dataclass
class Engine:
    """Where the three services are, and how to build clients for them.

    ``urls`` maps a service name to its endpoint; a missing service means AWS's
    own endpoint for the region. Pass an Engine to whatever needs a client.
    """

    kind: EngineKind
    region: str
    urls: dict[str, str] = field(default_factory=dict)
    session: boto3.Session = field(default_factory=parsing.session)
    server: EmbeddedServer | EngineProcess | None = None
    direct_reads: bool = field(default_factory=lambda: _direct_reads_wanted(os.environ))
    """Whether ``reads`` may read a loopback endpoint directly (KNIGHT_DIRECT_READS=0 says no)."""
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _direct: DirectReads | None = field(default=None, repr=False)
    _direct_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_environment(
        cls,
        *,
        allow_aws: bool = False,
        port: int = DEFAULT_PORT,
        env: Mapping[str, str] | None = None,
        own_process: bool = False,
    ) -> Engine:
        """Resolve endpoints exactly as boto3 does; start the embedded engine when there are none
        (in a child process of its own with ``own_process``)."""
        allow_aws = allow_aws or aws_opt_in(env)
        session = parsing.session()
        region = session.region_name or DEFAULT_REGION
        resolved = {service: resolved_url(session, service, region) for service in SERVICES}
        configured = {s: u for s, u in resolved.items() if not is_aws_url(u)}
        if configured:
            dynamodb = configured.get("dynamodb")
            if dynamodb is None:
                raise EngineError(
                    "an endpoint is configured for "
                    + ", ".join(configured)
                    + " but not for DynamoDB; set AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_DYNAMODB"
                )
            # DynamoDB Local, LocalStack and moto serve streams on DynamoDB's own port;
            # never send a service that was left out to real AWS by accident.
            urls = {service: configured.get(service, dynamodb) for service in SERVICES}
            return cls("endpoint", region, urls, session)
        if allow_aws:
            if session.get_credentials() is None:
                raise EngineError(
                    "real AWS was asked for, but boto3 finds no credentials; "
                    "configure a profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                )
            return cls("aws", region, {}, session)
        return cls.embedded(port=port, region=region, own_process=own_process)

    @classmethod
    def embedded(cls, *, port: int = DEFAULT_PORT, region: str = DEFAULT_REGION, own_process: bool = False) -> Engine:
        """Start a moto server on 127.0.0.1 (``port`` when free, any free port otherwise): in a thread
        of this process, or with ``own_process`` in a child process that ends with this one."""
        if find_spec("moto") is None:  # said here, not by a child process's traceback
            raise missing_extra("the embedded engine", "local", "moto")
        server: EmbeddedServer | EngineProcess = (
            EngineProcess("127.0.0.1", port) if own_process else EmbeddedServer(port=port)
        )
        try:
            url = server.start()
        except OSError as exc:
            raise EngineError(f"cannot start the embedded engine: {exc.strerror}") from None
        session = parsing.session(region_name=region, **LOCAL_CREDENTIALS)
        return cls("embedded", region, {s: url for s in SERVICES}, session, server)

    @property
    def is_aws(self) -> bool:
        return self.kind == "aws"

    @property
    def dynamodb_url(self) -> str:
        return self.urls.get("dynamodb") or resolved_url(self.session, "dynamodb", self.region)

    def describe(self) -> str:
        """One line saying where DynamoDB is."""
        if self.kind == "embedded":
            return f"embedded engine (moto) at {self.dynamodb_url}"
        if self.kind == "endpoint":
            return f"endpoint {self.dynamodb_url}"
        return f"real AWS, region {self.region}"

    def refuse_unconfirmed(self, action: str, confirmed: bool) -> None:
        """Stop a destructive action on real AWS unless the user said --yes."""
        if self.is_aws and not confirmed:
            raise RefusedError(f"refusing to {action} on real AWS (region {self.region}) without --yes")

    def client(self, service: str) -> Any:
        if service not in self._clients:
            kwargs: dict[str, Any] = {
                "region_name": self.region,
                "config": Config(
                    connect_timeout=3,
                    read_timeout=30,
                    retries={"mode": "standard", "max_attempts": 4},
                    max_pool_connections=POOLED_CONNECTIONS,
                ),
            }
            if service in self.urls:
                kwargs["endpoint_url"] = self.urls[service]
                if self.session.get_credentials() is None:
                    kwargs.update(LOCAL_CREDENTIALS)
            self._clients[service] = self.session.client(service, **kwargs)  # type: ignore[call-overload]
        return self._clients[service]

    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    def reads(self) -> DynamoDBClient | DirectReads:
        """What GraphQL's reads (Query, BatchGetItem) go through: direct reads on a loopback
        endpoint (see knight.dynamodb.direct), the boto3 client elsewhere."""
        client = self.dynamodb()
        if self.is_aws or not self.direct_reads or not DirectReads.serves(client):
            return client
        direct = self._direct
        if direct is not None and direct.client is client:
            return direct
        with self._direct_lock:  # the executor's threads ask at once, the first time: make one
            if self._direct is None or self._direct.client is not client:
                if self._direct is not None:
                    self._direct.close()
                credentials = self.session.get_credentials() or Credentials(
                    LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"]
                )
                self._direct = DirectReads(client, credentials)
            return self._direct

    def streams(self) -> DynamoDBStreamsClient:
        client: DynamoDBStreamsClient = self.client("dynamodbstreams")
        return client

    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    def environment(self) -> dict[str, str]:
        """Variables that point another process (a notebook, the aws CLI) at this engine."""
        if self.kind == "aws":
            return {"AWS_DEFAULT_REGION": self.region, AWS_OPT_IN_VARIABLE: "1"}
        env = {"AWS_DEFAULT_REGION": self.region}
        if len({self.urls.get(service) for service in SERVICES}) == 1:
            env["AWS_ENDPOINT_URL"] = self.dynamodb_url
        else:  # DynamoDB Local with SQS elsewhere, for example
            env.update({_ENDPOINT_VARIABLES[service]: url for service, url in self.urls.items()})
        if self.kind == "embedded":
            env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        return env

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
            self._direct = None
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def resolved_url(session: boto3.Session, service: str, region: str) -> str:
    """The endpoint boto3 would use for a service, with everything it reads."""
    client = session.client(service, region_name=region, **LOCAL_CREDENTIALS)  # type: ignore[call-overload]
    try:
        return str(client.meta.endpoint_url)
    finally:
        client.close()
