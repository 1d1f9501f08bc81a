r"""Planning a training run: how big a model, how many tokens?

Compute-optimal allocation. For a budget of C training FLOPs (C = 6 N D) the loss
:math:`L(N, D) = E + A N^{-\alpha} + B D^{-\beta}` is smallest at the closed form
of :meth:`scalinglib.laws.ChinchillaLaw.compute_optimal`. For the over-training law
(one shared exponent, alpha = beta = 2 eta) the optimum is a constant token
multiplier: :math:`\lambda(M) = a M^\eta + b M^{-\eta}` is minimal at
:math:`M^* = (b / a)^{1/(2\eta)}`, so :math:`N^* = \sqrt{C / (6 M^*)}`, D* = M* N*.

Inference-aware allocation (Sardana et al., 2023, "Beyond Chinchilla-optimal"). To
reach a target loss :math:`\ell` and then serve T inference tokens, minimise the
total FLOPs

.. math:: F(N, D) = 6 N D + 2 N T \quad\text{subject to}\quad L(N, D) = \ell .

For each N the constraint fixes D in closed form,
:math:`D(N) = \left(B / (\ell - E - A N^{-\alpha})\right)^{1/\beta}`, defined for
:math:`N > N_{\min} = (A / (\ell - E))^{1/\alpha}`; D(N) falls from infinity at
N_min to a floor, while 2NT and 6ND eventually grow with N, so F has an interior
minimum. It is found in the variable :math:`v = \ln \ln (N / N_{\min})`, which
covers N from :math:`N_{\min}(1 + 10^{-12})` to :math:`N_{\min} e^{100}`: a dense grid
of 4,000 points (global), then a golden-section search inside the bracketing grid
cells. All of it is vectorised, so the plans under 1,000 bootstrap replicates cost
a few array operations. A target at or below E is unreachable and raises
:class:`PlanError`.

Under uncertainty, each bootstrap replicate of a law gets its own plan:
:func:`plan_interval` (one target), :func:`inference_sweep` (a range of inference
demands T, with the saving over the compute-optimal run), :func:`compute_optimal_band`
(N*(C), D*(C) with intervals) and :func:`optimal_multiplier_by_runs` (M* for several
choices of fitting runs).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .data import DATASETS, DEFAULT_EVAL
from .fit import FitWarning, fit_overtraining
from .laws import ChinchillaLaw, ErrorLaw, OvertrainingLaw

__all__ = [
    "PlanError",
    "Plan",
    "PlanInterval",
    "compute_optimal",
    "optimal_multiplier",
    "plan_for_loss",
    "plan_for_error",
    "demand_for_multiplier",
    "demand_for_saving",
    "plan_interval",
    "inference_sweep",
    "compute_optimal_band",
    "optimal_multiplier_by_runs",
]

_GRID = 4000
_V_RANGE = (np.log(1e-12), np.log(100.0))
_GOLDEN_STEPS = 80


class PlanError(ValueError):
    """A plan that cannot be made (unreachable target, degenerate law)."""


@dataclass(frozen=True)
class Plan:
    """A training run and its cost.

    Attributes
    ----------
    N, D, M
        Parameters, training tokens, tokens per parameter (M = D / N).
    train_flops
        6 N D.
    inference_flops
        2 N T for T inference tokens.
    total_flops
        train_flops + inference_flops.
    target_loss
        The loss the plan reaches (under the law it was planned with).
    """

    N: float
    D: float
    M: float
    train_flops: float
    inference_flops: float
    total_flops: float
    target_loss: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__}


# ----------------------------------------------------------------------------- compute-optimal


def optimal_multiplier(law: OvertrainingLaw) -> float:
    r"""Compute-optimal tokens per parameter of an over-training law, :math:`M^* = (b/a)^{1/(2\eta)}`.

    :meth:`OvertrainingLaw.optimal_multiplier`, with its ``ValueError`` raised as :class:`PlanError`.
    """
    try:
        return float(law.optimal_multiplier())
    except ValueError as exc:
        raise PlanError(
            f"the compute-optimal multiplier needs a, b, eta > 0; got a={law.a}, b={law.b}, eta={law.eta}"
        ) from exc


def compute_optimal(law: OvertrainingLaw | ChinchillaLaw, C) -> tuple[np.ndarray, np.ndarray]:
    """N*(C) and D*(C) minimising the law's loss at training compute C = 6 N D."""
    C = np.asarray(C, dtype=float)
    if np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise PlanError("compute C must be finite and positive")
    if isinstance(law, OvertrainingLaw):
        M = optimal_multiplier(law)
        N = np.sqrt(C / (6.0 * M))
        return N, M * N
    if isinstance(law, ChinchillaLaw):
        try:
            return law.compute_optimal(C)
        except ValueError as e:
            raise PlanError(str(e)) from None
    raise TypeError(f"compute-optimal allocation needs an OvertrainingLaw or ChinchillaLaw, got {type(law).__name__}")


