"""knight's optional parts, and the error that names the extra a missing one comes with.

The base install is what the Lambda functions and the library need; the rest
comes with an extra (pyproject.toml): ``local`` (the embedded engine, the
GraphQL server, seed data), ``lab`` (the notebooks' workbench), ``search``
(OpenSearch). A module that needs one imports it where it is used and turns
the ImportError into :func:`missing_extra`'s error, one line with its code.
"""

from __future__ import annotations

from typing import Literal

from knight.errors import NotFoundError

Extra = Literal["local", "lab", "search"]


def install_hint(extra: Extra) -> str:
    """The command that installs an extra."""
    return f'pip install "knight[{extra}]"'


def missing_extra(what: str, extra: Extra, module: str | None) -> NotFoundError:
    """The error for ``what`` (a feature) when ``module``, from the extra it comes with, is not installed."""
    return NotFoundError(f"{what} needs {module or 'a module'}, from knight's {extra!r} extra: {install_hint(extra)}")
