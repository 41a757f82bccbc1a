"""A boto3 request, built in full before anything is sent."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Operation = Literal["GetItem", "Query"]


@dataclass(frozen=True)
class Request:
    """One DynamoDB call: the operation and the exact keyword arguments boto3's client gets.

    ``params`` is what ``client.query(**params)`` (or ``get_item``) receives,
    values in DynamoDB JSON, so a dry run shows precisely what would be sent.
    """

    operation: Operation
    params: dict[str, Any]

    @property
    def index_name(self) -> str | None:
        name = self.params.get("IndexName")
        return str(name) if name is not None else None

    def with_params(self, **changes: Any) -> Request:
        """A copy with some parameters replaced (a ``None`` value removes one)."""
        params = copy.deepcopy(self.params)
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return Request(self.operation, params)

    def send(self, client: DynamoDBClient) -> dict[str, Any]:
        if self.operation == "GetItem":
            return dict(client.get_item(**self.params))
        return dict(client.query(**self.params))

    def as_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "params": copy.deepcopy(self.params)}
