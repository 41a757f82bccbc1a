"""The committed artifacts in model/generated/: writing them, and finding drift."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knight.artifacts.cloudformation import render_cloudformation
from knight.artifacts.create_table import create_table_params
from knight.artifacts.docs import SECTIONS, readme_path, with_section, with_sections
from knight.artifacts.stack import render_stack
from knight.artifacts.workbench import render_workbench
from knight.errors import DriftError
from knight.model import Model


def render_create_table(model: Model) -> str:
    return json.dumps(create_table_params(model), indent=2) + "\n"


@dataclass(frozen=True)
class Artifact:
    format: str
    filename: str
    render: Callable[[Model], str]
    summary: str


ARTIFACTS = (
    Artifact("create-table", "create-table.json", render_create_table, "boto3 create_table parameters"),
    Artifact("cloudformation", "cloudformation.yaml", render_cloudformation, "table and stream DLQ stack"),
    Artifact("workbench", "nosql-workbench.json", render_workbench, "NoSQL Workbench 3.0 data model"),
    Artifact("stack", "stack.yaml", render_stack, "the whole stack: table, stream consumers, GraphQL API, search"),
)

FORMATS = {artifact.format: artifact for artifact in ARTIFACTS}


def generated_dir(model: Model) -> Path:
    return model.path.parent / "generated"


def write_all(model: Model, directory: Path | None = None) -> list[Path]:
    """Rewrite every artifact, and the README's generated tables when there is a README."""
    directory = directory or generated_dir(model)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for artifact in ARTIFACTS:
        path = directory / artifact.filename
        path.write_text(artifact.render(model), encoding="utf-8")
        written.append(path)
    readme = readme_path(model)
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        updated = with_sections(text, model)
        if updated != text:
            readme.write_text(updated, encoding="utf-8")
        written.append(readme)
    return written


def drift(model: Model, directory: Path | None = None) -> list[str]:
    """One report per artifact that is missing or differs from the model; empty when all match."""
    directory = directory or generated_dir(model)
    reports = []
    for artifact in ARTIFACTS:
        path = directory / artifact.filename
        expected = artifact.render(model)
        if not path.is_file():
            reports.append(f"{path}: missing; run `knight model generate`")
            continue
        actual = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = difflib.unified_diff(
                actual.splitlines(),
                expected.splitlines(),
                fromfile=f"{path} (committed)",
                tofile=f"{path} (from the model)",
                lineterm="",
                n=1,
            )
            body = "\n".join(list(diff)[:40])
            reports.append(f"{path}: differs from the model; run `knight model generate`\n{body}")
    readme = readme_path(model)
    if readme is not None:
        text = readme.read_text(encoding="utf-8")
        for section in SECTIONS:
            try:
                stale = with_section(text, section.render(model), section.start, section.end) != text
            except DriftError as exc:
                reports.append(f"{readme}: {exc}")
                continue
            if stale:
                reports.append(
                    f"{readme}: its {section.name} differs from {section.source}; run `knight model generate`"
                )
    return reports
