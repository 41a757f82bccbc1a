"""The Lambda functions' third-party packages: which ones, and their wheels for Lambda's platform.

The functions import knight's base dependencies and, to search, the ``search``
extra; nothing else (tests/test_deploy_package.py imports the handlers with
only the package on the path). pip installs them with ``--platform`` and
``--only-binary=:all:``, so that compiled packages (pydantic-core, PyYAML)
are the builds for Lambda's Linux, architecture and Python, not this machine's.

boto3 and botocore are bundled although the runtime has a copy: AWS advises
bundling the SDK, the runtime's copy changes without notice, and so the
functions run the versions that were tested.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from knight.errors import NotFoundError, ValidationError

Architecture = Literal["arm64", "x86_64"]
ARCHITECTURES: tuple[Architecture, ...] = ("arm64", "x86_64")

RUNTIME_GLIBC = {"3.11": 26, "3.12": 34, "3.13": 34}
"""glibc 2.x of each Python runtime's Amazon Linux: 2 for python3.11, 2023 from python3.12."""

FUNCTION_EXTRAS = ("search",)
"""Extras the functions need besides the base: the search function and GraphQL's search use OpenSearch."""

LEFT_OUT = frozenset({"click"})
"""Base dependencies no function imports: click is for the `knight` command."""

UNUSED = frozenset({"grpcio", "protobuf", "opensearch-protobufs"})
"""Distributions pip installs that no function imports, left out of the zip (about 20 MB unzipped):
opensearch-py 3 requires them for a gRPC transport, and knight speaks HTTP to OpenSearch."""

_MACHINES: dict[Architecture, str] = {"arm64": "aarch64", "x86_64": "x86_64"}
_OLDEST_GLIBC: dict[Architecture, int] = {"arm64": 17, "x86_64": 5}
"""The first manylinux of each architecture (manylinux2014 for aarch64, manylinux1 for x86_64)."""
_LEGACY_TAGS = {"aarch64": ("manylinux2014",), "x86_64": ("manylinux2014", "manylinux2010", "manylinux1")}
"""Wheels that predate PEP 600 carry only these names."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LambdaTarget:
    """Where the functions run: Lambda's architecture and Python version."""

    architecture: Architecture
    python_version: str

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValidationError(f"architecture {self.architecture!r}: Lambda runs {' or '.join(ARCHITECTURES)}")
        if self.python_version not in RUNTIME_GLIBC:
            known = ", ".join(RUNTIME_GLIBC)
            raise ValidationError(f"Python {self.python_version}: knight's functions run on Lambda's {known}")

    @property
    def runtime(self) -> str:
        return f"python{self.python_version}"

    def platforms(self) -> list[str]:
        """The wheel platform tags Lambda's Linux runs, most specific first (pip takes the first that fits)."""
        machine = _MACHINES[self.architecture]
        newest = RUNTIME_GLIBC[self.python_version]
        tags = [f"manylinux_2_{minor}_{machine}" for minor in range(newest, _OLDEST_GLIBC[self.architecture] - 1, -1)]
        return tags + [f"{legacy}_{machine}" for legacy in _LEGACY_TAGS[machine]]


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return normalized(match.group(1) if match else requirement)


def _checkout_requirements() -> tuple[list[str], dict[str, list[str]]] | None:
    """The base and extras of pyproject.toml when knight runs from a checkout: newer than installed metadata."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():
        return None
    project: dict[str, Any] = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    if project.get("name") != "knight":
        return None
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    return list(project.get("dependencies", [])), {name: list(values) for name, values in extras.items()}


def _installed_requirements() -> tuple[list[str], dict[str, list[str]]]:
    """The base and extras of the installed distribution's metadata."""
    base: list[str] = []
    extras: dict[str, list[str]] = {}
    for line in importlib.metadata.requires("knight") or []:
        requirement, _, marker = line.partition(";")
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        if extra is None:
            base.append(line.strip())
        else:
            extras.setdefault(extra.group(1), []).append(requirement.strip())
    return base, extras


def function_requirements() -> list[str]:
    """What the functions need, as pip requirements: the base and FUNCTION_EXTRAS, less LEFT_OUT."""
    base, extras = _checkout_requirements() or _installed_requirements()
    wanted = base + [r for extra in FUNCTION_EXTRAS for r in extras.get(extra, [])]
    return sorted({r for r in wanted if _name(r) not in LEFT_OUT}, key=_name)


def _pip_command(target: LambdaTarget, into: Path, requirements: list[str]) -> list[str]:
    platforms = [option for tag in target.platforms() for option in ("--platform", tag)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(into),
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
        "--only-binary=:all:",
        # Lambda compiles nothing it is given; .pyc made here would be for this machine's Python.
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        *requirements,
    ]


def staged_dependencies(
    target: LambdaTarget,
    cache: Path,
    *,
    refresh: bool = False,
    requirements: list[str] | None = None,
    progress: Progress | None = None,
) -> Path:
    """A folder holding the functions' packages installed for ``target``, kept under ``cache``.

    The same requirements for the same target reuse the folder, so a second
    build gives the same zip; ``refresh`` resolves them again (newer releases).
    """
    requirements = function_requirements() if requirements is None else requirements
    identity = json.dumps({"requirements": requirements, "platforms": target.platforms(), "python": target.runtime})
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    folder = cache / f"{target.architecture}-{target.runtime}-{digest}"
    if folder.is_dir() and not refresh:
        return folder
    report = progress or (lambda _line: None)
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f"{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    report(f"installing for {target.runtime} on {target.architecture}: {' '.join(requirements)}")
    _run_pip(_pip_command(target, partial, requirements), target, report)
    # Only a finished install takes the cached name: an interrupted one is never reused.
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _run_pip(command: list[str], target: LambdaTarget, report: Progress) -> None:
    last: deque[str] = deque(maxlen=12)
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace"
        )
    except OSError as exc:
        raise NotFoundError(f"cannot run pip ({exc.strerror}); the package is built with this Python's pip") from None
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            text = line.rstrip()
            if text:
                last.append(text)
                report(f"  pip: {text}")
    if process.returncode != 0:
        if any("No module named pip" in line for line in last):
            raise NotFoundError("this Python has no pip; the package is built with it: python -m ensurepip")
        errors = [line for line in last if line.startswith("ERROR")] or list(last)[-2:]
        raise NotFoundError(
            f"pip could not install the functions' packages as wheels for {target.runtime} on {target.architecture}: "
            + " ".join(errors)
        )


def unused_files(stage: Path) -> set[str]:
    """The paths (relative, with /) of the UNUSED distributions in a staged folder, their metadata included."""
    paths: set[str] = set()
    for info in stage.glob("*.dist-info"):
        metadata = importlib.metadata.PathDistribution(info)
        if normalized(metadata.metadata["Name"] or "") not in UNUSED:
            continue
        paths |= {Path(str(entry)).as_posix() for entry in metadata.files or []}
        paths |= {path.relative_to(stage).as_posix() for path in info.rglob("*") if path.is_file()}
    return paths
