r"""Back-testing across the testbed: calibration of the intervals and a comparison of laws.

The paper validates its recipe on two targets per training set. Here every run of
a training set that can be predicted from a *default-style* configuration of
strictly cheaper runs becomes a held-out target.

Rule for a target run t (model size s, multiplier M_t, compute C_t), one training
set at a time (:func:`fitting_runs`):

1. **Ladder.** Each small model (0.011B, 0.079B, 0.154B, 0.411B — the sizes the
   default fits on) with fewer parameters than s, at M = 20, whose compute is below
   C_t.
2. **Over-trained anchors.** Runs of the smallest model (0.011B) at M != 20 and
   M <= 320 (the default's anchor, 0.011B at M = 320, is the cap), compute below C_t,
   largest M first: one anchor, plus more (next-largest M) until the loss fit has
   at least 5 runs.
3. **Loss runs** = ladder + anchors. The target is *applicable* when the ladder has
   at least 3 sizes, the loss fit at least 5 runs and at least 2 distinct M;
   otherwise it is reported as not applicable with the reason (never dropped).
4. **Error runs** = loss runs + the next model size above the ladder at M = 20,
   when that size is no larger than s and its run costs less than C_t (the
   default's 1.4B at M = 20).

Every fitting run therefore uses strictly less compute than its target. For the
1.4B and 6.9B targets the rule gives exactly the paper's default configuration
(except the 1.4B, M = 20 target, whose error fit cannot use the target itself).
The targets it yields: 0.411B at every M, both 1.4B runs and the 6.9B run of each
training set.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import DATASETS, DEFAULT_EVAL, MODEL_LABELS
from .fit import FitError, FitResult, FitWarning, fit_chinchilla, fit_compute, fit_overtraining, refine_huber_log
from .laws import ChinchillaLaw, OvertrainingLaw
from .paper import SMALL_MODELS, Config, Run, default_config, select_runs
from .uncertainty import bootstrap_config

__all__ = [
    "ANCHOR_CAP",
    "MIN_LOSS_RUNS",
    "MIN_LADDER",
    "BacktestTarget",
    "fitting_runs",
    "backtest_targets",
    "backtest_table",
    "calibration",
    "coverage_summary",
    "compare_laws",
    "compare_summary",
]

ANCHOR_CAP = 320.0
MIN_LOSS_RUNS = 5
MIN_LADDER = 3
MIN_PER_M = 3


@dataclass(frozen=True)
class BacktestTarget:
    """A held-out run and the cheaper runs its laws are fitted on."""

    dataset: str
    target: Run
    C: float
    loss_runs: tuple[Run, ...]
    error_runs: tuple[Run, ...]
    applicable: bool
    reason: str = ""

    @property
    def headline(self) -> bool:
        """Whether the target is one of the paper's two targets for its training set."""
        return self.target in default_config(self.dataset).targets

    def describe(self) -> dict:
        """The columns that name this target in a results table: dataset, model, size, M, C."""
        return {
            "dataset": self.dataset,
            "model": self.target.model,
            "size": MODEL_LABELS.get(self.target.model, self.target.model),
            "M": self.target.M,
            "C": self.C,
        }

    def config(self, eval_set: str = DEFAULT_EVAL, downstream: str = "avg_subset") -> Config:
        if not self.applicable:
            raise ValueError(
                f"target {self.dataset}/{self.target.model}/M={self.target.M:g} is not applicable: {self.reason}"
            )
        return Config(self.dataset, self.loss_runs, self.error_runs, (self.target,), eval_set, downstream)


