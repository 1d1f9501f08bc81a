"""The ``scalinglib`` command as a reader types it, and its output, for the chapters.

A chapter that shows a command runs it for real (with the interpreter running the
chapter, so the installed command and this checkout agree) and prints the command line
the way a reader would type it: wrapped at a fixed width with backslashes, an option
kept on one line with its value, and paths shown as the reader would write them
(``shown_as``), not as the building machine happens to name them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

__all__ = ["run", "format_command", "show", "reader_path", "DATA_ENV_VARS"]

#: The environment variables that name a data directory (see the README), in the order
#: they are tried by :func:`reader_path` (the cache last: it may hold the others' downloads).
DATA_ENV_VARS = (
    "SCALINGLIB_DATA",
    "SCALINGLIB_EXTERNAL",
    "SCALINGLIB_SARDANA",
    "SCALINGLIB_LADDER",
    "SCALINGLIB_CACHE",
)


def reader_path(path: str | os.PathLike, root: str | os.PathLike = ".") -> str:
    """A data file's path as a reader would type it in a shell at the repository's root.

    Never the building machine's own folders:

    1. inside ``root`` or in a folder beside it (the layout the README and the Makefile
       use, e.g. ``../shared/sardana/trainingresults.csv``): the path relative to ``root``;
    2. inside a directory named by one of :data:`DATA_ENV_VARS` (which the reader set):
       ``$VARIABLE/rest/of/path``;
    3. inside the home directory (the default download cache): ``~/rest/of/path``;
    4. otherwise the absolute path (a location the reader chose).

    A path that climbs more than one level out of ``root`` (``../../x``) is never returned.
    """
    file = Path(path).resolve()
    base = Path(root).resolve()
    rel = Path(os.path.relpath(file, base))
    climbs = next((i for i, part in enumerate(rel.parts) if part != ".."), len(rel.parts))
    if climbs <= 1:
        return rel.as_posix()
    for var in DATA_ENV_VARS:
        value = os.environ.get(var)
        if value and file.is_relative_to(Path(value).resolve()):
            return f"${var}/{file.relative_to(Path(value).resolve()).as_posix()}"
    home = Path.home().resolve()
    if home != Path(home.anchor) and file.is_relative_to(home):
        return f"~/{file.relative_to(home).as_posix()}"
    return file.as_posix()


def run(args: Sequence[str], cwd: str | os.PathLike | None = None) -> str:
    """Standard output of ``scalinglib ARGS`` run in directory ``cwd``.

    Raises
    ------
    subprocess.CalledProcessError
        If the command exits with a non-zero status (its stderr is attached).
    """
    out = subprocess.run(
        [sys.executable, "-m", "scalinglib", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=True
    )
    return out.stdout


_EXPANDED = re.compile(r"(\$[A-Za-z_][A-Za-z0-9_]*/|~/)(.*)", re.DOTALL)


def _quote(word: str, expand: bool) -> str:
    """``word`` quoted for a POSIX shell; with ``expand``, a leading ``$VARIABLE/`` or ``~/``
    stays outside the quotes, for the shell to expand."""
    match = _EXPANDED.fullmatch(word) if expand else None
    if match is None:
        return shlex.quote(word)
    return match.group(1) + (shlex.quote(match.group(2)) if match.group(2) else "")


def format_command(args: Sequence[str], width: int = 64, paths: Collection[str] = ()) -> str:
    """``$ scalinglib ARGS``, shell-quoted and wrapped at ``width`` characters.

    An option and its value stay on one line; continuation lines end in `` \\`` and the
    next one is indented by four spaces, so the text can be pasted into a shell. The
    words in ``paths`` are paths as a reader types them: a leading ``$VARIABLE/`` or
    ``~/`` is left unquoted, so that the shell expands it.
    """
    words = [_quote(str(a), str(a) in paths) for a in args]
    for i in range(1, len(words)):  # an option stays on one line with its value
        if words[i - 1].startswith("--") and words[i] and not words[i].startswith("--"):
            words[i - 1], words[i] = f"{words[i - 1]} {words[i]}", ""
    lines, line = [], "$ scalinglib"
    for word in filter(None, words):
        if len(line) + 1 + len(word) > width:
            lines.append(line + " \\")
            line = "    " + word
        else:
            line += " " + word
    return "\n".join(lines + [line])


def show(
    args: Sequence[str],
    cwd: str | os.PathLike | None = None,
    width: int = 64,
    shown_as: Mapping[str, str] | None = None,
) -> str:
    """Run ``scalinglib ARGS``, print the command as typed and its output; return the output.

    ``shown_as`` maps strings of the real command (typically a path on this machine) to
    what the reader types instead; the same replacement is applied to the output, which
    may echo the path.
    """
    out = run(args, cwd)
    typed = [str(a) for a in args]
    for real, shown in (shown_as or {}).items():
        typed = [a.replace(real, shown) for a in typed]
        out = out.replace(real, shown)
    print(format_command(typed, width, paths=set((shown_as or {}).values())))
    print(out)
    return out
