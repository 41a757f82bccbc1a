"""The stream processor: one record handler per job, and the feeders that give it batches.

A handler takes a batch of records and returns which failed; it reads and
writes only through the clients it was given (the table, the search index),
so the local runner and the Lambda functions feed it the same way.

- ``XpHandler``: keeps every student's xp exact (knight.stream.aggregate says how);
- ``SearchHandler``: indexes every change for full-text search;
- ``StreamRunner``: reads the table's stream like a Lambda event source mapping;
- ``build_stream_processor``: both consumers, checkpoints and the dead-letter queue, for one table;
- ``knight.stream.lambda_handler``: the same handlers as AWS Lambda functions.
"""

from knight.stream.checkpoints import CheckpointStore, ShardCheckpoint
from knight.stream.dead_letters import DeadLetter, DeadLetterQueue, dead_letter_queue_name
from knight.stream.indexing import SearchDependencies, SearchHandler
from knight.stream.processor import StreamProcessor, StreamSettings, build_stream_processor
from knight.stream.records import StreamRecord, parse_record, records_from_event
from knight.stream.replay import ReplayOutcome, TableReplays, replay_dead_letters
from knight.stream.results import BatchResult, RecordFailure
from knight.stream.runner import Consumer, ConsumerStats, StreamRunner
from knight.stream.settings import SEARCH_SETTINGS, XP_SETTINGS, SourceSettings
from knight.stream.xp import XpDependencies, XpHandler

__all__ = [
    "SEARCH_SETTINGS",
    "XP_SETTINGS",
    "BatchResult",
    "CheckpointStore",
    "Consumer",
    "ConsumerStats",
    "DeadLetter",
    "DeadLetterQueue",
    "RecordFailure",
    "ReplayOutcome",
    "SearchDependencies",
    "SearchHandler",
    "ShardCheckpoint",
    "SourceSettings",
    "StreamProcessor",
    "StreamRecord",
    "StreamRunner",
    "StreamSettings",
    "TableReplays",
    "XpDependencies",
    "XpHandler",
    "build_stream_processor",
    "dead_letter_queue_name",
    "parse_record",
    "records_from_event",
    "replay_dead_letters",
]
