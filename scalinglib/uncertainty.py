r"""Bootstrap intervals for the fitted parameters and for predictions.

Two resampling schemes (Efron & Tibshirani, 1993; Davison & Hinkley, 1997):

* **pairs** — resample the fitting runs with replacement. Replicate b refits the law
  with multinomial counts :math:`w_b \sim \mathrm{Mult}(n, 1/n)` as weights,
  :math:`\min \sum_i w_{bi} (y_i - f(x_i; \theta))^2`, which is the fit on the
  resampled table (a run drawn twice counts twice).
* **residual** — keep the inputs, resample the residuals of the point fit:
  :math:`y^*_{bi} = \hat y_i + s\, r_{j(b,i)}` with :math:`j` uniform on 1..n and the
  small-sample inflation :math:`s = \sqrt{n / (n - p)}` (p parameters), which undoes
  the shrinkage of least-squares residuals. Preferable for small fits, where a pairs
  resample often leaves out the one run that identifies a parameter.

Percentile intervals: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of
the replicates (:func:`percentile_interval`; several bootstraps side by side:
:func:`interval_table`). :func:`bootstrap_config` and :func:`bootstrap_laws` resample
a configuration's loss and error laws jointly and propagate both to its targets.

Refits. This module only resamples; the refits are the fitting core's batch path,
every replicate of a bootstrap at once. With the ``lsq`` objective all B replicates
of any law are refitted by :func:`scalinglib.fit.fit_batch` (the core's grid,
refinement and exact weighted NNLS on a batch of weighted data sets; one exponent:
a grid a fifth as dense as :data:`scalinglib.fit.SEARCH_BOXES` and a vectorised
golden-section search; two exponents, Chinchilla: a 30 x 30 grid of (alpha, beta)
from per-replicate moments and a vectorised Levenberg-Marquardt of all replicates'
exponents together). 1,000 replicates of the paper's default configuration (loss
law and error law), or of the Chinchilla law on Epoch's 240 points, take well under
a second (benchmarks/bench_bootstrap.py); tests/test_uncertainty.py checks the batch
against one ordinary fit per replicate.

A ``huber_log`` fit (any law) is bootstrapped with *warm starts*, as is standard for
bootstrap refits of a non-convex objective: each replicate's objective
:math:`\sum_i w_{bi}\, \mathrm{Huber}_\delta(\ln f(x_i; \theta) - \ln y^*_{bi})` is
minimised starting from the full-data optimum, all replicates together by
:func:`scalinglib.fit.refine_huber_log_batch` (a vectorised damped Newton method),
which reaches the optimum of :func:`scalinglib.fit.refine_huber_log` (one BFGS
descent per replicate) replicate by replicate. A replicate is a small perturbation
of the data, so its optimum lies in the basin of the point estimate; the tests check
that the warm refits reach the optimum of the full multi-start fit on the resampled
data.

Degenerate resamples. A pairs resample with fewer distinct runs than the law has
parameters, or with a single distinct M for the over-training law (or a single N or
D for Chinchilla), cannot identify the law. Such resamples are **redrawn** (the
count is kept in :attr:`Bootstrap.n_redrawn`); the bootstrap distribution is thus
conditional on an identifiable resample. If fewer than 0.1% of draws are usable a
:class:`~scalinglib.fit.FitError` says so. Only the counts of distinct runs are
checked: a replicate is not refitted one by one to ask whether its fit is identified.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .fit import N_PARAMS, SPECS, FitError, FitResult, FitWarning, fit_batch, refine_huber_log_batch

if TYPE_CHECKING:  # paper imports this module
    from .paper import ConfigFit

__all__ = [
    "Bootstrap",
    "ConfigBootstrap",
    "bootstrap",
    "bootstrap_config",
    "bootstrap_huber",
    "bootstrap_laws",
    "interval_table",
    "percentile_interval",
]

_LAW_CLASSES = {s.law.__name__: s.law for s in SPECS.values()}
_KIND = {s.law.__name__: kind for kind, s in SPECS.items()}
_MAX_DRAW_ROUNDS = 200


def percentile_interval(samples: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval: the (1 - level)/2 and (1 + level)/2 quantiles along ``axis``."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    q = np.quantile(np.asarray(samples, dtype=float), [(1 - level) / 2, (1 + level) / 2], axis=axis)
    return q[0], q[1]


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class Bootstrap:
    """Bootstrap replicates of one fitted law.

    Attributes
    ----------
    law
        Class name of the law (``"OvertrainingLaw"``, ``"ErrorLaw"``, ...).
    method
        ``"pairs"`` or ``"residual"``.
    seed
        Seed of the ``numpy`` Generator (same seed, same replicates).
    point
        Parameters of the original fit.
    samples
        Parameter name -> array (B,) of replicate values.
    n_redrawn
        Resamples rejected as degenerate (see the module docstring) and redrawn.
    n_on_edge, n_active
        Replicates whose exponent is within one grid cell of the search box's edge,
        and replicates with a non-negativity constraint active (coefficient = 0).
    """

    law: str
    method: str
    seed: int | None
    point: dict[str, float]
    samples: dict[str, np.ndarray]
    n_redrawn: int = 0
    n_on_edge: int = 0
    n_active: int = 0
    notes: tuple[str, ...] = ()

    @property
    def n_boot(self) -> int:
        return int(next(iter(self.samples.values())).size)

    def law_batch(self):
        """One law object whose parameters are column arrays (B, 1): its ``predict``
        broadcasts to (B, k) for k inputs (vectorised over replicates)."""
        # Any: the parameters are column arrays here, not the floats the laws declare;
        # the laws' formulas broadcast over them
        cls: Any = _LAW_CLASSES[self.law]
        return cls(*[self.samples[n][:, None] for n in cls.names])

    def laws(self) -> list:
        """The B replicate laws as ordinary law objects."""
        cls = _LAW_CLASSES[self.law]
        cols = [self.samples[n] for n in cls.names]
        return [cls(*[float(c[b]) for c in cols]) for b in range(self.n_boot)]

    def predict(self, *x) -> np.ndarray:
        """Replicate predictions, array (B, k), for inputs of length k (as the law's ``predict``)."""
        xs = [np.atleast_1d(np.asarray(v, dtype=float)) for v in x]
        return np.asarray(self.law_batch().predict(*xs))

    def intervals(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Percentile interval of every parameter: name -> (low, high)."""
        out = {}
        for name, s in self.samples.items():
            lo, hi = percentile_interval(s, level)
            out[name] = (float(lo), float(hi))
        return out

    def predict_interval(self, *x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval of the prediction at each input: (low (k,), high (k,))."""
        return percentile_interval(self.predict(*x), level, axis=0)


# ----------------------------------------------------------------------------- resampling


def _kind(fit: FitResult) -> str:
    name = type(fit.law).__name__
    if name not in _KIND:
        raise TypeError(f"no bootstrap for law {name}")
    return _KIND[name]


def _input_columns(kind: str, fit: FitResult) -> list[np.ndarray]:
    return [np.asarray(fit.inputs[k], dtype=float) for k in SPECS[kind].inputs]


def _group_ids(*cols: np.ndarray) -> np.ndarray:
    """Integer id of each distinct value (rows of the stacked columns)."""
    stacked = np.stack([np.round(np.log(np.abs(c) + 1e-300), 10) for c in cols], axis=-1)
    _, ids = np.unique(stacked, axis=0, return_inverse=True)
    return ids.ravel()


def _n_distinct(counts: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Number of distinct groups present (count > 0) in each row of counts (B, n)."""
    onehot = np.zeros((ids.size, int(ids.max()) + 1))
    onehot[np.arange(ids.size), ids] = 1.0
    return ((counts > 0).astype(float) @ onehot > 0).sum(axis=1)


def _valid_pairs(kind: str, counts: np.ndarray, fit: FitResult) -> np.ndarray:
    """Which pairs resamples identify the law (enough distinct runs, >= 2 distinct M / N / D)."""
    cols = _input_columns(kind, fit)
    ok = _n_distinct(counts, _group_ids(*cols)) >= N_PARAMS[kind]
    if kind == "overtraining":
        ok &= _n_distinct(counts, _group_ids(cols[1])) >= 2
    if kind == "chinchilla":
        ok &= (_n_distinct(counts, _group_ids(cols[0])) >= 2) & (_n_distinct(counts, _group_ids(cols[1])) >= 2)
    return ok


def _draw_pairs(kind: str, fit: FitResult, n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Multinomial counts (B, n) of identifiable pairs resamples, and how many were redrawn."""
    n = fit.n_points
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    bad = ~_valid_pairs(kind, counts, fit)
    redrawn = int(bad.sum())
    drawn = n_boot + redrawn
    rounds = 0
    while bad.any():
        rounds += 1
        if rounds > _MAX_DRAW_ROUNDS or drawn > 1000 * n_boot:
            raise FitError(
                f"pairs bootstrap: only {n_boot - bad.sum()} of {drawn} resamples of these {n} points identify "
                f"the {kind} law; use method='residual'"
            )
        idx = np.flatnonzero(bad)
        counts[idx] = rng.multinomial(n, np.full(n, 1.0 / n), size=idx.size)
        still = ~_valid_pairs(kind, counts[idx], fit)
        redrawn += int(still.sum())
        drawn += idx.size
        bad[:] = False
        bad[idx[still]] = True
    return counts, redrawn


def _draw_residual(fit: FitResult, n_boot: int, rng: np.random.Generator, n_params: int) -> np.ndarray:
    """Responses (B, n): fitted + inflated resampled residuals (log scale for huber_log fits)."""
    n = fit.n_points
    if n <= n_params:
        raise FitError(
            f"residual bootstrap needs more points than parameters ({n} points, {n_params} parameters): "
            "the residuals are all zero"
        )
    s = np.sqrt(n / (n - n_params))
    idx = rng.integers(0, n, size=(n_boot, n))
    if fit.objective == "huber_log":
        r = np.log(fit.y) - np.log(fit.predicted)
        r = r - r.mean()
        return fit.predicted[None, :] * np.exp(s * r[idx])
    r = fit.residuals - fit.residuals.mean()
    return fit.predicted[None, :] + s * r[idx]


# ----------------------------------------------------------------------------- refits


def _warm_huber(kind: str, fit: FitResult, method: str, n_boot: int, rng: np.random.Generator):
    """Replicates of a huber_log fit, each refined from the point estimate (:func:`~scalinglib.fit.refine_huber_log`).

    Pairs: the counts of an identifiable resample (as in the vectorised path) are the
    weights of the objective; residual: log-scale responses of :func:`_draw_residual`.
    Returns (params dict, redrawn).
    """
    if method == "pairs":
        W, redrawn = _draw_pairs(kind, fit, n_boot, rng)
        Y = np.broadcast_to(fit.y, W.shape)
    else:
        Y = _draw_residual(fit, n_boot, rng, N_PARAMS[kind])
        W, redrawn = None, 0
    delta = fit.delta if fit.delta is not None else 1e-3
    return refine_huber_log_batch(fit.law, fit.inputs, Y, delta, W), redrawn


# ----------------------------------------------------------------------------- public API


def bootstrap(
    fit: FitResult, n_boot: int = 1000, method: str = "pairs", seed: int | None = 0, *, grid_points: int | None = None
) -> Bootstrap:
    """Bootstrap replicates of a fit (see the module docstring for the two schemes).

    Parameters
    ----------
    fit
        A :class:`~scalinglib.fit.FitResult` of any law.
    n_boot
        Number of replicates B.
    method
        ``"pairs"`` (resample runs) or ``"residual"`` (resample residuals; for small fits).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same replicates.
    grid_points
        Points of the exponent grid over the fit's search box (vectorised path);
        default: a fifth of the density of :data:`scalinglib.fit.SEARCH_BOXES`.

    Raises
    ------
    FitError
        When the original fit is not identified, when a residual bootstrap has no
        residual degrees of freedom, or when almost no pairs resample identifies the law.
    """
    return _bootstrap(fit, n_boot, method, np.random.default_rng(seed), seed, grid_points)


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
    if fit.objective != "huber_log":
        raise ValueError(
            f"bootstrap_huber is for huber_log fits; this fit used {fit.objective!r} (use scalinglib.uncertainty.bootstrap)"
        )
    return bootstrap(fit, n_boot, method, seed)


def _config_streams(seed: int | None) -> tuple[np.random.Generator, np.random.Generator]:
    """The random streams of :func:`bootstrap_config`: loss law, error law (spawned from ``seed``)."""
    r_loss, r_err = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    return r_loss, r_err


def loss_bootstrap_like_config(fit: FitResult, n_boot: int, method: str, seed: int | None = 0) -> Bootstrap:
    """Bootstrap of a loss-law fit with the loss stream of :func:`bootstrap_config`.

    For the same fit, ``n_boot``, ``method`` and ``seed`` the replicates are those of
    ``bootstrap_config(...).loss``, so that intervals computed either way agree exactly.
    """
    return _bootstrap(fit, n_boot, method, _config_streams(seed)[0], seed)


def _bootstrap(fit: FitResult, n_boot: int, method: str, rng: np.random.Generator, seed, grid_points=None) -> Bootstrap:
    if method not in ("pairs", "residual"):
        raise ValueError(f"method must be 'pairs' or 'residual', got {method!r}")
    if int(n_boot) < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot!r}")
    n_boot = int(n_boot)
    kind = _kind(fit)
    if not fit.identified:
        raise FitError(f"the {kind} fit is not identified by its points; its bootstrap would be meaningless")
    if kind == "sigmoid" and fit.objective != "lsq":
        raise FitError("the bootstrap of a sigmoid fit is least squares only; refit with objective='lsq'")
    notes = []
    if fit.objective == "lsq":
        if method == "pairs":
            W, redrawn = _draw_pairs(kind, fit, n_boot, rng)
            Y = np.broadcast_to(fit.y, W.shape)
        else:
            Y = _draw_residual(fit, n_boot, rng, N_PARAMS[kind])
            W = np.ones_like(Y)
            redrawn = 0
        samples, n_edge, n_active = fit_batch(fit, W, Y, grid_points)
    elif fit.objective == "huber_log":
        samples, redrawn = _warm_huber(kind, fit, method, n_boot, rng)
        n_edge = n_active = 0
        notes.append("refits warm-started from the point estimate (scalinglib.fit.refine_huber_log_batch)")
    if redrawn:
        notes.append(f"{redrawn} degenerate resamples redrawn")
    if n_edge:
        notes.append(f"{n_edge} of {n_boot} replicates have the exponent on the edge of the search box")
    if n_active:
        notes.append(f"{n_active} of {n_boot} replicates have a non-negativity constraint active")
    return Bootstrap(
        law=type(fit.law).__name__,
        method=method,
        seed=seed,
        point=dict(fit.law.params),
        samples={k: np.asarray(v, dtype=float) for k, v in samples.items()},
        n_redrawn=redrawn,
        n_on_edge=n_edge,
        n_active=n_active,
        notes=tuple(notes),
    )


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class ConfigBootstrap:
    """Joint bootstrap of a configuration's loss law and error law.

    Replicate b pairs loss-law replicate b with error-law replicate b (drawn
    independently), and a target's error is propagated through both stages:
    ``err_b = Err_b(L_b(C, M))``.
    """

    fitted: ConfigFit
    loss: Bootstrap
    error: Bootstrap
    targets: pd.DataFrame = field(repr=False)

    @property
    def config(self):
        return self.fitted.config

    def predict(self, C, M) -> tuple[np.ndarray, np.ndarray]:
        """Replicate predictions (B, k) of loss and of error (two-stage) at compute C, multiplier M."""
        loss = self.loss.predict(C, M)
        err = np.asarray(self.error.law_batch().predict(loss))
        return loss, err

    def target_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Per target: point predictions, percentile intervals and observations.

        Columns: dataset, model, N, M, C, loss_observed, loss_predicted, loss_low,
        loss_high, err_observed, err_predicted, err_low, err_high.
        """
        t = self.targets
        loss, err = self.predict(t["C"].to_numpy(), t["M"].to_numpy())
        llo, lhi = percentile_interval(loss, level)
        elo, ehi = percentile_interval(err, level)
        lp = self.fitted.loss_law.predict(t["C"].to_numpy(), t["M"].to_numpy())
        ep = self.fitted.error_law.predict(lp)
        return pd.DataFrame(
            {
                "dataset": self.config.dataset,
                "model": t["model"].to_numpy(),
                "N": t["N"].to_numpy(),
                "M": t["M"].to_numpy(),
                "C": t["C"].to_numpy(),
                "loss_observed": t["loss_observed"].to_numpy(),
                "loss_predicted": lp,
                "loss_low": llo,
                "loss_high": lhi,
                "err_observed": t["err_observed"].to_numpy(),
                "err_predicted": ep,
                "err_low": elo,
                "err_high": ehi,
            }
        )


def bootstrap_config(
    df: pd.DataFrame,
    config,
    n_boot: int = 1000,
    seed: int | None = 0,
    method: str = "pairs",
    *,
    loss_method: str | None = None,
    error_method: str | None = None,
) -> ConfigBootstrap:
    """Bootstrap the loss fit and the error fit of a configuration and propagate to its targets.

    The two fits are resampled independently, each from its own stream spawned from
    ``seed`` (``numpy.random.SeedSequence(seed).spawn(2)``). ``method`` applies to both
    laws unless ``loss_method`` or ``error_method`` overrides it for one of them (e.g.
    pairs for a loss law fitted on ~30 runs, residuals for a six-run error law).
    """
    from .paper import fit_config, select_runs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fitted = fit_config(df, config)
    r_loss, r_err = _config_streams(seed)
    loss = _bootstrap(fitted.loss_fit, n_boot, loss_method or method, r_loss, seed)
    error = _bootstrap(fitted.error_fit, n_boot, error_method or method, r_err, seed)
    rows = select_runs(df, config.dataset, config.targets)
    targets = pd.DataFrame(
        {
            "model": rows["model"].to_numpy(),
            "N": rows["N"].to_numpy(float),
            "M": rows["M"].to_numpy(float),
            "C": rows["C"].to_numpy(float),
            "loss_observed": rows[config.loss_col].to_numpy(float),
            "err_observed": rows[config.err_col].to_numpy(float),
        }
    )
    return ConfigBootstrap(fitted=fitted, loss=loss, error=error, targets=targets)


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
    return bootstrap_config(df, config, n_boot, seed, loss_method=loss_method, error_method=error_method)


def interval_table(boots: Mapping[str, Bootstrap], level: float = 0.95) -> pd.DataFrame:
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
