"""The port a local server takes: the one asked for, any free one instead only when allowed."""

from __future__ import annotations

import pytest

from knight.errors import ConflictError
from knight.ports import listening_socket, port_is_free


def test_a_taken_port_is_a_conflict_or_another_free_port() -> None:
    with listening_socket("127.0.0.1", 0, "the test", any_if_taken=False) as held:
        taken = int(held.getsockname()[1])
        assert not port_is_free("127.0.0.1", taken)
        with pytest.raises(ConflictError, match=rf"cannot serve the test on 127\.0\.0\.1:{taken} \(.+\); stop what"):
            listening_socket("127.0.0.1", taken, "the test", any_if_taken=False)
        with listening_socket("127.0.0.1", taken, "the test", any_if_taken=True) as other:
            assert int(other.getsockname()[1]) not in (taken, 0)
    assert port_is_free("127.0.0.1", taken)
    with listening_socket("127.0.0.1", taken, "the test", any_if_taken=False) as again:
        assert int(again.getsockname()[1]) == taken
