"""How the GraphQL API behaves: limits, production mode, CORS, timeouts.

An explicit object, filled from arguments first and ``KNIGHT_GRAPHQL_*``
environment variables second (pydantic-settings reads and checks them).
Production mode turns off introspection, the in-browser IDE, the cost report
and debugging details, whatever else says.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from knight.settings import Names, Settings, split_names

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
"""Where the API listens by default: the original's GraphQL port."""

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

ENV_PREFIX = "KNIGHT_GRAPHQL_"
PRODUCTION_VARIABLE = "KNIGHT_GRAPHQL_PRODUCTION"
HOSTS_VARIABLE = "KNIGHT_GRAPHQL_ALLOWED_HOSTS"


class GraphQLSettings(Settings):
    """Limits and switches of the GraphQL API; the defaults suit a laptop.

    Every field can come from ``KNIGHT_GRAPHQL_<FIELD IN CAPITALS>``, for
    example ``KNIGHT_GRAPHQL_MAX_DEPTH=8`` or
    ``KNIGHT_GRAPHQL_CORS_ORIGINS=https://a.example,https://b.example``.
    A bad value raises knight's ValidationError naming the field.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", env_ignore_empty=True)

    production: bool = False
    """No introspection, no IDE, no cost report, no internals in errors."""
    debug: bool = False
    """Error messages and stack traces of unexpected failures (never in production)."""
    report_dynamodb: bool = True
    """Put requests and consumed capacity in ``extensions.dynamodb`` (never in production)."""
    max_depth: Annotated[int, Field(ge=1)] = 10
    """Deepest field nesting an operation may select (exploreDb needs 7)."""
    max_cost: Annotated[int, Field(ge=1)] = 100_000
    """Highest estimated cost: every object selected counts 1, each list counts ``list_size`` of them."""
    list_size: Annotated[int, Field(ge=1)] = 10
    """How many items the cost estimate assumes a list field holds."""
    max_tokens: Annotated[int, Field(ge=1)] = 5_000
    """Most lexical tokens a query document may have."""
    max_aliases: Annotated[int, Field(ge=1)] = 30
    """Most aliased fields an operation may use, fragments included."""
    max_body_bytes: Annotated[int, Field(ge=1)] = 100_000
    """Largest HTTP request body."""
    max_concurrent: Annotated[int, Field(ge=1)] = 16
    """Most operations running at once; more wait for room (``queue_seconds``), then get OVERLOADED."""
    cost_budget: Annotated[int, Field(ge=1)] = 100_000
    """Most estimated cost of the costly operations running at once (exploreDb at scale 1 costs 33,110)."""
    cheap_cost: Annotated[int, Field(ge=0)] = 100
    """Operations of at most this cost need no cost budget, so they stay fast while costly ones queue (0: none)."""
    queue_seconds: Annotated[float, Field(gt=0)] = 5.0
    """Longest an operation waits for room before it is refused with OVERLOADED (HTTP 503, Retry-After)."""
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    """Longest a request may take; after it the client gets a TIMEOUT error."""
    cors_origins: Names = ()
    """Origins browsers may call the API from (``*`` for any); none by default."""
    allowed_hosts: Names = LOOPBACK_HOSTS
    """Host names requests may be addressed to (``*`` for any): loopback only, so that a web page
    cannot reach the API through a DNS name it controls (DNS rebinding)."""

    split_names = field_validator("cors_origins", "allowed_hosts", mode="before")(split_names)

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
