"""Write copies of the chapter notebooks with the exercise solutions removed.

Usage::

    python tools/strip_solutions.py [NOTEBOOK_DIR] [OUT_DIR]

(defaults: ``notebooks`` and ``_build/student``; ``make student`` runs it).

A solution is either one markdown cell holding a ``{solution}`` directive, or
the gated form of sphinx-exercise: a markdown cell opening with
``{solution-start}``, the cells that follow, and a markdown cell with
``{solution-end}``.  Each is replaced by one cell inviting the student's
answer (a code cell for a gated solution, which holds code; a markdown cell
otherwise).  Outputs are cleared.  Everything else, exercises included, is
copied unchanged.  A ``{solution-start}`` without its ``{solution-end}`` (or
the reverse) is an error naming the notebook and the cell.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_START = re.compile(r"^\s*`{3,}\s*\{solution-start\}\s*(\S+)", re.MULTILINE)
_END = re.compile(r"^\s*`{3,}\s*\{solution-end\}", re.MULTILINE)
_SINGLE = re.compile(r"^\s*`{3,}\s*\{solution\}\s*(\S+)", re.MULTILINE)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _placeholder(kind: str, label: str, n: int) -> dict:
    cell = {
        "cell_type": kind,
        "id": f"student-{n:02d}",
        "metadata": {},
        "source": f"# Your solution to exercise {label}\n"
        if kind == "code"
        else f"*Your answer to exercise {label}.*\n",
    }
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def strip_notebook(nb: dict, name: str = "notebook") -> tuple[dict, int]:
    """Return a copy of ``nb`` without solutions, and the number of solutions removed."""
    out, inside, removed = [], None, 0
    for i, cell in enumerate(nb["cells"]):
        text = _source(cell) if cell.get("cell_type") == "markdown" else ""
        start, end, single = _START.search(text), _END.search(text), _SINGLE.search(text)
        if inside is not None:
            if start:
                raise ValueError(
                    f"{name}: cell {i} opens a solution inside the solution of {inside} (missing solution-end)"
                )
            if end:
                out.append(_placeholder("code", inside, removed))
                inside = None
            continue
        if end:
            raise ValueError(f"{name}: cell {i} has a solution-end without a solution-start")
        if start:
            inside, removed = start.group(1), removed + 1
            continue
        if single:
            removed += 1
            out.append(_placeholder("markdown", single.group(1), removed))
            continue
        cell = dict(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        out.append(cell)
    if inside is not None:
        raise ValueError(f"{name}: the solution of {inside} has no solution-end")
    return {**nb, "cells": out}, removed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    src = Path(argv[0] if argv else "notebooks")
    dst = Path(argv[1] if len(argv) > 1 else "_build/student")
    notebooks = sorted(src.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"error: no notebooks (*.ipynb) in {src}")
    dst.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in notebooks:
        stripped, n = strip_notebook(json.loads(path.read_text(encoding="utf-8")), str(path))
        (dst / path.name).write_text(json.dumps(stripped, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        total += n
    print(f"wrote {len(notebooks)} notebooks with {total} solutions removed to {dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
