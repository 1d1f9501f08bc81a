r"""Predicting benchmark accuracy in one step or two, judged on three labs (chapter 14).

Four ways to predict a task's accuracy at a target (N, D), all chained through a
loss (:mod:`scalinglib.twostep`), every step 1 by least squares (its bootstrap refits
are fast; :func:`ladder_published_check` refits (c) with the Approach-3 objective, as the
ladder's step 1 is a Huber fit, to compare with their published numbers):

* **(a) paper** — C4 loss from the over-training law (least squares) on the fitted runs'
  final checkpoints, then the paper's :math:`\mathrm{Err}(L) = \epsilon - k e^{-\gamma L}`
  fitted on the same final checkpoints (Gadre et al., 2024);
* **(b) sigmoid on C4** — C4 loss from the Chinchilla form, then the bounded sigmoid
  (asymptotes in [0, 1 - chance]) fitted on the runs' checkpoints;
* **(c) ladder** — the task's own loss (bits per byte) from the Chinchilla form, then
  the sigmoid on the checkpoints with the ladder's ideal point, the ladder paper's
  recipe (Bhagia et al., 2024; :data:`scalinglib.twostep.LADDER_RECIPE`);
* **(d) ladder, over-training form** — (c) with step 1 in the over-training form.

:func:`ladder_methods` runs them on the OLMo ladder with run-bootstrap intervals;
:func:`testbed_backtest` and :func:`sardana_predictions` compare (a) with a sigmoid
where only final models exist (the testbed and Sardana et al.'s runs have no task
loss and no intermediate checkpoints, so the sigmoid is fitted on the error-fit
runs' final models).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import twostep
from ..backtest import backtest_targets
from ..data import DATASETS, LADDER_CHANCE, load_task_metadata
from ..fit import FitError, FitWarning, fit_error, fit_overtraining, fit_sigmoid
from ..paper import select_runs

#: The eight tasks the ladder paper predicts for OLMo 2 7B and 13B, in its order (MMLU
#: with the ladder's category weights).
LADDER_PAPER_TASKS = (
    "mmlu_weighted",
    "hellaswag",
    "arc_challenge",
    "arc_easy",
    "piqa",
    "csqa",
    "socialiqa",
    "openbookqa",
)

#: method -> (loss, step-1 law, step-1 objective, step-2 law, step-2 points, ideal point, chance-bounded ceiling)
METHODS: dict[str, tuple[str, str, str, str, str, bool, bool]] = {
    "(a) paper": ("c4", "overtraining", "lsq", "error", "final", False, False),
    "(b) sigmoid on C4": ("c4", "chinchilla", "lsq", "sigmoid", "checkpoints", False, True),
    "(c) ladder": ("bpb", "chinchilla", "lsq", "sigmoid", "checkpoints", True, False),
    "(d) ladder, over-training form": ("bpb", "overtraining", "lsq", "sigmoid", "checkpoints", True, False),
}


def _chance(task: str) -> float:
    return LADDER_CHANCE.get(task.removesuffix("_weighted"), 0.25)


def _data(ladder_all: pd.DataFrame, task: str, method: str) -> twostep.TwoStepData:
    loss, _, _, _, points, ideal, _ = METHODS[method]
    d = twostep.ladder_data(ladder_all, task, loss, {"ideal_point": ideal})
    if points == "final":  # the paper: one point per run, its final model
        acc = ladder_all[f"acc_{task}"]
        finals = []
        for run in d.run:
            g = ladder_all[ladder_all["run"] == run].sort_values("step")
            finals.append(1.0 - float(acc.loc[g.index].iloc[-5:].mean()))
        d = twostep.TwoStepData(d.N, d.D, d.x, d.run, d.x.copy(), np.array(finals), d.run.copy())
    return d


def ladder_methods(
    ladder_all: pd.DataFrame,
    tasks: Sequence[str] = LADDER_PAPER_TASKS,
    methods: Sequence[str] = tuple(METHODS),
    n_boot: int = 100,
    level: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Every method's prediction of every task for OLMo 2 7B and 13B, with run-bootstrap intervals.

    Parameters
    ----------
    ladder_all
        :func:`~scalinglib.data.load_ladder` with ``checkpoints="all"``.
    tasks
        Ladder tasks (``"avg"`` for the mean of the ten accuracies: methods on C4 loss only).

    Returns
    -------
    DataFrame
        One row per (task, target, method): ``observed`` (the target's accuracy, mean
        of its last 5 checkpoints as the ladder paper reports it), ``predicted``,
        ``low``/``high`` (percentile interval at ``level``), ``covered``, ``abs_error``
        (|predicted - observed| in accuracy points), ``loss_predicted``,
        ``outside_unit`` (a predicted error outside [0, 1]).
    """
    targets = _targets(ladder_all)
    rows = []
    for task in tasks:
        obs = {m: twostep.ladder_observed(ladder_all, m, task) for m in targets}
        for method in methods:
            loss, law1, obj1, law2, _, _, bounded = METHODS[method]
            if loss == "bpb" and f"bpb_{task}" not in ladder_all:
                continue
            data = _data(ladder_all, task, method)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                preds = twostep.predict_two_step(
                    data,
                    targets,
                    law1,
                    law2,
                    chance=_chance(task) if bounded else 0.0,
                    n_boot=n_boot,
                    level=level,
                    seed=seed,
                    loss_objective=obj1,
                )
            for model, p in preds.items():
                lo, hi = p.accuracy_interval
                rows.append(
                    {
                        "task": task,
                        "target": model,
                        "method": method,
                        "observed": obs[model],
                        "predicted": p.accuracy,
                        "low": lo,
                        "high": hi,
                        "covered": lo <= obs[model] <= hi,
                        "abs_error": 100.0 * abs(p.accuracy - obs[model]),
                        "loss_predicted": p.loss,
                        "outside_unit": p.outside_unit,
                    }
                )
    return pd.DataFrame(rows)


