r"""The expected width of a target's prediction interval for a set of runs, before training them.

This is the criterion of the run recommender (:mod:`scalinglib.design`): how wide the
interval of a target run's forecast would be if the over-training law were fitted to
runs at given (C, M), about the law fitted to the runs a user already has.

The linearised (Fisher-information, delta-method) width
--------------------------------------------------------
Let :math:`f(x; \theta)` be the over-training law
:math:`L(C, M) = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}`, :math:`\hat\theta` the
current fit and :math:`\sigma` the residual spread of the runs about it. To first order
in the parameters, the least-squares fit on a design X (the runs' (C, M)) has
covariance :math:`\sigma^2 (J_X^\top J_X)^{-1}`, with :math:`J_X` the Jacobian of f at
:math:`\hat\theta` on the runs, so the target's predicted loss has standard deviation

.. math:: s(X) = \sigma \sqrt{g^\top (J_X^\top J_X)^{-1} g}, \qquad g = \nabla_\theta f(x_t; \hat\theta),

and a level-q interval of width :math:`w(X) = 2 z_{(1+q)/2}\, s(X)`
(:func:`target_width`). A candidate x adds a row to J (the information is additive) but
no outcome is needed: the expected width after training it, :math:`w(X \cup \{x\})`,
depends only on where it is. When the runs do not identify the law
(:math:`J_X^\top J_X` singular, e.g. every run at one M), w(X) is infinite.

With ``error_fit`` (an :class:`~scalinglib.fit.FitResult` of
:math:`\mathrm{Err}(L) = \epsilon - k e^{-\gamma L}`), the width is that of the target's
*error*: :math:`s_{err}^2 = \mathrm{Err}'(\hat L_t)^2 s(X)^2 + s_{law}^2`, where
:math:`s_{law}` is the error law's own delta-method spread at :math:`\hat L_t` (fixed
by its runs, so it bounds how much new loss runs can help).

Why linearised: it is exact for the linear parameters and first-order in eta; it needs
no simulated outcomes, is deterministic, and costs one Jacobian (central differences) and
one small (4 x 4) solve per candidate, about 2 ms, so ranking 100 candidates takes about
0.2 s (``benchmarks/bench_design.py``). Its assumptions
(the current fit is close to the truth, errors are independent with spread sigma) are
checked by the simulation below and, on real runs, by :mod:`scalinglib.designcheck`.

The simulation check (:func:`simulated_width`)
----------------------------------------------
For each candidate and each of ``n_draws`` draws: draw the candidate's loss from the
current fit plus a normal residual of spread sigma, refit the law on the runs with it
added (:func:`~scalinglib.fit.fit_overtraining`), bootstrap the refit with residuals
(:func:`scalinglib.uncertainty.bootstrap`, ``n_boot`` replicates) and take the width of
the target's percentile interval; the expected width is the mean over draws. Cost:
``n_draws`` x (1 + ``n_boot``) refits per candidate (about 0.1 s per draw with 200
replicates on a busy 2-core machine), so 15 to 30 s for 100 candidates with 2 draws — a
check, not the default.
It needs at least 4 runs with two multipliers before the candidate (a residual
bootstrap needs more points than the law's 4 parameters).

Pilot law (:func:`current_fit`). When the runs do not identify the over-training law (fewer than 4 runs or a
single M), the ranking still needs a :math:`\hat\theta`: the compute law
:math:`L = E + \lambda C^{-\eta}` is fitted to the runs at the most common M (at least
3), and a, b are split so that this M is compute-optimal (:math:`a M^{\eta} = b M^{-\eta}
= \lambda / 2`, the Chinchilla assumption the paper starts from). Without residual
degrees of freedom sigma is unknown and set to ``DEFAULT_NOISE`` times the mean loss;
sigma scales every width equally, so it changes the reported widths, not the ranking
(unless ``error_fit`` adds its own spread).
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass

import numpy as np

from .fit import FitError, FitResult, FitWarning, fit_compute, fit_overtraining
from .laws import ErrorLaw, OvertrainingLaw

__all__ = [
    "DEFAULT_NOISE",
    "CurrentFit",
    "DesignError",
    "current_fit",
    "m_groups",
    "simulated_width",
    "target_width",
]

#: Residual spread assumed, relative to the mean loss, when the runs leave no degrees of freedom.
DEFAULT_NOISE = 0.005

_P = 4  # parameters of the over-training law


class DesignError(ValueError):
    """Bad input to the recommender (candidates, budget, target, runs).

    Defined here, the module every part of the recommender builds on; importable from
    :mod:`scalinglib.design` and raised by :mod:`scalinglib.candidates` too.
    """


@dataclass(frozen=True)
class CurrentFit:
    """The law the ranking linearises about.

    ``source`` is ``"fit"`` (the over-training law fitted to the runs) or ``"pilot"``
    (compute law at one M, that M taken as compute-optimal; see the module docstring);
    ``sigma`` is the residual spread, ``sigma_source`` ``"residuals"`` or ``"default"``.
    """

    law: OvertrainingLaw
    sigma: float
    source: str
    sigma_source: str
    n_runs: int


def _arr(x, name: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(x, dtype=float))
    if a.ndim != 1:
        raise DesignError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        bad = a[~(np.isfinite(a) & (a > 0))][0]
        raise DesignError(f"{name} must be positive and finite; got {bad!r}")
    return a


def m_groups(M) -> np.ndarray:
    """Group label of each multiplier: multipliers within 2% of their neighbour share a group
    (the OLMo ladder's "M = 20" runs are at 20.01 to 20.03)."""
    logm = np.log(np.asarray(M, dtype=float))
    order = np.argsort(logm)
    labels = np.empty(logm.size, dtype=int)
    labels[order] = np.concatenate([[0], np.cumsum(np.diff(logm[order]) > 0.02)]) if logm.size else []
    return labels


def current_fit(C, M, L, noise: float | None = None) -> CurrentFit:
    """The over-training law fitted to the runs, or the pilot law when they do not identify it.

    ``noise`` (optional) overrides the residual spread sigma (absolute, loss units).
    """
    C, M, L = _arr(C, "C"), _arr(M, "M"), _arr(L, "loss")
    if not (C.size == M.size == L.size):
        raise DesignError("C, M and loss must have the same length")
    groups = m_groups(M)
    law = None
    sse, p = math.nan, _P
    if C.size >= _P and groups.max() >= 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            try:
                res = fit_overtraining(C, M, L)
            except FitError:
                res = None
        if res is not None and res.identified and isinstance(res.law, OvertrainingLaw):
            law, sse, source = res.law, res.sse, "fit"
    if law is None:
        vals, counts = np.unique(groups, return_counts=True)
        at = groups == vals[np.argmax(counts)]
        if at.sum() < 3:
            raise DesignError(
                f"the {C.size} runs neither identify the over-training law (4 runs at two or more M) "
                "nor give 3 runs at one M for a pilot law; add runs"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            cres = fit_compute(C[at], L[at])
        E, lam, eta = (cres.law.params[k] for k in ("E", "lambda", "eta"))
        M0 = float(np.exp(np.mean(np.log(M[at]))))
        law = OvertrainingLaw(E=E, a=lam / 2 * M0 ** (-eta), b=lam / 2 * M0**eta, eta=eta)
        sse, p, source = cres.sse, 3, "pilot"
        C, L = C[at], L[at]
    if noise is not None:
        if not noise > 0:
            raise DesignError(f"noise must be positive, got {noise!r}")
        sigma, how = float(noise), "given"
    elif C.size > p and sse > 0:
        sigma, how = float(np.sqrt(sse / (C.size - p))), "residuals"
    else:
        sigma, how = DEFAULT_NOISE * float(np.mean(L)), "default"
    return CurrentFit(law=law, sigma=sigma, source=source, sigma_source=how, n_runs=int(C.size))


# ----------------------------------------------------------------------------- linearised width


def _jacobian(law, *inputs: np.ndarray) -> np.ndarray:
    """d f / d theta at the law's parameters, (n, p), by central differences."""
    cls = type(law)
    p0 = np.array([law.params[k] for k in cls.names], dtype=float)
    cols = []
    for j in range(p0.size):
        h = 1e-6 * max(abs(p0[j]), 1e-6)
        up, dn = p0.copy(), p0.copy()
        up[j] += h
        dn[j] -= h
        cols.append((np.asarray(cls(*up).predict(*inputs)) - np.asarray(cls(*dn).predict(*inputs))) / (2 * h))
    return np.column_stack(cols)


def _variance_factor(J: np.ndarray, g: np.ndarray) -> float:
    """g^T (J^T J)^-1 g (scaled columns; infinite when J^T J is singular)."""
    if J.shape[0] < J.shape[1]:
        return math.inf
    scale = np.linalg.norm(J, axis=0)
    if np.any(scale == 0):
        return math.inf
    Js, gs = J / scale, g / scale
    s = np.linalg.svd(Js, compute_uv=False)
    if s[-1] < 1e-10 * s[0]:
        return math.inf
    z = np.linalg.lstsq(Js.T @ Js, gs, rcond=None)[0]
    return float(gs @ z)


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise DesignError(f"level must be in (0, 1), got {level!r}")
    return statistics.NormalDist().inv_cdf((1 + level) / 2)


def _error_spread(error_fit: FitResult, L_t: float) -> tuple[float, float]:
    """(Err'(L_t), delta-method sd of the error law at L_t from its own runs)."""
    law = error_fit.law
    if not isinstance(law, ErrorLaw):
        raise DesignError(f"error_fit must be a fit of the error law, got {type(law).__name__}")
    L = np.asarray(error_fit.inputs["L"], dtype=float)
    n = L.size
    sigma = math.sqrt(error_fit.sse / (n - 3)) if n > 3 else 0.0
    J = _jacobian(law, L)
    g = _jacobian(law, np.array([L_t]))[0]
    v = _variance_factor(J, g)
    slope = float(law.k * law.gamma * math.exp(-law.gamma * L_t))
    return slope, sigma * math.sqrt(v) if math.isfinite(v) else math.inf


def target_width(
    fit: CurrentFit, C, M, C_t: float, M_t: float, level: float = 0.9, error_fit: FitResult | None = None
) -> float:
    r"""Linearised width of the target's level interval for runs at (C, M): :math:`2 z\, s(X)`.

    In loss units, or in error units with ``error_fit`` (see the module docstring).
    Infinite when the runs do not identify the law.
    """
    J = _jacobian(fit.law, np.asarray(C, float), np.asarray(M, float))
    g = _jacobian(fit.law, np.array([C_t]), np.array([M_t]))[0]
    v = _variance_factor(J, g)
    s = fit.sigma * math.sqrt(v) if math.isfinite(v) else math.inf
    if error_fit is not None:
        slope, s_law = _error_spread(error_fit, float(fit.law.predict(C_t, M_t)))
        s = math.sqrt((slope * s) ** 2 + s_law**2)
    return 2 * _z(level) * s


def simulated_width(
    fit: CurrentFit,
    C,
    M,
    L,
    C_c: float,
    M_c: float,
    C_t: float,
    M_t: float,
    level: float = 0.9,
    n_draws: int = 2,
    n_boot: int = 200,
    rng: np.random.Generator | None = None,
) -> float:
    """Mean width of the target's bootstrap interval after adding a candidate with a simulated loss.

    See "The simulation check" in the module docstring. Loss units. Infinite when a
    refit is not identified.
    """
    from .uncertainty import bootstrap

    rng = rng if rng is not None else np.random.default_rng(0)
    C2, M2 = np.append(np.asarray(C, float), C_c), np.append(np.asarray(M, float), M_c)
    mean_c = float(fit.law.predict(C_c, M_c))
    widths = []
    for _ in range(n_draws):
        y = np.append(np.asarray(L, float), mean_c + fit.sigma * rng.standard_normal())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            try:
                res = fit_overtraining(list(C2), list(M2), list(y))
                boot = bootstrap(res, n_boot, "residual", seed=int(rng.integers(2**31)))
            except FitError:
                return math.inf
        lo, hi = boot.predict_interval(C_t, M_t, level=level)
        widths.append(float(hi[0] - lo[0]))
    return float(np.mean(widths))
