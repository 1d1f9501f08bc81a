"""The teaching layer of the book: every chapter opens with learning objectives and
prerequisites, ends with key takeaways, has at least two exercises with solutions (at
least one of them executable code), and ``tools/strip_solutions.py`` removes exactly
the solutions.

The coding solutions assert their own claims; nbval (``make test``) and the book build
execute them, so a solution that stops holding fails the tests.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
HTML_DIR = ROOT / "_build" / "html"
OBJECTIVES = "::::{admonition} Learning objectives and prerequisites\n:class: tip learning-objectives"
TAKEAWAYS = "::::{admonition} Key takeaways\n:class: important key-takeaways"

_spec = importlib.util.spec_from_file_location("strip_solutions", ROOT / "tools" / "strip_solutions.py")
strip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(strip)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def _exercise_labels(cells) -> list[str]:
    return [
        m.group(1)
        for c in cells
        if c["cell_type"] == "markdown"
        for m in re.finditer(r"\{exercise\}[^\n]*\n:label: (\S+)", _src(c))
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_opens_with_objectives_and_prerequisites_and_ends_with_takeaways(path):
    cells = _cells(path)
    assert _src(cells[0]).startswith("# "), "the first cell is the chapter title"
    assert _src(cells[1]).startswith(OBJECTIVES)
    assert "**Prerequisites.**" in _src(cells[1])
    assert _src(cells[-1]).startswith(TAKEAWAYS)
    assert sum(OBJECTIVES in _src(c) for c in cells) == 1
    assert sum(TAKEAWAYS in _src(c) for c in cells) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_two_exercises_each_solved_one_by_executable_code(path):
    cells = _cells(path)
    labels = _exercise_labels(cells)
    assert len(labels) >= 2, labels
    text = [_src(c) if c["cell_type"] == "markdown" else "" for c in cells]
    solved = set(re.findall(r"\{solution(?:-start)?\} (\S+)", "\n".join(text)))
    assert solved == set(labels)
    # a gated solution holds code cells between its start and end, and one of them asserts
    starts = [i for i, t in enumerate(text) if "{solution-start}" in t]
    assert starts, "no coding exercise"
    for i in starts:
        end = next(j for j in range(i, len(text)) if "{solution-end}" in text[j])
        code = [_src(c) for c in cells[i:end] if c["cell_type"] == "code"]
        assert code and any("assert " in s for s in code), f"solution at cell {i}: no asserting code"
        long = [line for s in code for line in s.splitlines() if len(line) > 78]
        assert not long, f"solution at cell {i}: code wider than the page (78 columns): {long}"
    # every solution folds
    for i, t in enumerate(text):
        if re.search(r"\{solution(?:-start)?\}", t):
            assert ":class: dropdown" in t, f"cell {i}: solution not folded"


def test_exercise_labels_are_unique_across_the_book():
    labels = [lab for p in NOTEBOOKS for lab in _exercise_labels(_cells(p))]
    assert len(labels) == len(set(labels))
    assert len(labels) >= 2 * len(NOTEBOOKS)


def test_strip_removes_every_solution_and_keeps_every_exercise(tmp_path):
    out = tmp_path / "student"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "strip_solutions.py"), str(ROOT / "notebooks"), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    for path in NOTEBOOKS:
        orig, student = _cells(path), _cells(out / path.name)
        text = "\n".join(_src(c) for c in student)
        assert "{solution" not in text
        assert _exercise_labels(student) == _exercise_labels(orig)
        # everything outside solutions is kept, in order
        kept = [_src(c) for c in student if not c["id"].startswith("student-")]
        assert kept == [s for s in (_src(c) for c in orig) if s in kept]
        assert kept[0] == _src(orig[0]) and kept[-1] == _src(orig[-1])
        n_placeholders = sum(c["id"].startswith("student-") for c in student)
        assert n_placeholders == len(_exercise_labels(orig))
        assert all(c.get("outputs", []) == [] for c in student)


def _md(s):
    return {"cell_type": "markdown", "id": s[:8], "metadata": {}, "source": s}


def test_strip_replaces_a_gated_solution_by_one_empty_code_cell():
    code = {
        "cell_type": "code",
        "id": "c",
        "metadata": {},
        "execution_count": 3,
        "outputs": [{"output_type": "stream", "name": "stdout", "text": "42"}],
        "source": "x = 42",
    }
    nb = {
        "cells": [
            _md("````{exercise} T\n:label: ex-a\n\nDo.\n````"),
            _md("```{solution-start} ex-a\n:class: dropdown\n```"),
            _md("Because."),
            code,
            _md("```{solution-end}\n```"),
            dict(code, id="d", source="y = 1"),
        ]
    }
    out, n = strip.strip_notebook(nb)
    assert n == 1
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "code", "code"]
    assert out["cells"][1]["source"] == "# Your solution to exercise ex-a\n"
    assert out["cells"][2]["source"] == "y = 1" and out["cells"][2]["outputs"] == []


@pytest.mark.parametrize(
    "cells, message",
    [
        ([_md("```{solution-start} ex-a\n```"), _md("text")], "ex-a has no solution-end"),
        ([_md("```{solution-end}\n```")], "solution-end without a solution-start"),
    ],
)
def test_strip_names_the_notebook_and_cell_of_an_unmatched_gate(cells, message):
    with pytest.raises(ValueError, match=message) as err:
        strip.strip_notebook({"cells": cells}, "ch.ipynb")
    assert "ch.ipynb" in str(err.value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_built_chapter_shows_objectives_exercises_and_takeaways(path):
    page = HTML_DIR / "notebooks" / f"{path.stem}.html"
    if not page.is_file():
        pytest.fail(f"{page} is missing: run `make book` first")
    html = page.read_text(encoding="utf-8")
    objectives = html.index("learning-objectives admonition")
    first_exercise = html.index('class="exercise admonition')
    takeaways = html.index("key-takeaways admonition")
    assert objectives < first_exercise < takeaways
    assert len(re.findall(r'class="[^"]*\bexercise admonition', html)) >= 2
    assert len(re.findall(r'class="[^"]*\bsolution\b[^"]*\bdropdown', html)) >= 2
