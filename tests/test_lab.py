"""`knight lab` starts JupyterLab on the notebooks, root included (containers run as root)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.embedded_only("JupyterLab does not touch the engine; one lane shows it starts")
def test_knight_lab_serves_jupyterlab_on_loopback(tmp_path: object) -> None:
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    lab = subprocess.Popen(
        [sys.executable, "-m", "knight", "lab", "--no-browser", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if lab.poll() is not None:
                output = lab.stdout.read() if lab.stdout else ""
                pytest.fail(f"knight lab exited with {lab.returncode} (as uid {os.geteuid()}):\n{output[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2) as answer:
                    assert answer.status == 200
                    assert b'"version"' in answer.read()
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(0.2)
        lab.terminate()  # what a supervisor does to stop `knight lab`
        lab.wait(30)
        # The signal reached JupyterLab itself: nothing keeps serving the port.
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2)
    finally:
        if lab.poll() is None:
            lab.kill()
            lab.wait()
