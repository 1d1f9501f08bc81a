r"""The Chinchilla runs of Hoffmann et al. (2022) and the parameter sets fitted to them.

Besiroglu et al. (2024) re-extracted the 245 runs of Hoffmann et al.'s Approach 3
and refitted :math:`L(N, D) = E + A N^{-\alpha} + B D^{-\beta}` with the Approach-3
objective, the sum of Huber losses of log residuals,
:math:`\sum_i \mathrm{Huber}_\delta(\ln y_i - \ln \hat y_i)` with
:math:`\delta = 10^{-3}` (:func:`scalinglib.fit.huber_log_objective`), on the runs
below the fifth-highest loss. This module holds that selection
(:func:`exclude_highest_losses`), the log residuals of a law on the runs, and a table
judging several published parameter sets on the same runs (:func:`parameter_sets`).
The runs themselves are read by :func:`scalinglib.data.load_chinchilla_runs`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .fit import huber_log_objective
from .laws import ChinchillaLaw

__all__ = ["exclude_highest_losses", "log_residuals", "parameter_sets"]


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
    return np.log(runs["loss"].to_numpy(float)) - np.log(
        law.predict(runs["N"].to_numpy(float), runs["D"].to_numpy(float))
    )


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
