r"""One recipe, two purposes: the runs that *predict* a target and the runs that *choose* N and D.

The paper's two laws answer two different questions, and each needs its own runs.

**Predict** the loss and error of a large run whose N and D are already decided. The
over-training law :math:`L(C, M) = E + (a M^\eta + b M^{-\eta}) C^{-\eta}` needs runs that
fix E, the exponent :math:`\eta` and the offset at the target's M: several model sizes at
one M (the paper uses M = 20) plus one over-trained run, which ties the offset across M.
This is the paper's default configuration (:func:`predict_config`, the same as
:func:`scalinglib.paper.default_config`): five small runs for the loss law, those plus the
1.4B run at M = 20 for the error law :math:`Err(L) = \epsilon - k e^{-\gamma L}`.

**Choose** N and D for a budget or a target. The compute-optimal multiplier
:math:`M^* = (b/a)^{1/(2\eta)}` depends on the ratio b/a, which the fit can only pin down
from runs on *both sides* of M*: the default configuration has no run below M = 20 and puts
M* below all its runs, by extrapolation. :func:`choose_config` therefore fits the loss law on
every run of the four small models, M = 5 to 640 (the fit of chapter 2), and keeps the error
law of the default configuration (the error law maps loss to error; it does not depend on how
the loss law was fitted). ``scalinglib plan --dataset`` plans with this configuration.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .data import DEFAULT_EVAL
from .paper import SMALL_MODELS, Config, Run, default_config

__all__ = ["predict_config", "choose_config"]


def predict_config(dataset: str, eval_set: str = DEFAULT_EVAL, downstream: str = "avg_subset") -> Config:
    """The runs that predict a target: the paper's default configuration.

    Loss law: the four small models at M = 20 plus the smallest at M = 320; error law: those
    five plus the 1.4B model at M = 20. Parameters as :func:`scalinglib.paper.default_config`.
    """
    return default_config(dataset, eval_set, downstream)


def choose_config(
    df: pd.DataFrame, dataset: str, eval_set: str = DEFAULT_EVAL, downstream: str = "avg_subset", m_min: float = 0.0
) -> Config:
    r"""The runs that choose N and D: every small-model run, on both sides of M*.

    Loss runs: every run of the four small models (:data:`scalinglib.paper.SMALL_MODELS`) of
    ``dataset`` in ``df`` with :math:`M \ge` ``m_min`` (default: all, M = 5 to 640), ordered by
    model then M. Error runs and targets: those of :func:`predict_config`.

    Raises
    ------
    ValueError
        When ``df`` holds no such run (naming the training set and ``m_min``).
    """
    base = default_config(dataset, eval_set, downstream)
    d = df[(df["dataset"] == dataset) & df["model"].isin(SMALL_MODELS) & (df["M"] >= m_min)]
    if d.empty:
        raise ValueError(f"no small-model run of training set {dataset!r} with M >= {m_min:g}")
    order = {m: i for i, m in enumerate(SMALL_MODELS)}
    d = d.assign(_o=d["model"].map(order)).sort_values(["_o", "M"])
    runs = tuple(Run(str(m), float(M)) for m, M in zip(d["model"], d["M"]))
    return replace(base, loss_runs=runs)
