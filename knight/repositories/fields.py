"""Checking some of an entity's fields, before a write that needs only those."""

from __future__ import annotations

from collections.abc import Mapping

from knight.errors import ValidationError
from knight.model import Entity
from knight.model.fields import check_field


def check_fields(entity: Entity, values: Mapping[str, object]) -> dict[str, object]:
    """Check the given fields against their types; ValidationError names the field."""
    checked: dict[str, object] = {}
    for name, value in values.items():
        spec = entity.fields.get(name)
        if spec is None:
            known = ", ".join(entity.fields)
            raise ValidationError(f"{entity.name} has no field {name}; its fields are {known}")
        if value is None:
            raise ValidationError(f"{entity.name}.{name} is required")
        try:
            checked[name] = check_field(spec, value)
        except ValueError as exc:
            raise ValidationError(f"{entity.name}.{name}: {exc}") from None
    return checked
