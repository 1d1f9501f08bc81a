r"""Two-step prediction of a task's accuracy, with bootstrap intervals.

A benchmark accuracy is predicted in two steps (Bhagia et al., 2024; Gadre et al.,
2024 chain the same way through C4 loss):

1. **a loss from N and D**, fitted on one point per run (its final checkpoint): the
   Chinchilla form :math:`x(N, D) = E + A N^{-\alpha} + B D^{-\beta}` or the
   over-training form :math:`x = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}`; x is the
   task's own loss (bits per byte of the correct answer) or a general one (C4 loss);
2. **the error from that loss**, fitted on many checkpoints: the bounded sigmoid
   :math:`\mathrm{Err}(x) = b + a / (1 + e^{-k (x - x_0)})`
   (:func:`~scalinglib.fit.fit_sigmoid`) or the paper's
   :math:`\mathrm{Err}(x) = \epsilon - k e^{-\gamma x}` (:func:`~scalinglib.fit.fit_error`).

The prediction at a target (N, D) is :math:`1 - \mathrm{Err}(x(N, D))`. Its interval
comes from a **run bootstrap**: each replicate draws the runs with replacement, refits
step 1 on the drawn runs' final points and step 2 on the drawn runs' checkpoints
(checkpoints of one run are not independent, so a run is the unit that is resampled),
and chains the two refits; the percentile interval of the B chained predictions is
reported. The paper's Err(x) is kept exactly as the paper defines it; a prediction of
an error outside [0, 1] by it is flagged (``outside_unit`` and a
:class:`~scalinglib.fit.FitWarning`); the sigmoid's predictions lie in its band by
construction.

:func:`ladder_data` prepares the OLMo ladder (:func:`~scalinglib.data.load_ladder`)
the way the ladder paper does (:data:`LADDER_RECIPE`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .fit import (
    FitResult,
    FitWarning,
    fit_batch,
    fit_chinchilla,
    fit_error,
    fit_overtraining,
    fit_sigmoid,
    refine_huber_log,
)
from .uncertainty import percentile_interval

LOSS_LAWS = ("chinchilla", "overtraining")
ACC_LAWS = ("sigmoid", "error")

#: The ladder paper's choices (``src/scripts/predict.py`` and ``paper/configs/final.json``
#: of allenai/OLMo-ladder at commit 4d99344): step 1 on the final checkpoints of the
#: 190M, 370M, 760M and 1B runs at 1, 2, 5 and 10 x Chinchilla (16 runs; not the 3B, the
#: 0.5x runs or the reruns), the loss of a run being the mean over its last 5
#: checkpoints; step 2 on the same runs' checkpoints, the first 10% skipped, loss and
#: accuracy smoothed by a trailing moving average of 5 checkpoints, plus an "ideal"
#: point (loss 0, accuracy 1).
LADDER_RECIPE = {
    "models": ("190M", "370M", "760M", "1B"),
    "multiples": (1.0, 2.0, 5.0, 10.0),
    "skip": 0.1,
    "window": 5,
    "ideal_point": True,
}


@dataclass(frozen=True)
class TwoStepData:
    """The points of both steps.

    Step 1: one point per run, ``N``, ``D``, its loss ``x`` and its ``run`` label.
    Step 2: checkpoints, their loss ``x2``, error ``err2`` (1 - accuracy) and ``run2``
    (the run each belongs to; a label absent from ``run`` marks a fixed point that every
    bootstrap replicate keeps, such as the ideal point).
    """

    N: np.ndarray
    D: np.ndarray
    x: np.ndarray
    run: np.ndarray
    x2: np.ndarray
    err2: np.ndarray
    run2: np.ndarray


@dataclass(frozen=True)
class TwoStep:
    """Both fitted steps; ``loss(N, D)``, ``err(N, D)`` and ``accuracy(N, D)`` chain them."""

    loss_fit: FitResult
    acc_fit: FitResult
    loss_law: str
    acc_law: str

    def loss(self, N, D) -> np.ndarray:
        return _loss_at(self.loss_fit.law, self.loss_law, N, D)

    def err(self, N, D) -> np.ndarray:
        return self.acc_fit.law.predict(self.loss(N, D))

    def accuracy(self, N, D) -> np.ndarray:
        return 1.0 - self.err(N, D)


@dataclass(frozen=True)
class TwoStepPrediction:
    """A chained prediction at one target with its bootstrap interval.

    ``loss`` and ``accuracy`` are the point predictions (fits on all runs);
    ``loss_interval`` and ``accuracy_interval`` the percentile intervals (``level``) of
    ``n_boot`` run-bootstrap replicates. ``outside_unit`` is True when the point
    prediction of the error lies outside [0, 1] (possible with the paper's Err(x) only).
    """

    loss: float
    accuracy: float
    loss_interval: tuple[float, float]
    accuracy_interval: tuple[float, float]
    n_boot: int
    level: float
    outside_unit: bool
    model: TwoStep = field(repr=False)


def _check(loss_law: str, acc_law: str) -> None:
    if loss_law not in LOSS_LAWS:
        raise ValueError(f"loss_law must be one of {LOSS_LAWS}, got {loss_law!r}")
    if acc_law not in ACC_LAWS:
        raise ValueError(f"acc_law must be one of {ACC_LAWS}, got {acc_law!r}")


def _loss_at(law: Any, loss_law: str, N, D) -> np.ndarray:
    """Step 1's loss at (N, D): the over-training law takes them through C and M."""
    return law.predict_ND(N, D) if loss_law == "overtraining" else law.predict(N, D)


def _fit_loss(loss_law: str, N, D, x, objective: str = "lsq") -> FitResult:
    if loss_law == "chinchilla":
        return fit_chinchilla(N, D, x, objective=objective)
    return fit_overtraining(N=N, D=D, L=x, objective=objective)


def fit_two_step(
    data: TwoStepData,
    loss_law: str = "chinchilla",
    acc_law: str = "sigmoid",
    chance: float = 0.0,
    loss_objective: str = "lsq",
) -> TwoStep:
    """Fit both steps on ``data``: ``loss_law`` for step 1 (objective ``loss_objective``), ``acc_law`` for step 2 (least squares).

    ``chance`` (accuracy of a random guess) sets the sigmoid's ceiling on the error,
    1 - chance; its floor is 0.
    """
    _check(loss_law, acc_law)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        f1 = _fit_loss(loss_law, data.N, data.D, data.x, loss_objective)
        if acc_law == "sigmoid":
            f2 = fit_sigmoid(data.x2, data.err2, chance=chance)
        else:
            f2 = fit_error(data.x2, data.err2)
    return TwoStep(f1, f2, loss_law, acc_law)


def predict_two_step(
    data: TwoStepData,
    targets: dict[str, tuple[float, float]],
    loss_law: str = "chinchilla",
    acc_law: str = "sigmoid",
    chance: float = 0.0,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int | None = 0,
    loss_objective: str = "lsq",
) -> dict[str, TwoStepPrediction]:
    """Predict the accuracy at each target (name -> (N, D)) through both steps, with run-bootstrap intervals.

    Replicate b draws the runs of ``data.run`` with replacement (counts c_r), refits step
    1 on the drawn runs' points (a run drawn twice counts twice) and step 2 with weight
    c_r on each checkpoint of run r (fixed points weigh 1), all replicates of step 2 at
    once (:func:`~scalinglib.fit.fit_batch`); the prediction of replicate b chains its
    two refits. The same replicates serve every target. With ``loss_objective="huber_log"``
    step 1 of a replicate is one descent of the Approach-3 objective from the full fit,
    the runs weighted by their counts (:func:`~scalinglib.fit.refine_huber_log`). Draws
    with fewer than five distinct runs (step 1 has five parameters) are redrawn.
    """
    model = fit_two_step(data, loss_law, acc_law, chance, loss_objective)
    names = list(targets)
    Nt = np.array([float(targets[n][0]) for n in names])
    Dt = np.array([float(targets[n][1]) for n in names])
    x_hat = np.asarray(model.loss(Nt, Dt), dtype=float)
    err_hat = np.asarray(model.acc_fit.law.predict(x_hat), dtype=float)
    for n, e in zip(names, err_hat):
        if not 0.0 <= e <= 1.0:
            warnings.warn(
                f"the {acc_law} law predicts an error of {e:.4g} for {n}, outside [0, 1]", FitWarning, stacklevel=2
            )
    rng = np.random.default_rng(seed)
    runs = np.unique(data.run)
    pos = {r: i for i, r in enumerate(runs)}
    run_of = np.array([pos[r] for r in data.run])
    idx2 = np.array([pos.get(r, -1) for r in data.run2])
    counts = np.zeros((n_boot, runs.size))
    xs = np.empty((n_boot, len(names)))
    inputs1 = (
        {"N": data.N, "D": data.D} if loss_law == "chinchilla" else {"C": 6.0 * data.N * data.D, "M": data.D / data.N}
    )
    b = tries = 0
    while b < n_boot:
        tries += 1
        if tries > 20 * n_boot:
            raise RuntimeError("could not draw enough run resamples on which step 1 can be fitted")
        c = np.bincount(rng.integers(0, runs.size, runs.size), minlength=runs.size).astype(float)
        if np.count_nonzero(c) < 5:  # fewer distinct runs than step 1 has parameters
            continue
        rows = np.repeat(np.arange(data.run.size), c[run_of].astype(int))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                if loss_objective == "huber_log":  # warm start from the full fit, runs weighted by their counts
                    law, _ = refine_huber_log(model.loss_fit.law, inputs1, data.x, weights=c[run_of])
                else:
                    law = _fit_loss(loss_law, data.N[rows], data.D[rows], data.x[rows], loss_objective).law
        except ValueError:  # a FitError: too few distinct points
            continue
        xs[b] = _loss_at(law, loss_law, Nt, Dt)
        counts[b] = c
        b += 1
    W = np.where(idx2[None, :] >= 0, counts[:, np.maximum(idx2, 0)], 1.0)
    Y = np.tile(data.err2, (n_boot, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        samples, _, _ = fit_batch(model.acc_fit, W, Y)
    cls = type(model.acc_fit.law)
    batch = cls(*[samples[n][:, None] for n in cls.names])
    acc = 1.0 - np.asarray(batch.predict(xs))  # (B, targets)
    lo_x, hi_x = percentile_interval(xs, level, axis=0)
    lo_a, hi_a = percentile_interval(acc, level, axis=0)
    return {
        n: TwoStepPrediction(
            float(x_hat[i]),
            float(1.0 - err_hat[i]),
            (float(lo_x[i]), float(hi_x[i])),
            (float(lo_a[i]), float(hi_a[i])),
            n_boot,
            level,
            bool(not 0.0 <= err_hat[i] <= 1.0),
            model,
        )
        for i, n in enumerate(names)
    }


def _trailing_mean(a: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values up to each position (fewer at the start)."""
    c = np.cumsum(np.asarray(a, dtype=float))
    out = c.copy()
    out[window:] = c[window:] - c[:-window]
    n = np.minimum(np.arange(1, a.size + 1), window)
    return out / n


def ladder_data(ladder_all: pd.DataFrame, task: str, loss: str = "bpb", recipe: dict | None = None) -> TwoStepData:
    """The two steps' points for one task of the OLMo ladder, chosen as the ladder paper does.

    Parameters
    ----------
    ladder_all
        :func:`~scalinglib.data.load_ladder` with ``checkpoints="all"``.
    task
        A task of :data:`~scalinglib.data.LADDER_TASKS`, or ``"avg"`` (mean accuracy of
        the ten tasks; then ``loss`` must be ``"c4"``).
    loss
        ``"bpb"`` (the task's bits per byte, the ladder's "task loss") or ``"c4"`` (C4
        validation loss).
    recipe
        Defaults to :data:`LADDER_RECIPE`: the runs fitted, the share of checkpoints
        skipped, the smoothing window, the ideal point (loss 0, accuracy 1; only for the
        task loss, which reaches 0 for a model that is sure of every correct answer).
    """
    r = {**LADDER_RECIPE, **(recipe or {})}
    xcol = {"bpb": f"bpb_{task}", "c4": "loss"}[loss]
    acol = f"acc_{task}"
    if xcol not in ladder_all or acol not in ladder_all:
        raise KeyError(f"no columns {xcol!r} and {acol!r} in the ladder frame")
    sel = ladder_all[
        (~ladder_all["target"])
        & ladder_all["model"].isin(r["models"])
        & ladder_all["multiple"].isin(r["multiples"])
        & (ladder_all["replicate"] == 0)
    ]
    N, D, x, run, x2, e2, run2 = [], [], [], [], [], [], []
    w = int(r["window"])
    for name, g in sel.groupby("run", sort=True):
        g = g.sort_values("step")
        N.append(float(g["N"].iloc[-1]))
        D.append(float(g["D"].iloc[-1]))
        x.append(float(g[xcol].iloc[-w:].mean()))
        run.append(name)
        keep = g.iloc[int(np.ceil(r["skip"] * len(g))) :]
        x2.append(_trailing_mean(keep[xcol].to_numpy(float), w))
        e2.append(1.0 - _trailing_mean(keep[acol].to_numpy(float), w))
        run2 += [name] * len(keep)
    x2a, e2a, run2a = np.concatenate(x2), np.concatenate(e2), np.array(run2, dtype=object)
    if r["ideal_point"] and loss == "bpb":
        x2a, e2a, run2a = np.append(x2a, 0.0), np.append(e2a, 0.0), np.append(run2a, "ideal")
    return TwoStepData(np.array(N), np.array(D), np.array(x), np.array(run, dtype=object), x2a, e2a, run2a)


def ladder_observed(ladder_all: pd.DataFrame, model: str, task: str, window: int = 5) -> float:
    """Observed accuracy of a ladder target (``"7B"`` or ``"13B"``): the mean over its last ``window`` checkpoints.

    This is how the ladder paper reports a target's accuracy (its ``Actual``); the 7B's
    file has a single row.
    """
    g = ladder_all[ladder_all["target"] & (ladder_all["model"] == model)].sort_values("step", na_position="last")
    return float(g[f"acc_{task}"].iloc[-window:].mean())
