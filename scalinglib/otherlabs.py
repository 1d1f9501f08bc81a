r"""The paper's recipe applied, unchanged, to two other labs' released runs.

Gadre et al. (2024) fit the over-training law
:math:`L(C, M) = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}` on the four smallest models at
:math:`M = 20` plus the smallest model at one over-trained multiplier (their default
configuration), fit :math:`\mathrm{Err}(L) = \epsilon - k e^{-\gamma L}` on those runs
(plus the next size at :math:`M = 20`), and chain the two to predict larger and more
over-trained targets. This module builds the same configuration for

* the 47 runs of Sardana et al. (2024) (:func:`scalinglib.data.load_sardana`): loss law
  on 150M, 370M, 750M and 1.3B at M = 20 and 150M at M = 250 (the released multiplier
  nearest the paper's 320); targets the 2.5B model at all its multipliers, the 6B model
  and the 150M model at M = 5,000 and 10,000. Downstream: the Eval Gauntlet core
  average, ``err_gauntlet`` = 1 - score (chance-level error 1).
* the OLMo ladder of Bhagia et al. (2024) (:func:`scalinglib.data.load_ladder`): loss
  law on 190M, 370M, 760M and 1B at 1x Chinchilla (M = 20) and 190M at 10x (M = 200, the
  ladder's largest); targets the 3B model at all five multiples and OLMo 2 7B and 13B.
  Downstream: ``err_avg`` = 1 - mean raw accuracy of ten tasks. The reruns are left out
  of the fit (the original run of each size is used), so every run appears once.

In both labs the paper's extra error-law run (the fifth size at M = 20) is a target, so
the error law is fitted on the five loss-law runs. :func:`recipe` also offers a variant,
``error_runs="small"``, that fits the error law on every run of the four smallest sizes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .fit import FitWarning
from .paper import Config, ConfigFit, Run, fit_config
from .uncertainty import ConfigBootstrap, bootstrap_config

__all__ = ["LAB_LABELS", "lab_table", "find_run", "recipe", "fit_recipe", "predict_all", "recipe_table"]

LAB_LABELS = {"sardana": "Sardana et al.", "ladder": "OLMo ladder"}

_SMALL = {"sardana": ("150M", "370M", "750M", "1.3B"), "ladder": ("190M", "370M", "760M", "1B")}
_OVERTRAINED = {"sardana": 250.0, "ladder": 200.0}
_EVAL = {"sardana": "train", "ladder": "c4"}
_DOWNSTREAM = {"sardana": "gauntlet", "ladder": "avg"}


def lab_table(df: pd.DataFrame) -> pd.DataFrame:
    """The rows the recipe works on: every run once (a ladder rerun is dropped, its original kept)."""
    if "replicate" in df:
        return df[df["replicate"] == 0]
    return df


def find_run(df: pd.DataFrame, model: str, M: float, rtol: float = 0.01) -> Run:
    """The run of ``model`` whose multiplier is within ``rtol`` of the nominal ``M``.

    Returns a :class:`~scalinglib.paper.Run` carrying the run's exact M (the ladder's
    are 20.03, 40.01, ... rather than 20, 40). Raises ``KeyError`` naming the run when
    there is not exactly one.
    """
    hit = df[(df["model"] == model) & np.isclose(df["M"], M, rtol=rtol)]
    if len(hit) != 1:
        raise KeyError(f"expected one run of {model} at M = {M:g}, found {len(hit)}")
    return Run(model, float(hit["M"].iloc[0]))


def recipe(df: pd.DataFrame, error_runs: str = "paper", loss_runs: str = "paper") -> Config:
    """The paper's default configuration transposed to one lab's table.

    Parameters
    ----------
    df
        :func:`~scalinglib.data.load_sardana` or :func:`~scalinglib.data.load_ladder`.
    error_runs
        ``"paper"``: the error law on the five loss-law runs (as the paper, less its
        extra run, which is a target here); ``"small"``: on every run of the four
        smallest sizes that is not a target.
    loss_runs
        ``"paper"``: the default configuration's five runs; ``"small"``: every run of
        the four smallest sizes (all their multipliers; a variant, not the paper's recipe).
    """
    lab = str(df["dataset"].iloc[0])
    if lab not in _SMALL:
        raise ValueError(f"unknown lab {lab!r}; expected one of {sorted(_SMALL)}")
    d = lab_table(df)
    if lab == "sardana":
        targets: Sequence[Run] = tuple(Run("2.5B", float(M)) for M in d.loc[d["model"] == "2.5B", "M"]) + (
            find_run(d, "6B", 20.0),
            find_run(d, "150M", 5000.0),
            find_run(d, "150M", 10000.0),
        )
    else:
        targets = tuple(Run("3B", float(M)) for M in d.loc[d["model"] == "3B", "M"]) + tuple(
            Run(m, float(d.loc[d["model"] == m, "M"].iloc[0])) for m in ("7B", "13B")
        )
    sm = d[d["model"].isin(_SMALL[lab])]
    small = tuple(r for r in (Run(m, float(M)) for m, M in zip(sm["model"], sm["M"])) if r not in targets)
    default = tuple(find_run(d, m, 20.0) for m in _SMALL[lab]) + (find_run(d, _SMALL[lab][0], _OVERTRAINED[lab]),)
    if loss_runs not in ("paper", "small"):
        raise ValueError(f"loss_runs must be 'paper' or 'small', got {loss_runs!r}")
    fit_runs = default if loss_runs == "paper" else small
    if error_runs == "paper":
        err = default
    elif error_runs == "small":
        err = small
    else:
        raise ValueError(f"error_runs must be 'paper' or 'small', got {error_runs!r}")
    return Config(lab, fit_runs, err, tuple(targets), eval_set=_EVAL[lab], downstream=_DOWNSTREAM[lab])


def fit_recipe(df: pd.DataFrame, config: Config) -> ConfigFit:
    """Fit the configuration's two laws (:func:`scalinglib.paper.fit_config`) on the lab's table."""
    return fit_config(lab_table(df), config)


def predict_all(df: pd.DataFrame, fitted: ConfigFit) -> pd.DataFrame:
    """Chained predictions for every run of a lab (reruns included).

    Adds ``loss_pred``, ``err_pred`` (error law at the *predicted* loss), the signed
    relative errors ``loss_rel`` = (predicted - observed) / observed and ``err_rel``,
    ``err_outside_unit`` (the predicted error is outside [0, 1], impossible for an error:
    the paper's Err(L) is unbounded below), and ``role``: ``"fit"`` (a loss-law run),
    ``"target"`` or ``"other"``.
    """
    cfg = fitted.config
    out = df.copy()
    out["loss_pred"] = fitted.loss_law.predict(out["C"].to_numpy(float), out["M"].to_numpy(float))
    out["err_pred"] = fitted.error_law.predict(out["loss_pred"].to_numpy(float))
    out["loss_rel"] = (out["loss_pred"] - out[cfg.loss_col]) / out[cfg.loss_col]
    out["err_rel"] = (out["err_pred"] - out[cfg.err_col]) / out[cfg.err_col]
    out["err_outside_unit"] = ~out["err_pred"].between(0.0, 1.0)

    def member(runs):
        keys = {(r.model, r.M) for r in runs}
        rep = out["replicate"] if "replicate" in out else pd.Series(0, index=out.index)
        return np.array([(m, M) in keys and k == 0 for m, M, k in zip(out["model"], out["M"], rep)])

    out["role"] = np.where(member(cfg.loss_runs), "fit", np.where(member(cfg.targets), "target", "other"))
    return out


def recipe_table(
    df: pd.DataFrame,
    config: Config,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.9,
    method: str = "residual",
) -> tuple[pd.DataFrame, ConfigBootstrap]:
    """Predicted versus observed loss and error of every target, with bootstrap intervals.

    Intervals are percentile intervals at ``level`` from
    :func:`scalinglib.uncertainty.bootstrap_config` (``method`` for both laws; residual by
    default, the better-calibrated scheme for five-run fits, chapter 9), the error
    propagated through both laws. Columns: those of
    :meth:`~scalinglib.uncertainty.ConfigBootstrap.target_intervals` plus ``loss_rel`` and
    ``err_rel`` (signed relative errors), ``loss_covered`` and ``err_covered`` (the
    interval holds the observation), ``compute_ratio_loss`` and ``compute_ratio_err``
    (target C over the total C of the runs each law was fitted on), and
    ``err_outside_unit`` (the predicted error lies outside [0, 1]: the paper's Err(L)
    keeps falling below zero as the loss falls, and such a prediction is flagged here).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        boot = bootstrap_config(lab_table(df), config, n_boot=n_boot, seed=seed, method=method)
    t = boot.target_intervals(level)
    t["loss_rel"] = (t["loss_predicted"] - t["loss_observed"]) / t["loss_observed"]
    t["err_rel"] = (t["err_predicted"] - t["err_observed"]) / t["err_observed"]
    t["loss_covered"] = (t["loss_low"] <= t["loss_observed"]) & (t["loss_observed"] <= t["loss_high"])
    t["err_covered"] = (t["err_low"] <= t["err_observed"]) & (t["err_observed"] <= t["err_high"])
    t["compute_ratio_loss"] = t["C"] / boot.fitted.loss_compute
    t["compute_ratio_err"] = t["C"] / boot.fitted.error_compute
    t["err_outside_unit"] = ~t["err_predicted"].between(0.0, 1.0)
    return t, boot
