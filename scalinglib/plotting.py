"""One plotting style for the book: colour-blind-safe colours, labelled log axes.

Colours follow the Okabe-Ito palette (safe for the common forms of colour
blindness). Token multipliers M get colours, model sizes get markers, training
sets get their own colours, so that a reader learns one code for every chapter.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.rcsetup import cycler

from .data import DATASET_LABELS, MODEL_LABELS

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = [
    "OKABE_ITO",
    "M_COLORS",
    "DATASET_COLORS",
    "SIZE_MARKERS",
    "AXIS_LABELS",
    "use_style",
    "style",
    "m_color",
    "m_linestyle",
    "size_marker",
    "dataset_label",
    "size_label",
    "log_axes",
    "sci",
    "sig",
    "glue",
    "Glued",
]

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",  # Okabe-Ito "reddish purple": reads as pink; call it pink in prose
}

#: Colour of each token multiplier M of the testbed: eight colours of Paul Tol's
#: colour-blind-safe schemes, ordered from cool (few tokens per parameter, M = 5: indigo)
#: to warm (over-trained, M = 640: magenta), so that neighbouring multipliers stay distinct
#: (a continuous colour map made M = 20, 40 and 80 look alike).
M_VALUES = (5, 10, 20, 40, 80, 160, 320, 640)
M_COLORS = dict(zip(M_VALUES, ("#332288", "#4477AA", "#66CCEE", "#228833", "#CCBB44", "#EE7733", "#CC3311", "#EE3377")))

#: Line style of each token multiplier M, so that lines of different multipliers stay apart
#: in greyscale and where two colours are close (M = 320 and 640): solid at the
#: compute-optimal M = 20, dash patterns elsewhere, no two neighbouring multipliers alike.
M_LINESTYLES = dict(
    zip(
        M_VALUES,
        (
            (0, (1, 1.5)),
            (0, (4, 1.5, 1, 1.5)),
            "-",
            (0, (6, 2)),
            (0, (1, 1.5)),
            (0, (4, 1.5, 1, 1.5)),
            (0, (6, 2)),
            (0, (1.5, 2)),
        ),
    )
)

DATASET_COLORS = {"c4_original": OKABE_ITO["blue"], "rpj": OKABE_ITO["vermillion"], "rw_original": OKABE_ITO["green"]}

#: Marker of each model size.
SIZE_MARKERS = {
    "d=96_l=8_h=4": "o",
    "d=512_l=8_h=4": "s",
    "d=576_l=24_h=8": "^",
    "d=1024_l=24_h=8": "D",
    "open_lm_1b": "P",
    "open_lm_7b": "*",
}

#: Axis labels with units.
AXIS_LABELS = {
    "C": "training compute C (FLOPs)",
    "N": "parameters N",
    "D": "training tokens D",
    "M": "token multiplier M = D / N",
    "loss": "loss L (nats/token)",
    "reducible": "reducible loss L - E (nats/token)",
    "err": "average top-1 error",
    "err_subset": "17-task average top-1 error",
    "err_avg": "46-task average top-1 error",
    "rel_error": "relative prediction error (%)",
}

_RC: dict[RcKeyType, Any] = {
    "figure.figsize": (6.4, 4.2),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "axes.prop_cycle": cycler(
        color=[OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "sky", "purple", "yellow", "black")]
    ),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "lines.markersize": 6,
}


def use_style() -> None:
    """Apply the book's matplotlib style for the rest of the session."""
    mpl.rcParams.update(_RC)


@contextmanager
def style():
    """The book's style, for a ``with`` block only."""
    with mpl.rc_context(_RC):
        yield


def m_color(M: float) -> str:
    """Colour of token multiplier M (nearest testbed value)."""
    key = min(M_VALUES, key=lambda m: abs(np.log(m) - np.log(M)))
    return M_COLORS[key]


def m_linestyle(M: float):
    """Line style of token multiplier M (nearest testbed value), see ``M_LINESTYLES``."""
    key = min(M_VALUES, key=lambda m: abs(np.log(m) - np.log(M)))
    return M_LINESTYLES[key]


