"""How the GraphQL API behaves: limits, production mode, CORS, timeouts.

An explicit object, filled from arguments first and ``KNIGHT_GRAPHQL_*``
environment variables second. Production mode turns off introspection, the
in-browser IDE, the cost report and debugging details, whatever else says.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from knight.errors import ValidationError

T = TypeVar("T")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
"""Where the API listens by default: the original's GraphQL port."""

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

ENV_PREFIX = "KNIGHT_GRAPHQL_"
PRODUCTION_VARIABLE = "KNIGHT_GRAPHQL_PRODUCTION"
HOSTS_VARIABLE = "KNIGHT_GRAPHQL_ALLOWED_HOSTS"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class GraphQLSettings:
    """Limits and switches of the GraphQL API; the defaults suit a laptop.

    Every field can come from ``KNIGHT_GRAPHQL_<FIELD IN CAPITALS>``, for
    example ``KNIGHT_GRAPHQL_MAX_DEPTH=8`` or
    ``KNIGHT_GRAPHQL_CORS_ORIGINS=https://a.example,https://b.example``.
    """

    production: bool = False
    """No introspection, no IDE, no cost report, no internals in errors."""
    debug: bool = False
    """Error messages and stack traces of unexpected failures (never in production)."""
    report_dynamodb: bool = True
    """Put requests and consumed capacity in ``extensions.dynamodb`` (never in production)."""
    max_depth: int = 10
    """Deepest field nesting an operation may select (exploreDb needs 7)."""
    max_cost: int = 100_000
    """Highest estimated cost: every object selected counts 1, each list counts ``list_size`` of them."""
    list_size: int = 10
    """How many items the cost estimate assumes a list field holds."""
    max_tokens: int = 5_000
    """Most lexical tokens a query document may have."""
    max_aliases: int = 30
    """Most aliased fields an operation may use, fragments included."""
    max_body_bytes: int = 100_000
    """Largest HTTP request body."""
    max_concurrent: int = 16
    """Most operations running at once; more wait for room (``queue_seconds``), then get OVERLOADED."""
    cost_budget: int = 100_000
    """Most estimated cost of the costly operations running at once (exploreDb at scale 1 costs 33,110)."""
    cheap_cost: int = 100
    """Operations of at most this cost need no cost budget, so they stay fast while costly ones queue (0: none)."""
    queue_seconds: float = 5.0
    """Longest an operation waits for room before it is refused with OVERLOADED (HTTP 503, Retry-After)."""
    timeout_seconds: float = 30.0
    """Longest a request may take; after it the client gets a TIMEOUT error."""
    cors_origins: tuple[str, ...] = ()
    """Origins browsers may call the API from (``*`` for any); none by default."""
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    """Host names requests may be addressed to (``*`` for any): loopback only, so that a web page
    cannot reach the API through a DNS name it controls (DNS rebinding)."""

    def __post_init__(self) -> None:
        whole = ("max_depth", "max_cost", "list_size", "max_tokens", "max_aliases", "max_body_bytes")
        for name in (*whole, "max_concurrent", "cost_budget", "cheap_cost"):
            value, least = getattr(self, name), 0 if name == "cheap_cost" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValidationError(f"{name} must be a whole number of {least} or more, got {value!r}")
        for name in ("timeout_seconds", "queue_seconds"):
            if not getattr(self, name) > 0:
                raise ValidationError(f"{name} must be more than 0, got {getattr(self, name)!r}")

    @property
    def introspection(self) -> bool:
        return not self.production

    @property
    def explorer(self) -> bool:
        """Whether GET without a query serves the in-browser IDE."""
        return not self.production

    @property
    def dynamodb_extension(self) -> bool:
        return self.report_dynamodb and not self.production

    @property
    def show_internals(self) -> bool:
        return self.debug and not self.production

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, **given: Any) -> GraphQLSettings:
        """Settings from keyword arguments, then ``KNIGHT_GRAPHQL_*`` variables, then the defaults.

        An argument given as None counts as not given.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if given.get(field.name) is not None:
                values[field.name] = given[field.name]
                continue
            variable = ENV_PREFIX + field.name.upper()
            if variable in env:
                values[field.name] = _parse(variable, env[variable], field.type)
        unknown = sorted(set(given) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ValidationError(f"GraphQL settings have no {', '.join(unknown)}")
        for name in ("cors_origins", "allowed_hosts"):
            if isinstance(values.get(name), list | tuple | str):
                values[name] = _origins(values[name])
        return cls(**values)


def _parse(variable: str, text: str, kind: Any) -> Any:
    parsers: dict[str, Callable[[str], Any]] = {
        "bool": _flag,
        "int": int,
        "float": float,
        "tuple[str, ...]": _origins,
    }
    parser = parsers[str(kind)]
    try:
        return parser(text.strip())
    except ValueError:
        raise ValidationError(f"{variable}={text!r} is not a valid {kind}") from None


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def _origins(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    parts = text.split(",") if isinstance(text, str) else list(text)
    return tuple(part.strip().rstrip("/") for part in parts if part.strip())
