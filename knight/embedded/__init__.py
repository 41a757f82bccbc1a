"""The embedded engine: moto, made to behave like DynamoDB wherever knight depends on it.

moto serves DynamoDB, DynamoDB Streams and SQS over HTTP from a thread, with
pip as its only installer. Where it differs from DynamoDB in ways that break
knight, one module here fixes one difference, and its tests show moto's own
behaviour beside the fix, so the layer can shrink when moto changes:

- ``serialized``: requests one at a time (DynamoDB's atomicity and isolation);
- ``dispatch``: a request finds its handler without moto's search of its own package;
- ``connections``: connections kept open between requests (werkzeug closes each one);
- ``writes``: transactions that check before they write and cost what they touch,
  UpdateItem made whole, ClientRequestToken honoured;
- ``streams``: no record for a write that changes nothing, retention, iterator expiry;
- ``partitions``: Queries that read one partition, not the whole table;
- ``reads``: Queries and Scans that measure each item once and copy none;
- ``responses``: read answers written as plain JSON, not through moto's slow serializer;
- ``instances``: no list of every object moto ever made (the memory of a long run).

``install`` applies them once, to the moto versions they were tested with.
"""

from __future__ import annotations

import functools
import threading

from knight.errors import EngineError

__all__ = ["TESTED_MOTO", "install"]

TESTED_MOTO = ((5, 2), (5, 3))
"""moto versions this layer is tested with: at least the first, below the second."""

_install_lock = threading.Lock()


def _moto_version() -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(part) for part in version("moto").split(".")[:2] if part.isdigit())


def install() -> None:
    """Apply the layer to moto (once per process; moto's state is per process too)."""
    with _install_lock:
        _apply()


@functools.cache
def _apply() -> None:
    found = _moto_version()
    low, high = TESTED_MOTO
    if not low <= found < high:
        shown = ".".join(map(str, found))
        raise EngineError(
            f"the embedded engine is tested with moto {low[0]}.{low[1]}.x; this is moto {shown}: "
            f"pip install 'moto[server,dynamodb,sqs]>={low[0]}.{low[1]},<{high[0]}.{high[1]}'"
        )
    from knight.embedded import dispatch, instances, partitions, reads, responses, streams, writes

    dispatch.install()
    instances.install()
    partitions.install()
    reads.install()
    responses.install()
    streams.install()
    writes.install()