def _targets(ladder_all: pd.DataFrame) -> dict[str, tuple[float, float]]:
    out = {}
    for model in ("7B", "13B"):
        last = ladder_all[ladder_all["target"] & (ladder_all["model"] == model)].iloc[-1]
        out[model] = (float(last["N"]), float(last["D"]))
    return out


def ladder_published_check(
    ladder_all: pd.DataFrame, tasks: Sequence[str] = LADDER_PAPER_TASKS, target: str = "13B"
) -> pd.DataFrame:
    """Method (c) with step 1 by the Approach-3 objective (``huber_log``), point predictions only.

    The ladder paper's step 1 minimises a Huber loss; this is the closest objective of the
    library, for comparing with their published predictions. One row per task:
    ``observed``, ``predicted`` (accuracy) and ``loss_predicted`` (task loss).
    """
    N, D = _targets(ladder_all)[target]
    rows = []
    for task in tasks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            model = twostep.fit_two_step(twostep.ladder_data(ladder_all, task), loss_objective="huber_log")
        rows.append(
            {
                "task": task,
                "observed": twostep.ladder_observed(ladder_all, target, task),
                "predicted": float(model.accuracy(N, D)),
                "loss_predicted": float(model.loss(N, D)),
            }
        )
    return pd.DataFrame(rows)


