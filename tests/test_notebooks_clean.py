"""Notebooks are committed without outputs: the book executes them at build time.

Strip a notebook before committing, for example with
``jupyter nbconvert --clear-output --inplace notebooks/NAME.ipynb``; a notebook saved in
JupyterLab after Run All also carries the values of its ``{eval}`` roles in the markdown
cells' metadata, which ``python tools/glue_to_eval.py`` removes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_no_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = []
    for i, cell in enumerate(nb.get("cells", [])):
        if "user_expressions" in cell.get("metadata", {}):  # jupyterlab-myst's saved {eval} results
            dirty.append(
                f"cell {i}: metadata holds evaluated inline expressions (remove: python tools/glue_to_eval.py)"
            )
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {i}: has {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {i}: execution_count = {cell['execution_count']}")
    if "widgets" in nb.get("metadata", {}):
        dirty.append("notebook metadata holds saved widget state")
    assert not dirty, (
        f"{path.relative_to(ROOT)} is committed with outputs "
        f"(clear them: jupyter nbconvert --clear-output --inplace {path.relative_to(ROOT)}):\n  " + "\n  ".join(dirty)
    )


def test_every_toc_entry_exists():
    """Each file of _toc.yml exists (Jupyter Book would silently leave it out)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    missing = [f for f in files if not any((ROOT / f"{f}{ext}").is_file() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