# ----------------------------------------------------------------------------- inference-aware


def _chinchilla_params(law) -> tuple[float, float, float, float, float]:
    if isinstance(law, OvertrainingLaw):
        law = law.to_chinchilla()
    if not isinstance(law, ChinchillaLaw):
        raise TypeError(f"planning needs an OvertrainingLaw or ChinchillaLaw, got {type(law).__name__}")
    return law.E, law.A, law.B, law.alpha, law.beta


def _log_total(v, logNmin, gap, B, alpha, beta, logT2):
    """ln F at v = ln ln(N / N_min); all arrays broadcast. Returns (ln F, ln N, ln D)."""
    u = np.exp(v)  # ln(N / N_min)
    logN = logNmin + u
    # ell - E - A N^-alpha = gap * (1 - exp(-alpha u))
    logslack = np.log(gap) + np.log(-np.expm1(-alpha * u))
    logD = (np.log(B) - logslack) / beta
    return logN + np.logaddexp(np.log(6.0) + logD, logT2), logN, logD


def _plan_arrays(E, A, B, alpha, beta, target, T):
    """Vectorised plans: arrays (K,) of law parameters -> (N, D, ok) with ok False where unreachable/degenerate."""
    E, A, B, alpha, beta, target = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (E, A, B, alpha, beta, target))
    E, A, B, alpha, beta, target = np.broadcast_arrays(E, A, B, alpha, beta, target)
    gap = target - E
    ok = (gap > 0) & (A > 0) & (B > 0) & (alpha > 0) & (beta > 0) & np.isfinite(gap)
    gap_s = np.where(ok, gap, 1.0)
    A_s, B_s = np.where(ok, A, 1.0), np.where(ok, B, 1.0)
    al, be = np.where(ok, alpha, 1.0), np.where(ok, beta, 1.0)
    logNmin = (np.log(A_s) - np.log(gap_s)) / al
    logT2 = np.log(2.0 * T) if T > 0 else -np.inf
    col = lambda x: x[:, None]
    grid = np.linspace(*_V_RANGE, _GRID)
    with np.errstate(over="ignore", divide="ignore"):
        lf, _, _ = _log_total(grid[None, :], col(logNmin), col(gap_s), col(B_s), col(al), col(be), logT2)
    lf = np.where(np.isfinite(lf), lf, np.inf)
    g = np.argmin(lf, axis=1)
    at_edge = (g == 0) | (g == _GRID - 1)
    a = grid[np.maximum(g - 1, 0)]
    b = grid[np.minimum(g + 1, _GRID - 1)]

    def f(v):
        with np.errstate(over="ignore", divide="ignore"):
            out = _log_total(v, logNmin, gap_s, B_s, al, be, logT2)[0]
        return np.where(np.isfinite(out), out, np.inf)

    phi = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(_GOLDEN_STEPS):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        nc, nd = b - phi * (b - a), a + phi * (b - a)
        xn = np.where(left, nc, nd)
        fn = f(xn)
        c, d, fc, fd = np.where(left, nc, d), np.where(left, c, nd), np.where(left, fn, fd), np.where(left, fc, fn)
    v = np.where(fc < fd, c, d)
    v = np.where(np.minimum(fc, fd) <= lf[np.arange(g.size), g], v, grid[g])
    _, logN, logD = _log_total(v, logNmin, gap_s, B_s, al, be, logT2)
    N, D = np.exp(logN), np.exp(logD)
    ok = ok & ~at_edge & np.isfinite(N) & np.isfinite(D)
    return np.where(ok, N, np.inf), np.where(ok, D, np.inf), ok, at_edge


