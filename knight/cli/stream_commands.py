"""`knight stream`, `knight search TEXT`, `knight search reindex`, `knight dlq list` and `knight dlq replay`."""

from __future__ import annotations

import time

import click

from knight.cli.context import Context, pass_context
from knight.cli.lifetime import until_stopped
from knight.search import SEARCHABLE, SearchSettings, open_search_index, reindex
from knight.search.reindex import STREAM_META
from knight.stream import (
    SEARCH_SETTINGS,
    XP_SETTINGS,
    DeadLetterQueue,
    SourceSettings,
    StreamProcessor,
    StreamSettings,
    build_stream_processor,
    dead_letter_queue_name,
)
from knight.stream.runner import BEHIND_AFTER
from knight.table import describe_table

_REPORT_EVERY = 5.0


def _stats_line(processor: StreamProcessor) -> str:
    parts = []
    for name, stats in processor.stats.items():
        text = f"{name}: {stats.records} records"
        if stats.dead_lettered:
            text += f", {stats.dead_lettered} to the dead-letter queue"
        if stats.last_sequence is not None:
            text += f", last {stats.last_sequence}"
        if stats.lag is not None:
            text += f", lag {stats.lag:.2f} s"
        if stats.waiting:
            text += f", WAITING ({stats.waiting})"
        if stats.behind is not None:
            text += f", BEHIND (a record {stats.behind:.0f} s old is not handled)"
        parts.append(text)
    return "; ".join(parts)


def _show_status(processor: StreamProcessor) -> None:
    stuck = []
    try:
        for name in processor.stats:
            checkpoints = processor.checkpoints.shards(name, processor.runner.stream_arn)
            last = ", ".join(c.sequence_number or "-" for c in checkpoints.values()) or "nothing handled yet"
            age = processor.runner.behind(name)
            if age is None:
                state = "up to date"
            else:
                state = f"behind: the oldest record not handled is {age:.1f} s old"
                if age >= BEHIND_AFTER:
                    stuck.append(name)
            click.echo(f"{name:<7} last record handled {last}; {state}")
        problem = processor.search_problem
        if problem is not None:
            click.echo(f"search index unavailable: {problem} (`knight up` and `knight stream` keep recovering it)")
            stuck.append("search")
    finally:
        processor.close()
    if stuck:
        raise click.exceptions.Exit(1)


