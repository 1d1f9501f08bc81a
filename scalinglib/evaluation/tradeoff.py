r"""The compute trade-off (chapter 8): fit budgets, their prediction errors and the efficient frontier."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data import DEFAULT_EVAL, MODEL_LABELS
from ..fit import FitError, fit_error, fit_overtraining
from ..paper import SMALL_MODELS, Run, default_config
from .common import _check_dataset, _notes, _quiet, _RunIndex, target_label

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
    for idx in out.groupby(by).groups.values():
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
    first_cols = [
        c
        for c in (
            "n_max",
            "N_max",
            "m_max",
            "is_default",
            "n_loss_runs",
            "n_error_runs",
            "distinct_M",
            "distinct_N",
            "fit_compute",
            "status",
            "reason",
        )
        if c in tradeoff
    ]
    first = tradeoff.groupby(keys, sort=False)[first_cols].first()
    # mean over targets; a configuration with any NaN target stays NaN (never silently averaged)
    means = tradeoff.groupby(keys, sort=False)[["loss_rel_error", "err_rel_error"]].agg(lambda x: x.mean(skipna=False))
    out = first.join(means).reset_index()
    return _mark_frontiers(out, "dataset")