def _make_plan(N: float, D: float, target: float, T: float) -> Plan:
    train = 6.0 * N * D
    inference = 2.0 * N * T
    return Plan(
        N=N,
        D=D,
        M=D / N,
        train_flops=train,
        inference_flops=inference,
        total_flops=train + inference,
        target_loss=target,
    )


def _check_T(inference_tokens) -> float:
    T = float(inference_tokens)
    if not np.isfinite(T) or T < 0:
        raise PlanError(f"inference_tokens must be finite and >= 0, got {inference_tokens!r}")
    return T


def plan_for_loss(law: OvertrainingLaw | ChinchillaLaw, target_loss: float, inference_tokens: float = 0.0) -> Plan:
    r"""The (N, D) that reaches ``target_loss`` with the fewest training + inference FLOPs.

    Minimises :math:`6 N D + 2 N T` subject to :math:`L(N, D) = \ell` (module docstring).
    With ``inference_tokens = 0`` this is the compute-optimal run reaching the target.

    Raises
    ------
    PlanError
        When the target is at or below the law's irreducible loss E (no finite model
        reaches it), or the law has a zero scale coefficient or exponent.
    """
    T = _check_T(inference_tokens)
    E, A, B, alpha, beta = _chinchilla_params(law)
    target = float(target_loss)
    if not np.isfinite(target):
        raise PlanError(f"target loss must be finite, got {target_loss!r}")
    if target <= E:
        raise PlanError(
            f"target loss {target:.4g} is unreachable: it is at or below the law's irreducible loss E = {E:.4g}"
        )
    if not (A > 0 and B > 0 and alpha > 0 and beta > 0):
        raise PlanError(f"planning needs A, B, alpha, beta > 0; the law has A={A}, B={B}, alpha={alpha}, beta={beta}")
    N, D, ok, _ = _plan_arrays(E, A, B, alpha, beta, target, T)
    if not ok[0]:
        raise PlanError(
            "no interior optimum found for this target (the optimum lies outside N_min * [1 + 1e-12, e^100])"
        )
    return _make_plan(float(N[0]), float(D[0]), target, T)


def plan_for_error(error_law: ErrorLaw, loss_law, target_err: float, inference_tokens: float = 0.0) -> Plan:
    """Plan for a downstream error: the loss the error law maps to ``target_err``, then :func:`plan_for_loss`.

    Raises :class:`PlanError` when the error law cannot reach ``target_err`` (at or
    above its ceiling epsilon) or the implied loss is unreachable.
    """
    try:
        target_loss = float(error_law.loss_for(target_err))
    except ValueError as e:
        raise PlanError(f"target error {target_err!r} is unreachable under the error law: {e}") from None
    return plan_for_loss(loss_law, target_loss, inference_tokens)


