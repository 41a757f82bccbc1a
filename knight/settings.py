"""Settings objects read from arguments first and environment variables second, by pydantic-settings.

Each settings class of knight derives from ``Settings``: its fields are
checked by pydantic, a bad value raises knight's ValidationError naming the
field and its variable, and ``from_environment`` reads any mapping of
variables (a Lambda's, a test's), not only the process's.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any, Self

import pydantic
from pydantic import model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource

from knight.errors import ValidationError

Names = Annotated[tuple[str, ...], NoDecode]
"""A list of names, given in a variable as ``a,b,c`` (not as JSON)."""


def split_names(value: object) -> object:
    """``"a, b/"`` or a sequence as a tuple of names without blanks or trailing slashes."""
    parts = value.split(",") if isinstance(value, str) else value
    if isinstance(parts, list | tuple):
        return tuple(str(part).strip().rstrip("/") for part in parts if str(part).strip())
    return value


def truthy(text: str | None) -> bool:
    """Whether a variable says yes (``1``, ``true``, ``yes``, ``on``, in any case), as pydantic reads a bool."""
    return (text or "").strip().lower() in {"1", "true", "yes", "on", "y", "t"}


class Settings(BaseSettings):
    """Arguments, then variables, then defaults; no ``.env`` file and no secrets folder."""

    @model_validator(mode="wrap")
    @classmethod
    def _knight_errors(cls, data: Any, handler: pydantic.ValidatorFunctionWrapHandler) -> Any:
        # One kind of error for every bad setting, as for every other bad input to knight.
        try:
            return handler(data)
        except pydantic.ValidationError as exc:
            raise ValidationError("; ".join(cls._problem(error) for error in exc.errors())) from None

    @classmethod
    def _problem(cls, error: Any) -> str:
        name = str(error["loc"][0]) if error.get("loc") else "settings"
        field = cls.model_fields.get(name)
        alias = field.validation_alias if field is not None else None
        variable = alias if isinstance(alias, str) else f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        return f"{name} (or {variable}): {error['msg']}, got {error.get('input')!r}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 (pydantic-settings' signature)
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        variables = _VARIABLES.get()
        if variables is None:
            return (init_settings, env_settings)
        # The same source over another mapping; variable names are case-blind, blank ones not set.
        given = EnvSettingsSource(settings_cls)
        given.env_vars = {name.lower(): value for name, value in variables.items() if value.strip() != ""}
        return (init_settings, given)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, **given: Any) -> Self:
        """Settings from keyword arguments, then the variables of ``env``, then the defaults.

        ``env`` defaults to the process's environment; an argument given as None counts as not given.
        """
        unknown = sorted(set(given) - set(cls.model_fields))
        if unknown:
            raise ValidationError(f"{cls.__name__} has no {', '.join(unknown)}")
        token = _VARIABLES.set(env)
        try:
            return cls(**{name: value for name, value in given.items() if value is not None})
        finally:
            _VARIABLES.reset(token)


_VARIABLES: ContextVar[Mapping[str, str] | None] = ContextVar("knight_settings_variables", default=None)
"""The variables ``from_environment`` was given, while it builds its settings (None: the process's)."""
