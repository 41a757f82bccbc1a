"""The declarative table model: loading it, and the objects it is made of."""

from knight.model.load import default_model_path, load_model, parse_model
from knight.model.model import AccessPattern, Collection, Entity, EntityKeys, Index, Model, SortKeyCondition, Unique
from knight.model.schema import BASE_TABLE
from knight.model.templates import KeyTemplate

__all__ = [
    "BASE_TABLE",
    "AccessPattern",
    "Collection",
    "Entity",
    "EntityKeys",
    "Index",
    "KeyTemplate",
    "Model",
    "SortKeyCondition",
    "Unique",
    "default_model_path",
    "load_model",
    "parse_model",
]
