"""Find a Chromium-family browser for the browser tests, wherever a user has one.

Order of search (the first hit wins):

1. the environment variable ``CHROMIUM`` (a path to the executable; if it is set but
   names nothing executable, that is an error, not a reason to look elsewhere);
2. ``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` on ``PATH``;
3. a browser installed by Playwright (``python -m playwright install chromium``) under
   ``PLAYWRIGHT_BROWSERS_PATH`` or ``~/.cache/ms-playwright``.

Run as a script, it prints the path found (exit 0) or one line saying how to get a
browser (exit 1). ``make test`` runs it before building the book; tests/test_browser.py
imports :func:`find_chromium`.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Executables inside a Playwright browser directory, newest layouts first.
PLAYWRIGHT_EXECUTABLES = (
    "chromium-*/chrome-linux64/chrome",
    "chromium-*/chrome-linux/chrome",
    "chromium-*/chrome-mac/Chromium.app/Contents/MacOS/Chromium",
    "chromium-*/chrome-win/chrome.exe",
)

HOW_TO_GET_ONE = (
    "no Chromium browser found: install one (apt-get install chromium), "
    "or let Playwright fetch one (.venv/bin/python -m playwright install chromium), "
    "or set CHROMIUM to the path of a Chromium/Chrome executable"
)


class BrowserNotFound(RuntimeError):
    """No usable browser; the message says how to get one."""


def _executable(path: str | os.PathLike) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _playwright_dirs(environ: Mapping[str, str], home: Path) -> list[Path]:
    custom = environ.get("PLAYWRIGHT_BROWSERS_PATH")
    dirs = [Path(custom)] if custom and custom != "0" else []
    dirs.append(home / ".cache" / "ms-playwright")
    return dirs


def find_chromium(environ: Mapping[str, str] | None = None, home: Path | None = None) -> str:
    """Return the path of a Chromium-family browser, or raise :class:`BrowserNotFound`.

    Parameters
    ----------
    environ
        The environment to read ``CHROMIUM``, ``PATH`` and ``PLAYWRIGHT_BROWSERS_PATH``
        from (default: ``os.environ``).
    home
        The home directory holding ``.cache/ms-playwright`` (default: ``Path.home()``).
    """
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    explicit = environ.get("CHROMIUM")
    if explicit:
        if _executable(explicit):
            return str(explicit)
        raise BrowserNotFound(f"CHROMIUM={explicit!r} is not an executable file; {HOW_TO_GET_ONE}")
    for name in NAMES:
        hit = shutil.which(name, path=environ.get("PATH", ""))
        if hit:
            return hit
    for root in _playwright_dirs(environ, home):
        for pattern in PLAYWRIGHT_EXECUTABLES:
            # Newest installed revision first.
            for hit in sorted(root.glob(pattern), reverse=True):
                if _executable(hit):
                    return str(hit)
    raise BrowserNotFound(HOW_TO_GET_ONE)


def main() -> int:
    try:
        print(find_chromium())
    except BrowserNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