@click.command("stream")
@click.option("--once", is_flag=True, help="Handle what the stream holds now, then exit.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=XP_SETTINGS.batch_size, show_default=True)
@click.option(
    "--batching-window",
    type=click.FloatRange(0, 300),
    default=0.0,
    show_default=True,
    help="Seconds to keep reading to fill a batch.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(-1),
    default=3,
    show_default=True,
    help="Retries of a failing record before it goes to the dead-letter queue (-1: no limit).",
)
@click.option(
    "--max-record-age",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds after which an unhandled record goes to the dead-letter queue (default: never).",
)
@click.option("--no-bisect", is_flag=True, help="Retry failing batches whole instead of halving them.")
@click.option("--no-search", is_flag=True, help="Keep xp only; do not index for search.")
@click.option(
    "--status",
    is_flag=True,
    help="Show each consumer's checkpoint and how far behind the stream it is, then exit "
    "(1 when one is stuck or the search index is unavailable); works beside a running `knight up` in the same folder.",
)
@pass_context
def stream(
    ctx: Context,
    *,
    once: bool,
    status: bool,
    batch_size: int,
    batching_window: float,
    max_retries: int,
    max_record_age: float | None,
    no_bisect: bool,
    no_search: bool,
) -> None:
    """Process the table's stream: keep xp exact and the search index current.

    Reads the stream like a Lambda event source mapping (every shard, parents
    first, checkpoints in KNIGHT_STATE_DIR, default .knight), until Ctrl-C.
    Failed records go, after retries, to the SQS dead-letter queue.
    """
    xp = SourceSettings(
        batch_size=batch_size,
        batching_window=batching_window,
        max_retries=None if max_retries < 0 else max_retries,
        bisect_on_error=not no_bisect,
        max_record_age=max_record_age,
    )
    search = SourceSettings(
        batch_size=max(batch_size, SEARCH_SETTINGS.batch_size),
        batching_window=batching_window,
        max_retries=xp.max_retries,
        bisect_on_error=xp.bisect_on_error,
        max_record_age=max_record_age,
    )
    engine = ctx.engine()
    processor = build_stream_processor(
        engine, ctx.model, ctx.table, settings=StreamSettings(xp=xp, search=search, search_enabled=not no_search)
    )
    if status:
        _show_status(processor)
        return
    for line in processor.describe():
        click.echo(line)
    if once:
        started = time.monotonic()
        processor.recover_search()  # a corrupt index is set aside and rebuilt now; a bad path stays as it is
        processor.drain(timeout=3600)
        click.echo(f"done in {time.monotonic() - started:.1f} s: {_stats_line(processor)}")
        processor.close()
        return
    with until_stopped() as stop:
        processor.start()
        click.echo("processing; press Ctrl-C to stop.")
        last = ""
        try:
            while not stop.wait(_REPORT_EVERY):
                line = _stats_line(processor)
                if line != last:
                    click.echo(line)
                    last = line
        finally:
            click.echo("stopping...")
            processor.close()
            click.echo(_stats_line(processor))


class _SearchGroup(click.Group):
    """`knight search TEXT...` searches; `knight search reindex` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["query", *args]
        return super().parse_args(ctx, args)


@click.group("search", cls=_SearchGroup)
def search_group() -> None:
    """Full-text search: `knight search TEXT` finds items, `knight search reindex` rebuilds the index.

    The index is OpenSearch when KNIGHT_OPENSEARCH_URL is set, else the embedded
    one in KNIGHT_SEARCH_DIR (default <state dir>/search/<table>), which
    `knight up` and `knight stream` keep current.
    """


@search_group.command("query", hidden=True)
@click.argument("text", nargs=-1, required=True)
@click.option("--type", "entity_type", type=click.Choice([s.entity for s in SEARCHABLE]), help="Only this entity.")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@pass_context
def search_query(ctx: Context, text: tuple[str, ...], entity_type: str | None, limit: int) -> None:
    """Find items whose text matches every word of TEXT (the last word as a prefix), best first."""
    index = open_search_index(ctx.table, SearchSettings.from_environment())
    try:
        hits = index.search(" ".join(text), entity_type, limit)
        if not hits:
            hint = ""
            if index.get_meta(STREAM_META) is None:
                hint = " (the index was never filled: run `knight up` or `knight stream`, or `knight search reindex`)"
            click.echo(f"no match for {' '.join(text)!r}{hint}")
            return
        for hit in hits:
            values = hit.values
            name = (
                values.get("name")
                or " ".join(str(values[f]) for f in ("firstName", "lastName") if values.get(f))
                or values.get("id", "")
            )
            click.echo(f"{hit.score:7.2f}  {hit.entity_type:<8} {values.get('id', '')}  {name}")
            if hit.snippet:
                click.echo(f"         {hit.snippet}")
    finally:
        index.close()


@search_group.command("reindex")
@pass_context
def search_reindex(ctx: Context) -> None:
    """Empty the search index and rebuild it from the table."""
    engine = ctx.engine()
    info = describe_table(engine, ctx.table)
    index = open_search_index(ctx.table, SearchSettings.from_environment(), session=engine.session)
    try:
        count = reindex(engine, ctx.model, ctx.table, index)
        if info.stream_arn:
            index.set_meta(STREAM_META, info.stream_arn)
        click.echo(f"indexed {count} documents from {ctx.table} into {index.describe()}")
    finally:
        index.close()


@click.group("dlq")
def dlq_group() -> None:
    """The stream's dead-letter queue: ranges of records that could not be handled."""


@dlq_group.command("list")
@pass_context
def dlq_list(ctx: Context) -> None:
    """Show each failed range with its reason (the messages stay in the queue)."""
    engine = ctx.engine()
    queue = DeadLetterQueue(engine.sqs(), dead_letter_queue_name(ctx.model, ctx.table))
    letters = queue.peek()
    if not letters:
        click.echo(f"the dead-letter queue {queue.name} is empty")
        return
    click.echo(f"{len(letters)} failed range(s) in {queue.name}:")
    for letter in letters:
        info = letter.info
        condition = letter.body.get("requestContext", {}).get("condition", "")
        click.echo(
            f"- {letter.consumer}: shard {info.get('shardId')} sequence {info.get('startSequenceNumber')}"
            f"..{info.get('endSequenceNumber')} ({info.get('batchSize')} records, {condition})"
        )
        click.echo(f"  {letter.reason}")


@dlq_group.command("replay")
@pass_context
def dlq_replay(ctx: Context) -> None:
    """Handle the failed ranges again (from the stream, or the table when the stream lost them).

    A range that succeeds leaves the queue; one that fails again stays, with its reason.
    """
    engine = ctx.engine()
    processor = build_stream_processor(engine, ctx.model, ctx.table)
    try:
        outcomes = processor.replay_dead_letters()
    finally:
        processor.close()
    if not outcomes:
        click.echo(f"the dead-letter queue {processor.dead_letters.name} is empty")
        return
    failed = 0
    for outcome in outcomes:
        info = outcome.letter.info
        click.echo(
            f"- {outcome.status} ({outcome.source}) {outcome.letter.consumer} "
            f"{info.get('startSequenceNumber')}..{info.get('endSequenceNumber')}: {outcome.detail}"
        )
        failed += outcome.status != "replayed"
    click.echo(f"replayed {len(outcomes) - failed}, still failing {failed}")
    if failed:
        click.get_current_context().exit(1)