def _demand_crossing(quantity, value: float, name: str, T_range: tuple[float, float], show=lambda x: x) -> float:
    """The T in ``T_range`` where ``quantity(T)``, increasing in T, crosses ``value`` (brentq on ln T).

    ``show`` maps a value of ``quantity`` to the one an error message reports.
    """
    from scipy.optimize import brentq

    lo, hi = (float(t) for t in T_range)
    if not (0 < lo < hi and np.isfinite(hi)):
        raise PlanError(f"T_range must satisfy 0 < low < high < inf, got {T_range!r}")

    def gap(logT: float) -> float:
        return quantity(np.exp(logT)) - value

    g_lo, g_hi = gap(np.log(lo)), gap(np.log(hi))
    if not (g_lo < 0 < g_hi):
        raise PlanError(
            f"the cost-optimal plan's {name} does not cross {show(value):g} for T in [{lo:g}, {hi:g}]: "
            f"it is {show(g_lo + value):.4g} at T = {lo:g} and {show(g_hi + value):.4g} at T = {hi:g}"
        )
    return float(np.exp(brentq(gap, np.log(lo), np.log(hi), xtol=1e-10, rtol=1e-12)))


def demand_for_multiplier(
    law: OvertrainingLaw | ChinchillaLaw,
    target_loss: float,
    M: float,
    *,
    T_range: tuple[float, float] = (1.0, 1e20),
) -> float:
    r"""The inference demand T at which the cheapest plan for ``target_loss`` trains at ``M`` tokens per parameter.

    The cost-optimal multiplier :math:`M(T) = D(T) / N(T)` of :func:`plan_for_loss`
    rises with the demand T, from the compute-optimal multiplier at T = 0. This
    solves :math:`\ln M(T) = \ln M` by Brent's method (:func:`scipy.optimize.brentq`)
    on :math:`\ln T` over ``T_range``, instead of reading the crossing off a grid of T.

    Parameters
    ----------
    law
        The loss law to plan with.
    target_loss
        The loss every plan reaches.
    M
        The tokens per parameter to cross.
    T_range
        (low, high) inference tokens searched; the plan's multiplier must lie below
        ``M`` at ``low`` and above it at ``high``.

    Raises
    ------
    PlanError
        When the target is unreachable (:func:`plan_for_loss`), or ``M`` is not
        crossed inside ``T_range`` (the message gives the values at both ends).
    """
    if not (np.isfinite(M) and M > 0):
        raise PlanError(f"M must be finite and positive, got {M!r}")
    return _demand_crossing(
        lambda t: np.log(plan_for_loss(law, target_loss, t).M), np.log(M), "multiplier M", T_range, show=np.exp
    )


def demand_for_saving(
    law: OvertrainingLaw | ChinchillaLaw,
    target_loss: float,
    saving: float,
    *,
    T_range: tuple[float, float] = (1.0, 1e20),
) -> float:
    r"""The inference demand T at which the cheapest plan saves the share ``saving`` of total FLOPs.

    The saving is the one of :func:`inference_sweep`: against the compute-optimal run
    (N_0, D_0) for the same target serving the same T tokens,
    :math:`s(T) = 1 - F_{\text{plan}}(T) / (6 N_0 D_0 + 2 N_0 T)`, which rises with T
    from 0. Solves :math:`s(T) = \text{saving}` by Brent's method on :math:`\ln T`
    over ``T_range``.

    Raises
    ------
    PlanError
        When the target is unreachable, ``saving`` is not in (0, 1), or it is not
        reached inside ``T_range``.
    """
    if not 0.0 < saving < 1.0:
        raise PlanError(f"saving must be a share in (0, 1), got {saving!r}")
    base = plan_for_loss(law, target_loss, 0.0)

    def share(t: float) -> float:
        return 1.0 - plan_for_loss(law, target_loss, t).total_flops / (base.train_flops + 2.0 * base.N * t)

    return _demand_crossing(share, saving, "saving", T_range)


