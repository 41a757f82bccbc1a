"""Sir learn a lot's application, and what it needs of a model.

knight's repositories, GraphQL API and stream processor (xp and search) are
the worked example's application: they read and write its entities by name.
On a model of one's own, the model's part of knight works (the table, seed
data, access patterns, the artifacts, the notebooks); the application does
not, and says so before it starts.
"""

from __future__ import annotations

from knight.errors import NotFoundError
from knight.model import Model

ENTITIES = ("track", "course", "chapter", "student", "preference", "enrollment", "progress")
"""The entities the application reads and writes."""


def missing(model: Model) -> list[str]:
    """The application's entities this model does not have (none for Sir learn a lot)."""
    return [name for name in ENTITIES if name not in model.entities]


def require(model: Model, what: str) -> None:
    """Raise NotFoundError, saying what is missing, unless the model has every entity the application needs."""
    absent = missing(model)
    if absent:
        raise NotFoundError(
            f"{what} is Sir learn a lot's application: it needs the entities {', '.join(absent)}, which "
            f"{model.path.name} does not have (it has {', '.join(model.entities)}); the table, seed, "
            "access patterns and notebooks work on any model"
        )
