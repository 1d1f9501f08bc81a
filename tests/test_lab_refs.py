"""tools/lab_refs.py: references to other pages carry the text the book shows, for JupyterLab."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lab_refs", ROOT / "tools" / "lab_refs.py")
lab_refs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lab_refs)

CH3 = ROOT / "notebooks" / "03_predicting_loss.ipynb"


def _rewrite(source: str, here: Path = CH3) -> str:
    equations, exercises = lab_refs.targets()
    new, errors = lab_refs.rewrite(source, here.resolve(), equations, exercises)
    assert not errors
    return new


def test_every_chapter_is_up_to_date_with_the_method_page_and_the_exercises():
    stale = [p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if lab_refs.convert(p, check=True)]
    assert not stale, f"run `python tools/lab_refs.py`: {stale}"


def test_method_page_equations_are_numbered_in_their_order_of_appearance():
    equations, _ = lab_refs.targets()
    method = (ROOT / "book" / "method.md").resolve()
    assert [(k, v[1]) for k, v in equations.items() if v[0] == method][:4] == [
        ("eq-chinchilla", "(1)"),
        ("eq-overtraining", "(2)"),
        ("eq-error", "(3)"),
        ("eq-huber", "(4)"),
    ]


def test_an_equation_on_the_method_page_gets_its_number_and_a_stale_number_is_corrected():
    assert _rewrite("law {eq}`eq-error` and {eq}`(9) <eq-overtraining>`") == (
        "law {eq}`(3) <eq-error>` and {eq}`(2) <eq-overtraining>`"
    )


def test_an_exercise_of_another_chapter_gets_chapter_and_position_but_own_text_is_kept():
    assert _rewrite("see {ref}`ex-overtraining-evalset`") == "see {ref}`Exercise 2.1 <ex-overtraining-evalset>`"
    assert _rewrite("{ref}`method page <approach-3>`") == "{ref}`method page <approach-3>`"
    # an exercise of the chapter itself resolves in JupyterLab: left bare
    assert _rewrite("{ref}`ex-predicting-loo`") == "{ref}`ex-predicting-loo`"


def test_doc_roles_become_links_to_the_file_and_split_roles_are_joined():
    assert _rewrite("{doc}`chapter 2 <../notebooks/02_overtraining>`") == "[chapter 2](02_overtraining.ipynb)"
    assert _rewrite("{doc}`Chapter 13\n<13_other_labs>`") == "[Chapter 13](13_other_labs.ipynb)"
    assert _rewrite("the {doc}`method page <../book/method>`") == "the [method page](../book/method.md)"
    assert (
        _rewrite("a {term}`relative\nerror <relative error>` here") == "a {term}`relative error <relative error>` here"
    )


def test_rewriting_twice_changes_nothing():
    once = _rewrite("{eq}`eq-error`, {ref}`ex-overtraining-evalset`, {doc}`2 <02_overtraining>`")
    assert _rewrite(once) == once
