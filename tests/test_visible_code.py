"""The code a reader sees runs on its own.

A chapter's ``remove-cell`` cells are hidden from the book: they only glue numbers into
the prose, assert what the prose claims, or save files. So the visible cells (shown and
``hide-input``) must run, in order, in a fresh kernel without them: a reader who copies
them into JupyterLab must not meet a ``NameError``. This test drops the removed cells of
each notebook and executes the rest with nbclient.

It executes every chapter (a few minutes in all), one test per notebook so that a run
can pick one: ``pytest tests/test_visible_code.py -k 12_planning``. A fast static check
beside it catches what execution cannot: a shown cell that reads a name whose last
assignment is in a cell the book does not show (``remove-cell``, or ``remove-input``,
whose code is hidden even though its output is shown), so that the code a reader copies
from the book would be incomplete or would compute something else.
"""

from __future__ import annotations

import ast
import builtins
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def visible_cells(nb):
    """The notebook without its ``remove-cell`` cells, each kept cell tagged with its index."""
    kept = []
    for index, cell in enumerate(nb.cells):
        if "remove-cell" in cell.get("metadata", {}).get("tags", []):
            continue
        cell.metadata["original_index"] = index
        kept.append(cell)
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    out.cells = kept
    return out


HIDDEN_CODE = ("remove-cell", "remove-input")


def _bound_and_read(source: str) -> tuple[set[str], set[str]]:
    """Names a cell binds (assignments, imports, definitions, arguments) and names it reads."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    bound, read = set(), set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return bound, read


def names_from_hidden_code(nb) -> list[str]:
    """``cell i reads x (last bound in cell j, tagged t)`` for every shown cell that reads a
    name whose last binding before it is in a cell whose code the book hides."""
    last: dict[str, tuple[int, str | None]] = {name: (-1, None) for name in dir(builtins)}
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        bound, read = _bound_and_read(cell.source)
        hidden = next((t for t in cell.get("metadata", {}).get("tags", []) if t in HIDDEN_CODE), None)
        if hidden is None:
            for name in sorted(read - bound):
                where, tag = last.get(name, (None, None))
                if tag is not None:
                    problems.append(f"cell {index} reads {name!r} (last bound in cell {where}, tagged {tag})")
        for name in bound:
            last[name] = (index, hidden)
    return problems


def test_names_from_hidden_code_flags_a_shown_cell_reading_a_removed_cells_name():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nx = np.arange(3)"),
        nbformat.v4.new_code_cell("y = x + 1\nglue('y', y)", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("print(x, [v for v in x])"),
        nbformat.v4.new_code_cell("x = x * 2", metadata={"tags": ["remove-input"]}),
        nbformat.v4.new_code_cell("print(y, x)", metadata={"tags": ["hide-input"]}),
    ]
    assert names_from_hidden_code(nb) == [
        "cell 4 reads 'x' (last bound in cell 3, tagged remove-input)",
        "cell 4 reads 'y' (last bound in cell 1, tagged remove-cell)",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_shown_cells_of_a_chapter_read_no_name_bound_only_in_code_the_book_hides(path: Path):
    problems = names_from_hidden_code(nbformat.read(path, as_version=4))
    assert not problems, f"chapter {path.name}: " + "; ".join(problems)


def test_visible_cells_keeps_shown_and_hidden_input_cells_and_drops_removed_ones():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_code_cell("b = 2", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_markdown_cell("text"),
        nbformat.v4.new_code_cell("print(a)"),
    ]
    kept = visible_cells(nb)
    assert [c.source for c in kept.cells] == ["a = 1", "text", "print(a)"]
    assert [c.metadata["original_index"] for c in kept.cells] == [0, 2, 3]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_visible_cells_of_a_chapter_run_without_its_removed_cells(path: Path, monkeypatch):
    nb = visible_cells(nbformat.read(path, as_version=4))
    # the kernel ("python" in its kernelspec) is the interpreter running the tests
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    client = nbclient.NotebookClient(
        nb,
        timeout=1200,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    try:
        client.execute()
        error = None
    except CellExecutionError as err:
        error = f"{err.ename}: {err.evalue}"
    if error is not None:
        failed = next(
            (
                c
                for c in nb.cells
                if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
            ),
            None,
        )
        where = "an unknown cell" if failed is None else f"cell {failed.metadata['original_index']}"
        source = "" if failed is None else failed.source.strip().splitlines()[0]
        pytest.fail(
            f"chapter {path.name}: {where} (first line: {source!r}) fails without the remove-cell cells: {error}",
            pytrace=False,
        )
