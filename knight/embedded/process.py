"""The embedded engine in a child process of its own, for `knight up`.

In one process, moto's work for every DynamoDB request takes the interpreter
lock from the GraphQL server and the stream consumers, and theirs from moto;
in a child process each side has a core. The parent binds the socket (the
same port choice and messages as in one process) and hands it over; the
child serves until its stdin closes, which happens when the parent stops it
and when the parent dies in any way, so the engine never outlives
`knight up`. Ctrl-C reaches the child too (the terminal signals the whole
group): the child ignores it and the parent stops the engine last, after
what uses it.

    python -c "from knight.embedded.process import main; main()" FD    # serve on the socket FD

(Not ``python -m``: importing the package imports this module first, and runpy warns of that on stderr.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import IO

from knight.errors import EngineError
from knight.ports import listening_socket

STOP_TIMEOUT = 10.0
"""Seconds the child has to stop once told to, before it is killed."""


class EngineProcess:
    """The embedded engine served by a child process until ``stop()`` (or until this process ends)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EngineError("the embedded engine is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> str:
        sock = listening_socket(self.host, self.requested_port, "the embedded engine", any_if_taken=True)
        try:
            fd = sock.fileno()
            process = subprocess.Popen(
                [sys.executable, "-c", "from knight.embedded.process import main; main()", str(fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=(fd,),
                text=True,
            )
            self._process = process
            assert process.stdout is not None
            ready = process.stdout.readline()  # one line once it serves; its errors go to our stderr
            process.stdout.close()
            if not ready.strip():
                self.stop()
                raise EngineError("the embedded engine's process stopped before it served (its error is above)")
            self.port = int(sock.getsockname()[1])
        finally:
            sock.close()  # the child serves its own copy
        return self.url

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(fd: int, stdin: IO[bytes]) -> None:
    from knight.engine import EmbeddedServer

    sock = socket.socket(fileno=fd)
    server = EmbeddedServer(str(sock.getsockname()[0]), sock=sock)
    url = server.start()
    print(url, flush=True)
    os.dup2(2, 1)  # the parent reads one line; anything moto prints later goes to stderr
    try:
        while stdin.read(4096):  # nothing is sent: EOF means stop
            pass
    finally:
        server.stop()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the engine, last
    _serve(int(sys.argv[1]), sys.stdin.buffer)


if __name__ == "__main__":
    main()
