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

# CHANCE_MODEL and CHANCE_MARGIN were importable from the old evaluation.py; they stay so.
from .common import CHANCE_MARGIN, CHANCE_MODEL, TARGET_LABELS, target_label  # noqa: F401
from .reach import eval_set_predictions, grid_summary, relative_error_grid, task_predictions, task_summary
from .tradeoff import compute_tradeoff, efficient_frontier, tradeoff_runs, tradeoff_summary

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
