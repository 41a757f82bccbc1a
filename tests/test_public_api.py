"""Each package's public API is exactly what its ``__init__`` exports in ``__all__``.

Read from the ``__init__``'s own source: a name it defines, or imports from the package's own
modules, is public unless it starts with ``_``, and must be in ``__all__``; every name in
``__all__`` must be bound there and resolve. Names it imports from elsewhere (the standard
library, a dependency, another knight package) are what it uses, not what it offers; a
submodule is reached by its own path.
"""

from __future__ import annotations

import ast
import importlib
import importlib.resources
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

import knight

PACKAGES = ["knight", *sorted(info.name for info in pkgutil.walk_packages(knight.__path__, "knight.") if info.ispkg)]


@dataclass
class Bindings:
    """What an ``__init__`` binds at module level, by kind."""

    offered: set[str] = field(default_factory=set)
    """Defined there, or imported from the package's own modules."""
    used: set[str] = field(default_factory=set)
    """Modules, and names imported from outside the package."""


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _targets(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Tuple | ast.List):
        return [name for element in node.elts for name in _targets(element)]
    return []


def _collect(package: str, statements: list[ast.stmt], into: Bindings) -> None:
    for node in statements:
        if isinstance(node, ast.Import):
            into.used |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                bound = alias.asname or alias.name
                own = source == package or source.startswith(package + ".")
                if own and not _is_module(f"{source}.{alias.name}"):
                    into.offered.add(bound)
                else:
                    into.used.add(bound)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            into.offered.add(node.name)
        elif isinstance(node, ast.Assign):
            into.offered |= {name for target in node.targets for name in _targets(target)}
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            into.offered |= set(_targets(node.target))
        elif isinstance(node, ast.For | ast.AsyncFor):
            into.offered |= set(_targets(node.target))
            _collect(package, node.body + node.orelse, into)
        elif isinstance(node, ast.If | ast.While):  # `if TYPE_CHECKING:` holds the imports of a lazy package
            _collect(package, node.body + node.orelse, into)
        elif isinstance(node, ast.Try):
            _collect(package, node.body + node.orelse + node.finalbody, into)
            for handler in node.handlers:
                _collect(package, handler.body, into)
        elif isinstance(node, ast.With):
            _collect(package, node.body, into)


def bindings(module: ModuleType) -> Bindings:
    assert module.__file__ is not None
    found = Bindings()
    _collect(module.__name__, ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body, found)
    return found


def test_every_package_is_checked() -> None:
    assert {"knight", "knight.access", "knight.graphql", "knight.stream", "knight.cli"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_the_public_api_is_exactly_what_the_package_exports(name: str) -> None:
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert isinstance(exported, list | tuple), f"{name} has no __all__"
    assert all(isinstance(item, str) for item in exported)
    assert len(set(exported)) == len(exported), f"{name}.__all__ names something twice"
    for item in exported:
        assert getattr(package, item, None) is not None, f"{name}.__all__ names {item}, which does not resolve"
    bound = bindings(package)
    public = {item for item in bound.offered if not item.startswith("_")}
    assert public - set(exported) == set(), f"{name} binds public names it does not export"
    assert set(exported) - public == set(), f"{name}.__all__ names what its __init__ neither defines nor imports"


def test_from_package_import_star_gives_exactly_the_api() -> None:
    for name in PACKAGES:
        namespace: dict[str, object] = {}
        exec(f"from {name} import *", namespace)  # the statement under test
        namespace.pop("__builtins__")
        assert set(namespace) == set(importlib.import_module(name).__all__), name


def test_knight_ships_its_types() -> None:
    """PEP 561: the py.typed marker tells type checkers to use knight's own annotations."""
    assert importlib.resources.files("knight").joinpath("py.typed").is_file()
