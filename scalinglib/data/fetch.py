"""Fetch, verify and cache released data files.

A source's files are listed, with their sha256, in a registry shipped with the package
(``scalinglib/registry/<source>.txt``). A local directory must hold exactly the
registered files; otherwise the files are downloaded from a pinned upstream commit into
a cache (pooch's default cache directory; ``SCALINGLIB_CACHE`` overrides it). Every
downloaded file is checked against the registry before it is renamed into place, under
a lock, so concurrent first loads into one cache are safe. Anything missing, extra or
altered raises :class:`DataError` naming the file.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["DataError"]


class DataError(ValueError):
    """Missing, extra, corrupt or malformed data; the message names the file or field."""


def _registry(name: str) -> dict[str, str]:
    text = resources.files("scalinglib").joinpath("registry").joinpath(name).read_text()
    out = {}
    for line in text.splitlines():
        if line.strip():
            path, digest = line.split()
            out[path] = digest
    return out


def _cache_dir(kind: str) -> Path:
    import pooch

    base = os.environ.get("SCALINGLIB_CACHE")
    root = Path(base) if base else Path(pooch.os_cache("scalinglib"))
    return root / kind


def _sha256(file: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _fetch_one(url: str, name: str, digest: str, final: Path, partial_dir: Path, attempts: int = 3) -> None:
    """Download ``url`` to a temporary file in ``partial_dir``, check its sha256, rename it to ``final``.

    The rename is atomic (same file system), so ``final`` is either absent or complete and
    verified; a download cut off midway leaves at most a temporary file outside the data
    directory, removed here or by the next download.
    """
    import tempfile

    import pooch

    download = pooch.HTTPDownloader(progressbar=False)
    last: Exception | None = None
    for _ in range(attempts):
        fd, tmp_name = tempfile.mkstemp(dir=partial_dir, prefix=final.name + ".", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            download(url, str(tmp), None)
            got = _sha256(tmp)
            if got != digest:
                raise DataError(f"hash mismatch for downloaded file {name!r} from {url}: expected {digest}, got {got}")
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            return
        except DataError:
            raise
        # Any failure of one attempt (network errors, a connection closed mid-file, an error
        # raised inside pooch) is retried, and the last one is reported, naming file and URL.
        except Exception as exc:  # noqa: BLE001 - reported below, not swallowed
            last = exc
        finally:
            tmp.unlink(missing_ok=True)
    raise DataError(f"could not download {name!r} from {url}: {last}")


def _download(kind: str, registry_name: str, default_url: str, url_env: str) -> Path:
    """Fetch every file of a registry, hash-verified, into the cache; return the local root.

    Safe for any number of processes and threads sharing one cache: a per-kind lock
    (``<cache>/<kind>.lock``) serialises the fetching, each file is downloaded into
    ``<cache>/<kind>.partial/`` and renamed into place only once its sha256 matches, so
    the data directory never holds a partial file or anything else not in the registry.
    """
    from filelock import FileLock

    base_url = os.environ.get(url_env, default_url)
    if not base_url.endswith("/"):
        base_url += "/"
    root = _cache_dir(kind)
    root.parent.mkdir(parents=True, exist_ok=True)
    partial_dir = root.parent / f"{kind}.partial"
    with FileLock(str(root.parent / f"{kind}.lock")):
        partial_dir.mkdir(exist_ok=True)
        for stale in partial_dir.iterdir():  # left by a download that was killed
            stale.unlink(missing_ok=True)
        for name, digest in _registry(registry_name).items():
            final = root / name
            if final.is_file() and _sha256(final) == digest:
                continue
            _fetch_one(base_url + name, name, digest, final, partial_dir)
    return root


def _verified_csv_dir(root: Path, registry_name: str, what: str) -> Path:
    """Check that ``root`` holds exactly the registry's CSV files, each with its sha256.

    Only ``*.csv`` files count as data: documentation beside them (``SOURCE.md``,
    ``LICENSE.txt``) is allowed. Raises :class:`DataError` naming the first missing,
    extra or altered file.
    """
    if not root.is_dir():
        raise DataError(f"{what} directory {str(root)!r} does not exist")
    registry = _registry(registry_name)
    present = {f.name for f in root.iterdir() if f.is_file() and f.suffix.lower() == ".csv"}
    missing = sorted(set(registry) - present)
    extra = sorted(present - set(registry))
    if missing:
        raise DataError(
            f"missing file {str(root / missing[0])!r} in the {what} directory ({len(missing)} missing in all)"
        )
    if extra:
        raise DataError(f"unexpected extra file {str(root / extra[0])!r} in the {what} directory")
    for name, digest in registry.items():
        got = _sha256(root / name)
        if got != digest:
            raise DataError(
                f"hash mismatch for {str(root / name)!r}: expected {digest}, got {got} "
                f"(the file differs from the release at the pinned commit)"
            )
    return root


def _lab_dir(path, env: str, kind: str, registry_name: str, url: str, url_env: str, what: str) -> Path:
    if path is None:
        path = os.environ.get(env) or None
    if path is None:
        root = _download(kind, registry_name, url, url_env)
    else:
        root = Path(path)
    return _verified_csv_dir(root, registry_name, what)
