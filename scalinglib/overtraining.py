r"""Analysis helpers for the book's first chapters: the testbed, over-training, loss to error.

Three groups of pure functions on the testbed table of :func:`scalinglib.data.load_testbed`:

* testbed summaries: compute spans per model size, mean loss per evaluation set, the
  downstream tasks with their chance error and observed error range, the chance level
  of a split, and the small-model hyperparameter search;
* per-M compute laws (Gadre et al. 2024, section 2): for a fixed token multiplier M
  the over-training law is a power law in compute with an irreducible term,

  .. math:: L(C) = E + \lambda(M)\, C^{-\eta},\qquad \lambda(M) = a M^{\eta} + b M^{-\eta},

  so the exponent eta should not depend on M. :func:`per_multiplier_fits` fits one
  compute law per M with the irreducible loss E shared by the training set (taken from
  the over-training law fitted on all of its small-model runs) and reports eta(M) and
  lambda(M); :func:`free_floor_fits` fits every M on its own (E free) for comparison;
* loss to error: :func:`split_summary` compares the 46-task and 17-task splits.

Every fit here minimises squared raw residuals, as the paper does.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from .data import DEFAULT_EVAL, EVAL_SETS, MODEL_LABELS, SUBSET_TASKS, task_columns
from .fit import SEARCH_BOXES, FitError, FitResult, FitWarning, fit_compute, fit_overtraining
from .laws import ComputeLaw
from .paper import SMALL_MODELS, default_config

__all__ = [
    "TESTBED_MODELS",
    "M_VALUES",
    "missing_cells",
    "compute_spans",
    "eval_set_table",
    "task_table",
    "chance_level",
    "search_summary",
    "FixedFloorFit",
    "fit_compute_fixed_floor",
    "shared_floor",
    "per_multiplier_fits",
    "free_floor_fits",
    "optimal_multiplier",
    "chance_gaps",
    "split_summary",
    "headroom_errors",
]

#: The testbed's model names, smallest first.
TESTBED_MODELS: tuple[str, ...] = SMALL_MODELS + ("open_lm_1b", "open_lm_7b")


def _check_columns(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df]
    if missing:
        raise KeyError(f"column {missing[0]!r} missing from the testbed table")


def _check_dataset(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    _check_columns(df, ["dataset"])
    d = df[df["dataset"] == dataset]
    if d.empty:
        raise KeyError(f"training set {dataset!r} not in the table (has {sorted(df['dataset'].unique())})")
    return d


# ----------------------------------------------------------------------------- testbed summaries


#: The token multipliers of the small-model grid.
M_VALUES: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)


def missing_cells(
    df: pd.DataFrame, models: Sequence[str] = SMALL_MODELS, Ms: Sequence[float] = M_VALUES
) -> pd.DataFrame:
    """Cells (training set, model, M) of the full small-model grid that have no run.

    Returns columns ``dataset``, ``model``, ``size``, ``M`` (empty when the grid is full).
    """
    _check_columns(df, ["dataset", "model", "M"])
    have = {(d, m, float(M)) for d, m, M in zip(df["dataset"], df["model"], df["M"])}
    rows = [
        {"dataset": d, "model": m, "size": MODEL_LABELS.get(m, m), "M": float(M)}
        for d in sorted(df["dataset"].unique())
        for m in models
        for M in Ms
        if (d, m, float(M)) not in have
    ]
    return pd.DataFrame(rows, columns=["dataset", "model", "size", "M"])


def compute_spans(df: pd.DataFrame) -> pd.DataFrame:
    """Training compute of each model size: fewest and most FLOPs, and the M covered.

    Returns one row per model size (smallest first) with ``size``, ``N``, ``runs``
    (over all training sets), ``M_min``, ``M_max``, ``C_min``, ``C_max`` (FLOPs,
    C = 6 N D) and ``C_ratio`` = C_max / C_min.
    """
    _check_columns(df, ["model", "N", "M", "C"])
    g = df.groupby("model", sort=False)
    out = pd.DataFrame(
        {
            "N": g["N"].first(),
            "runs": g.size(),
            "M_min": g["M"].min(),
            "M_max": g["M"].max(),
            "C_min": g["C"].min(),
            "C_max": g["C"].max(),
        }
    )
    out["C_ratio"] = out["C_max"] / out["C_min"]
    out = out.sort_values("N")
    out.insert(0, "size", [MODEL_LABELS.get(m, m) for m in out.index])
    return out.reset_index()


def eval_set_table(df: pd.DataFrame, model: str = "open_lm_7b", M: float = 20.0) -> pd.DataFrame:
    """Loss of one (model, M) on each of the 8 evaluation sets, one column per training set.

    Rows are the evaluation sets of :data:`scalinglib.data.EVAL_SETS`; a final column
    ``mean`` averages over the training sets.
    """
    _check_columns(df, ["dataset", "model", "M"] + [f"loss_{e}" for e in EVAL_SETS])
    rows = df[(df["model"] == model) & np.isclose(df["M"], M)]
    if rows.empty:
        raise KeyError(f"no run of model {model!r} at M = {M:g} in the table")
    t = rows.set_index("dataset")[[f"loss_{e}" for e in EVAL_SETS]].T
    t.index = list(EVAL_SETS)
    t.index.name = "evaluation set"
    t["mean"] = t.mean(axis=1)
    return t


def task_table(df: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """The downstream tasks: metadata, chance error and the error range the testbed reaches.

    Parameters
    ----------
    df
        Testbed table (``err_<task>`` columns).
    meta
        :func:`scalinglib.data.load_task_metadata`.

    Returns
    -------
    pandas.DataFrame
        One row per task (17-task split first, then by category and name) with ``task``,
        ``category``, ``shots``, ``chance_error``, ``in_subset``, ``err_min`` and
        ``err_max`` over all runs, and ``best_below_chance`` = chance_error - err_min
        (how far the best run gets below chance).
    """
    tasks = task_columns(df)
    unknown = sorted(set(tasks) - set(meta["task"]))
    if unknown:
        raise KeyError(f"task {unknown[0]!r} has no row in the task metadata")
    m = meta.set_index("task").loc[tasks]
    err = df[[f"err_{t}" for t in tasks]]
    out = pd.DataFrame(
        {
            "task": tasks,
            "category": m["category"].to_numpy(),
            "shots": m["shots"].to_numpy(),
            "chance_error": m["chance_error"].to_numpy(),
            "in_subset": m["in_subset"].to_numpy(),
            "err_min": err.min().to_numpy(),
            "err_max": err.max().to_numpy(),
        }
    )
    out["best_below_chance"] = out["chance_error"] - out["err_min"]
    return out.sort_values(["in_subset", "category", "task"], ascending=[False, True, True]).reset_index(drop=True)


def chance_level(meta: pd.DataFrame, split: str = "avg_subset") -> float:
    """Mean chance error over a split's tasks: the error of a model that guesses.

    ``split`` is ``"avg_subset"`` (the 17 tasks), ``"avg"`` (all 46) or a task name.
    Chance error = 1 - random-baseline accuracy (1 for free-form answers).
    """
    if split == "avg":
        sel = meta
    elif split == "avg_subset":
        sel = meta[meta["task"].isin(SUBSET_TASKS)]
        if len(sel) != len(SUBSET_TASKS):
            raise KeyError("the task metadata lacks some of the 17 tasks of the split")
    else:
        sel = meta[meta["task"] == split]
        if sel.empty:
            raise KeyError(f"task {split!r} not in the task metadata")
    return float(sel["chance_error"].mean())


def search_summary(grid: pd.DataFrame, chosen: Sequence[str] = SMALL_MODELS) -> pd.DataFrame:
    """Best run of every architecture in the hyperparameter search.

    Parameters
    ----------
    grid
        :func:`scalinglib.data.load_hyperparameter_search`.
    chosen
        Architectures used in the testbed (flagged ``chosen``).

    Returns
    -------
    pandas.DataFrame
        One row per architecture with ``model``, ``tokens`` (its training budget),
        ``runs``, ``best_loss``, the ``warmup`` and ``global_bs`` of the best run, the
        spread ``worst_loss - best_loss`` over its runs, ``frontier`` (no architecture
        trained on at most as many tokens reaches a lower loss) and ``chosen``.
    """
    _check_columns(grid, ["model", "tokens", "loss", "warmup", "global_bs"])
    best = grid.loc[grid.groupby("model")["loss"].idxmin()]
    out = pd.DataFrame(
        {
            "model": best["model"].to_numpy(),
            "tokens": best["tokens"].to_numpy(),
            "runs": grid.groupby("model").size().loc[best["model"]].to_numpy(),
            "best_loss": best["loss"].to_numpy(),
            "warmup": best["warmup"].to_numpy(),
            "global_bs": best["global_bs"].to_numpy(),
            "spread": (grid.groupby("model")["loss"].max().loc[best["model"]] - best["loss"].to_numpy()).to_numpy(),
        }
    ).sort_values(["tokens", "best_loss"])
    running = np.minimum.accumulate(out["best_loss"].to_numpy())
    # on the frontier: best among all architectures with at most this many tokens
    out["frontier"] = out["best_loss"].to_numpy() <= running
    out["chosen"] = out["model"].isin(chosen)
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------- per-M compute laws


@dataclass(frozen=True)
class FixedFloorFit:
    r"""A compute law :math:`L = E + \lambda C^{-\eta}` fitted with E given.

    ``eta_fixed`` is True when eta was given too (only lambda fitted); ``on_edge`` when
    the fitted eta lies on the edge of the search box.
    """

    law: ComputeLaw
    sse: float
    n_points: int
    eta_fixed: bool
    on_edge: bool

    @property
    def rmse(self) -> float:
        return float(np.sqrt(self.sse / self.n_points))


def _lam_for(eta: np.ndarray, lc: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact least-squares lambda >= 0 and SSE of r = lambda C^-eta for each eta."""
    F = np.exp(-np.outer(eta, lc))  # (G, n)
    lam = np.maximum((F @ r) / np.einsum("gn,gn->g", F, F), 0.0)
    res = r[None, :] - lam[:, None] * F
    return lam, np.einsum("gn,gn->g", res, res)