def size_marker(model: str) -> str:
    return SIZE_MARKERS.get(model, "o")


def size_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def dataset_label(dataset: str) -> str:
    return DATASET_LABELS.get(dataset, dataset)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float, digits: int = 1) -> str:
    """A number in plain-text scientific notation, for tables and prose.

    ``sci(2.41e19)`` is ``'2.4×10¹⁹'``; with ``digits=0`` a mantissa of one is left out
    (``sci(1e12, 0)`` is ``'10¹²'``).
    """
    mant, exp = f"{float(x):.{digits}e}".split("e")
    power = "10" + str(int(exp)).translate(_SUPERSCRIPT)
    return power if digits == 0 and float(mant) == 1 else f"{mant}×{power}"


def sig(x: float, n: int = 3) -> str:
    """``x`` rounded to ``n`` significant figures, without an exponent: 12841 -> '12,800', 0.71462 -> '0.715'."""
    x = float(x)
    if not np.isfinite(x) or x == 0:
        return f"{x:g}"
    d = n - 1 - int(np.floor(np.log10(abs(x))))
    return f"{round(x, d):,.{max(d, 0)}f}"


class Glued:
    """The numbers a chapter has glued, as attributes: ``glued.rpj_1b_rel``.

    The chapters' prose quotes them with MyST's ``{eval}`` role, e.g.
    ``{eval}`f"{glued.rpj_1b_rel:.2f}"```, which JupyterLab (jupyterlab-myst) evaluates in
    the kernel and the book resolves from the glued outputs (``book/_ext/eval_glue.py``).
    """

    def __repr__(self) -> str:
        return f"Glued({', '.join(sorted(vars(self)))})"


def glue(name: str, value, display: bool = False) -> None:
    """Glue ``value`` under ``name`` for a chapter's prose (myst-nb's ``glue``), numbers as plain Python.

    ``{glue:text}`` formats the text of a value, which must not read ``np.float64(...)``:
    a numpy scalar is glued as its Python value (``value.item()``). Needs myst-nb (the
    ``book`` extra), imported on the first call.

    In an IPython kernel the value is also set as ``glued.<name>`` on a :class:`Glued`
    object named ``glued`` in the kernel's namespace (created on the first call), so that the
    prose's ``{eval}`` roles render in JupyterLab after Run All as they do in the book.
    ``name`` must therefore be a Python identifier.
    """
    from myst_nb import glue as myst_glue

    if not name.isidentifier():
        raise ValueError(f"glue name {name!r} is not a Python identifier ({{eval}}`glued.NAME` needs one)")
    value = value.item() if isinstance(value, np.generic) else value
    myst_glue(name, value, display=display)
    _set_in_kernel(name, value)


