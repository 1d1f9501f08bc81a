"""Shared fixtures: where the data live, and a local HTTP server for the download tests.

``SCALINGLIB_DATA`` (default ``<repo>/../shared/testbed/exp_data``),
``SCALINGLIB_EXTERNAL`` (default ``<repo>/../shared/external``), ``SCALINGLIB_SARDANA``
(default ``<repo>/../shared/sardana``) and ``SCALINGLIB_LADDER`` (default
``<repo>/../shared/olmo-ladder/ladder-runs``) name the directories.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _directory(env: str, default: Path, what: str) -> Path:
    path = Path(os.environ.get(env) or default)
    if not path.is_dir():
        pytest.fail(f"{what} not found at {path}: set {env} to its directory", pytrace=False)
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The testbed's ``exp_data`` directory."""
    return _directory("SCALINGLIB_DATA", REPO.parent / "shared" / "testbed" / "exp_data", "testbed data")


@pytest.fixture(scope="session")
def testbed(data_dir):
    """The 104-run testbed table, loaded once per session."""
    from scalinglib.data import load_testbed

    return load_testbed(data_dir)


@pytest.fixture(scope="session")
def external_dir() -> Path:
    """Directory holding ``chinchilla_svg_extracted_data.csv``."""
    return _directory("SCALINGLIB_EXTERNAL", REPO.parent / "shared" / "external", "external data")


@pytest.fixture(scope="session")
def sardana_dir() -> Path:
    """Directory holding Sardana et al.'s ``trainingresults.csv``."""
    return _directory("SCALINGLIB_SARDANA", REPO.parent / "shared" / "sardana", "Sardana et al.'s runs")


@pytest.fixture(scope="session")
def ladder_dir() -> Path:
    """The OLMo ladder's ``ladder-runs`` directory."""
    return _directory("SCALINGLIB_LADDER", REPO.parent / "shared" / "olmo-ladder" / "ladder-runs", "OLMo ladder runs")


class Server:
    """A static file server over ``root``; ``requests()`` counts GETs in its log."""

    def __init__(self, root: Path, log: Path):
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(root)],
            stdout=subprocess.PIPE,
            stderr=self._fh,
            text=True,
        )
        line = self.proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port NNNN (...)"
        match = re.search(r"port (\d+)", line)
        if match is None:
            self.stop()
            raise RuntimeError(f"http.server did not start: {line!r}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}/"

    def requests(self, pattern: str = "") -> int:
        time.sleep(0.05)  # let the server finish writing its log line
        return sum(1 for line in self.log.read_text().splitlines() if '"GET /' in line and pattern in line)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.stdout.close()
        self._fh.close()


@pytest.fixture
def serve(tmp_path):
    """Factory: ``serve(directory)`` starts a server and returns it; all are stopped afterwards."""
    servers: list[Server] = []

    def start(root: Path) -> Server:
        server = Server(root, tmp_path / f"server{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
