r"""How far the paper's laws carry: every run, every task, every evaluation set, every fit budget.

Each function fits the paper's two laws (Gadre et al. 2024) on a documented set of
runs of one training set and returns a tidy :class:`pandas.DataFrame` of predictions
and relative errors. The laws are

* loss:  :math:`L(C, M) = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}`
  (:func:`scalinglib.fit.fit_overtraining`, least squares on raw losses);
* error: :math:`\mathrm{Err}(L) = \epsilon - k \exp(-\gamma L)`
  (:func:`scalinglib.fit.fit_error`, least squares on raw errors);

and a downstream prediction is *chained*: the loss law predicts a run's loss from its
compute C and token multiplier M, and that predicted loss goes into the error law.
Relative errors are :math:`|\hat y - y| / y` as fractions (multiply by 100 for %).

Fit warnings (:class:`scalinglib.fit.FitWarning`: exponent on the edge of its search
box, a non-negativity constraint active, parameters not identified) are not raised
here; their text is kept in a ``*_notes`` column of the returned rows, so nothing is
hidden and a notebook stays quiet. Configurations that cannot be fitted at all are
kept as rows with a ``reason`` (see :func:`compute_tradeoff`), never dropped.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from .data import DATASETS, DEFAULT_EVAL, EVAL_SETS, MODEL_LABELS, load_task_metadata, task_columns
from .fit import FitError, FitResult, FitWarning, fit_error, fit_overtraining
from .paper import OVERTRAINED_M, SMALL_MODELS, Run, default_config, fit_config, select_runs

__all__ = [
    "TARGET_LABELS",
    "target_label",
    "relative_error_grid",
    "grid_summary",
    "task_predictions",
    "task_summary",
    "eval_set_predictions",
    "tradeoff_runs",
    "compute_tradeoff",
    "tradeoff_summary",
    "efficient_frontier",
]

#: The model whose best run decides whether a task is "above chance" (the paper's 0.154B).
CHANCE_MODEL = "d=576_l=24_h=8"
#: Accuracy margin over chance (a fraction) that the paper's 17-task split requires.
CHANCE_MARGIN = 0.10


def target_label(model: str, M: float) -> str:
    """Readable name of a target run, e.g. ``"1.4B, M = 640"``."""
    return f"{MODEL_LABELS.get(model, model)}, M = {M:g}"


#: The two targets of each training set, by readable name.
TARGET_LABELS = {ds: (target_label("open_lm_1b", OVERTRAINED_M[ds]), target_label("open_lm_7b", 20.0)) for ds in DATASETS}


# ----------------------------------------------------------------------------- helpers


def _check_dataset(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
    d = df[df["dataset"] == dataset]
    if d.empty:
        raise ValueError(f"the testbed table has no rows for dataset {dataset!r}")
    return d


def _quiet(fn, *args, **kwargs) -> FitResult:
    """Run a fit with its FitWarnings recorded in ``result.notes`` instead of raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fn(*args, **kwargs)


def _notes(fit: FitResult) -> str:
    return "; ".join(fit.notes)


def _r2(fit: FitResult) -> float:
    """Coefficient of determination 1 - SSE / SST of a fit on its own points."""
    sst = float(np.sum((fit.y - fit.y.mean()) ** 2))
    return float(1.0 - fit.sse / sst) if sst > 0 else float("nan")


