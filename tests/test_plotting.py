"""The book's shared presentation helpers: number formats and the colour code of M."""

from __future__ import annotations

import itertools

import matplotlib as mpl
import numpy as np
import pytest

from scalinglib import plotting as pl


@pytest.mark.parametrize(
    ("x", "digits", "text"),
    [
        (2.41e19, 1, "2.4×10¹⁹"),
        (1e12, 0, "10¹²"),
        (3e12, 0, "3×10¹²"),
        (-3.3e-5, 1, "-3.3×10⁻⁵"),
        (9.99e19, 1, "1.0×10²⁰"),
    ],
)
def test_sci_writes_plain_text_scientific_notation_with_superscript_exponents(x, digits, text):
    assert pl.sci(x, digits) == text


@pytest.mark.parametrize(
    ("x", "n", "text"),
    [(12841, 3, "12,800"), (0.71462, 3, "0.715"), (1775.2, 4, "1,775"), (-0.0012345, 2, "-0.0012"), (0.0, 3, "0")],
)
def test_sig_rounds_to_significant_figures_without_an_exponent(x, n, text):
    assert pl.sig(x, n) == text


def test_every_token_multiplier_has_its_own_clearly_distinct_colour():
    rgb = np.array([mpl.colors.to_rgb(pl.M_COLORS[m]) for m in pl.M_VALUES])
    assert len(set(map(tuple, rgb))) == len(pl.M_VALUES)
    # neighbouring multipliers differ by a visible amount in RGB (cividis had ~0.1 here)
    assert np.linalg.norm(np.diff(rgb, axis=0), axis=1).min() > 0.25
    # the nearest testbed value decides the colour of an intermediate M
    assert pl.m_color(27.0) == pl.M_COLORS[20] and pl.m_color(30.0) == pl.M_COLORS[40]


def test_neighbouring_token_multipliers_have_different_line_styles_for_greyscale():
    styles = [pl.m_linestyle(m) for m in pl.M_VALUES]
    assert all(a != b for a, b in itertools.pairwise(styles))
    assert pl.m_linestyle(20) == "-" and pl.m_linestyle(600.0) == pl.M_LINESTYLES[640]
    # every style is one matplotlib draws
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for ls in styles:
        ax.plot([0, 1], [0, 1], ls=ls)
    plt.close(fig)


def test_glue_hands_numpy_scalars_to_myst_nb_as_plain_python_numbers(monkeypatch):
    import myst_nb

    from scalinglib.plotting import glue

    seen = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: seen.append((name, value, display)))
    glue("x", np.float64(0.25))
    glue("n", np.int64(3), display=True)
    glue("s", "text")
    assert seen == [("x", 0.25, False), ("n", 3, True), ("s", "text", False)]
    assert type(seen[0][1]) is float and type(seen[1][1]) is int


def test_glue_sets_the_value_on_glued_in_the_ipython_namespace_for_the_prose_eval_roles(monkeypatch):
    import types

    import IPython
    import myst_nb

    from scalinglib.plotting import Glued, glue

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: None)
    shell = types.SimpleNamespace(user_ns={})
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    glue("rpj_1b_rel", np.float64(0.71))
    glue("n_runs", 5)
    glued = shell.user_ns["glued"]
    assert isinstance(glued, Glued) and glued.rpj_1b_rel == 0.71 and type(glued.rpj_1b_rel) is float
    assert f"{glued.rpj_1b_rel:.1f} {glued.n_runs:d}" == "0.7 5"
    # a reader's own variable called glued is never overwritten
    shell.user_ns["glued"] = [1, 2]
    with pytest.raises(TypeError, match="'glued' is taken"):
        glue("x", 1.0)
    with pytest.raises(ValueError, match="not a Python identifier"):
        glue("loss-rel", 1.0)


def test_glue_outside_ipython_only_glues(monkeypatch):
    import IPython
    import myst_nb

    from scalinglib.plotting import glue

    seen = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: seen.append(name))
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    glue("x", 1.0)
    assert seen == ["x"]
