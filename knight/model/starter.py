"""The starter model `knight model new` writes: a small blog, commented part by part."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from knight.errors import RefusedError, ValidationError
from knight.model.load import parse_model
from knight.table import check_table_name

STARTER = Path(__file__).with_name("starter.yaml")
DLQ_SUFFIX = "-stream-dlq"
LONGEST_NAME = 80 - len(DLQ_SUFFIX)
"""An SQS queue name has at most 80 characters, and the dead-letter queue is named after the table."""


def table_name_for(path: Path) -> str:
    """A table name made from a file's name: ``my blog.yaml`` gives ``my-blog``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.")
    return name if len(name) >= 3 else f"{name or 'my'}-table"


def starter_text(table: str) -> str:
    """The starter model for this table, checked: it loads as written."""
    check_table_name(table)
    if len(table) > LONGEST_NAME:
        raise ValidationError(
            f"{table!r} is {len(table)} characters; a new model's table name has at most {LONGEST_NAME}, "
            f"so that its dead-letter queue's name ({table}{DLQ_SUFFIX}) fits SQS's 80"
        )
    text = Template(STARTER.read_text(encoding="utf-8")).substitute(table=table)
    parse_model(text, STARTER)
    return text


def write_starter(path: Path, table: str | None = None, *, force: bool = False) -> str:
    """Write the starter model to ``path`` (refused if it exists, unless ``force``); return its table name."""
    name = table or table_name_for(path)
    text = starter_text(name)
    if path.exists() and not force:
        raise RefusedError(f"{path} exists; knight will not overwrite it without --force")
    path.write_text(text, encoding="utf-8")
    return name
