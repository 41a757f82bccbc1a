"""Checkpoints: how far each consumer got in each shard, kept in a small JSON file.

Not in the table: a checkpoint written to the table would itself be a stream
record, and the stream would never fall quiet. The file is replaced
atomically, so a crash leaves the old checkpoint or the new one, never half
of one; a crash between an applied batch and its checkpoint only means the
batch is delivered again, which the handlers are built for.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ShardCheckpoint:
    sequence_number: str | None = None
    """The last record handled (applied or sent to the dead-letter queue)."""
    finished: bool = False
    """The shard is closed and every record of it was handled: its children may start."""


class CheckpointStore:
    """Checkpoints by consumer, stream and shard, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged file means starting over from the oldest record; the
            # handlers make that safe, just slower.
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, consumer: str, stream_arn: str, shard_id: str) -> ShardCheckpoint:
        with self._lock:
            entry = self._read().get(consumer, {}).get(stream_arn, {}).get(shard_id)
        if not isinstance(entry, dict):
            return ShardCheckpoint()
        sequence = entry.get("sequence")
        return ShardCheckpoint(sequence if isinstance(sequence, str) else None, bool(entry.get("finished")))

    def shards(self, consumer: str, stream_arn: str) -> dict[str, ShardCheckpoint]:
        with self._lock:
            entries = self._read().get(consumer, {}).get(stream_arn, {})
        return {
            shard: ShardCheckpoint(e.get("sequence"), bool(e.get("finished")))
            for shard, e in entries.items()
            if isinstance(e, dict)
        }

    def save(self, consumer: str, stream_arn: str, shard_id: str, checkpoint: ShardCheckpoint) -> None:
        with self._lock:
            data = self._read()
            streams = data.setdefault(consumer, {})
            # Only the current stream of a table matters; an older one (a table
            # deleted and made again) would only grow the file.
            for other in [arn for arn in streams if arn != stream_arn]:
                del streams[other]
            streams.setdefault(stream_arn, {})[shard_id] = {
                "sequence": checkpoint.sequence_number,
                "finished": checkpoint.finished,
            }
            self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1, sort_keys=True)
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