def _fit_default_quiet(df: pd.DataFrame, dataset: str, eval_set: str, downstream: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_config(df, default_config(dataset, eval_set, downstream))


class _RunIndex:
    """Fast lookup of the rows of one training set by (model, M); same result as ``select_runs``."""

    def __init__(self, d: pd.DataFrame, dataset: str):
        self.d = d
        self.dataset = dataset
        self.pos = {(m, round(float(M), 9)): i for i, (m, M) in enumerate(zip(d["model"], d["M"]))}

    def select(self, runs: Sequence[Run]) -> pd.DataFrame:
        idx = []
        for run in runs:
            i = self.pos.get((run.model, round(float(run.M), 9)))
            if i is None:
                raise KeyError(f"run {self.dataset}/{run.model}/M={run.M:g} not found in the testbed table")
            idx.append(i)
        return self.d.iloc[idx]


def _run_mask(d: pd.DataFrame, runs: Sequence[Run]) -> np.ndarray:
    mask = np.zeros(len(d), dtype=bool)
    for run in runs:
        mask |= (d["model"].to_numpy() == run.model) & np.isclose(d["M"].to_numpy(), run.M)
    return mask


# ----------------------------------------------------------------------------- chapter 5


def relative_error_grid(
    df: pd.DataFrame, dataset: str, eval_set: str = DEFAULT_EVAL, downstream: str = "avg_subset"
) -> pd.DataFrame:
    r"""Predict every run of one training set from the default configuration.

    Fitted on: the paper's default configuration of ``dataset``
    (:func:`scalinglib.paper.default_config`): the loss law on the four small models
    at M = 20 plus 0.011B at M = 320 (loss on ``eval_set``); the error law on those
    five runs plus 1.4B at M = 20 (that loss paired with ``err_<downstream>``).

    Predicted: every (N, M) run of ``dataset`` in ``df``, the fitting runs included:
    :math:`\hat L = L(C, M)` and the chained :math:`\widehat{\mathrm{Err}} = \mathrm{Err}(\hat L)`.
    ``err_predicted_from_loss`` is the error law applied to the *observed* loss, which
    isolates the second stage.

    Returns
    -------
    DataFrame
        One row per run: ``dataset, model, size, N, M, C, loss_observed,
        loss_predicted, loss_rel_error, loss_signed_rel_error, err_observed,
        err_predicted, err_rel_error, err_signed_rel_error, err_predicted_from_loss,
        err_rel_error_from_loss, in_loss_fit, in_error_fit, is_target``. Signed
        relative errors are (predicted - observed) / observed.
    """
    d = _check_dataset(df, dataset)
    cfg = default_config(dataset, eval_set, downstream)
    fitted = _fit_default_quiet(df, dataset, eval_set, downstream)
    C, M = d["C"].to_numpy(float), d["M"].to_numpy(float)
    loss_obs = d[cfg.loss_col].to_numpy(float)
    err_obs = d[cfg.err_col].to_numpy(float)
    loss_pred = fitted.loss_law.predict(C, M)
    err_pred = fitted.error_law.predict(loss_pred)
    err_from_loss = fitted.error_law.predict(loss_obs)
    out = pd.DataFrame(
        {
            "dataset": dataset,
            "model": d["model"].to_numpy(),
            "size": d["size"].to_numpy(),
            "N": d["N"].to_numpy(float),
            "M": M,
            "C": C,
            "loss_observed": loss_obs,
            "loss_predicted": loss_pred,
            "loss_signed_rel_error": (loss_pred - loss_obs) / loss_obs,
            "err_observed": err_obs,
            "err_predicted": err_pred,
            "err_signed_rel_error": (err_pred - err_obs) / err_obs,
            "err_predicted_from_loss": err_from_loss,
            "err_rel_error_from_loss": np.abs(err_from_loss - err_obs) / err_obs,
            "in_loss_fit": _run_mask(d, cfg.loss_runs),
            "in_error_fit": _run_mask(d, cfg.error_runs),
            "is_target": _run_mask(d, cfg.targets),
        }
    )
    out.insert(8, "loss_rel_error", out["loss_signed_rel_error"].abs())
    out.insert(12, "err_rel_error", out["err_signed_rel_error"].abs())
    return out.sort_values(["N", "M"], ignore_index=True)


def grid_summary(grid: pd.DataFrame, within: float = 0.02, low_M: float = 5.0) -> pd.DataFrame:
    """Summarise relative-error grids over the runs *not* used by each law.

    One row per (dataset, quantity) with quantity ``"loss"`` (runs outside the loss
    fit) or ``"error"`` (runs outside the error fit): ``runs`` counted, ``median``,
    ``p90`` and ``max`` relative error, ``worst_run`` (size and M of the max),
    ``share_within`` (fraction of runs within ``within``, 2 % by default),
    ``median_low_M`` (runs at M = ``low_M``) and ``median_other_M`` (the rest).
    ``grid`` is one or more outputs of :func:`relative_error_grid` concatenated.
    """
    rows = []
    for ds, g in grid.groupby("dataset", sort=False):
        for quantity, col, flag in (("loss", "loss_rel_error", "in_loss_fit"), ("error", "err_rel_error", "in_error_fit")):
            h = g[~g[flag]]
            if h.empty:
                raise ValueError(f"dataset {ds!r}: every run is a fitting run; nothing to summarise")
            worst = h.loc[h[col].idxmax()]
            low = np.isclose(h["M"], low_M)
            rows.append(
                {
                    "dataset": ds,
                    "quantity": quantity,
                    "runs": len(h),
                    "median": float(h[col].median()),
                    "p90": float(h[col].quantile(0.9)),
                    "max": float(h[col].max()),
                    "worst_run": f"{MODEL_LABELS.get(worst['model'], worst['model'])}, M = {worst['M']:g}",
                    "share_within": float((h[col] <= within).mean()),
                    "median_low_M": float(h.loc[low, col].median()) if low.any() else float("nan"),
                    "median_other_M": float(h.loc[~low, col].median()),
                }
            )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- chapter 6


def task_predictions(
    df: pd.DataFrame,
    dataset: str,
    eval_set: str = DEFAULT_EVAL,
    tasks: Sequence[str] | None = None,
    metadata: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""The default configuration with each single task as the downstream target.

    Fitted on: for ``dataset``, the loss law of the default configuration (the four
    small models at M = 20 and 0.011B at M = 320, loss on ``eval_set``), fitted once;
    then, for every task t, the error law :math:`\mathrm{Err}_t(L)` on the six
    error-fit runs of the default configuration (those five plus 1.4B at M = 20),
    with each run's loss paired with its top-1 error on t alone.

    Predicted: the two targets of ``dataset`` (1.4B at its over-trained M, 6.9B at
    M = 20), error chained through the predicted loss.

    Parameters
    ----------
    tasks
        Task names (default: the 46 tasks of the table, :func:`scalinglib.data.task_columns`).
    metadata
        Task metadata (default :func:`scalinglib.data.load_task_metadata`); must cover
        every task.

    Returns
    -------
    DataFrame
        One row per (task, target): ``dataset, task, category, type, in_subset,
        chance_error, target, model, M, loss_observed, loss_predicted, loss_rel_error,
        err_observed, err_predicted, err_rel_error, err_rel_error_from_loss,
        chance_rel_error, epsilon, k, gamma, error_fit_r2, error_fit_rmse,
        error_fit_notes, chance_margin``. ``err_rel_error_from_loss`` applies the
        task's error law to the target's *observed* loss (the second stage alone). ``error_fit_r2`` is
        1 - SSE/SST of the error law on its six runs; ``chance_margin`` is the largest
        accuracy margin over chance (chance error minus error) among the 0.154B runs
        of every training set in ``df`` (the paper kept the tasks where a 0.154B model
        reaches 10 points above chance; on the full testbed this rule gives exactly
        the 17-task split). ``chance_rel_error`` is the relative error of the naive
        guess "the target is at chance", |chance - observed| / observed.
    """
    _check_dataset(df, dataset)
    tasks = list(tasks) if tasks is not None else task_columns(df)
    missing = [t for t in tasks if f"err_{t}" not in df]
    if missing:
        raise KeyError(f"no error column for task(s) {missing} (expected 'err_<task>')")
    meta = (metadata if metadata is not None else load_task_metadata()).set_index("task")
    absent = [t for t in tasks if t not in meta.index]
    if absent:
        raise KeyError(f"task(s) {absent} missing from the task metadata")

    cfg = default_config(dataset, eval_set)
    lr = select_runs(df, dataset, cfg.loss_runs)
    er = select_runs(df, dataset, cfg.error_runs)
    tg = select_runs(df, dataset, cfg.targets)
    loss_fit = _quiet(fit_overtraining, lr["C"].to_numpy(), lr["M"].to_numpy(), lr[cfg.loss_col].to_numpy())
    loss_pred = loss_fit.law.predict(tg["C"].to_numpy(), tg["M"].to_numpy())
    loss_obs = tg[cfg.loss_col].to_numpy(float)
    chance_rows = df[df["model"] == CHANCE_MODEL]  # every training set, as the paper did

    rows = []
    for t in tasks:
        col = f"err_{t}"
        efit = _quiet(fit_error, er[cfg.loss_col].to_numpy(), er[col].to_numpy())
        err_pred = efit.law.predict(loss_pred)
        err_from_loss = efit.law.predict(loss_obs)
        chance = float(meta.loc[t, "chance_error"])
        margin = float(chance - chance_rows[col].min()) if len(chance_rows) else float("nan")
        for j, (_, r) in enumerate(tg.iterrows()):
            eo = float(r[col])
            rows.append(
                {
                    "dataset": dataset,
                    "task": t,
                    "category": meta.loc[t, "category"],
                    "type": meta.loc[t, "type"],
                    "in_subset": bool(meta.loc[t, "in_subset"]),
                    "chance_error": chance,
                    "target": target_label(r["model"], float(r["M"])),
                    "model": r["model"],
                    "M": float(r["M"]),
                    "loss_observed": float(loss_obs[j]),
                    "loss_predicted": float(loss_pred[j]),
                    "loss_rel_error": abs(float(loss_pred[j]) - float(loss_obs[j])) / float(loss_obs[j]),
                    "err_observed": eo,
                    "err_predicted": float(err_pred[j]),
                    "err_rel_error": abs(float(err_pred[j]) - eo) / eo if eo > 0 else float("nan"),
                    "err_rel_error_from_loss": abs(float(err_from_loss[j]) - eo) / eo if eo > 0 else float("nan"),
                    "chance_rel_error": abs(chance - eo) / eo if eo > 0 else float("nan"),
                    "epsilon": efit.law.epsilon,
                    "k": efit.law.k,
                    "gamma": efit.law.gamma,
                    "error_fit_r2": _r2(efit),
                    "error_fit_rmse": float(np.sqrt(efit.sse / efit.n_points)),
                    "error_fit_notes": _notes(efit),
                    "chance_margin": margin,
                }
            )
    return pd.DataFrame(rows)


def task_summary(
    predictions: pd.DataFrame, margin: float = CHANCE_MARGIN, tolerance: float = 0.10
) -> pd.DataFrame:
    """Rank tasks by how well they are predicted, one row per (dataset, task).

    Summarises the output of :func:`task_predictions`:

    * ``rel_error_overtrained`` / ``rel_error_7b``: relative error of the chained
      prediction at the over-trained 1.4B target and at the 6.9B target;
      ``mean_rel_error`` their mean, the ranking key (``rank`` 1 = smallest, per
      training set);
    * ``chance_rel_error``: mean relative error of guessing chance instead;
    * ``error_fit_r2``: fit quality of the task's error law on its six runs;
    * ``chance_margin`` and ``above_chance`` (margin >= ``margin``, 10 accuracy points
      by default): do the 0.154B models beat chance (the paper's 17-task rule);
    * ``flat_law``: the fit found no trend at all (k = 0);
    * ``verdict``: ``"near chance"`` when not ``above_chance`` (a small relative error
      then only says that the target, too, is near chance); otherwise
      ``"predictable"`` when both targets are within ``tolerance`` (10 %) and the
      law beats guessing chance (``mean_rel_error < chance_rel_error``), and
      ``"not predictable"`` otherwise; ``beats_chance_guess`` records the second test.
    """
    need = {"dataset", "task", "model", "err_rel_error", "chance_rel_error", "error_fit_r2", "chance_margin", "k", "in_subset"}
    missing = need - set(predictions.columns)
    if missing:
        raise KeyError(f"predictions lack column(s) {sorted(missing)}; pass the output of task_predictions")
    keys = ["dataset", "task"]
    first = predictions.drop_duplicates(keys).set_index(keys)
    wide = predictions.pivot_table(index=keys, columns="model", values="err_rel_error")
    out = pd.DataFrame(
        {
            "category": first["category"],
            "in_subset": first["in_subset"],
            "rel_error_overtrained": wide["open_lm_1b"],
            "rel_error_7b": wide["open_lm_7b"],
        }
    )
    out["mean_rel_error"] = out[["rel_error_overtrained", "rel_error_7b"]].mean(axis=1)
    out["chance_rel_error"] = predictions.groupby(keys)["chance_rel_error"].mean()
    out["error_fit_r2"] = first["error_fit_r2"]
    out["chance_margin"] = first["chance_margin"]
    out["above_chance"] = first["chance_margin"] >= margin
    out["flat_law"] = first["k"] == 0.0
    out["beats_chance_guess"] = out["mean_rel_error"] < out["chance_rel_error"]
    worst = out[["rel_error_overtrained", "rel_error_7b"]].max(axis=1)
    predictable = (worst <= tolerance) & out["beats_chance_guess"]
    out["verdict"] = np.where(
        ~out["above_chance"], "near chance", np.where(predictable, "predictable", "not predictable")
    )
    out = out.reset_index()
    out["rank"] = out.groupby("dataset")["mean_rel_error"].rank(method="min").astype(int)
    return out.sort_values(["dataset", "rank"], ignore_index=True)


# ----------------------------------------------------------------------------- chapter 7


def eval_set_predictions(
    df: pd.DataFrame,
    datasets: Sequence[str] = DATASETS,
    eval_sets: Sequence[str] = EVAL_SETS,
    downstream: str = "avg_subset",
) -> pd.DataFrame:
    r"""Loss prediction error on each evaluation set, per training set, at both targets.

    Fitted on: for every (training set, evaluation set) pair, the default
    configuration with ``eval_set`` varied: the loss law on the four small models at
    M = 20 plus 0.011B at M = 320, all evaluated on that set; the error law on those
    runs plus 1.4B at M = 20 with the same set's loss and the ``downstream`` error.

    Returns
    -------
    DataFrame
        One row per (dataset, eval_set, target): ``dataset, eval_set, target, model,
        M, loss_observed, loss_predicted, loss_rel_error, err_observed,
        err_predicted, err_rel_error, E, eta, loss_fit_notes``. The error columns
        chain the downstream error through that evaluation set's loss.
    """
    rows = []
    for ds in datasets:
        _check_dataset(df, ds)
        for es in eval_sets:
            fitted = _fit_default_quiet(df, ds, es, downstream)
            cfg = fitted.config
            tg = select_runs(df, ds, cfg.targets)
            lp = fitted.loss_law.predict(tg["C"].to_numpy(), tg["M"].to_numpy())
            ep = fitted.error_law.predict(lp)
            for (_, r), lpi, epi in zip(tg.iterrows(), lp, ep):
                lo, eo = float(r[cfg.loss_col]), float(r[cfg.err_col])
                rows.append(
                    {
                        "dataset": ds,
                        "eval_set": es,
                        "target": target_label(r["model"], float(r["M"])),
                        "model": r["model"],
                        "M": float(r["M"]),
                        "loss_observed": lo,
                        "loss_predicted": float(lpi),
                        "loss_rel_error": abs(float(lpi) - lo) / lo,
                        "err_observed": eo,
                        "err_predicted": float(epi),
                        "err_rel_error": abs(float(epi) - eo) / eo,
                        "E": fitted.loss_law.E,
                        "eta": fitted.loss_law.eta,
                        "loss_fit_notes": _notes(fitted.loss_fit),
                    }
                )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- chapter 8


def tradeoff_runs(
    df: pd.DataFrame, dataset: str, n_max: str, m_max: float, m_min: float = 20.0
) -> tuple[tuple[Run, ...], tuple[Run, ...]]:
    """The fitting runs of one (N_max, M_max) configuration of :func:`compute_tradeoff`.

    Loss law: every run of ``dataset`` by a small model (0.011B to 0.411B) with
    N <= N(``n_max``) and ``m_min`` <= M <= ``m_max``. Error law: the same runs, plus 1.4B at
    M = 20 when ``n_max`` is ``"open_lm_1b"`` and ``m_max`` >= 20 (mirroring the
    default configuration, where only the error law sees the 1.4B run). The targets
    (1.4B over-trained, 6.9B) are never admitted.
    """
    d = _check_dataset(df, dataset)
    sizes = d.groupby("model")["N"].first()
    if n_max not in sizes.index:
        raise ValueError(f"n_max {n_max!r} is not a model of dataset {dataset!r}; choose one of {sorted(sizes.index)}")
    cap = float(sizes[n_max])
    small = d[d["model"].isin(SMALL_MODELS) & (d["N"] <= cap)]
    small = small[(small["M"] >= m_min * (1 - 1e-9)) & (small["M"] <= m_max * (1 + 1e-9))]
    small = small.sort_values(["N", "M"])
    loss_runs = tuple(Run(m, float(M)) for m, M in zip(small["model"], small["M"]))
    error_runs = loss_runs
    if n_max == "open_lm_1b" and m_max >= 20.0:
        error_runs = loss_runs + (Run("open_lm_1b", 20.0),)
    return loss_runs, error_runs


def efficient_frontier(compute: Sequence[float], error: Sequence[float]) -> np.ndarray:
    """Mask of points not dominated in (compute, error), both to be minimised.

    A point is dominated when another point has compute <= and error <= with at
    least one strictly smaller. NaN errors are never on the frontier.
    """
    c = np.asarray(compute, dtype=float)
    e = np.asarray(error, dtype=float)
    ok = np.isfinite(c) & np.isfinite(e)
    keep = ok.copy()
    for i in np.flatnonzero(ok):
        others = ok & (c <= c[i]) & (e <= e[i]) & ((c < c[i]) | (e < e[i]))
        if others.any():
            keep[i] = False
    return keep


def compute_tradeoff(
    df: pd.DataFrame,
    dataset: str,
    eval_set: str = DEFAULT_EVAL,
    downstream: str = "avg_subset",
    n_max_models: Sequence[str] = SMALL_MODELS + ("open_lm_1b",),
    m_max_values: Sequence[float] | None = None,
    m_min: float = 20.0,
    min_points: int = 5,
    min_distinct_M: int = 2,
    min_distinct_N: int = 2,
    include_default: bool = True,
) -> pd.DataFrame:
    r"""Prediction error against the compute spent on the fitting runs.

    Rule. For every N_max in ``n_max_models`` and M_max in ``m_max_values`` the runs
    (default: every M of the small models >= ``m_min``)
    are chosen by :func:`tradeoff_runs`: the loss law :math:`L(C, M)` is fitted on all
    small-model runs (0.011B-0.411B) of ``dataset`` with N <= N_max and
    ``m_min`` <= M <= M_max; the error law :math:`\mathrm{Err}(L)` on the same runs, plus
    1.4B at M = 20 only when N_max is 1.4B (and M_max >= 20). ``m_min`` is 20 by
    default, the smallest M of the paper's default configuration: runs at M = 5 and 10
    lie off the law (see :func:`relative_error_grid`), and admitting them degrades
    every prediction; pass ``m_min=5`` to admit them. A configuration is fitted only
    if the loss law has at least ``min_points`` runs, at least ``min_distinct_M``
    distinct values of M (with one M, a and b are not identified) and at least
    ``min_distinct_N`` model sizes (with one size, the N term cannot be told apart
    from E); otherwise it is kept with ``status = "skipped"`` and the ``reason``. A fit that raises
    :class:`~scalinglib.fit.FitError` is kept the same way. With ``include_default``
    the paper's default configuration (Table 2) is added as one more row
    (``is_default``).

    The compute of a configuration, ``fit_compute``, is the total training FLOPs
    (C = 6ND) of the union of its loss-fit and error-fit runs. Both targets are
    predicted: loss from the loss law, error chained through the predicted loss.

    The efficient frontier is marked per target and quantity among fitted rows:
    ``frontier_loss`` (resp. ``frontier_err``) is True when no other configuration
    has both less or equal compute and less or equal loss (resp. error) relative
    error, one of them strictly (:func:`efficient_frontier`).

    Returns
    -------
    DataFrame
        One row per (configuration, target): ``dataset, config, n_max, N_max, m_max,
        is_default, n_loss_runs, n_error_runs, distinct_M, distinct_N, fit_compute, status,
        reason, target, model, M, C_target, loss_rel_error, err_rel_error,
        compute_ratio, loss_fit_notes, error_fit_notes, frontier_loss,
        frontier_err``. ``compute_ratio`` is the target's compute over
        ``fit_compute``.
    """
    d = _check_dataset(df, dataset)
    index = _RunIndex(d, dataset)
    cfg0 = default_config(dataset, eval_set, downstream)
    targets = index.select(cfg0.targets)
    sizes = d.groupby("model")["N"].first()
    if m_max_values is None:
        ms = d.loc[d["model"].isin(SMALL_MODELS), "M"]
        m_max_values = sorted(float(m) for m in ms.unique() if m >= m_min * (1 - 1e-9))

    configs: list[tuple[str, str, float, tuple[Run, ...], tuple[Run, ...], bool]] = []
    for nm in n_max_models:
        for mm in m_max_values:
            lr, er = tradeoff_runs(df, dataset, nm, float(mm), m_min)
            name = f"N <= {MODEL_LABELS.get(nm, nm)}, M <= {mm:g}"
            configs.append((name, nm, float(mm), lr, er, False))
    if include_default:
        configs.append(
            ("default (Table 2)", "open_lm_1b", max(r.M for r in cfg0.loss_runs), cfg0.loss_runs, cfg0.error_runs, True)
        )

    rows = []
    for name, nm, mm, lr_runs, er_runs, is_default in configs:
        union = tuple(dict.fromkeys(lr_runs + er_runs))
        compute = float(index.select(union)["C"].sum()) if union else 0.0
        distinct = len({r.M for r in lr_runs})
        distinct_n = len({r.model for r in lr_runs})
        base = {
            "dataset": dataset,
            "config": name,
            "n_max": nm,
            "N_max": float(sizes[nm]),
            "m_max": mm,
            "is_default": is_default,
            "n_loss_runs": len(lr_runs),
            "n_error_runs": len(er_runs),
            "distinct_M": distinct,
            "distinct_N": distinct_n,
            "fit_compute": compute,
        }
        reason = ""
        if len(lr_runs) < min_points:
            reason = f"too few runs for the loss law ({len(lr_runs)} < {min_points})"
        elif distinct < min_distinct_M:
            reason = f"a single token multiplier (M = {lr_runs[0].M:g}): a and b not identified"
        elif distinct_n < min_distinct_N:
            reason = f"a single model size ({MODEL_LABELS.get(lr_runs[0].model, lr_runs[0].model)}): E and the N term not separable"
        fits = None
        if not reason:
            try:
                lr = index.select(lr_runs)
                er = index.select(er_runs)
                lf = _quiet(fit_overtraining, lr["C"].to_numpy(), lr["M"].to_numpy(), lr[cfg0.loss_col].to_numpy())
                ef = _quiet(fit_error, er[cfg0.loss_col].to_numpy(), er[cfg0.err_col].to_numpy())
                fits = (lf, ef)
            except FitError as exc:
                reason = f"fit failed: {exc}"
        for _, t in targets.iterrows():
            row = dict(base)
            row.update(
                {
                    "status": "fitted" if fits else "skipped",
                    "reason": reason,
                    "target": target_label(t["model"], float(t["M"])),
                    "model": t["model"],
                    "M": float(t["M"]),
                    "C_target": float(t["C"]),
                    "loss_rel_error": np.nan,
                    "err_rel_error": np.nan,
                    "compute_ratio": float(t["C"]) / compute if compute > 0 else np.nan,
                    "loss_fit_notes": "",
                    "error_fit_notes": "",
                }
            )
            if fits:
                lf, ef = fits
                with np.errstate(over="ignore", invalid="ignore"):
                    lp = float(lf.law.predict(np.array([t["C"]]), np.array([t["M"]]))[0])
                    ep = float(ef.law.predict(np.array([lp]))[0])
                lo, eo = float(t[cfg0.loss_col]), float(t[cfg0.err_col])
                row.update(
                    {
                        "loss_rel_error": abs(lp - lo) / lo,
                        "err_rel_error": abs(ep - eo) / eo,
                        "loss_fit_notes": _notes(lf),
                        "error_fit_notes": _notes(ef),
                    }
                )
            rows.append(row)
    out = pd.DataFrame(rows)
    return _mark_frontiers(out, "model")


def _mark_frontiers(out: pd.DataFrame, by: str) -> pd.DataFrame:
    """Add ``frontier_loss`` and ``frontier_err``: the efficient frontier of each group of ``by``."""
    out["frontier_loss"] = False
    out["frontier_err"] = False
    for _, idx in out.groupby(by).groups.items():
        sub = out.loc[idx]
        out.loc[idx, "frontier_loss"] = efficient_frontier(sub["fit_compute"], sub["loss_rel_error"])
        out.loc[idx, "frontier_err"] = efficient_frontier(sub["fit_compute"], sub["err_rel_error"])
    return out


def tradeoff_summary(tradeoff: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration of :func:`compute_tradeoff`, errors averaged over the targets.

    ``loss_rel_error`` and ``err_rel_error`` are the means over the two targets (NaN
    for skipped configurations, whose ``reason`` is kept). ``frontier_loss`` and
    ``frontier_err`` mark the efficient frontier of these means against
    ``fit_compute`` among fitted configurations (:func:`efficient_frontier`), per
    training set.
    """
    need = {"dataset", "config", "fit_compute", "status", "reason", "loss_rel_error", "err_rel_error", "is_default"}
    missing = need - set(tradeoff.columns)
    if missing:
        raise KeyError(f"tradeoff lacks column(s) {sorted(missing)}; pass the output of compute_tradeoff")
    keys = ["dataset", "config"]
    first_cols = [c for c in ("n_max", "N_max", "m_max", "is_default", "n_loss_runs", "n_error_runs", "distinct_M",
                              "distinct_N", "fit_compute", "status", "reason") if c in tradeoff]
    first = tradeoff.groupby(keys, sort=False)[first_cols].first()
    # mean over targets; a configuration with any NaN target stays NaN (never silently averaged)
    means = tradeoff.groupby(keys, sort=False)[["loss_rel_error", "err_rel_error"]].agg(lambda x: x.mean(skipna=False))
    out = first.join(means).reset_index()
    return _mark_frontiers(out, "dataset")