def fit_compute_fixed_floor(
    C, L, E: float, eta: float | None = None, box: tuple[float, float, int] | None = None
) -> FixedFloorFit:
    r"""Least-squares fit of :math:`L = E + \lambda C^{-\eta}` with the floor E held fixed.

    Minimises :math:`\sum_i (L_i - E - \lambda C_i^{-\eta})^2` over lambda >= 0 and,
    unless ``eta`` is given, over eta in ``box`` (default ``SEARCH_BOXES["compute"]``).
    For a fixed eta, lambda is the closed-form least-squares solution; eta is found on
    a dense grid and refined by bounded scalar minimisation.

    Raises
    ------
    FitError
        Non-positive or non-finite C or L, unequal lengths, fewer than 2 points (1 with
        eta given), or an E not below every loss (then L - E has no power law).
    """
    C = np.asarray(C, dtype=float).ravel()
    L = np.asarray(L, dtype=float).ravel()
    if C.size != L.size:
        raise FitError(f"C and L have different lengths: {C.size} and {L.size}")
    for name, a in (("C", C), ("L", L)):
        if a.size == 0 or np.any(~np.isfinite(a)) or np.any(a <= 0):
            raise FitError(f"{name} must be non-empty, finite and positive")
    if not np.isfinite(E):
        raise FitError(f"E must be finite, got {E!r}")
    if np.any(L <= E):
        raise FitError(f"E = {E:.4g} is not below every loss (smallest loss {L.min():.4g})")
    need = 1 if eta is not None else 2
    if C.size < need:
        raise FitError(f"need at least {need} points, got {C.size}")
    lc, r = np.log(C), L - E
    if eta is not None:
        lam, sse = _lam_for(np.array([float(eta)]), lc, r)
        return FixedFloorFit(
            ComputeLaw(E=float(E), lam=float(lam[0]), eta=float(eta)), float(sse[0]), C.size, True, False
        )
    lo, hi, n = box or SEARCH_BOXES["compute"]["eta"]
    grid = np.linspace(lo, hi, n)
    _, sse = _lam_for(grid, lc, r)
    i = int(np.argmin(sse))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, n - 1)]
    res = optimize.minimize_scalar(
        lambda t: float(_lam_for(np.array([t]), lc, r)[1][0]), bounds=(a, b), method="bounded", options={"xatol": 1e-12}
    )
    e = float(res.x) if res.fun <= sse[i] else float(grid[i])
    lam, s = _lam_for(np.array([e]), lc, r)
    return FixedFloorFit(ComputeLaw(E=float(E), lam=float(lam[0]), eta=e), float(s[0]), C.size, False, i in (0, n - 1))


