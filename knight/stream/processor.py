"""The stream processor of one table, assembled: xp and search consumers, checkpoints, DLQ.

`knight up` and `knight stream` build it with ``build_stream_processor`` and
call ``start()``/``stop()``; GraphQL searches through ``processor.search_index``.
An index that cannot be opened does not stop the processor: xp runs, and the
search consumer waits while the index recovers (knight.search.recovery).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from knight import application
from knight.engine import Engine
from knight.errors import ValidationError
from knight.local_state import state_dir
from knight.model import Model
from knight.search.config import SearchSettings, open_search_index
from knight.search.documents import SearchMapping
from knight.search.index import SearchIndex
from knight.search.recovery import RecoveringIndex
from knight.search.reindex import reindex_for_stream
from knight.stream.checkpoints import CheckpointStore
from knight.stream.dead_letters import DeadLetterQueue, dead_letter_queue_name
from knight.stream.indexing import SearchDependencies, SearchHandler
from knight.stream.replay import ReplayOutcome, TableReplays, replay_dead_letters
from knight.stream.runner import Consumer, ConsumerStats, Handler, StreamRunner
from knight.stream.settings import SEARCH_SETTINGS, XP_SETTINGS, SourceSettings
from knight.stream.xp import XpDependencies, XpHandler
from knight.table import describe_table


@dataclass(frozen=True)
class StreamSettings:
    """How the processor runs: each consumer's settings, whether to index, where state lives."""

    xp: SourceSettings = XP_SETTINGS
    search: SourceSettings = SEARCH_SETTINGS
    search_enabled: bool = True
    state_dir: Path | None = None
    """Checkpoints go to ``<state dir>/stream/<table>.json``; default KNIGHT_STATE_DIR or .knight."""
    search_settings: SearchSettings = field(default_factory=SearchSettings.from_environment)


@dataclass
class StreamProcessor:
    """A runner over the table's stream with its parts at hand."""

    engine: Engine
    model: Model
    table: str
    runner: StreamRunner
    xp: XpHandler
    dead_letters: DeadLetterQueue
    checkpoints: CheckpointStore
    search_index: SearchIndex | None = None
    search: SearchHandler | None = None

    def start(self) -> None:
        """Run in background threads until ``stop()``; an unavailable index recovers in one more."""
        if isinstance(self.search_index, RecoveringIndex):
            self.search_index.start()
        self.runner.start()

    @property
    def search_problem(self) -> str | None:
        """Why the search index is unavailable, when it is."""
        return self.search_index.problem if isinstance(self.search_index, RecoveringIndex) else None

    def recover_search(self) -> bool:
        """One attempt, in this thread, to make an unavailable index answer (``start()`` keeps trying)."""
        if isinstance(self.search_index, RecoveringIndex):
            return self.search_index.recover_once()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self.runner.stop(timeout)

    def poll_once(self) -> dict[str, int]:
        return self.runner.poll_once()

    def drain(self, timeout: float = 60.0) -> int:
        return self.runner.drain(timeout)

    @property
    def stats(self) -> dict[str, ConsumerStats]:
        return self.runner.stats

    def replay_dead_letters(self, limit: int = 1000) -> list[ReplayOutcome]:
        """Replay the failed ranges of the dead-letter queue (see knight.stream.replay)."""
        handlers: dict[str, Handler] = {"xp": self.xp}
        if self.search is not None:
            handlers["search"] = self.search
        tables = TableReplays(
            self.engine,
            self.model,
            self.table,
            xp=self.xp.reconcile_keys,
            recount_all=self.xp.recount_all,
            search_index=self.search_index,
        )
        return replay_dead_letters(self.dead_letters, self.runner.streams, handlers, tables, limit=limit)

    def describe(self) -> list[str]:
        """Lines saying what runs, for `knight up` and `knight stream` to print."""
        lines = [f"stream   {self.runner.stream_arn}", f"consumers {', '.join(c.name for c in self.runner.consumers)}"]
        lines.append(f"dlq      SQS queue {self.dead_letters.name}")
        lines.append(f"state    {self.checkpoints.path}")
        if self.search_index is not None:
            lines.append(f"search   {self.search_index.describe()}")
        return lines

    def close(self) -> None:
        self.stop()
        if self.search_index is not None:
            self.search_index.close()


def build_stream_processor(
    engine: Engine,
    model: Model,
    table: str | None = None,
    *,
    settings: StreamSettings | None = None,
    search_index: SearchIndex | None = None,
) -> StreamProcessor:
    """Everything needed to process ``table``'s stream (the model's table by default)."""
    application.require(model, "the stream processor (xp and search)")
    settings = settings or StreamSettings()
    table = table or model.table_name
    info = describe_table(engine, table)
    if not info.stream_arn or info.stream_view_type != "NEW_AND_OLD_IMAGES":
        raise ValidationError(
            f"table {table} has no NEW_AND_OLD_IMAGES stream (it has {info.stream_view_type or 'none'}); "
            "the model asks for one: recreate the table with `knight table create`"
        )
    base = settings.state_dir or state_dir()
    checkpoints = CheckpointStore(base / "stream" / f"{table}.json")
    dead_letters = DeadLetterQueue(engine.sqs(), dead_letter_queue_name(model, table))
    xp = XpHandler(XpDependencies(model, table, engine.dynamodb()))
    consumers = [Consumer("xp", xp, settings.xp)]
    search: SearchHandler | None = None
    if settings.search_enabled:
        mapping = SearchMapping(model)
        followed = info.stream_arn

        def fill(recovered: SearchIndex) -> None:
            reindex_for_stream(engine, model, table, recovered, followed, mapping=mapping)

        if search_index is None:
            search_settings, session = settings.search_settings, engine.session
            search_index = RecoveringIndex(
                lambda: open_search_index(table, search_settings, base=base, session=session), fill
            )
        search = SearchHandler(SearchDependencies(mapping, search_index))
        index = search_index

        def prepare(stream_arn: str) -> None:
            reindex_for_stream(engine, model, table, index, stream_arn, mapping=mapping)

        consumers.append(Consumer("search", search, settings.search, prepare))
    runner = StreamRunner(
        streams=engine.streams(),
        stream_arn=info.stream_arn,
        table=table,
        consumers=consumers,
        checkpoints=checkpoints,
        dead_letters=dead_letters,
        key_names=model.table_index.key_names,
    )
    return StreamProcessor(engine, model, table, runner, xp, dead_letters, checkpoints, search_index, search)