def _runs(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    d = df[df["dataset"] == dataset]
    if d.empty:
        raise ValueError(
            f"no runs of training set {dataset!r} in the table; choose one of {sorted(df['dataset'].unique())}"
        )
    return d


def _index(d: pd.DataFrame) -> dict[tuple[str, float], tuple[float, float]]:
    """(model, M) -> (N, C) for one training set's runs."""
    return {(str(m), float(M)): (float(n), float(c)) for m, M, n, c in zip(d["model"], d["M"], d["N"], d["C"])}


def _rule(dataset: str, runs: dict, target: Run) -> BacktestTarget:
    N_t, C_t = runs[(target.model, float(target.M))]
    ladder = [
        Run(m, 20.0)
        for m in SMALL_MODELS
        if (m, 20.0) in runs and runs[(m, 20.0)][0] < N_t and runs[(m, 20.0)][1] < C_t
    ]
    smallest = SMALL_MODELS[0]
    cand = sorted(
        (M for (m, M), (_, c) in runs.items() if m == smallest and M != 20.0 and M <= ANCHOR_CAP and c < C_t),
        reverse=True,
    )
    anchors: list[Run] = []
    for M in cand:
        if anchors and len(ladder) + len(anchors) >= MIN_LOSS_RUNS:
            break
        anchors.append(Run(smallest, M))
    loss_runs = tuple(ladder + anchors)
    reasons = []
    if len(ladder) < MIN_LADDER:
        reasons.append(
            f"only {len(ladder)} smaller model size(s) at M = 20 cost less than the target (need {MIN_LADDER})"
        )
    if len(loss_runs) < MIN_LOSS_RUNS:
        reasons.append(f"only {len(loss_runs)} cheaper loss-fit runs (need {MIN_LOSS_RUNS})")
    if len({r.M for r in loss_runs}) < 2:
        reasons.append("no cheaper over-trained anchor run: a single M cannot identify the over-training law")
    error_runs = loss_runs
    if ladder:
        sizes = sorted({(n, m) for (m, _), (n, _) in runs.items()})
        top = runs[(ladder[-1].model, 20.0)][0]
        larger = [(n, m) for n, m in sizes if n > top]
        if larger:
            n_next, m_next = larger[0]
            if (m_next, 20.0) in runs and n_next <= N_t and runs[(m_next, 20.0)][1] < C_t:
                error_runs = loss_runs + (Run(m_next, 20.0),)
    return BacktestTarget(dataset, target, C_t, loss_runs, error_runs, not reasons, "; ".join(reasons))


def fitting_runs(df: pd.DataFrame, dataset: str, target: Run) -> BacktestTarget:
    """The fitting runs of one target under the rule of the module docstring."""
    runs = _index(_runs(df, dataset))
    if (target.model, float(target.M)) not in runs:
        raise KeyError(f"run {dataset}/{target.model}/M={target.M:g} not found in the testbed table")
    return _rule(dataset, runs, target)


def backtest_targets(df: pd.DataFrame, dataset: str, include_inapplicable: bool = False) -> list[BacktestTarget]:
    """Every run of a training set, with its fitting runs; by default only the applicable ones.

    Runs are ordered by model size, then M. With ``include_inapplicable=True`` the
    runs that cannot be back-tested are returned too, with ``applicable=False`` and
    the reason.
    """
    d = _runs(df, dataset).sort_values(["N", "M"])
    runs = _index(d)
    out = [_rule(dataset, runs, Run(str(m), float(M))) for m, M in zip(d["model"], d["M"])]
    return out if include_inapplicable else [t for t in out if t.applicable]


def backtest_table(df: pd.DataFrame, datasets: Sequence[str] = DATASETS) -> pd.DataFrame:
    """One row per run of the testbed: applicable or not (with reason), fitting runs, compute ratios."""
    rows = []
    for ds in datasets:
        runs = _index(_runs(df, ds))
        for t in backtest_targets(df, ds, include_inapplicable=True):
            fitC = [runs[(r.model, r.M)][1] for r in t.error_runs]
            rows.append(
                {
                    **t.describe(),
                    "applicable": t.applicable,
                    "reason": t.reason,
                    "headline": t.headline,
                    "n_loss_runs": len(t.loss_runs),
                    "n_error_runs": len(t.error_runs),
                    "loss_runs": "; ".join(f"{MODEL_LABELS.get(r.model, r.model)}@{r.M:g}" for r in t.loss_runs),
                    "error_runs": "; ".join(f"{MODEL_LABELS.get(r.model, r.model)}@{r.M:g}" for r in t.error_runs),
                    "max_fit_compute_fraction": max(fitC) / t.C if fitC else np.nan,
                }
            )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- calibration


def calibration(
    df: pd.DataFrame,
    level: float = 0.90,
    n_boot: int = 1000,
    seed: int = 0,
    method: str = "residual",
    datasets: Sequence[str] = DATASETS,
    eval_set: str = DEFAULT_EVAL,
    downstream: str = "avg_subset",
) -> pd.DataFrame:
    """Do the bootstrap intervals cover the observed runs? One row per (training set, target).

    Each applicable target gets its own default-style configuration (module
    docstring), a two-stage bootstrap (:func:`scalinglib.uncertainty.bootstrap_config`)
    and ``level`` percentile intervals for loss and downstream error.

    Columns: dataset, model, size, N, M, C, headline, loss_observed, loss_predicted,
    loss_low, loss_high, loss_covered, loss_rel_error, err_observed, err_predicted,
    err_low, err_high, err_covered, err_rel_error, n_loss_runs, n_error_runs,
    n_redrawn, method, level.
    """
    rows = []
    for ds in datasets:
        for t in backtest_targets(df, ds):
            cb = bootstrap_config(df, t.config(eval_set, downstream), n_boot=n_boot, seed=seed, method=method)
            r = cb.target_intervals(level).iloc[0].to_dict()
            r.update(
                size=MODEL_LABELS.get(t.target.model, t.target.model),
                headline=t.headline,
                loss_covered=bool(r["loss_low"] <= r["loss_observed"] <= r["loss_high"]),
                err_covered=bool(r["err_low"] <= r["err_observed"] <= r["err_high"]),
                loss_rel_error=(r["loss_predicted"] - r["loss_observed"]) / r["loss_observed"],
                err_rel_error=(r["err_predicted"] - r["err_observed"]) / r["err_observed"],
                n_loss_runs=len(t.loss_runs),
                n_error_runs=len(t.error_runs),
                n_redrawn=cb.loss.n_redrawn + cb.error.n_redrawn,
                method=method,
                level=level,
            )
            rows.append(r)
    cols = [
        "dataset",
        "model",
        "size",
        "N",
        "M",
        "C",
        "headline",
        "loss_observed",
        "loss_predicted",
        "loss_low",
        "loss_high",
        "loss_covered",
        "loss_rel_error",
        "err_observed",
        "err_predicted",
        "err_low",
        "err_high",
        "err_covered",
        "err_rel_error",
        "n_loss_runs",
        "n_error_runs",
        "n_redrawn",
        "method",
        "level",
    ]
    return pd.DataFrame(rows)[cols]


def coverage_summary(cal: pd.DataFrame) -> pd.DataFrame:
    """Coverage rates of a :func:`calibration` table, per training set and overall.

    Columns: n_targets, loss_coverage, err_coverage (fractions of targets whose
    observation lies in the interval), loss_median_width, err_median_width (relative
    to the prediction), nominal (the interval level).
    """

    def summ(g):
        return pd.Series(
            {
                "n_targets": len(g),
                "loss_coverage": g["loss_covered"].mean(),
                "err_coverage": g["err_covered"].mean(),
                "loss_median_width": ((g["loss_high"] - g["loss_low"]) / g["loss_predicted"]).median(),
                "err_median_width": ((g["err_high"] - g["err_low"]) / g["err_predicted"]).median(),
                "nominal": g["level"].iloc[0],
            }
        )

    per = cal.groupby("dataset", sort=False)[list(cal.columns)].apply(summ)
    allrow = summ(cal).to_frame("all").T
    out = pd.concat([per, allrow])
    out["n_targets"] = out["n_targets"].astype(int)
    out.index.name = "dataset"
    return out


# ----------------------------------------------------------------------------- law comparison

_LAWS = (("overtraining", "lsq"), ("chinchilla", "lsq"), ("chinchilla", "huber_log"), ("compute_per_M", "lsq"))


def compare_laws(
    df: pd.DataFrame,
    datasets: Sequence[str] = DATASETS,
    eval_set: str = DEFAULT_EVAL,
    laws: Sequence[tuple[str, str]] = _LAWS,
) -> pd.DataFrame:
    """Held-out loss prediction error of several laws on the back-test targets.

    Laws (``(law, objective)`` pairs):

    * ``("overtraining", "lsq")`` — the paper's shared-exponent L(C, M) on the
      target's loss runs;
    * ``("chinchilla", "lsq")``, ``("chinchilla", "huber_log")`` — L(N, D) with free
      alpha and beta on the same runs (5 parameters on ~5 points: see ``identified``);
    * ``("compute_per_M", "lsq")`` — L(C) = E + lambda C^-eta fitted on the runs of
      the target's own M that cost less than the target (any model size); needs at
      least 3 such runs, otherwise the row is kept with NaN and the reason.

    Fits are cached per distinct set of fitting runs (the Chinchilla ``huber_log`` fit
    takes several seconds). One row per (target, law): dataset, model, size, M, C,
    headline, law, objective, n_points, identified, loss_observed, loss_predicted,
    rel_error ((predicted - observed) / observed), abs_rel_error, applicable, reason,
    notes.
    """
    for pair in laws:
        if pair not in _LAWS:
            raise ValueError(f"unknown (law, objective) {pair!r}; choose from {_LAWS}")
    col = f"loss_{eval_set}"
    cache: dict = {}
    rows = []
    for ds in datasets:
        d = _runs(df, ds)
        for t in backtest_targets(df, ds):
            tr = select_runs(df, ds, [t.target]).iloc[0]
            base = {
                **t.describe(),
                "headline": t.headline,
                "loss_observed": float(tr[col]),
            }
            for law, objective in laws:
                if law == "compute_per_M":
                    runs = d[np.isclose(d["M"], t.target.M) & (d["C"] < t.C)].sort_values("C")
                    key = (ds, law, objective, tuple(runs.index))
                else:
                    runs = select_runs(df, ds, t.loss_runs)
                    key = (ds, law, objective, t.loss_runs)
                r = dict(base, law=law, objective=objective, n_points=len(runs))
                if law == "compute_per_M" and len(runs) < MIN_PER_M:
                    r.update(
                        identified=False,
                        loss_predicted=np.nan,
                        applicable=False,
                        notes="",
                        reason=f"only {len(runs)} cheaper run(s) at M = {t.target.M:g} (need {MIN_PER_M})",
                    )
                    rows.append(r)
                    continue
                if key not in cache:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", FitWarning)
                        fit: FitResult | FitError
                        try:
                            if law == "overtraining":
                                fit = fit_overtraining(runs["C"], runs["M"], runs[col], objective=objective)
                            elif law == "chinchilla":
                                fit = fit_chinchilla(runs["N"], runs["D"], runs[col], objective=objective)
                            else:
                                fit = fit_compute(runs["C"], runs[col], objective=objective)
                        except FitError as e:
                            fit = e
                    cache[key] = fit
                fit = cache[key]
                if isinstance(fit, FitError):
                    r.update(
                        identified=False, loss_predicted=np.nan, applicable=False, notes="", reason=f"fit failed: {fit}"
                    )
                    rows.append(r)
                    continue
                if law == "overtraining":
                    pred = float(fit.law.predict(t.C, t.target.M))
                elif law == "chinchilla":
                    pred = float(fit.law.predict(tr["N"], tr["D"]))
                else:
                    pred = float(fit.law.predict(t.C))
                r.update(
                    identified=bool(fit.identified),
                    loss_predicted=pred,
                    applicable=True,
                    reason="",
                    notes="; ".join(fit.notes),
                )
                rows.append(r)
    out = pd.DataFrame(rows)
    out["rel_error"] = (out["loss_predicted"] - out["loss_observed"]) / out["loss_observed"]
    out["abs_rel_error"] = out["rel_error"].abs()
    cols = [
        "dataset",
        "model",
        "size",
        "M",
        "C",
        "headline",
        "law",
        "objective",
        "n_points",
        "identified",
        "loss_observed",
        "loss_predicted",
        "rel_error",
        "abs_rel_error",
        "applicable",
        "reason",
        "notes",
    ]
    return out[cols]


def compare_summary(cmp: pd.DataFrame) -> pd.DataFrame:
    """Summary of :func:`compare_laws` by (law, objective).

    Columns: n_targets, n_applicable, n_identified, mean_abs_rel_error,
    median_abs_rel_error, max_abs_rel_error (over applicable targets), and
    headline_mean_abs_rel_error (the paper's 1.4B / 6.9B targets only).
    """

    def summ(g):
        a = g[g["applicable"]]
        h = a[a["headline"]]
        return pd.Series(
            {
                "n_targets": len(g),
                "n_applicable": len(a),
                "n_identified": int(a["identified"].sum()),
                "mean_abs_rel_error": a["abs_rel_error"].mean(),
                "median_abs_rel_error": a["abs_rel_error"].median(),
                "max_abs_rel_error": a["abs_rel_error"].max(),
                "headline_mean_abs_rel_error": h["abs_rel_error"].mean(),
            }
        )

    out = cmp.groupby(["law", "objective"], sort=False)[list(cmp.columns)].apply(summ)
    for c in ("n_targets", "n_applicable", "n_identified"):
        out[c] = out[c].astype(int)
    return out


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
            assert isinstance(fitted, (OvertrainingLaw, ChinchillaLaw))  # refined from lsq.law
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
