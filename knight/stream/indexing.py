"""The search record handler: every change of a searchable item, indexed.

It runs as its own consumer of the stream, with its own checkpoint, so a
search outage never holds back xp: while the backend is down this consumer
waits and retries (SearchUnavailableError is transient) and, once it is back,
catches up from where it stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knight.errors import SearchRejectedError
from knight.search.documents import DocumentChange, SearchMapping
from knight.search.index import SearchIndex
from knight.stream.records import StreamRecord
from knight.stream.results import BatchResult, RecordFailure


@dataclass(frozen=True)
class SearchDependencies:
    mapping: SearchMapping
    index: SearchIndex


class SearchHandler:
    """The search handler bound to its mapping and index."""

    name = "search"

    def __init__(self, deps: SearchDependencies) -> None:
        self.deps = deps

    def __call__(self, records: Sequence[StreamRecord]) -> BatchResult:
        result = BatchResult(len(records))
        changes: list[DocumentChange] = []
        failures: dict[str, RecordFailure] = {}
        for record in records:
            try:
                change = self.deps.mapping.change(
                    record.keys, record.old_image, record.new_image, record.sort_key, record.sequence_number
                )
            except Exception as exc:
                failures[record.sequence_number] = RecordFailure.from_exception(record, exc)
                continue
            if change is None:
                result.outcomes["ignored"] += 1
            else:
                changes.append(change)
        report = self.deps.index.apply(changes)  # an outage raises: the whole batch waits
        result.outcomes["indexed"] += report.applied
        result.outcomes["older"] += report.skipped_older
        for change in changes:
            if change.doc_id in report.failed:
                failures.setdefault(
                    change.source,
                    RecordFailure(change.source, SearchRejectedError.code, report.failed[change.doc_id]),
                )
        order = {record.sequence_number: n for n, record in enumerate(records)}
        result.failures = sorted(failures.values(), key=lambda f: order.get(f.sequence_number, 0))
        return result
