"""knight: a workbench for DynamoDB single-table design, on "Sir learn a lot"."""

from knight.engine import Engine
from knight.errors import (
    AlreadyExistsError,
    ConflictError,
    DriftError,
    EngineError,
    KnightError,
    ModelError,
    NotFoundError,
    RefusedError,
    ThrottledError,
    ValidationError,
)
from knight.model import Model, load_model

__all__ = [
    "AlreadyExistsError",
    "ConflictError",
    "DriftError",
    "Engine",
    "EngineError",
    "KnightError",
    "Model",
    "ModelError",
    "NotFoundError",
    "RefusedError",
    "ThrottledError",
    "ValidationError",
    "load_model",
]