def shared_floor(
    df: pd.DataFrame, dataset: str, eval_set: str = DEFAULT_EVAL, models: Sequence[str] = SMALL_MODELS
) -> FitResult:
    r"""The over-training law :math:`L(C, M) = E + (a M^\eta + b M^{-\eta}) C^{-\eta}` on all runs of ``models``.

    By default the four small models at every M of the training set (31 or 32 runs).
    Its E is the irreducible loss shared by the per-M fits.
    """
    d = _check_dataset(df, dataset)
    col = f"loss_{eval_set}"
    _check_columns(df, [col, "C", "M", "model"])
    d = d[d["model"].isin(models)]
    if d.empty:
        raise KeyError(f"no run of {list(models)} in training set {dataset!r}")
    return fit_overtraining(d["C"].to_numpy(), d["M"].to_numpy(), d[col].to_numpy())


def per_multiplier_fits(
    df: pd.DataFrame, dataset: str, eval_set: str = DEFAULT_EVAL, models: Sequence[str] = SMALL_MODELS
) -> pd.DataFrame:
    r"""One compute law :math:`L = E + \lambda C^{-\eta}` per token multiplier M, E shared.

    E comes from :func:`shared_floor` (the over-training law on all runs of ``models``).
    For every M the runs of ``models`` at that M give two fits:

    * ``eta``, ``lambda``: exponent and offset both free (:func:`fit_compute_fixed_floor`);
    * ``lambda_shared_eta``: offset alone, with eta fixed to the over-training law's,
      to compare with the law's :math:`\lambda(M) = a M^\eta + b M^{-\eta}` (``lambda_law``).

    Returns one row per M with ``dataset``, ``M``, ``runs``, ``E``, ``eta``, ``lambda``,
    ``rmse``, ``on_edge``, ``eta_law``, ``lambda_shared_eta``, ``lambda_law``.
    """
    law = shared_floor(df, dataset, eval_set, models).law
    d = _check_dataset(df, dataset)
    d = d[d["model"].isin(models)]
    col = f"loss_{eval_set}"
    rows = []
    for M, g in d.groupby("M"):
        C, L = g["C"].to_numpy(), g[col].to_numpy()
        free = fit_compute_fixed_floor(C, L, law.E)
        fixed = fit_compute_fixed_floor(C, L, law.E, eta=law.eta)
        rows.append(
            {
                "dataset": dataset,
                "M": float(M),
                "runs": len(g),
                "E": law.E,
                "eta": free.law.eta,
                "lambda": free.law.lam,
                "rmse": free.rmse,
                "on_edge": free.on_edge,
                "eta_law": law.eta,
                "lambda_shared_eta": fixed.law.lam,
                "lambda_law": float(law.offset(M)),
            }
        )
    return pd.DataFrame(rows)


