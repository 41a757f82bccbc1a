"""Turning boto3's exceptions into knight's, with a message that says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from knight.engine import Engine
from knight.errors import EngineError, KnightError, NotFoundError, ValidationError


@contextmanager
def engine_errors(engine: Engine, table: str | None = None) -> Iterator[None]:
    """Re-raise what boto3 raises inside the block as a KnightError."""
    try:
        yield
    except KnightError:
        raise
    except EndpointConnectionError:
        raise EngineError(
            f"cannot reach DynamoDB at {engine.dynamodb_url}: start it, "
            "or unset AWS_ENDPOINT_URL to use the embedded engine"
        ) from None
    except NoCredentialsError:
        raise EngineError("boto3 finds no AWS credentials; configure a profile or set AWS_ACCESS_KEY_ID") from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code == "ResourceNotFoundException" and table is not None:
            raise NotFoundError(
                f"table {table} does not exist at {engine.describe()}; run `knight table create`"
            ) from None
        if code == "ValidationException":
            # DynamoDB checked the request itself (an item grown past 400 KB by an update, say).
            raise ValidationError(f"DynamoDB refused the request as invalid: {message}") from None
        raise EngineError(f"DynamoDB refused the request ({code}): {message}") from None
    except BotoCoreError as exc:
        raise EngineError(f"talking to {engine.describe()} failed: {exc}") from None
