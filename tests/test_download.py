"""The download path: files fetched over HTTP from a local server, hash-verified, cached.

A ``python -m http.server`` on 127.0.0.1 stands in for GitHub; the loaders are pointed
at it with ``SCALINGLIB_DATA_URL`` / ``SCALINGLIB_EXTERNAL_URL`` and cache into
``tmp_path`` via ``SCALINGLIB_CACHE``. The server's request log counts the downloads.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scalinglib.data import DataError, _registry, load_chinchilla_runs, load_testbed

TAMPERED = "models/rpj-open_lm_1b-32.0.json"


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


@pytest.fixture
def no_retry_wait(monkeypatch):
    """pooch waits 1 s, 2 s between retries of a failed download; skip the waiting."""
    import types

    import pooch.core

    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=lambda seconds: None))


@pytest.fixture
def download_env(monkeypatch, tmp_path):
    """No local data: the loaders must download into a cache under tmp_path."""
    cache = tmp_path / "cache"
    monkeypatch.delenv("SCALINGLIB_DATA", raising=False)
    monkeypatch.delenv("SCALINGLIB_EXTERNAL", raising=False)
    monkeypatch.setenv("SCALINGLIB_CACHE", str(cache))
    return cache


def test_testbed_is_downloaded_verified_then_read_from_cache(serve, download_env, data_dir, monkeypatch):
    server = serve(data_dir.parent)
    monkeypatch.setenv("SCALINGLIB_DATA_URL", server.url + f"{data_dir.name}/")
    registry = _registry("testbed.txt")

    df = load_testbed()
    assert len(df) == 104
    for rel in registry:
        assert (download_env / "testbed" / rel).is_file(), rel
    assert server.requests() == len(registry) == 211
    assert server.requests(f"/{data_dir.name}/{TAMPERED}") == 1

    again = load_testbed()
    assert server.requests() == len(registry)  # nothing fetched a second time
    assert again.equals(df)


def test_tampered_download_is_refused_naming_the_file(serve, download_env, no_retry_wait, data_dir, tmp_path, monkeypatch):
    root = tmp_path / "mirror"
    shutil.copytree(data_dir, root / "exp_data")
    bad = root / "exp_data" / TAMPERED
    bad.write_text(bad.read_text().replace('"tokens": 921468928000', '"tokens": 921468928001'))
    server = serve(root)
    monkeypatch.setenv("SCALINGLIB_DATA_URL", server.url + "exp_data/")

    with pytest.raises(DataError, match="hash") as exc:
        load_testbed()
    assert TAMPERED in str(exc.value)
    assert not (download_env / "testbed" / TAMPERED).exists()  # the bad file is not cached


def test_unreachable_server_names_the_file_and_url(download_env, no_retry_wait, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SCALINGLIB_DATA_URL", f"http://127.0.0.1:{port}/exp_data/")
    with pytest.raises(DataError, match="could not download") as exc:
        load_testbed()
    assert "eval_metadata.csv" in str(exc.value) and str(port) in str(exc.value)


def _external_mirror(tmp_path: Path, external_dir: Path) -> Path:
    root = tmp_path / "external_mirror"
    (root / "data").mkdir(parents=True)
    shutil.copy(external_dir / "chinchilla_svg_extracted_data.csv", root / "data" / "svg_extracted_data.csv")
    return root


def test_external_csv_is_downloaded_verified_then_cached(serve, download_env, external_dir, tmp_path, monkeypatch):
    server = serve(_external_mirror(tmp_path, external_dir))
    monkeypatch.setenv("SCALINGLIB_EXTERNAL_URL", server.url)

    runs = load_chinchilla_runs()
    assert len(runs) == 245 and list(runs) == ["N", "D", "C", "loss"]
    assert (download_env / "external" / "data" / "svg_extracted_data.csv").is_file()
    assert server.requests("/data/svg_extracted_data.csv") == 1
    assert load_chinchilla_runs().equals(runs)
    assert server.requests() == 1


def test_tampered_external_csv_is_refused(serve, download_env, no_retry_wait, external_dir, tmp_path, monkeypatch):
    root = _external_mirror(tmp_path, external_dir)
    with (root / "data" / "svg_extracted_data.csv").open("a") as fh:
        fh.write("0,0,#000000,1e9,1e20,#000000,3.0\n")
    server = serve(root)
    monkeypatch.setenv("SCALINGLIB_EXTERNAL_URL", server.url)
    with pytest.raises(DataError, match="hash") as exc:
        load_chinchilla_runs()
    assert "svg_extracted_data.csv" in str(exc.value)
