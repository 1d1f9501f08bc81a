r"""Validation of the run recommender (:mod:`scalinglib.design`) on real runs.

The recommender's advice is checked against runs that were actually trained, not
against its own model. For each lab and held-out target:

1. start from a minimal design: the three smallest models at M = 20;
2. a *strategy* adds runs one at a time from the runs that exist in the lab's table
   (never a target), each costing at most what is left of the budget; a run's real
   loss is revealed only after it is chosen;
3. after each step the over-training law is fitted to the runs so far and the target
   is forecast: relative error |predicted - observed| / observed and the width of a
   residual-bootstrap percentile interval (:func:`scalinglib.uncertainty.bootstrap`).
   Runs at a single M fit the compute law L = E + lambda C^-eta instead, which
   forecasts a target at that M only; otherwise no forecast (NaN).

The budget for new runs is the compute of the runs the paper's default configuration
adds to the start (the largest small model at M = 20 and the smallest at its
over-trained M), so every strategy ends at (at most) equal compute. Strategies:

* ``"recommender"`` — the top candidate of :func:`scalinglib.design.rank_candidates`
  (linearised criterion) for this target, about the law fitted to the runs so far;
* ``"default"`` — the paper's default configuration (baseline a);
* ``"random"`` — a uniformly random affordable run, one seed per trajectory (baseline b);
* ``"m20"`` — the next larger model at M = 20 while affordable (baseline c).

Labs (:func:`cases`): the testbed's RedPajama runs (C4-eval loss; targets 1.4B at
M = 640 and 6.9B at M = 20), the OLMo ladder (C4 loss; 7B and 13B) and Sardana et al.
(training loss; 6B at M = 20).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .design import DesignError, m_groups, rank_candidates
from .fit import FitError, FitResult, FitWarning, fit_compute, fit_overtraining
from .uncertainty import bootstrap

__all__ = ["STRATEGIES", "Case", "cases", "forecast", "trajectories", "trajectory", "validation_table", "walk"]

#: Strategy name -> label.
STRATEGIES = {
    "recommender": "recommender (per FLOP)",
    "recommender_run": "recommender (per run)",
    "default": "(a) paper default",
    "random": "(b) random runs",
    "m20": "(c) more sizes at M = 20",
}


@dataclass(frozen=True, eq=False)
class Case:
    """One lab: its candidate runs, the start, the default configuration's new runs, targets, budget.

    ``runs`` and ``targets`` have columns ``model``, ``N``, ``D``, ``M``, ``C``, ``loss``
    (``targets`` also ``label``); ``start`` and ``default_new`` are row positions in ``runs``.
    """

    lab: str
    runs: pd.DataFrame
    start: tuple[int, ...]
    default_new: tuple[int, ...]
    targets: pd.DataFrame

    @property
    def budget(self) -> float:
        return float(self.runs["C"].iloc[list(self.default_new)].sum())


def _pos(runs: pd.DataFrame, model: str, M: float) -> int:
    hit = np.flatnonzero((runs["model"] == model).to_numpy() & np.isclose(runs["M"].to_numpy(), M, rtol=0.01))
    if hit.size != 1:
        raise KeyError(f"expected one run of {model} at M = {M:g}, found {hit.size}")
    return int(hit[0])


def _case(
    lab: str,
    df: pd.DataFrame,
    loss_col: str,
    small: tuple[str, ...],
    over_M: float,
    targets: list[tuple[str, float, str]],
) -> Case:
    d = pd.DataFrame({k: df[k].to_numpy() for k in ("model", "N", "D", "M", "C")})
    d["loss"] = df[loss_col].to_numpy(float)
    is_t = np.zeros(len(d), dtype=bool)
    trows = []
    for model, M, label in targets:
        i = _pos(d, model, M)
        is_t[i] = True
        trows.append(dict(d.iloc[i]) | {"label": label})
    runs = d[~is_t].reset_index(drop=True)
    start = tuple(_pos(runs, m, 20.0) for m in small[:3])
    default_new = (_pos(runs, small[3], 20.0), _pos(runs, small[0], over_M))
    return Case(lab=lab, runs=runs, start=start, default_new=default_new, targets=pd.DataFrame(trows))


def cases(
    testbed: pd.DataFrame | None = None, ladder: pd.DataFrame | None = None, sardana: pd.DataFrame | None = None
) -> list[Case]:
    """The three labs' cases (each table loaded with its ``load_*`` function when not given)."""
    from . import data
    from .otherlabs import lab_table
    from .paper import SMALL_MODELS

    tb = testbed if testbed is not None else data.load_testbed()
    la = lab_table(ladder if ladder is not None else data.load_ladder())
    sa = lab_table(sardana if sardana is not None else data.load_sardana())
    rpj = tb[tb["dataset"] == "rpj"]
    return [
        _case(
            "testbed (RedPajama)",
            rpj,
            "loss_c4_val",
            SMALL_MODELS,
            320.0,
            [("open_lm_1b", 640.0, "1.4B, M = 640"), ("open_lm_7b", 20.0, "6.9B, M = 20")],
        ),
        _case(
            "OLMo ladder",
            la,
            "loss_c4",
            ("190M", "370M", "760M", "1B"),
            200.0,
            [
                ("7B", float(la.loc[la["model"] == "7B", "M"].iloc[0]), "7B"),
                ("13B", float(la.loc[la["model"] == "13B", "M"].iloc[0]), "13B"),
            ],
        ),
        _case(
            "Sardana et al.", sa, "loss_train", ("150M", "370M", "750M", "1.3B"), 250.0, [("6B", 20.0, "6B, M = 20")]
        ),
    ]


