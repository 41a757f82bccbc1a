"""DynamoDB and Streams requests find moto's application and handler method without searching.

For every request moto (measured on 5.2) lists its package folder and stats
each of its ~200 entries to find the backend a host names, then infers the
service from the signature and X-Amz-Target, and lists the handler class's
methods with ``inspect.getmembers`` to find the action: about a fifth of the
embedded engine's time per request under load. Both answers depend only on
what the request names, so this layer remembers them: the application by
X-Amz-Target prefix and the signature's service, the method names by class.
Other requests (SQS, moto's own API) are looked up as before.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core import responses, utils
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_REMEMBERED_TARGETS = ("DynamoDB_", "DynamoDBStreams_")


def _signed_service(environ: dict[str, Any]) -> str | None:
    """The service in a SigV4 credential scope (moto dispatches on it), None when unsigned or odd."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    try:
        scope = auth.split(",", maxsplit=1)[0].split()[1]
    except IndexError:
        return None
    parts = scope.split("/")
    return parts[3] if len(parts) == 5 else None


def install() -> None:
    original = DomainDispatcherApplication.get_application

    def get_application(self: DomainDispatcherApplication, environ: dict[str, Any]) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        path = str(environ.get("PATH_INFO", ""))
        if not target.startswith(_REMEMBERED_TARGETS) or path.startswith(("/moto-api", "/latest/")):
            return original(self, environ)
        # Per dispatcher: each engine in a process has its own applications.
        remembered: dict[tuple[str, str | None], Any] = self.__dict__.setdefault("_knight_applications", {})
        key = (target.partition(".")[0], _signed_service(environ))
        app = remembered.get(key)
        if app is None:
            app = remembered[key] = original(self, environ)
        return app

    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]
    # moto's handler classes do not change while it serves: their method names need listing once.
    responses.method_names_from_class = functools.cache(utils.method_names_from_class)  # type: ignore[attr-defined]
