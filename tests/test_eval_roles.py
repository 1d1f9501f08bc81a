"""The chapters quote computed numbers with ``{eval}``, which both the book and JupyterLab render.

``tools/glue_to_eval.py`` turns ``{glue:text}`` roles into ``{eval}`` ones;
``book/_ext/eval_glue.py`` resolves those in the book from the glued values (the browser
test ``test_lab.py`` checks JupyterLab).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tool = _load(ROOT / "tools" / "glue_to_eval.py", "glue_to_eval")
ext = _load(ROOT / "book" / "_ext" / "eval_glue.py", "eval_glue")


def _cell(kind: str, source: str, **metadata) -> dict:
    cell = {"cell_type": kind, "metadata": dict(metadata), "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def test_tool_turns_glue_text_into_eval_once_and_keeps_everything_else(tmp_path):
    md = "Off by {glue:text}`rpj_1b_rel:.2f`% on {glue:text}`n_runs` runs ({glue:text}`share:.0%`).\n$x$ {term}`M`"
    nb = {
        "cells": [
            _cell("markdown", md, user_expressions=[{"expression": "x", "result": {}}]),
            _cell("code", "import numpy as np\nfrom myst_nb import glue\nglue('a', 1)\n"),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "ch.ipynb"
    path.write_text(json.dumps(nb, indent=1) + "\n")
    assert tool.convert(path, check=True) and "glue:text" in path.read_text()  # --check writes nothing
    assert tool.convert(path)
    once = path.read_text()
    assert not tool.convert(path) and path.read_text() == once  # idempotent
    cells = json.loads(once)["cells"]
    assert "".join(cells[0]["source"]) == (
        'Off by {eval}`f"{glued.rpj_1b_rel:.2f}"`% on {eval}`glued.n_runs` runs '
        '({eval}`f"{glued.share:.0%}"`).\n$x$ {term}`M`'
    )
    assert "user_expressions" not in cells[0]["metadata"]  # no computed numbers committed
    assert "".join(cells[1]["source"]) == "import numpy as np\nfrom scalinglib.plotting import glue\nglue('a', 1)\n"


@pytest.mark.parametrize(
    "expression, ref",
    [
        ('f"{glued.rpj_1b_rel:.2f}"', "rpj_1b_rel:.2f"),
        ('f"{glued.share:.0%}"', "share:.0%"),
        ('f"{glued.n}"', "n"),
        ("glued.n_runs", "n_runs"),
        ("rpj_1b_rel", None),  # a bare kernel name: the book has no kernel
        ('f"{glued.a:.1f} and {glued.b:.1f}"', None),
        ("glued.a + 1", None),
    ],
)
def test_book_role_reads_only_the_two_glued_forms(expression, ref):
    assert ext.glue_reference(expression) == ref


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_chapter_prose_uses_eval_not_glue_text(path: Path):
    """Run ``python tools/glue_to_eval.py`` if this fails: JupyterLab cannot render {glue:text}."""
    assert not tool.convert(path, check=True), f"{path.name}: run python tools/glue_to_eval.py"
    nb = json.loads(path.read_text(encoding="utf-8"))
    bad = [
        m.group(0)
        for cell in nb["cells"]
        if cell["cell_type"] == "markdown"
        for m in re.finditer(r"\{eval\}`([^`]*)`", "".join(cell["source"]))
        if ext.glue_reference(m.group(1)) is None
    ]
    assert not bad, f"{path.name}: {{eval}} expressions the book cannot resolve: {bad}"
