"""The download path: files fetched over HTTP from a local server, hash-verified, cached.

A ``python -m http.server`` on 127.0.0.1 stands in for GitHub; the loaders are pointed
at it with ``SCALINGLIB_DATA_URL`` / ``SCALINGLIB_EXTERNAL_URL`` and cache into
``tmp_path`` via ``SCALINGLIB_CACHE``. The server's request log counts the downloads.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from scalinglib.data import DataError, _registry, load_chinchilla_runs, load_testbed

TAMPERED = "models/rpj-open_lm_1b-32.0.json"


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


def test_tampered_download_is_refused_naming_the_file(
    serve, download_env, no_retry_wait, data_dir, tmp_path, monkeypatch
):
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


# ----------------------------------------------------------------------------- concurrency, interruption

_LOAD_AND_DIGEST = (
    "import hashlib\n"
    "from scalinglib.data import load_testbed\n"
    "df = load_testbed()\n"
    "print(len(df), hashlib.sha256(df.to_csv().encode()).hexdigest())\n"
)


def test_concurrent_first_downloads_into_one_cache_all_succeed(serve, download_env, data_dir, tmp_path):
    """Four processes load into one empty cache at once: all succeed, with identical data."""
    import os

    server = serve(data_dir.parent)
    env = {**os.environ, "SCALINGLIB_CACHE": str(download_env), "SCALINGLIB_DATA_URL": server.url + f"{data_dir.name}/"}
    env.pop("SCALINGLIB_DATA", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LOAD_AND_DIGEST], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
    digests = {out.strip() for out, _ in results}
    assert len(digests) == 1 and digests.pop().startswith("104 ")
    assert server.requests() == len(_registry("testbed.txt"))  # each file fetched once


def test_threads_loading_into_one_cache_all_succeed(serve, download_env, data_dir, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    server = serve(data_dir.parent)
    monkeypatch.setenv("SCALINGLIB_DATA_URL", server.url + f"{data_dir.name}/")
    with ThreadPoolExecutor(4) as pool:
        frames = list(pool.map(lambda _: load_testbed(), range(4)))
    assert all(len(df) == 104 and df.equals(frames[0]) for df in frames)


class _HalfFileHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files normally, except TAMPERED: full Content-Length, half the body, then hangs up."""

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        if not self.path.endswith(TAMPERED):
            return super().do_GET()
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


def test_interrupted_download_leaves_no_partial_file_and_a_retry_succeeds(serve, download_env, data_dir, monkeypatch):
    import functools
    import threading

    handler = functools.partial(_HalfFileHandler, directory=str(data_dir.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("SCALINGLIB_DATA_URL", f"http://127.0.0.1:{httpd.server_address[1]}/{data_dir.name}/")
        with pytest.raises(DataError, match="could not download") as exc:
            load_testbed()
        assert TAMPERED in str(exc.value)
    finally:
        httpd.shutdown()
        httpd.server_close()
    testbed = download_env / "testbed"
    assert not (testbed / TAMPERED).exists()  # never visible under its final name
    leftovers = [p for sub in ("models", "evals") if (testbed / sub).is_dir() for p in (testbed / sub).iterdir()]
    registry = _registry("testbed.txt")
    assert all(str(p.relative_to(testbed)) in registry for p in leftovers)
    kept = sum(1 for rel in registry if (testbed / rel).is_file())

    server = serve(data_dir.parent)
    monkeypatch.setenv("SCALINGLIB_DATA_URL", server.url + f"{data_dir.name}/")
    assert len(load_testbed()) == 104
    assert server.requests() == len(registry) - kept  # only what was missing is fetched again


def test_a_file_a_user_put_in_the_cache_is_still_refused(serve, download_env, data_dir, monkeypatch):
    server = serve(data_dir.parent)
    monkeypatch.setenv("SCALINGLIB_DATA_URL", server.url + f"{data_dir.name}/")
    load_testbed()
    (download_env / "testbed" / "models" / "tmp1234").write_text("{}")
    with pytest.raises(DataError, match="unexpected extra file .*tmp1234"):
        load_testbed()
