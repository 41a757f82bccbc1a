"""Opening the search index without failing the process: retry, set a corrupt file aside, rebuild.

`knight up`, `knight stream` and `knight serve` open the index through
``RecoveringIndex``. When it cannot be opened they start anyway, and every
call on the index raises SearchUnavailableError: the stream's search consumer
waits that out without moving its checkpoint, GraphQL answers it as
SEARCH_UNAVAILABLE. Meanwhile, once ``start()`` is called, a background
thread recovers the index:

- a corrupt index file is renamed ``<name>.corrupt-<UTC time>`` (never
  deleted), a new index is made and filled from the table, and only then does
  it answer, so no search sees a half-built index;
- a path that cannot be used (a file where the folder should be, a folder
  where the file should be, permissions) is left as it is and tried again with
  back-off until someone fixes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from knight.errors import SearchUnavailableError
from knight.search.documents import ApplyReport, DocumentChange, SearchDocument, SearchHit
from knight.search.index import DEFAULT_LIMIT, SearchIndex
from knight.search.sqlite_index import SearchIndexCorruptError

log = logging.getLogger("knight.search")

_COMPANIONS = ("-wal", "-shm", "-journal")
"""SQLite's files beside a database; they belong to the damaged file and must never meet the new one."""


def set_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename a damaged index file, and SQLite's files beside it, to ``<name>.corrupt-<UTC time>``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    count = 0
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", *_COMPANIONS)):
        count += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{count}")
    # The companions first: a crash in between must not leave an old write-ahead log beside a new index.
    for suffix in _COMPANIONS:
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            companion.rename(f"{target}{suffix}")
    path.rename(target)
    return target


class RecoveringIndex:
    """A search index that may be unavailable for a while, and recovers itself (see the module docstring).

    ``open_index`` opens the real index (one attempt is made at once, touching
    no file); ``fill`` brings an index opened during recovery up to date with
    the table before it answers.
    """

    name = "recovering"

    def __init__(
        self,
        open_index: Callable[[], SearchIndex],
        fill: Callable[[SearchIndex], object] | None = None,
        *,
        retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
    ) -> None:
        self._open = open_index
        self._fill = fill
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._available = threading.Event()
        self._thread: threading.Thread | None = None
        self._index: SearchIndex | None = None
        self._pending: SearchIndex | None = None
        """Opened during recovery, not filled yet."""
        self._corrupt = False
        self.problem: str | None = None
        """Why the index is unavailable; None when it answers."""
        self.set_aside_as: Path | None = None
        """Where the corrupt file went."""
        self.attempts = 0
        """Recovery attempts so far."""
        try:
            self._index = open_index()
            self._available.set()
        except SearchUnavailableError as exc:
            self.problem = str(exc)
            self._corrupt = isinstance(exc, SearchIndexCorruptError)

    @property
    def available(self) -> bool:
        return self._index is not None

    @property
    def action(self) -> str:
        """What knight does about the problem, once ``start()`` was called."""
        if self._pending is not None:
            moved = f"set aside as {self.set_aside_as.name}, " if self.set_aside_as is not None else ""
            return f"{moved}rebuilding the index from the table in the background"
        if self._corrupt:
            return "setting it aside (renamed, not deleted) and rebuilding the index from the table in the background"
        return f"trying again with back-off (up to every {self.max_retry_delay:g} s) until the path is usable"

    def describe(self) -> str:
        index = self._index
        if index is None:
            return f"unavailable: {self.problem}; {self.action}"
        if self.set_aside_as is not None:
            return f"{index.describe()}, rebuilt from the table (the corrupt file is now {self.set_aside_as.name})"
        return index.describe()

    # -- recovering -------------------------------------------------------

    def start(self) -> None:
        """Recover in a background thread (nothing to do when the index answers)."""
        if self.available or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="knight-search-recovery", daemon=True)
        self._thread.start()

    def wait_available(self, timeout: float) -> bool:
        return self._available.wait(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if self.recover_once():
                return
            failures += 1
            self._stop.wait(min(self.max_retry_delay, self.retry_delay * 2.0 ** (failures - 1)))

    def recover_once(self) -> bool:
        """One attempt, in this thread, to make the index answer; whether it does now.

        Not to be called while ``start()``'s thread runs: that thread makes these attempts itself.
        """
        if self.available:
            return True
        self.attempts += 1
        try:
            pending = self._pending or self._open_setting_aside()
        except SearchUnavailableError as exc:
            self._corrupt = isinstance(exc, SearchIndexCorruptError)
            self._failed(str(exc))
            return False
        except Exception as exc:
            self._corrupt = False
            self._failed(f"cannot open the search index: {exc}")
            return False
        self._pending, self._corrupt = pending, False
        try:
            if self._fill is not None:
                self._fill(pending)
        except Exception as exc:
            # The table could not be read, or the index failed: the next attempt fills it again.
            self._failed(f"rebuilding the index from the table failed: {exc}")
            return False
        with self._lock:
            if self._stop.is_set():
                return False  # closed meanwhile; close() closes the pending index
            self._index, self._pending = pending, None
            self.problem = None
        self._available.set()
        log.warning("the search index is available again: %s", pending.describe())
        return True

    def _open_setting_aside(self) -> SearchIndex:
        try:
            return self._open()
        except SearchIndexCorruptError as exc:
            # Tried again just now: another process may have set it aside and made a new one already.
            try:
                moved = set_aside(exc.path)
            except OSError as error:
                raise SearchUnavailableError(f"{exc}, and it cannot be set aside: {error}") from None
            self.set_aside_as = moved
            log.warning("%s: set aside as %s; rebuilding the index from the table", exc, moved)
            return self._open()

    def _failed(self, problem: str) -> None:
        if problem != self.problem:
            log.warning("the search index is unavailable: %s", problem)
        self.problem = problem

    # -- the index --------------------------------------------------------

    def _current(self) -> SearchIndex:
        index = self._index
        if index is None:
            raise SearchUnavailableError(f"search is unavailable: {self.problem}; {self.action}")
        return index

    def apply(self, changes: Sequence[DocumentChange]) -> ApplyReport:
        return self._current().apply(changes)

    def overwrite(self, documents: Sequence[SearchDocument], deleted: Sequence[str] = ()) -> ApplyReport:
        return self._current().overwrite(documents, deleted)

    def search(self, text: str, entity_type: str | None = None, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
        return self._current().search(text, entity_type, limit)

    def documents(self) -> dict[str, SearchDocument]:
        return self._current().documents()

    def reset(self) -> None:
        self._current().reset()

    def get_meta(self, name: str) -> str | None:
        return self._current().get_meta(name)

    def set_meta(self, name: str, value: str) -> None:
        self._current().set_meta(name, value)

    def close(self) -> None:
        with self._lock:
            self._stop.set()
        closed: list[SearchIndex] = []
        if self._pending is not None:
            closed.append(self._pending)
            self._pending.close()  # a rebuild in progress fails at its next write and the thread ends
        if self._thread is not None:
            self._thread.join(10)
        for index in (self._index, self._pending):
            if index is not None and not any(index is done for done in closed):
                index.close()
