"""Download the released data the tests and the book read, and say where it is.

    python tools/fetch_data.py >> "$GITHUB_ENV"

For a machine without the ``../shared`` directories (a GitHub runner, a fresh clone):
each source is downloaded by the library itself from its pinned upstream commit,
checked against the SHA-256 registry shipped with the package, and cached
(``SCALINGLIB_CACHE``, else the user cache). The cached directories are laid out as the
loaders expect a local directory, except the Chinchilla points, which are copied under
the name ``chinchilla_svg_extracted_data.csv``. Prints one ``NAME=directory`` line per
source (SCALINGLIB_DATA, SCALINGLIB_EXTERNAL, SCALINGLIB_SARDANA, SCALINGLIB_LADDER).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main() -> int:
    from scalinglib.data import load_chinchilla_runs, load_ladder, load_sardana, load_testbed
    from scalinglib.data.fetch import _cache_dir

    load_testbed()
    load_chinchilla_runs()
    load_sardana()
    load_ladder()
    external = _cache_dir("external-local")
    external.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(
        _cache_dir("external") / "data" / "svg_extracted_data.csv", external / "chinchilla_svg_extracted_data.csv"
    )
    dirs = {
        "SCALINGLIB_DATA": _cache_dir("testbed"),
        "SCALINGLIB_EXTERNAL": external,
        "SCALINGLIB_SARDANA": _cache_dir("sardana"),
        "SCALINGLIB_LADDER": _cache_dir("ladder"),
    }
    for name, path in dirs.items():
        if not Path(path).is_dir():
            print(f"fetch_data: {name}: {path} was not created", file=sys.stderr)
            return 1
        print(f"{name}={path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