def _quiet_fit(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fn(*args, **kwargs)


def testbed_backtest(
    df: pd.DataFrame, tasks: Sequence[str], datasets: Sequence[str] = DATASETS, eval_set: str = "c4_val"
) -> pd.DataFrame:
    """(a) the paper's Err(L) and (b) the bounded sigmoid, back-tested on every predictable testbed run.

    For every applicable target of :func:`~scalinglib.backtest.backtest_targets` (the rule of
    chapter 10): the over-training law on its loss runs predicts the target's loss; for each
    task (``err_<task>``, or ``avg`` / ``avg_subset`` for the averages) Err(L) and the sigmoid
    are fitted on its error runs' loss and error, and predict the target's error. The
    sigmoid's asymptotes lie in [0, chance error] (the task metadata's ``chance_error``);
    for the averages, which have no single chance level, in [0, 1].

    Returns one row per (dataset, target, task, method) with ``observed`` and
    ``predicted`` accuracy, ``abs_error`` in accuracy points and ``outside_unit``.
    """
    meta = load_task_metadata().set_index("task")
    rows = []
    for ds in datasets:
        for t in backtest_targets(df, ds):
            cfg = t.config(eval_set)
            lr = select_runs(df, ds, cfg.loss_runs)
            er = select_runs(df, ds, cfg.error_runs)
            tg = select_runs(df, ds, cfg.targets).iloc[0]
            lf = _quiet_fit(fit_overtraining, lr["C"].to_numpy(), lr["M"].to_numpy(), lr[cfg.loss_col].to_numpy())
            x = float(lf.law.predict(float(tg["C"]), float(tg["M"])))
            for task in tasks:
                col = f"err_{task}"
                chance_err = float(meta.loc[task, "chance_error"]) if task in meta.index else 1.0
                L, e = er[cfg.loss_col].to_numpy(float), er[col].to_numpy(float)
                obs = 1.0 - float(tg[col])
                for method in ("(a) paper", "sigmoid"):
                    try:
                        if method == "sigmoid":
                            f = _quiet_fit(fit_sigmoid, L, e, ceiling=chance_err)
                        else:
                            f = _quiet_fit(fit_error, L, e)
                    except FitError:
                        continue
                    err = float(f.law.predict(x))
                    rows.append(
                        {
                            "dataset": ds,
                            "model": t.target.model,
                            "M": t.target.M,
                            "task": task,
                            "method": method,
                            "observed": obs,
                            "predicted": 1.0 - err,
                            "abs_error": 100.0 * abs(err - (1.0 - obs)),
                            "outside_unit": not 0.0 <= err <= 1.0,
                        }
                    )
    return pd.DataFrame(rows)


def sardana_predictions(sardana: pd.DataFrame) -> pd.DataFrame:
    """(a) the paper's Err(L) and (b) the sigmoid on Sardana et al.'s Gauntlet average, at the targets of chapter 13.

    The loss law and the runs are those of :func:`scalinglib.otherlabs.recipe` (the paper's
    default configuration transposed); the sigmoid (asymptotes in [0, 1]) is fitted on the
    same error runs as Err(L). One row per (target, method): ``observed`` and ``predicted``
    accuracy, ``abs_error`` in points, ``outside_unit``.
    """
    from ..otherlabs import fit_recipe, lab_table, recipe

    cfg = recipe(sardana)
    fitted = _quiet_fit(fit_recipe, sardana, cfg)
    table = lab_table(sardana)
    er = select_runs(table, cfg.dataset, cfg.error_runs)
    sig = _quiet_fit(fit_sigmoid, er[cfg.loss_col].to_numpy(float), er[cfg.err_col].to_numpy(float))
    rows = []
    tg = select_runs(table, cfg.dataset, cfg.targets)
    x = fitted.loss_law.predict(tg["C"].to_numpy(float), tg["M"].to_numpy(float))
    for (_, r), xi in zip(tg.iterrows(), x):
        obs = 1.0 - float(r[cfg.err_col])
        for method, law in (("(a) paper", fitted.error_law), ("sigmoid", sig.law)):
            err = float(law.predict(xi))
            rows.append(
                {
                    "model": r["model"],
                    "M": float(r["M"]),
                    "method": method,
                    "observed": obs,
                    "predicted": 1.0 - err,
                    "abs_error": 100.0 * abs(err - (1.0 - obs)),
                    "outside_unit": not 0.0 <= err <= 1.0,
                }
            )
    return pd.DataFrame(rows)
