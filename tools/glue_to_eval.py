"""Rewrite the chapters' inline numbers from ``{glue:text}`` to MyST's ``{eval}`` role.

Usage::

    python tools/glue_to_eval.py [--check] [NOTEBOOK ...]

(default: every ``notebooks/*.ipynb``).  Idempotent: a second run changes nothing, so it
can be re-run after a merge brings in new ``{glue:text}`` roles.  ``--check`` changes no
file and exits with status 1 if any notebook would change.

Why: ``{glue:text}`` is resolved only by the book (myst-nb); in JupyterLab it stays a
raw key.  ``{eval}`` is understood by both: jupyterlab-myst evaluates the expression in
the kernel when the markdown cell is run, and the book resolves it from the glued
outputs of the cached execution (``book/_ext/eval_glue.py``).  The value lives in the
kernel as ``glued.<key>``, set by ``scalinglib.plotting.glue``.

What it changes, cell by cell:

* markdown: ``{glue:text}`KEY:SPEC``` -> ``{eval}`f"{glued.KEY:SPEC}"```, and
  ``{glue:text}`KEY``` -> ``{eval}`glued.KEY```;
* markdown: drops the ``user_expressions`` metadata jupyterlab-myst stores when a
  notebook is saved after a run (computed numbers must not be committed);
* code: ``from myst_nb import glue`` -> ``from scalinglib.plotting import glue`` (the
  library's glue also sets ``glued.<key>`` in the kernel).

A ``{glue}`` or ``{glue:...}`` role of another kind is left alone and reported.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_GLUE_TEXT = re.compile(r"\{glue:text\}`(?P<key>[A-Za-z_]\w*)(?::(?P<spec>[^`]*))?`")
_OTHER_GLUE = re.compile(r"\{glue(?::(?!text\})[a-z]+)?\}`[^`]*`")
_IMPORT = re.compile(r"^from myst_nb import glue[ \t]*$", re.MULTILINE)


def _eval_role(match: re.Match) -> str:
    key, spec = match["key"], match["spec"]
    if spec:
        return '{eval}`f"{glued.' + key + ":" + spec + '}"`'
    return "{eval}`glued." + key + "`"


def convert_cell(cell: dict) -> tuple[bool, list[str]]:
    """Convert one cell in place; return (changed, warnings)."""
    source = "".join(cell.get("source", []))
    new, warnings = source, []
    if cell.get("cell_type") == "markdown":
        new = _GLUE_TEXT.sub(_eval_role, source)
        warnings += [f"left alone: {m.group(0)}" for m in _OTHER_GLUE.finditer(new)]
        meta_changed = cell.get("metadata", {}).pop("user_expressions", None) is not None
    elif cell.get("cell_type") == "code":
        new = _IMPORT.sub("from scalinglib.plotting import glue", source)
        meta_changed = False
    else:
        return False, []
    if new != source:
        cell["source"] = new.splitlines(keepends=True)
    return new != source or meta_changed, warnings


def convert(path: Path, check: bool = False) -> bool:
    """Convert one notebook (written back unless ``check``); return whether it changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    changed = False
    for i, cell in enumerate(nb.get("cells", [])):
        cell_changed, warnings = convert_cell(cell)
        changed |= cell_changed
        for w in warnings:
            print(f"{path}: cell {i}: {w}", file=sys.stderr)
    if changed and not check:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    changed = [p for p in paths if convert(p, check=check)]
    for p in changed:
        print(f"{'would change' if check else 'converted'}: {p}")
    return 1 if (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