def forecast(
    runs: pd.DataFrame, target, n_boot: int = 200, level: float = 0.9, seed: int = 0
) -> tuple[float, float, float]:
    """(predicted, low, high) loss of ``target`` from ``runs`` (see the module docstring); NaN where undefined."""
    C, M, L = (runs[k].to_numpy(float) for k in ("C", "M", "loss"))
    Ct, Mt = float(target["C"]), float(target["M"])
    nan = (math.nan, math.nan, math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res: FitResult
        try:
            if m_groups(M).max() >= 1 and C.size >= 4:
                res, x, p = fit_overtraining(C, M, L), [Ct, Mt], 4
            elif abs(math.log(M[0] / Mt)) < 0.02 and C.size >= 3:
                res, x, p = fit_compute(C, L), [Ct], 3
            else:
                return nan
        except FitError:
            return nan
        pred = float(np.asarray(res.law.predict(*x)).ravel()[0])
        if C.size <= p or not res.identified:
            return pred, math.nan, math.nan
        try:
            lo, hi = bootstrap(res, n_boot, "residual", seed=seed).predict_interval(*x, level=level)
        except FitError:
            return pred, math.nan, math.nan
    return pred, float(lo[0]), float(hi[0])


def walk(case: Case, target, strategy: str, seed: int = 0) -> list[int]:
    """The runs (positions in ``case.runs``) a strategy adds to the start, in order, within the budget."""
    runs, budget = case.runs, case.budget
    if strategy == "default":
        return list(case.default_new)
    chosen: list[int] = []
    left = budget
    rng = np.random.default_rng(seed)
    while True:
        used = set(case.start) | set(chosen)
        free = [i for i in range(len(runs)) if i not in used and runs["C"].iloc[i] <= left * (1 + 1e-9)]
        if strategy == "m20":
            bigger = [i for i in free if abs(math.log(runs["M"].iloc[i] / 20.0)) < 0.02]
            pick = min(bigger, key=lambda i: runs["N"].iloc[i]) if bigger else None
        elif strategy == "random":
            pick = int(rng.choice(free)) if free else None
        elif strategy in ("recommender", "recommender_run"):
            pick = None
            if free:
                have = runs.iloc[list(case.start) + chosen]
                cand = runs.iloc[free]
                try:
                    r = rank_candidates(
                        have["N"],
                        have["D"],
                        have["loss"],
                        (float(target["N"]), float(target["D"])),
                        cand["N"],
                        cand["D"],
                        left * (1 + 1e-9),
                        criterion="per_flop" if strategy == "recommender" else "per_run",
                    )
                except DesignError:
                    r = None
                if r is not None and r.table["narrowing"].iloc[0] > 0:
                    best = r.table.iloc[0]
                    pick = free[
                        int(
                            np.flatnonzero(
                                np.isclose(cand["C"].to_numpy(), best["C"])
                                & np.isclose(cand["M"].to_numpy(), best["M"])
                            )[0]
                        )
                    ]
        else:
            raise ValueError(f"unknown strategy {strategy!r}; choose one of {sorted(STRATEGIES)}")
        if pick is None:
            return chosen
        chosen.append(pick)
        left -= float(runs["C"].iloc[pick])


def trajectory(
    case: Case, target, strategy: str, seed: int = 0, n_boot: int = 200, level: float = 0.9, every_step: bool = True
) -> pd.DataFrame:
    """Forecast of ``target`` after each run a strategy adds (step 0 = the start).

    Columns: ``lab``, ``target``, ``strategy``, ``seed``, ``step``, ``model``, ``M`` (of
    the run added), ``spent`` (new-run FLOPs so far), ``predicted``, ``low``, ``high``,
    ``rel_error`` (absolute, relative to the observed loss), ``width``. With
    ``every_step=False`` only the start and the final design are forecast.
    """
    order = walk(case, target, strategy, seed)
    runs = case.runs
    rows = []
    steps = range(len(order) + 1) if every_step else sorted({0, len(order)})
    for k in steps:
        idx = list(case.start) + order[:k]
        pred, lo, hi = forecast(runs.iloc[idx], target, n_boot, level, seed)
        added = runs.iloc[order[k - 1]] if k else None
        rows.append(
            {
                "lab": case.lab,
                "target": target["label"],
                "strategy": strategy,
                "seed": seed,
                "step": k,
                "model": added["model"] if added is not None else "start",
                "M": float(added["M"]) if added is not None else math.nan,
                "spent": float(runs["C"].iloc[order[:k]].sum()),
                "predicted": pred,
                "low": lo,
                "high": hi,
                "rel_error": abs(pred - float(target["loss"])) / float(target["loss"]),
                "width": hi - lo,
            }
        )
    return pd.DataFrame(rows)


def trajectories(case_list: list[Case], n_seeds: int = 20, n_boot: int = 200, level: float = 0.9) -> pd.DataFrame:
    """Every strategy's trajectory for every lab and target (random: ``n_seeds`` seeds, final designs only)."""
    out = []
    for case in case_list:
        for _, t in case.targets.iterrows():
            for s in ("recommender", "recommender_run", "default", "m20"):
                out.append(trajectory(case, t, s, 0, n_boot, level))
            for seed in range(n_seeds):
                out.append(trajectory(case, t, "random", seed, n_boot, level, every_step=False))
    return pd.concat(out, ignore_index=True)


def validation_table(traj: pd.DataFrame, recommender: str = "recommender") -> pd.DataFrame:
    """Per lab, target and baseline: the recommender's final forecast against the baseline's.

    ``recommender`` names the strategy compared (``"recommender"``, per FLOP, or
    ``"recommender_run"``).

    The final design of each strategy is its last step (spent <= budget). Random runs
    are summarised by the median over seeds of the error and width (a seed without a
    forecast or an interval counts as infinite) and by the share of seeds the
    recommender beats. "Beats" means a smaller relative error (``beats_error``) or a
    narrower interval (``beats_width``); a missing forecast or interval is worse than
    any.
    """
    last = traj.loc[traj.groupby(["lab", "target", "strategy", "seed"])["step"].idxmax()]
    inf = lambda s: s.fillna(np.inf)
    rows = []
    for (lab, tgt), g in last.groupby(["lab", "target"], sort=False):
        rec = g[g["strategy"] == recommender].iloc[0]
        re, rw = inf(pd.Series([rec["rel_error"]]))[0], inf(pd.Series([rec["width"]]))[0]
        for s in ("default", "random", "m20"):
            b = g[g["strategy"] == s]
            if b.empty:
                continue
            be, bw = inf(b["rel_error"]), inf(b["width"])
            rows.append(
                {
                    "lab": lab,
                    "target": tgt,
                    "baseline": STRATEGIES[s],
                    "runs_added": int(rec["step"]),
                    "recommender_spent": rec["spent"],
                    "baseline_spent": float(b["spent"].median()),
                    "recommender_error": re,
                    "baseline_error": float(be.median()),
                    "recommender_width": rw,
                    "baseline_width": float(bw.median()),
                    "beats_error": bool(re < be.median()),
                    "beats_width": bool(rw < bw.median()),
                    "share_error": float((re < be).mean()),
                    "share_width": float((rw < bw).mean()),
                }
            )
    return pd.DataFrame(rows)