def _set_in_kernel(name: str, value) -> None:
    """``glued.<name> = value`` in the running IPython kernel's namespace; nothing outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: no kernel, nothing to evaluate the prose in
        return
    shell = get_ipython()
    if shell is None:
        return
    glued = shell.user_ns.setdefault("glued", Glued())
    if not isinstance(glued, Glued):
        raise TypeError(f"the kernel's name 'glued' is taken by a {type(glued).__name__}; the chapters' prose reads it")
    setattr(glued, name, value)


def log_axes(
    ax: plt.Axes, x: str | None = None, y: str | None = None, logx: bool = True, logy: bool = True
) -> plt.Axes:
    """Log-scale the axes and label them from :data:`AXIS_LABELS` (or the text given)."""
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if x is not None:
        ax.set_xlabel(AXIS_LABELS.get(x, x))
    if y is not None:
        ax.set_ylabel(AXIS_LABELS.get(y, y))
    return ax


# ----------------------------------------------------------------------------- chapters 1-4
# Legend helpers and per-training-set panels used by chapters 1-4 (added by the chapters 1-4 helper).

from matplotlib.lines import Line2D


def size_handles(models, color: str = "0.35", **kw) -> list:
    """Legend handles: one marker per model size (grey unless ``color`` is given)."""
    return [Line2D([], [], ls="none", marker=size_marker(m), color=color, label=size_label(m), **kw) for m in models]


def m_handles(Ms, marker: str = "o", **kw) -> list:
    """Legend handles: one colour per token multiplier M, labelled "M = ..."."""
    return [Line2D([], [], ls="none", marker=marker, color=m_color(M), label=f"M = {M:g}", **kw) for M in Ms]


def legend_outside(
    fig: plt.Figure, handles: list, ncol: int | None = None, title: str | None = None, loc: str = "lower center", **kw
):
    """One legend for the whole figure, outside the panels so it covers no data.

    Uses matplotlib's ``"outside ..."`` locations, which need a figure made with
    ``layout="constrained"`` (as :func:`dataset_panels` does). ``loc`` is e.g.
    ``"lower center"`` (below the panels) or ``"right upper"``. Other keywords
    (``fontsize``, ``markerscale``, ...) go to :meth:`matplotlib.figure.Figure.legend`.
    """
    ncol = ncol or min(len(handles), 6)
    where: Any = f"outside {loc}"  # the "outside ..." locations are missing from matplotlib's LegendLocType
    return fig.legend(handles=handles, loc=where, ncol=ncol, title=title, frameon=False, **kw)


def dataset_panels(datasets, sharex: bool = True, sharey: bool = True, height: float = 3.6, width: float = 3.9):
    """A row of panels, one per training set, titled with its name.

    Returns ``(fig, axes)`` with ``axes`` a list in the order of ``datasets``.
    """
    fig, axes = plt.subplots(
        1,
        len(datasets),
        figsize=(width * len(datasets), height),
        sharex=sharex,
        sharey=sharey,
        squeeze=False,
        layout="constrained",
    )
    panels = list(axes[0])
    for ax, ds in zip(panels, datasets):
        ax.set_title(dataset_label(ds))
    return fig, panels


def plain_ticks(ax: plt.Axes, x=None, y=None, fmt: str = "{:g}") -> plt.Axes:
    """Put ticks at the given values of a log axis, labelled as plain numbers, minor labels off."""
    for ticks, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if ticks is None:
            continue
        axis.set_major_locator(mpl.ticker.FixedLocator(ticks))
        axis.set_major_formatter(mpl.ticker.FixedFormatter([fmt.format(t) for t in ticks]))
        axis.set_minor_formatter(mpl.ticker.NullFormatter())
    return ax


# ----------------------------------------------------------------------------- chapters 5-8
# Labels, relative-error heatmaps and frontier lines used by chapters 5-8 (added by the chapters 5-8 helper).

#: Readable names of the eight loss evaluation sets.
EVAL_SET_LABELS = {
    "openlm": "OpenLM eval",
    "c4_val": "C4 eval",
    "paloma_c4_en": "Paloma C4",
    "paloma_dolma_100_programing_languages": "Paloma code (100 languages)",
    "paloma_falcon-refinedweb": "Paloma RefinedWeb",
    "paloma_ptb": "Paloma Penn Treebank",
    "paloma_redpajama": "Paloma RedPajama",
    "val_de-en_100": "German (de-en)",
}

#: Readable names of well-known downstream tasks (others: underscores become spaces).
TASK_LABELS = {
    "arc_easy": "ARC-Easy",
    "arc_challenge": "ARC-Challenge",
    "hellaswag": "HellaSwag (10-shot)",
    "hellaswag_zeroshot": "HellaSwag (0-shot)",
    "lambada_openai": "LAMBADA",
    "piqa": "PIQA",
    "copa": "COPA",
    "coqa": "CoQA",
    "boolq": "BoolQ",
    "squad": "SQuAD",
    "winograd": "Winograd",
    "winogrande": "WinoGrande",
    "mmlu": "MMLU (5-shot)",
    "mmlu_zeroshot": "MMLU (0-shot)",
    "commonsense_qa": "CommonsenseQA",
    "openbook_qa": "OpenBookQA",
    "pubmed_qa_labeled": "PubMedQA",
    "siqa": "Social IQa",
    "jeopardy": "Jeopardy",
    "logi_qa": "LogiQA",
    "math_qa": "MathQA",
    "bbq": "BBQ",
}

#: Bin edges (in %) of the shared colour scale of relative-error heatmaps.
REL_ERROR_BINS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)


def eval_set_label(name: str) -> str:
    """Readable name of a loss evaluation set."""
    return EVAL_SET_LABELS.get(name, name)


def task_label(task: str) -> str:
    """Readable name of a downstream task."""
    return TASK_LABELS.get(
        task, task.replace("bigbench_", "BIG-bench ").replace("agi_eval_", "AGIEval ").replace("_", " ")
    )


def percent_axis(ax: plt.Axes, axis: str = "y") -> plt.Axes:
    """Label an axis whose values are fractions as percentages (0.05 -> "5%", 1e-4 -> "0.01%").

    Works on linear and log axes (labels use the shortest exact form, ``{:g}``).
    """
    fmt = mpl.ticker.FuncFormatter(lambda v, _pos: f"{100 * v:.6g}%")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    target.set_minor_formatter(mpl.ticker.NullFormatter())  # log axes would label minor ticks without "%"
    return ax


def rel_error_norm(bins=REL_ERROR_BINS, cmap: str = "YlOrRd"):
    """A shared (cmap, norm) pair for relative errors in %, binned at ``bins`` (values above the last bin saturate)."""
    base = mpl.colormaps[cmap]
    n = len(bins)  # n - 1 bins plus one "above" bin
    colors = base(np.linspace(0.05, 0.95, n))
    cm = mpl.colors.ListedColormap(colors[:-1])
    cm.set_over(colors[-1])
    norm = mpl.colors.BoundaryNorm(list(bins), cm.N)
    return cm, norm


def rel_error_heatmap(
    ax: plt.Axes,
    grid,
    value: str,
    fit_flag: str | None = None,
    annotate: bool = True,
    bins=REL_ERROR_BINS,
    cmap: str = "YlOrRd",
    fontsize: float = 9.5,
):
    """Heatmap of a relative error over the (N, M) grid: rows N (small at the bottom), columns M.

    ``grid`` is a tidy table with columns ``N``, ``M``, ``model`` and ``value``
    (fractions; shown in %). Cells of runs with ``fit_flag`` True are outlined in
    black (fitting runs); rows flagged ``is_target`` get a star after the number.
    Missing (N, M) pairs are left blank. ``fontsize`` (points) sets the cell labels.
    Returns the image (for a colour bar).
    """
    import pandas as pd  # local: the style module does not otherwise need pandas

    cm, norm = rel_error_norm(bins, cmap)
    Ns = sorted(grid["N"].unique())
    Ms = sorted(grid["M"].unique())
    table = grid.pivot_table(index="N", columns="M", values=value, aggfunc="first").reindex(index=Ns, columns=Ms)
    img = ax.imshow(100 * table.to_numpy(), origin="lower", aspect="auto", cmap=cm, norm=norm)
    names = grid.drop_duplicates("N").set_index("N")["model"]
    ax.set_xticks(range(len(Ms)), [f"{m:g}" for m in Ms])
    ax.set_yticks(range(len(Ns)), [size_label(names[n]) for n in Ns])
    ax.set_xlabel(AXIS_LABELS["M"])
    ax.set_ylabel("model size N")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for _, r in grid.iterrows():
        i, j = Ns.index(r["N"]), Ms.index(r["M"])
        v = 100 * r[value]
        if annotate and pd.notna(v):
            txt = f"{v:.1f}" if v < 99.5 else f"{v:.0f}"
            if bool(r.get("is_target", False)):
                txt += "*"
            dark = v >= bins[min(4, len(bins) - 1)]
            ax.text(j, i, txt, ha="center", va="center", fontsize=fontsize, color="white" if dark else "black")
        if fit_flag is not None and bool(r[fit_flag]):
            ax.add_patch(mpl.patches.Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False, lw=1.8, ec="black"))
    return img


def frontier_line(ax: plt.Axes, x, y, **kw):
    """Draw an efficient frontier as a step line through points sorted by x (compute)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(x)
    kw.setdefault("where", "post")
    kw.setdefault("color", "0.25")
    kw.setdefault("lw", 1.2)
    kw.setdefault("zorder", 1)
    return ax.step(x[order], y[order], **kw)
