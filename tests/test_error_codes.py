"""One error tree: every exception of knight is a KnightError, every code is in one catalogue, shown in the README."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from moto.core.exceptions import JsonRESTError

import knight
import knight.errors
import knight.graphql.errors
from knight.artifacts.docs import ERRORS_END, ERRORS_START, error_table
from knight.errors import KnightError, catalogue

README = Path(__file__).resolve().parents[1] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Errors and their codes")
    return text[start : text.index("\n## ", start + 1)]


def _codes() -> set[str]:
    classes = inspect.getmembers(knight.errors, inspect.isclass)
    codes = {cls.code for _, cls in classes if issubclass(cls, knight.errors.KnightError)}
    codes.discard(knight.errors.KnightError.code)  # the base, never raised itself
    constants = vars(knight.graphql.errors).items()
    codes |= {value for name, value in constants if name.isupper() and isinstance(value, str) and value == name}
    return codes


def test_every_code_is_in_the_readme_error_table() -> None:
    listed = set(re.findall(r"`([A-Z][A-Z_]+)`", _section()))
    codes = _codes()
    assert len(codes) > 25
    assert codes - listed == set()


def _knight_modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.walk_packages(knight.__path__, "knight.") if not m.name.endswith("__main__")]
    return [importlib.import_module(name) for name in sorted(names)]


def _classes_of(owner: ModuleType | type) -> Iterator[type]:
    """Classes defined in ``owner`` (a module, or a class for the classes nested in it)."""
    module = owner.__name__ if isinstance(owner, ModuleType) else owner.__module__
    for value in list(vars(owner).values()):
        if isinstance(value, type) and value.__module__ == module and value is not owner:
            yield value
            yield from _classes_of(value)


def _exception_classes() -> set[type[BaseException]]:
    return {cls for module in _knight_modules() for cls in _classes_of(module) if issubclass(cls, BaseException)}


def _engine_response(cls: type) -> bool:
    """A DynamoDB error response of the embedded engine: moto's class, serialized to HTTP, never raised to a user."""
    return cls.__module__.startswith("knight.embedded.") and issubclass(cls, JsonRESTError)


def test_every_exception_class_in_knight_is_a_knight_error() -> None:
    classes = _exception_classes()
    assert {"RecordsTrimmedError", "TemplateError", "TransactionConflict", "_Stopped"} <= {c.__name__ for c in classes}
    strays = {f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, KnightError)}
    assert strays == {f"{c.__module__}.{c.__qualname__}" for c in classes if _engine_response(c)}


def test_every_code_is_defined_once_in_knight_errors() -> None:
    own_code = {c for c in _exception_classes() if issubclass(c, KnightError) and "code" in vars(c)}
    assert {c for c in own_code if c.__module__ != "knight.errors"} == set()
    codes = [entry.code for entry in catalogue()]
    assert len(codes) == len(set(codes)), [code for code in codes if codes.count(code) > 1]
    assert all(entry.meaning and entry.where for entry in catalogue())


def test_the_catalogue_is_the_graphql_codes_and_the_error_classes() -> None:
    constants = vars(knight.graphql.errors).items()
    graphql = {value for name, value in constants if name.isupper() and isinstance(value, str) and value == name}
    listed = {entry.code for entry in catalogue()}
    assert graphql - listed == set()
    # no code in the catalogue that nothing answers with
    assert listed - graphql - {cls.code for cls in knight.errors.error_classes()} == set()


def test_the_readme_table_is_the_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index(ERRORS_START) + len(ERRORS_START) + 1 : text.index(ERRORS_END)]
    assert table == error_table()
    listed = re.findall(r"^\| `([A-Z][A-Z_]+)` \|", table, re.MULTILINE)
    assert listed == [entry.code for entry in catalogue()]


def _draw(cls: type[KnightError], children: dict[type, list[type[KnightError]]], prefix: str = "") -> list[str]:
    lines = []
    kids = children.get(cls, [])
    for n, kid in enumerate(kids):
        last = n == len(kids) - 1
        name = kid.__name__ if kid.__module__ == "knight.errors" else f"{kid.__module__}.{kid.__qualname__}"
        head = f"{prefix}{'└── ' if last else '├── '}{name}"
        lines.append(f"{head:<47} {kid.code}".rstrip() if "code" in vars(kid) else head)
        lines += _draw(kid, children, prefix + ("    " if last else "│   "))
    return lines


def test_the_tree_in_the_docstring_is_the_class_hierarchy() -> None:
    classes = [c for c in _exception_classes() if issubclass(c, KnightError) and c is not KnightError]
    defined = list(vars(knight.errors).values())

    def order(cls: type) -> tuple[int, int, str]:
        """knight.errors' classes in the order they are defined, then the others by name."""
        return (0, defined.index(cls), "") if cls in defined else (1, 0, f"{cls.__module__}.{cls.__qualname__}")

    classes.sort(key=order)
    children: dict[type, list[type[KnightError]]] = {}
    for cls in classes:
        children.setdefault(cls.__bases__[0], []).append(cls)
    drawn = "\n".join(["KnightError", *_draw(KnightError, children)])
    docstring = inspect.getdoc(knight.errors) or ""
    assert "\n".join(line.removeprefix("    ") for line in docstring.splitlines()).count(drawn) == 1, drawn