def free_floor_fits(
    df: pd.DataFrame, dataset: str, eval_set: str = DEFAULT_EVAL, models: Sequence[str] = SMALL_MODELS
) -> pd.DataFrame:
    r"""One compute law :math:`L = E + \lambda C^{-\eta}` per M with E, lambda and eta all free.

    The comparison for :func:`per_multiplier_fits`: with four runs per M and three
    parameters the floor is poorly determined. Returns one row per M with ``M``,
    ``runs``, ``E``, ``eta``, ``lambda``, ``flagged`` (the fit raised a
    :class:`~scalinglib.fit.FitWarning`, e.g. eta on the edge of the box) and ``notes``.
    """
    d = _check_dataset(df, dataset)
    d = d[d["model"].isin(models)]
    col = f"loss_{eval_set}"
    rows = []
    for M, g in d.groupby("M"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            f = fit_compute(g["C"].to_numpy(), g[col].to_numpy())
        rows.append(
            {
                "dataset": dataset,
                "M": float(M),
                "runs": len(g),
                "E": f.law.E,
                "eta": f.law.eta,
                "lambda": f.law.lam,
                "flagged": bool(f.notes),
                "notes": "; ".join(f.notes),
            }
        )
    return pd.DataFrame(rows)


def optimal_multiplier(law) -> float:
    r"""The token multiplier that minimises loss at fixed compute, :math:`M^* = (b / a)^{1 / (2\eta)}`.

    Delegates to :meth:`scalinglib.laws.OvertrainingLaw.optimal_multiplier`; raises
    ``ValueError`` unless a, b and eta are positive.
    """
    return law.optimal_multiplier()


# ----------------------------------------------------------------------------- loss to error


def chance_gaps(df: pd.DataFrame, meta: pd.DataFrame, model: str) -> pd.DataFrame:
    """How far below chance one model size gets on each task (mean over its runs).

    Returns one row per task, largest gap first, with ``task``, ``in_subset``,
    ``chance_error``, ``err`` (mean error of the model's runs) and ``gap`` =
    chance_error - err (positive: better than guessing).
    """
    rows = df[df["model"] == model]
    if rows.empty:
        raise KeyError(f"no run of model {model!r} in the table")
    tasks = task_columns(df)
    m = meta.set_index("task")
    unknown = sorted(set(tasks) - set(m.index))
    if unknown:
        raise KeyError(f"task {unknown[0]!r} has no row in the task metadata")
    err = np.array([rows[f"err_{t}"].mean() for t in tasks])
    out = pd.DataFrame(
        {
            "task": tasks,
            "in_subset": m.loc[tasks, "in_subset"].to_numpy(),
            "chance_error": m.loc[tasks, "chance_error"].to_numpy(),
            "err": err,
        }
    )
    out["gap"] = out["chance_error"] - out["err"]
    return out.sort_values("gap", ascending=False).reset_index(drop=True)


def split_summary(
    df: pd.DataFrame, meta: pd.DataFrame, datasets: Sequence[str], eval_set: str = DEFAULT_EVAL
) -> pd.DataFrame:
    """How predictable each split's average error is from loss, per training set.

    For each training set and split (``"avg"`` = 46 tasks, ``"avg_subset"`` = 17 tasks):
    the split's chance level (:func:`chance_level`); ``err_small``, the mean error of
    the smallest model's runs and ``err_best``, the lowest error reached; ``headroom`` =
    chance - err_best; ``small_gap`` = chance - err_small (how far the smallest model is
    from guessing); the error law of the paper's default configuration
    (:func:`scalinglib.paper.default_config`, fitted on 6 runs) and its mean and maximum
    absolute relative error over every run of the training set (``mean_rel_error``,
    ``max_rel_error``, fractions), its root-mean-square error ``rmse`` and coefficient
    of determination ``r2`` over those runs, and ``err_range`` = max - min observed error.
    """
    from .paper import fit_config

    rows = []
    for ds in datasets:
        d = _check_dataset(df, ds)
        for split in ("avg", "avg_subset"):
            col = f"err_{split}"
            fitted = fit_config(df, default_config(ds, eval_set, split))
            pred = fitted.error_law.predict(d[f"loss_{eval_set}"].to_numpy())
            y = d[col].to_numpy()
            rel = np.abs(pred - y) / y
            r2 = 1.0 - float(np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
            chance = chance_level(meta, split)
            small = d[d["model"] == TESTBED_MODELS[0]][col]
            rows.append(
                {
                    "dataset": ds,
                    "split": split,
                    "chance": chance,
                    "err_small": float(small.mean()),
                    "err_best": float(d[col].min()),
                    "small_gap": chance - float(small.mean()),
                    "headroom": chance - float(d[col].min()),
                    **{k: v for k, v in fitted.error_law.params.items()},
                    "err_range": float(y.max() - y.min()),
                    "rmse": float(np.sqrt(np.mean((y - pred) ** 2))),
                    "r2": r2,
                    "mean_rel_error": float(rel.mean()),
                    "max_rel_error": float(rel.max()),
                }
            )
    return pd.DataFrame(rows)


def headroom_errors(predictions: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    r"""Add the error of a downstream prediction relative to the room below chance.

    A relative error :math:`|\hat e - e| / e` flatters a split whose error stays near
    chance: e is large and barely moves. Measured against the improvement over guessing,

    .. math:: \text{headroom error} = |\hat e - e| / (e_\text{chance} - e),

    it says which fraction of the model's gain over chance was mispredicted.

    Parameters
    ----------
    predictions
        Rows with ``downstream``, ``err_observed``, ``err_predicted`` (e.g.
        :func:`scalinglib.paper.reproduce`).
    meta
        :func:`scalinglib.data.load_task_metadata`.

    Returns
    -------
    pandas.DataFrame
        A copy with ``chance`` (:func:`chance_level` of the row's split) and
        ``err_headroom_error`` (fraction). Raises ``ValueError`` for an observed error at
        or above chance, where the measure is undefined.
    """
    _check_columns(predictions, ["downstream", "err_observed", "err_predicted"])
    out = predictions.copy()
    out["chance"] = [chance_level(meta, d) for d in out["downstream"]]
    room = out["chance"] - out["err_observed"]
    if (room <= 0).any():
        i = int(np.flatnonzero((room <= 0).to_numpy())[0])
        raise ValueError(f"row {i}: observed error {out['err_observed'].iloc[i]:.4g} is not below chance")
    out["err_headroom_error"] = (out["err_predicted"] - out["err_observed"]).abs() / room
    return out
