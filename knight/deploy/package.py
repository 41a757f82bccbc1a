"""The functions' code package: knight, the model and the wheels they import, in one deterministic zip.

The stack (knight.artifacts.stack) takes it from S3 (CodeBucket, CodeKey)
for all three functions. Its name holds a hash of its bytes, so a changed
build is a new key and CloudFormation updates the functions, and the same
inputs give the same bytes (sorted entries, fixed times and modes). Layout:

- ``knight/``: the package, without ``__pycache__``; knight's own model in
  ``knight/_model/`` as the wheel ships it, where the handlers find it;
- another model at the root under its file name, which the stack's
  ModelFile (KNIGHT_MODEL) names, relative to the function's folder;
- the dependencies (knight.deploy.dependencies), without their tests, scripts
  and install records; their ``.dist-info`` metadata stays, since packages
  read their own versions from it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import knight
from knight.deploy.dependencies import LambdaTarget, Progress, staged_dependencies, unused_files
from knight.errors import ValidationError
from knight.local_state import state_dir
from knight.model import load_model
from knight.model.load import MODEL_FILE, default_model_path

MiB = 1024 * 1024
ZIPPED_LIMIT = 50 * MiB
"""Lambda's limit on a zip uploaded directly; kept, so the package can go either way (S3 or direct)."""
UNZIPPED_LIMIT = 250 * MiB
"""Lambda's limit on a function's unzipped code (262,144,000 bytes), layers included."""

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
"""The earliest time a zip holds: every entry gets it, so a rebuild changes no byte."""
FILE_MODE = 0o100644
"""A regular file anyone may read, as Lambda needs."""

_DROPPED_METADATA = frozenset({"RECORD", "INSTALLER", "REQUESTED", "WHEEL", "direct_url.json"})
"""Install records in a .dist-info: no import reads them (METADATA, entry points and licences stay)."""


@dataclass(frozen=True)
class LambdaPackage:
    """A built package and what the stack needs to know of it."""

    path: Path
    target: LambdaTarget
    zipped: int
    """Bytes of the zip."""
    unzipped: int
    """Bytes of its files once unzipped (what Lambda's 250 MiB limit counts)."""
    files: int
    model_file: str
    """The stack's ModelFile parameter: empty for knight's own model, else the file name at the root."""
    sha256: str

    @property
    def s3_key(self) -> str:
        """The S3 key to upload it to (the stack's CodeKey): its name, which holds its hash."""
        return self.path.name


def build_package(
    output: Path,
    target: LambdaTarget,
    *,
    model_path: Path | None = None,
    cache: Path | None = None,
    refresh: bool = False,
    progress: Progress | None = None,
) -> LambdaPackage:
    """Build the functions' zip for ``target`` in ``output``; raise ValidationError past Lambda's limits.

    ``cache`` keeps the installed dependencies (default: ``deploy`` in knight's
    state folder); ``refresh`` installs them again.
    """
    report = progress or (lambda _line: None)
    model_file, model_source = _model_entry(model_path)
    stage = staged_dependencies(
        target, cache if cache is not None else state_dir() / "deploy", refresh=refresh, progress=report
    )
    entries = dict(_knight_entries())
    entries[f"knight/_model/{MODEL_FILE}"] = default_model_path()
    if model_source is not None:
        entries[model_file] = model_source
    for name, source in _dependency_entries(stage):
        if name in entries:
            raise ValidationError(f"{name} is both knight's and a dependency's; rename the model file")
        entries[name] = source
    unzipped = sum(source.stat().st_size for source in entries.values())
    if unzipped > UNZIPPED_LIMIT:
        raise ValidationError(
            f"the package is {_mib(unzipped)} unzipped; Lambda takes at most {_mib(UNZIPPED_LIMIT)} of code"
        )
    report(f"writing {len(entries)} files ({_mib(unzipped)})")
    output.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".knight-lambda-", suffix=".zip", dir=output)
    os.close(handle)
    written = Path(temporary)
    try:
        digest = _write_zip(written, entries)
        zipped = written.stat().st_size
        if zipped > ZIPPED_LIMIT:
            raise ValidationError(
                f"the package is {_mib(zipped)} zipped; Lambda takes at most {_mib(ZIPPED_LIMIT)} uploaded directly"
            )
        final = output / f"knight-lambda-{target.architecture}-{target.runtime}-{digest[:16]}.zip"
        written.chmod(0o644)  # mkstemp's file is its owner's alone; the zip is for uploading
        written.replace(final)
    finally:
        written.unlink(missing_ok=True)
    return LambdaPackage(final, target, zipped, unzipped, len(entries), model_file, digest)


def _mib(size: int) -> str:
    return f"{size / MiB:.1f} MiB"


def _model_entry(model_path: Path | None) -> tuple[str, Path | None]:
    """The stack's ModelFile for a model, and the file to put at the root (None: knight's own, already in)."""
    if model_path is None:
        return "", None
    load_model(model_path)  # a broken model fails here, with its line, not in the functions
    own = default_model_path()
    if model_path.name != MODEL_FILE:
        return model_path.name, model_path
    if model_path.read_bytes() == own.read_bytes():
        return "", None
    # The stack takes a model of this name for knight's own (an empty ModelFile): it would never be read.
    raise ValidationError(f"{model_path}: {MODEL_FILE} is the name of knight's own model; give yours another name")


def _knight_entries() -> Iterator[tuple[str, Path]]:
    """knight's own files, as the wheel has them (its model is added apart)."""
    package = Path(knight.__file__).resolve().parent
    for source in sorted(package.rglob("*")):
        relative = source.relative_to(package)
        parts = relative.parts
        if not source.is_file() or source.is_symlink() or parts[0] == "_model":
            continue
        if "__pycache__" in parts or any(part.startswith(".") for part in parts) or source.suffix == ".pyc":
            continue
        yield f"knight/{relative.as_posix()}", source


def _dependency_entries(stage: Path) -> Iterator[tuple[str, Path]]:
    """The installed dependencies' files that the functions may import or read."""
    unused = unused_files(stage)
    for source in sorted(stage.rglob("*")):
        if not source.is_file():
            continue
        relative = source.relative_to(stage)
        name, parts = relative.as_posix(), relative.parts
        if name in unused or parts[0] == "bin" or "__pycache__" in parts or source.suffix == ".pyc":
            continue
        if "tests" in parts[:-1]:  # a package's own test suite (certifi's, Events')
            continue
        if parts[0].endswith(".dist-info") and len(parts) == 2 and parts[1] in _DROPPED_METADATA:
            continue
        yield name, source


def _write_zip(path: Path, entries: dict[str, Path]) -> str:
    """Write the entries in name order with fixed times and modes; return the zip's SHA-256."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the mode below is read
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)
    digest = hashlib.sha256()
    with path.open("rb") as written:
        for block in iter(lambda: written.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()
