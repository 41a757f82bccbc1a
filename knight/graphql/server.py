"""The API served by uvicorn from a background thread: for `knight serve`, `knight up` and notebooks.

server = serve()                 # the engine AWS_ENDPOINT_URL names (a `knight up`)
server.url                       # 'http://127.0.0.1:9000/graphql'
server.stop()

with serve(engine, port=0) as server:   # any free port; stopped on leaving the block
    ...
"""

from __future__ import annotations

import socket
import threading
import time
from importlib.util import find_spec
from types import TracebackType
from typing import TYPE_CHECKING

from knight import collector
from knight.engine import Engine
from knight.errors import EngineError
from knight.extras import missing_extra
from knight.graphql.asgi import GRAPHQL_PATH, create_app
from knight.graphql.executor import Executor
from knight.graphql.settings import DEFAULT_HOST, DEFAULT_PORT, GraphQLSettings
from knight.model import Model
from knight.ports import listening_socket
from knight.search.index import SearchIndex

if TYPE_CHECKING:
    import uvicorn

# httptools (llhttp, in C) took a fifth of the server's CPU per request off h11's (benchmarks/server_cpu.py);
# it is knight's dependency where it builds. asyncio's own loop, not uvloop: under `knight up`'s load uvloop
# served a fifth fewer requests a second (benchmarks/performance.py --goal load, alternating runs).
HTTP_PARSER = "httptools" if find_spec("httptools") else "h11"
EVENT_LOOP = "asyncio"


class GraphQLServer:
    """uvicorn serving an executor's API in a daemon thread until ``stop``.

    ``port=0`` takes any free port, as does a taken port with
    ``any_port_if_taken``; otherwise ``start`` reports a taken port there and
    then. ``owns`` are closed on ``stop``.
    """

    def __init__(
        self,
        executor: Executor,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        path: str = GRAPHQL_PATH,
        owns: tuple[Executor | Engine, ...] = (),
        any_port_if_taken: bool = False,
    ) -> None:
        self.executor = executor
        self.host = host
        self.requested_port = port
        self.any_port_if_taken = any_port_if_taken
        self.path = path
        self.port: int | None = None
        self._owns = owns
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._frozen = False

    @property
    def url(self) -> str:
        if self.port is None:
            raise EngineError("the GraphQL server is not running; call start()")
        return f"http://{self.host}:{self.port}{self.path}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> str:
        """Start serving (no-op when running); returns the URL."""
        if self.running:
            return self.url
        try:
            # Imported here: uvicorn comes with the "local" extra, and the Lambda door needs none of it.
            import uvicorn
        except ImportError as exc:
            raise missing_extra("the GraphQL server", "local", exc.name) from None
        self._socket = listening_socket(self.host, self.requested_port, "GraphQL", any_if_taken=self.any_port_if_taken)
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            create_app(self.executor, path=self.path, also_host=self.host),
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=HTTP_PARSER,
            loop=EVENT_LOOP,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="knight-graphql-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise EngineError(f"the GraphQL server did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        # What exists now (model, schema, clients) lives as long as the server: out of the collector's way.
        collector.freeze()
        self._frozen = True
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, finishing requests under way, and close what the server owns."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        for owned in self._owns:
            owned.close()
        self._owns = ()
        if self._frozen:
            self._frozen = False
            collector.thaw()

    def __enter__(self) -> GraphQLServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"<GraphQLServer {state}>"


def serve(
    engine: Engine | None = None,
    model: Model | None = None,
    table: str | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    settings: GraphQLSettings | None = None,
    any_port_if_taken: bool = False,
    search_index: SearchIndex | None = None,
) -> GraphQLServer:
    """Serve the API of a table in the background and return the running server.

    Without an engine, boto3's configuration decides where DynamoDB is (as
    for every knight command); the server then owns that engine and closes it
    on ``stop``. ``server.url`` says where it listens.
    """
    owned: list[Executor | Engine] = []
    if engine is None:
        engine = Engine.from_environment()
        owned.append(engine)
    executor = Executor(engine, model, table, settings, search_index=search_index)
    server = GraphQLServer(executor, host=host, port=port, owns=(executor, *owned), any_port_if_taken=any_port_if_taken)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
