"""What every command shares: the model, the table name and, lazily, the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from knight.engine import DEFAULT_PORT, Engine
from knight.model import Model, load_model
from knight.table import check_table_name


@dataclass
class Context:
    model_path: Path | None
    table_override: str | None
    allow_aws: bool
    port: int = DEFAULT_PORT
    _model: Model | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def model(self) -> Model:
        if self._model is None:
            self._model = load_model(self.model_path)
        return self._model

    @property
    def table(self) -> str:
        """--table (or KNIGHT_TABLE) when given, even empty, else the model's; checked against DynamoDB's rule."""
        return check_table_name(self.model.table_name if self.table_override is None else self.table_override)

    def engine(self, *, announce: bool = True, own_process: bool = False) -> Engine:
        """The engine, started on first use and closed when the command ends (an embedded one in a
        child process of its own with ``own_process``)."""
        if self._engine is None:
            self._engine = Engine.from_environment(allow_aws=self.allow_aws, port=self.port, own_process=own_process)
            click.get_current_context().call_on_close(self._engine.close)
            if announce and self._engine.kind == "embedded":
                click.echo(
                    "knight: no endpoint is configured, so this command runs on a temporary embedded "
                    "engine that stops when it ends. To keep data, run `knight up` and export the "
                    "AWS_ENDPOINT_URL it prints.",
                    err=True,
                )
        return self._engine


pass_context = click.make_pass_decorator(Context)
