r"""Analyses behind the "Beyond the paper" chapters (uncertainty, choice of law, your own runs, planning).

Small functions that the chapters 9-12 of the book call; each returns a table.

* :func:`huber_log_objective` — the Chinchilla Approach-3 objective
  :math:`\sum_i w_i\, \mathrm{Huber}_\delta(\ln y_i - \ln f(x_i; \theta))` at a given law.
  One BFGS descent of it from a given law (a *warm start*) is
  :func:`scalinglib.fit.refine_huber_log`.
* :func:`bootstrap_huber` — bootstrap replicates of a ``huber_log`` fit
  (:func:`scalinglib.uncertainty.bootstrap`, which refits each replicate from the point
  estimate with a warm start: tens of milliseconds instead of the ~0.3 s of a full
  multi-start fit, so a few hundred replicates fit in a book chapter).
* :func:`exclude_highest_losses`, :func:`parameter_sets` — the selection of runs used by
  Besiroglu et al. (2024) and a comparison of published parameter sets with ours.
* :func:`huber_backtest` — held-out loss predictions of the over-training or Chinchilla law
  fitted with the ``huber_log`` objective, in the format of :func:`scalinglib.backtest.compare_laws`.
* :func:`interval_table` — parameter intervals of several bootstraps side by side.
* :func:`compute_optimal_band` — compute-optimal N*(C), D*(C) of the over-training law with
  bootstrap intervals.
* :func:`inference_sweep` — inference-aware plans (Sardana et al., 2023) over a range of
  inference demands, with the saving over the compute-optimal run and bootstrap intervals.
* :func:`small_run_config`, :func:`bootstrap_laws` — a configuration whose loss law is
  fitted on all small-model runs of a training set (optionally only M >= ``m_min``), and
  a joint bootstrap of its loss and error laws with a resampling scheme per law.
* :func:`optimal_multiplier_by_runs` — the compute-optimal multiplier M* with bootstrap
  intervals for several choices of fitting runs.

A warm start finds the optimum of the basin it starts in. For bootstrap replicates the
point estimate is a natural start (a replicate is a small perturbation of the data); the
tests (tests/test_uncertainty.py) check it against the full multi-start fit.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .data import DATASETS, DEFAULT_EVAL
from .fit import FitResult, FitWarning, fit_chinchilla, fit_overtraining, huber, refine_huber_log
from .laws import ChinchillaLaw, OvertrainingLaw

__all__ = [
    "huber_log_objective",
    "bootstrap_huber",
    "exclude_highest_losses",
    "parameter_sets",
    "log_residuals",
    "huber_backtest",
    "interval_table",
    "inference_sweep",
    "compute_optimal_band",
    "small_run_config",
    "bootstrap_laws",
    "optimal_multiplier_by_runs",
]

Law = ChinchillaLaw | OvertrainingLaw


# ----------------------------------------------------------------------------- Huber objective


def huber_log_objective(law: Law, x1, x2, y, delta: float = 1e-3, weights=None) -> float:
    r"""Approach-3 objective of ``law`` on points: :math:`\sum_i w_i \mathrm{Huber}_\delta(\ln y_i - \ln \hat y_i)`.

    ``x1, x2`` are N, D for a :class:`ChinchillaLaw` and C, M for an
    :class:`OvertrainingLaw`; ``weights`` default to 1 (a sum, not a mean, as in
    Hoffmann et al., 2022).
    """
    y = np.asarray(y, dtype=float)
    pred = law.predict(x1, x2)
    if np.any(pred <= 0):
        return float("inf")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * huber(np.log(y) - np.log(pred), delta)))


# ----------------------------------------------------------------------------- bootstrap


def bootstrap_huber(fit: FitResult, n_boot: int = 200, method: str = "pairs", seed: int | None = 0):
    r"""Bootstrap a ``huber_log`` fit with warm-started refits.

    The same as :func:`scalinglib.uncertainty.bootstrap` (which refits every replicate
    of a ``huber_log`` fit from the point estimate with
    :func:`scalinglib.fit.refine_huber_log`), with the chapters' default of 200
    replicates and a check that the fit used the Huber objective:

    * ``"pairs"``: replicate b minimises the objective with multinomial counts
      :math:`w_b \sim \mathrm{Mult}(n, 1/n)` as weights (the fit on the resampled runs);
    * ``"residual"``: :math:`y^*_{bi} = \hat y_i \exp(s\, r_{j})`, the centred log
      residuals r resampled with replacement and inflated by :math:`s = \sqrt{n/(n-p)}`.

    Returns a :class:`scalinglib.uncertainty.Bootstrap` (its ``notes`` say that refits
    were warm-started).
    """
    from .uncertainty import bootstrap

    if fit.objective != "huber_log":
        raise ValueError(f"bootstrap_huber is for huber_log fits; this fit used {fit.objective!r} (use scalinglib.uncertainty.bootstrap)")
    return bootstrap(fit, n_boot, method, seed)


# ----------------------------------------------------------------------------- your own runs


def exclude_highest_losses(runs: pd.DataFrame, n_excluded: int = 5, loss_col: str = "loss") -> pd.DataFrame:
    """The runs whose loss is strictly below the ``n_excluded``-th highest loss.

    This is the selection Besiroglu et al. (2024) fitted on: the ``n_excluded`` runs with
    the highest loss (and any tied with the last of them) are left out.
    """
    if n_excluded < 0:
        raise ValueError(f"n_excluded must be >= 0, got {n_excluded}")
    if loss_col not in runs:
        raise KeyError(f"column {loss_col!r} not in the runs table")
    if n_excluded == 0:
        return runs.copy()
    cut = np.sort(runs[loss_col].to_numpy(float))[-n_excluded]
    return runs[runs[loss_col] < cut].copy()


def log_residuals(law: ChinchillaLaw, runs: pd.DataFrame) -> np.ndarray:
    """ln(observed loss) - ln(predicted loss) of a Chinchilla law on runs with N, D, loss."""
    return np.log(runs["loss"].to_numpy(float)) - np.log(law.predict(runs["N"].to_numpy(float), runs["D"].to_numpy(float)))


def parameter_sets(
    runs: pd.DataFrame,
    laws: Mapping[str, ChinchillaLaw],
    boot=None,
    level: float = 0.95,
    subsets: Mapping[str, pd.DataFrame] | None = None,
    delta: float = 1e-3,
) -> pd.DataFrame:
    """Several Chinchilla parameter sets judged on the same runs.

    One row per named law: its parameters, the Approach-3 objective (sum of Huber
    losses of log residuals, ``delta``) on ``runs`` and on each extra table of
    ``subsets`` (column ``objective[<name>]``), the root-mean-square log residual on
    ``runs``, and, when a :class:`~scalinglib.uncertainty.Bootstrap` is given, how many
    of the five parameters lie inside its ``level`` percentile intervals
    (``inside_<param>`` columns and ``n_inside``).
    """
    subsets = dict(subsets or {})
    iv = boot.intervals(level) if boot is not None else None
    rows = []
    for name, law in laws.items():
        res = log_residuals(law, runs)
        row = {"parameters": name, **law.params}
        row["objective"] = huber_log_objective(law, runs["N"], runs["D"], runs["loss"], delta)
        for sname, sub in subsets.items():
            row[f"objective[{sname}]"] = huber_log_objective(law, sub["N"], sub["D"], sub["loss"], delta)
        row["rms_log_residual"] = float(np.sqrt(np.mean(res**2)))
        if iv is not None:
            inside = {k: bool(iv[k][0] <= v <= iv[k][1]) for k, v in law.params.items()}
            row.update({f"inside_{k}": v for k, v in inside.items()})
            row["n_inside"] = int(sum(inside.values()))
        rows.append(row)
    return pd.DataFrame(rows).set_index("parameters")


# ----------------------------------------------------------------------------- which law


def huber_backtest(
    df: pd.DataFrame,
    datasets: Sequence[str] = DATASETS,
    eval_set: str = DEFAULT_EVAL,
    delta: float = 1e-3,
    law: str = "overtraining",
) -> pd.DataFrame:
    """Held-out loss predictions of a law fitted with the Huber objective on log loss.

    For each back-test target (:func:`scalinglib.backtest.backtest_targets`) the law
    (``"overtraining"`` or ``"chinchilla"``) is fitted by least squares on the target's
    loss runs, then the ``huber_log`` objective is minimised from that solution
    (:func:`scalinglib.fit.refine_huber_log`; much faster than the multi-start fit, and the same optimum
    for the over-training law, see the tests). Rows have the columns of
    :func:`scalinglib.backtest.compare_laws` (objective ``"huber_log"``), so the tables
    can be concatenated.
    """
    if law not in ("overtraining", "chinchilla"):
        raise ValueError(f"law must be 'overtraining' or 'chinchilla', got {law!r}")
    from .backtest import backtest_targets
    from .paper import select_runs

    col = f"loss_{eval_set}"
    rows = []
    for ds in datasets:
        for t in backtest_targets(df, ds):
            runs = select_runs(df, ds, t.loss_runs)
            tr = select_runs(df, ds, [t.target]).iloc[0]
            L = runs[col].to_numpy(float)
            if law == "overtraining":
                x1, x2 = runs["C"].to_numpy(float), runs["M"].to_numpy(float)
                at = (t.C, t.target.M)
            else:
                x1, x2 = runs["N"].to_numpy(float), runs["D"].to_numpy(float)
                at = (float(tr["N"]), float(tr["D"]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                lsq = (fit_overtraining if law == "overtraining" else fit_chinchilla)(x1, x2, L)
            inputs = {"C": x1, "M": x2} if law == "overtraining" else {"N": x1, "D": x2}
            fitted, _ = refine_huber_log(lsq.law, inputs, L, delta)
            pred = float(fitted.predict(*at))
            obs = float(tr[col])
            rows.append(
                {
                    **t.describe(),
                    "headline": t.headline,
                    "law": law,
                    "objective": "huber_log",
                    "n_points": len(runs),
                    "identified": bool(lsq.identified),
                    "loss_observed": obs,
                    "loss_predicted": pred,
                    "rel_error": (pred - obs) / obs,
                    "abs_rel_error": abs(pred - obs) / obs,
                    "applicable": True,
                    "reason": "",
                    "notes": "huber_log refit warm-started from the least-squares fit",
                }
            )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- uncertainty tables


def interval_table(boots: Mapping[str, object], level: float = 0.95) -> pd.DataFrame:
    """Parameter intervals of several bootstraps of the same law, side by side.

    ``boots`` maps a label (e.g. ``"pairs"``) to a :class:`~scalinglib.uncertainty.Bootstrap`.
    One row per (label, parameter): point, low, high, and the interval width relative
    to the point estimate.
    """
    rows = []
    for label, b in boots.items():
        for name, (lo, hi) in b.intervals(level).items():
            pt = b.point[name]
            rows.append(
                {
                    "bootstrap": label,
                    "parameter": name,
                    "point": pt,
                    "low": lo,
                    "high": hi,
                    "relative_width": (hi - lo) / abs(pt) if pt != 0 else np.nan,
                }
            )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- planning


def inference_sweep(
    boot,
    inference_tokens: Sequence[float],
    target_loss: float | None = None,
    *,
    target_err: float | None = None,
    level: float = 0.90,
) -> pd.DataFrame:
    r"""Inference-aware plans over a range of inference demands T, with bootstrap intervals.

    For each T the plan minimises :math:`6ND + 2NT` at the target
    (:func:`scalinglib.planning.plan_interval`). The baseline is the compute-optimal run
    for the same target (the plan at T = 0) serving the same T tokens; the saving is
    :math:`1 - F_{\text{plan}}(T) / (6 N_0 D_0 + 2 N_0 T)`. Every replicate is compared
    with its own baseline; replicates without a plan are counted in ``n_unreachable``
    (as in :class:`scalinglib.planning.PlanInterval`: the target is at or below the
    replicate's E, the replicate's law is degenerate, or no interior optimum exists),
    and the intervals use the others.

    Columns: inference_tokens, N, D, M, train_flops, total_flops, baseline_N,
    baseline_total_flops, saving, M_low, M_high, N_low, N_high, saving_low,
    saving_high, n_unreachable.
    """
    from .planning import plan_interval

    kw = {"target_err": target_err} if target_err is not None else {}
    base = plan_interval(boot, target_loss, inference_tokens=0.0, **kw)
    N0b, D0b = base.samples["N"], base.samples["D"]
    N0, D0 = base.point.N, base.point.D
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = []
    for T in inference_tokens:
        T = float(T)
        pi = plan_interval(boot, target_loss, inference_tokens=T, **kw)
        p = pi.point
        s = pi.samples
        ok = np.isfinite(s["total_flops"]) & np.isfinite(N0b)
        with np.errstate(invalid="ignore", over="ignore"):
            saving_b = 1.0 - s["total_flops"][ok] / (6.0 * N0b[ok] * D0b[ok] + 2.0 * N0b[ok] * T)
        baseline = 6.0 * N0 * D0 + 2.0 * N0 * T
        m_lo, m_hi = np.quantile(s["M"][ok], q) if ok.any() else (np.nan, np.nan)
        n_lo, n_hi = np.quantile(s["N"][ok], q) if ok.any() else (np.nan, np.nan)
        sv_lo, sv_hi = np.quantile(saving_b, q) if ok.any() else (np.nan, np.nan)
        rows.append(
            {
                "inference_tokens": T,
                "N": p.N,
                "D": p.D,
                "M": p.M,
                "train_flops": p.train_flops,
                "total_flops": p.total_flops,
                "baseline_N": N0,
                "baseline_total_flops": baseline,
                "saving": 1.0 - p.total_flops / baseline,
                "M_low": m_lo,
                "M_high": m_hi,
                "N_low": n_lo,
                "N_high": n_hi,
                "saving_low": sv_lo,
                "saving_high": sv_hi,
                "n_unreachable": int((~ok).sum()),
            }
        )
    return pd.DataFrame(rows)


def compute_optimal_band(boot, C: Sequence[float], level: float = 0.90) -> pd.DataFrame:
    r"""Compute-optimal allocation of an over-training law, with bootstrap intervals.

    For :math:`L(C, M) = E + (a M^\eta + b M^{-\eta}) C^{-\eta}` the loss at fixed compute
    is smallest at :math:`M^* = (b/a)^{1/(2\eta)}`, so :math:`N^* = \sqrt{C / 6M^*}` and
    :math:`D^* = M^* N^*` (:func:`scalinglib.planning.compute_optimal`). Each bootstrap
    replicate gives its own M*; the intervals are percentile intervals over replicates.

    ``boot`` is a :class:`~scalinglib.uncertainty.Bootstrap` of an over-training law or a
    :class:`~scalinglib.uncertainty.ConfigBootstrap` (its loss law is used). Columns: C,
    N, N_low, N_high, D, D_low, D_high, M, M_low, M_high.
    """
    from .planning import compute_optimal, optimal_multiplier

    loss_boot = getattr(boot, "loss", boot)
    if loss_boot.law != "OvertrainingLaw":
        raise TypeError(f"compute_optimal_band needs an over-training law bootstrap, got {loss_boot.law}")
    point = OvertrainingLaw(**loss_boot.point)
    s = loss_boot.samples
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        Mb = np.where((s["a"] > 0) & (s["b"] > 0) & (s["eta"] > 0), (s["b"] / s["a"]) ** (1.0 / (2.0 * s["eta"])), np.nan)
    Mb = Mb[np.isfinite(Mb)]
    if Mb.size == 0:
        raise ValueError("no replicate has a finite compute-optimal multiplier")
    C = np.asarray(C, dtype=float)
    N, D = compute_optimal(point, C)
    q = [(1 - level) / 2, (1 + level) / 2]
    m_lo, m_hi = np.quantile(Mb, q)
    # N* falls and D* grows with M*, so the interval ends of M* map to the ends of N* and D*
    return pd.DataFrame(
        {
            "C": C,
            "N": N,
            "N_low": np.sqrt(C / (6.0 * m_hi)),
            "N_high": np.sqrt(C / (6.0 * m_lo)),
            "D": D,
            "D_low": np.sqrt(C * m_lo / 6.0),
            "D_high": np.sqrt(C * m_hi / 6.0),
            "M": optimal_multiplier(point),
            "M_low": m_lo,
            "M_high": m_hi,
        }
    )


def small_run_config(df: pd.DataFrame, dataset: str, m_min: float = 0.0, eval_set: str = DEFAULT_EVAL, downstream: str = "avg_subset"):
    r"""The paper's default configuration with the loss law fitted on all small-model runs.

    Loss runs: every run of the four small models (:data:`scalinglib.paper.SMALL_MODELS`)
    of ``dataset`` in ``df`` with :math:`M \ge` ``m_min``, ordered by model then M. Error
    runs and targets are those of :func:`scalinglib.paper.default_config` (the error law
    maps loss to error and does not depend on how the loss law was fitted).
    """
    from dataclasses import replace

    from .paper import SMALL_MODELS, Run, default_config

    base = default_config(dataset, eval_set, downstream)
    d = df[(df["dataset"] == dataset) & df["model"].isin(SMALL_MODELS) & (df["M"] >= m_min)]
    if d.empty:
        raise ValueError(f"no small-model run of training set {dataset!r} with M >= {m_min:g}")
    order = {m: i for i, m in enumerate(SMALL_MODELS)}
    d = d.assign(_o=d["model"].map(order)).sort_values(["_o", "M"])
    runs = tuple(Run(str(m), float(M)) for m, M in zip(d["model"], d["M"]))
    return replace(base, loss_runs=runs)


def bootstrap_laws(
    df: pd.DataFrame,
    config,
    n_boot: int = 1000,
    seed: int | None = 0,
    loss_method: str = "pairs",
    error_method: str = "residual",
):
    """Joint bootstrap of a configuration's loss and error laws, one scheme per law.

    As :func:`scalinglib.uncertainty.bootstrap_config` (independent streams spawned from
    ``seed``, replicate b pairs loss replicate b with error replicate b), but the loss
    law and the error law may be resampled differently: pairs suit a loss law fitted on
    ~30 runs, while the six runs of the error law are better served by residuals.
    Returns a :class:`scalinglib.uncertainty.ConfigBootstrap`.
    """
    from .uncertainty import bootstrap_config

    return bootstrap_config(df, config, n_boot, seed, loss_method=loss_method, error_method=error_method)


def optimal_multiplier_by_runs(
    df: pd.DataFrame,
    datasets: Sequence[str] = DATASETS,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.90,
    eval_set: str = DEFAULT_EVAL,
) -> pd.DataFrame:
    r"""Compute-optimal multiplier :math:`M^* = (b/a)^{1/(2\eta)}` for three choices of loss-fit runs.

    Per training set, the over-training law is fitted on (i) the paper's default
    configuration (five runs, residual bootstrap), (ii) all small-model runs with
    :math:`M \ge 20` and (iii) all small-model runs (pairs bootstrap for both). Columns:
    dataset, runs (label), n_runs, M_min, M_max (range of fitted multipliers), M_star,
    M_low, M_high (``level`` percentile interval over replicates), method.
    The replicates come from the loss stream of
    :func:`scalinglib.uncertainty.bootstrap_config` with the same ``seed``, so a row
    whose fit is the loss law of such a joint bootstrap reproduces its interval.
    """
    from .paper import default_config, select_runs
    from .uncertainty import loss_bootstrap_like_config

    rows = []
    for ds in datasets:
        choices = (
            ("default configuration", default_config(ds, eval_set), "residual"),
            ("small models, M >= 20", small_run_config(df, ds, 20.0, eval_set), "pairs"),
            ("small models, all M", small_run_config(df, ds, 0.0, eval_set), "pairs"),
        )
        for label, cfg, method in choices:
            runs = select_runs(df, ds, cfg.loss_runs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                fit = fit_overtraining(runs["C"].to_numpy(float), runs["M"].to_numpy(float), runs[cfg.loss_col].to_numpy(float))
            b = loss_bootstrap_like_config(fit, n_boot, method, seed)
            band = compute_optimal_band(b, [1.0], level=level).iloc[0]
            rows.append(
                {
                    "dataset": ds,
                    "runs": label,
                    "n_runs": len(runs),
                    "M_min": float(runs["M"].min()),
                    "M_max": float(runs["M"].max()),
                    "M_star": float(band["M"]),
                    "M_low": float(band["M_low"]),
                    "M_high": float(band["M_high"]),
                    "method": method,
                }
            )
    return pd.DataFrame(rows)