# ----------------------------------------------------------------------------- uncertainty


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class PlanInterval:
    """A plan under every bootstrap replicate.

    ``samples`` holds N, D, M, train_flops, inference_flops, total_flops and
    target_loss per replicate (B,). A replicate without a plan has infinite N, D
    and FLOPs and NaN M, and is counted, never dropped, in ``n_unreachable``. That
    count covers every replicate without a plan, for any of three reasons: the
    target is unreachable (a loss target at or below the replicate's E, or an error
    target its error law cannot reach, whose ``target_loss`` is then NaN), the
    replicate's law is degenerate (A, B, alpha or beta not positive), or the total
    cost has no interior minimum in the search range over N. Intervals use the
    ``inverted_cdf`` quantile (no interpolation), so an upper bound is infinite
    when more than (1 - level) / 2 of the replicates have no plan.
    """

    point: Plan
    samples: dict[str, np.ndarray]
    n_unreachable: int

    @property
    def n_boot(self) -> int:
        return int(self.samples["N"].size)

    def intervals(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        q = [(1 - level) / 2, (1 + level) / 2]
        out = {}
        for k, s in self.samples.items():
            if k == "M":  # undefined for unreachable replicates: interval over the reachable ones
                s = s[np.isfinite(s)]
                if s.size == 0:
                    out[k] = (float("nan"), float("nan"))
                    continue
            lo, hi = np.quantile(s, q, method="inverted_cdf")
            out[k] = (float(lo), float(hi))
        return out


def plan_interval(
    boot,
    target_loss: float | None = None,
    *,
    target_err: float | None = None,
    inference_tokens: float = 0.0,
) -> PlanInterval:
    """Plans under each bootstrap replicate.

    Parameters
    ----------
    boot
        A :class:`scalinglib.uncertainty.Bootstrap` of an over-training or Chinchilla
        fit (give ``target_loss``), or a :class:`scalinglib.uncertainty.ConfigBootstrap`
        (give ``target_loss`` or ``target_err``; an error target is mapped to a loss
        target by each replicate's own error law).
    """
    from .uncertainty import Bootstrap, ConfigBootstrap

    T = _check_T(inference_tokens)
    if (target_loss is None) == (target_err is None):
        raise ValueError("give exactly one of target_loss and target_err")
    error_boot = None
    if isinstance(boot, ConfigBootstrap):
        loss_boot, error_boot = boot.loss, boot.error
        point_err = boot.fitted.error_law
    elif isinstance(boot, Bootstrap):
        loss_boot = boot
        if target_err is not None:
            raise ValueError("an error target needs a ConfigBootstrap (loss and error laws)")
    else:
        raise TypeError(f"expected a Bootstrap or ConfigBootstrap, got {type(boot).__name__}")
    s = loss_boot.samples
    point_law: OvertrainingLaw | ChinchillaLaw
    if loss_boot.law == "OvertrainingLaw":
        six = 6.0 ** (-s["eta"])
        E, A, B, alpha, beta = s["E"], s["a"] * six, s["b"] * six, 2 * s["eta"], 2 * s["eta"]
        point_law = OvertrainingLaw(**loss_boot.point)
    elif loss_boot.law == "ChinchillaLaw":
        E, A, B, alpha, beta = s["E"], s["A"], s["B"], s["alpha"], s["beta"]
        point_law = ChinchillaLaw(**loss_boot.point)
    else:
        raise TypeError(f"planning needs an over-training or Chinchilla law, got {loss_boot.law}")
    if target_err is not None:
        assert error_boot is not None  # an error target was refused above without a ConfigBootstrap
        e = error_boot.samples
        gap = (e["epsilon"] - float(target_err)) / e["k"]
        with np.errstate(divide="ignore", invalid="ignore"):
            targets = np.where((gap > 0) & (e["gamma"] > 0), -np.log(gap) / e["gamma"], np.nan)
        point = plan_for_error(point_err, point_law, target_err, T)
    else:
        assert target_loss is not None  # exactly one of the two targets was given
        targets = np.full(E.shape, float(target_loss))
        point = plan_for_loss(point_law, target_loss, T)
    N, D, ok, _ = _plan_arrays(E, A, B, alpha, beta, np.where(np.isfinite(targets), targets, -np.inf), T)
    ok &= np.isfinite(targets)
    N, D = np.where(ok, N, np.inf), np.where(ok, D, np.inf)
    with np.errstate(invalid="ignore"):
        train = 6.0 * N * D
        inference = 2.0 * N * T if T > 0 else np.where(ok, 0.0, np.inf)
        samples = {
            "N": N,
            "D": D,
            "M": np.where(ok, D / np.where(ok, N, 1.0), np.nan),
            "train_flops": train,
            "inference_flops": inference,
            "total_flops": train + inference,
            "target_loss": targets,
        }
    return PlanInterval(point=point, samples=samples, n_unreachable=int((~ok).sum()))


# ----------------------------------------------------------------------------- under uncertainty


def inference_sweep(
    boot,
    inference_tokens: Sequence[float],
    target_loss: float | None = None,
    *,
    target_err: float | None = None,
    level: float = 0.90,
) -> pd.DataFrame:
    r"""Inference-aware plans over a range of inference demands T, with bootstrap intervals.

    For each T the plan minimises :math:`6ND + 2NT` at the target
    (:func:`scalinglib.planning.plan_interval`). The baseline is the compute-optimal run
    for the same target (the plan at T = 0) serving the same T tokens; the saving is
    :math:`1 - F_{\text{plan}}(T) / (6 N_0 D_0 + 2 N_0 T)`. Every replicate is compared
    with its own baseline; replicates without a plan are counted in ``n_unreachable``
    (as in :class:`scalinglib.planning.PlanInterval`: the target is at or below the
    replicate's E, the replicate's law is degenerate, or no interior optimum exists),
    and the intervals use the others.

    Columns: inference_tokens, N, D, M, train_flops, total_flops, baseline_N,
    baseline_total_flops, saving, M_low, M_high, N_low, N_high, saving_low,
    saving_high, n_unreachable.
    """
    kw = {"target_err": target_err} if target_err is not None else {}
    base = plan_interval(boot, target_loss, inference_tokens=0.0, **kw)
    N0b, D0b = base.samples["N"], base.samples["D"]
    N0, D0 = base.point.N, base.point.D
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = []
    for T in inference_tokens:
        T = float(T)
        pi = plan_interval(boot, target_loss, inference_tokens=T, **kw)
        p = pi.point
        s = pi.samples
        ok = np.isfinite(s["total_flops"]) & np.isfinite(N0b)
        with np.errstate(invalid="ignore", over="ignore"):
            saving_b = 1.0 - s["total_flops"][ok] / (6.0 * N0b[ok] * D0b[ok] + 2.0 * N0b[ok] * T)
        baseline = 6.0 * N0 * D0 + 2.0 * N0 * T
        m_lo, m_hi = np.quantile(s["M"][ok], q) if ok.any() else (np.nan, np.nan)
        n_lo, n_hi = np.quantile(s["N"][ok], q) if ok.any() else (np.nan, np.nan)
        sv_lo, sv_hi = np.quantile(saving_b, q) if ok.any() else (np.nan, np.nan)
        rows.append(
            {
                "inference_tokens": T,
                "N": p.N,
                "D": p.D,
                "M": p.M,
                "train_flops": p.train_flops,
                "total_flops": p.total_flops,
                "baseline_N": N0,
                "baseline_total_flops": baseline,
                "saving": 1.0 - p.total_flops / baseline,
                "M_low": m_lo,
                "M_high": m_hi,
                "N_low": n_lo,
                "N_high": n_hi,
                "saving_low": sv_lo,
                "saving_high": sv_hi,
                "n_unreachable": int((~ok).sum()),
            }
        )
    return pd.DataFrame(rows)


def compute_optimal_band(boot, C: ArrayLike, level: float = 0.90) -> pd.DataFrame:
    r"""Compute-optimal allocation of an over-training law, with bootstrap intervals.

    For :math:`L(C, M) = E + (a M^\eta + b M^{-\eta}) C^{-\eta}` the loss at fixed compute
    is smallest at :math:`M^* = (b/a)^{1/(2\eta)}`, so :math:`N^* = \sqrt{C / 6M^*}` and
    :math:`D^* = M^* N^*` (:func:`scalinglib.planning.compute_optimal`). Each bootstrap
    replicate gives its own M*; the intervals are percentile intervals over replicates.

    ``boot`` is a :class:`~scalinglib.uncertainty.Bootstrap` of an over-training law or a
    :class:`~scalinglib.uncertainty.ConfigBootstrap` (its loss law is used). Columns: C,
    N, N_low, N_high, D, D_low, D_high, M, M_low, M_high.
    """
    loss_boot = getattr(boot, "loss", boot)
    if loss_boot.law != "OvertrainingLaw":
        raise TypeError(f"compute_optimal_band needs an over-training law bootstrap, got {loss_boot.law}")
    point = OvertrainingLaw(**loss_boot.point)
    Mb = loss_boot.law_batch().optimal_multiplier(strict=False).ravel()
    Mb = Mb[np.isfinite(Mb)]
    if Mb.size == 0:
        raise ValueError("no replicate has a finite compute-optimal multiplier")
    C = np.asarray(C, dtype=float)
    N, D = compute_optimal(point, C)
    q = [(1 - level) / 2, (1 + level) / 2]
    m_lo, m_hi = np.quantile(Mb, q)
    # N* falls and D* grows with M*, so the interval ends of M* map to the ends of N* and D*
    return pd.DataFrame(
        {
            "C": C,
            "N": N,
            "N_low": np.sqrt(C / (6.0 * m_hi)),
            "N_high": np.sqrt(C / (6.0 * m_lo)),
            "D": D,
            "D_low": np.sqrt(C * m_lo / 6.0),
            "D_high": np.sqrt(C * m_hi / 6.0),
            "M": optimal_multiplier(point),
            "M_low": m_lo,
            "M_high": m_hi,
        }
    )


def optimal_multiplier_by_runs(
    df: pd.DataFrame,
    datasets: Sequence[str] = DATASETS,
    n_boot: int = 1000,
    seed: int | None = 0,
    level: float = 0.90,
    eval_set: str = DEFAULT_EVAL,
) -> pd.DataFrame:
    r"""Compute-optimal multiplier :math:`M^* = (b/a)^{1/(2\eta)}` for three choices of loss-fit runs.

    Per training set, the over-training law is fitted on (i) the paper's default
    configuration (five runs, residual bootstrap), (ii) all small-model runs with
    :math:`M \ge 20` and (iii) all small-model runs (pairs bootstrap for both). Columns:
    dataset, runs (label), n_runs, M_min, M_max (range of fitted multipliers), M_star,
    M_low, M_high (``level`` percentile interval over replicates), method.
    The replicates come from the loss stream of
    :func:`scalinglib.uncertainty.bootstrap_config` with the same ``seed``, so a row
    whose fit is the loss law of such a joint bootstrap reproduces its interval.
    """
    from .paper import default_config, select_runs
    from .recipe import choose_config
    from .uncertainty import loss_bootstrap_like_config

    rows = []
    for ds in datasets:
        choices = (
            ("default configuration", default_config(ds, eval_set), "residual"),
            ("small models, M >= 20", choose_config(df, ds, eval_set, m_min=20.0), "pairs"),
            ("small models, all M", choose_config(df, ds, eval_set), "pairs"),
        )
        for label, cfg, method in choices:
            runs = select_runs(df, ds, cfg.loss_runs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                fit = fit_overtraining(
                    runs["C"].to_numpy(float), runs["M"].to_numpy(float), runs[cfg.loss_col].to_numpy(float)
                )
            b = loss_bootstrap_like_config(fit, n_boot, method, seed)
            band = compute_optimal_band(b, [1.0], level=level).iloc[0]
            rows.append(
                {
                    "dataset": ds,
                    "runs": label,
                    "n_runs": len(runs),
                    "M_min": float(runs["M"].min()),
                    "M_max": float(runs["M"].max()),
                    "M_star": float(band["M"]),
                    "M_low": float(band["M_low"]),
                    "M_high": float(band["M_high"]),
                    "method": method,
                }
            )
    return pd.DataFrame(rows)
