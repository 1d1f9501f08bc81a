r"""Forecasts of new runs from fitted laws: the loss, the error chained through the error law,
their intervals, and how far each target lies outside the runs that were fitted.

A **target** is a run not trained: N parameters and D tokens (hence C = 6 N D and
M = D / N), or only C for the per-M compute law. :func:`forecast` predicts

* its loss :math:`\hat L = L(x)` with the loss law, and, given an error law, its error
  :math:`\widehat{Err} = Err(\hat L)` (the paper's two-stage prediction);
* with bootstrap replicates :math:`\theta_b` of the loss law (and :math:`\phi_b` of the
  error law), the **law interval**: percentile interval of :math:`L_b = L(x; \theta_b)`
  and of :math:`Err_b = Err(L_b; \phi_b)`, replicate b of the loss law paired with
  replicate b of the error law (as :class:`scalinglib.uncertainty.ConfigBootstrap`).
  It says where the *law* lies; a single run scatters around the law;
* on request, the **new-run interval**: each replicate plus one draw of the fit's own
  run-to-run noise, the centred residuals resampled with the small-sample inflation
  :math:`s = \sqrt{n / (n - p)}` of the residual bootstrap,
  :math:`L^{new}_b = L_b + s\, r_{j_b}` (on the log scale,
  :math:`L_b\, e^{s\, r_{j_b}}`, for a ``huber_log`` fit) and
  :math:`Err^{new}_b = Err(L^{new}_b; \phi_b) + s_e\, r^{e}_{j'_b}`. It is the interval to
  quote for the outcome of one training run (chapter 9: the law interval alone covers
  too few real outcomes once targets leave the fitted range).

Every target also gets an **extrapolation report** (:class:`Extrapolation`): for C, N,
D and M the ratio of the target to the nearest end of the fitted range (1 inside the
range, 57 for 57 times the largest fitted value, 0.25 for a quarter of the smallest);
for the error law, how far (in nats) the predicted loss lies outside the losses the
error law was fitted on; and warning lines when M lies outside the fitted M range, the
error law is extrapolated in loss, or the predicted error leaves [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .fit import FitError, FitResult
from .fit.problem import N_PARAMS, spec_of

if TYPE_CHECKING:
    from .fit import SavedFit
    from .uncertainty import Bootstrap

__all__ = [
    "Extrapolation",
    "Forecast",
    "fitted_ranges",
    "forecast",
    "multiplier_warning",
    "outside_ratio",
    "run_sizes",
    "target_sizes",
]

#: Quantities of the extrapolation report, in the order they are reported.
SIZES = ("C", "N", "D", "M")

#: Targets predicted per block (bounds the memory of B x k replicate arrays).
_BLOCK = 2000


# ----------------------------------------------------------------------------- targets and ranges


def target_sizes(N=None, D=None, M=None, C=None) -> dict[str, np.ndarray]:
    """N, D, C and M of targets given by (N, D), (N, M), (C, M) or C alone.

    The missing ones follow from C = 6 N D and M = D / N: D = N M; N = sqrt(C / (6 M)),
    D = sqrt(C M / 6). With C alone N, D and M are NaN (enough for the compute law).

    Raises
    ------
    FitError
        For any other combination, arrays of different lengths, or a value that is not
        finite and positive.
    """
    given = {k: v for k, v in {"N": N, "D": D, "M": M, "C": C}.items() if v is not None}
    arrays = {}
    for k, v in given.items():
        a = np.atleast_1d(np.asarray(v, dtype=float)).ravel()
        if a.size == 0:
            raise FitError(f"target {k} is empty")
        if not (np.all(np.isfinite(a)) and np.all(a > 0)):
            i = int(np.flatnonzero(~(np.isfinite(a) & (a > 0)))[0])
            raise FitError(f"target {k} must be finite and positive; value {i} is {a[i]!r}")
        arrays[k] = a
    if len({a.size for a in arrays.values()}) > 1:
        raise FitError(f"targets: {', '.join(arrays)} have different lengths")
    keys = set(arrays)
    if keys == {"N", "D"}:
        n, d = arrays["N"], arrays["D"]
    elif keys == {"N", "M"}:
        n, d = arrays["N"], arrays["N"] * arrays["M"]
    elif keys == {"C", "M"}:
        n, d = np.sqrt(arrays["C"] / (6.0 * arrays["M"])), np.sqrt(arrays["C"] * arrays["M"] / 6.0)
    elif keys == {"C"}:
        c = arrays["C"]
        nan = np.full(c.shape, np.nan)
        return {"N": nan, "D": nan.copy(), "C": c, "M": nan.copy()}
    else:
        raise FitError(f"give targets as N and D, N and M, C and M, or C alone; got {sorted(keys) or 'nothing'}")
    return {"N": n, "D": d, "C": 6.0 * n * d, "M": d / n}


def run_sizes(result: FitResult) -> dict[str, np.ndarray]:
    """N, D, C and M of the runs of a loss-law fit (as :func:`target_sizes`); empty for the error law."""
    x = result.inputs
    if "N" in x and "D" in x:
        return target_sizes(N=x["N"], D=x["D"])
    if "C" in x and "M" in x:
        return target_sizes(C=x["C"], M=x["M"])
    if "C" in x:
        return target_sizes(C=x["C"])
    return {}


def fitted_ranges(result: FitResult) -> dict[str, tuple[float, float]]:
    """Smallest and largest fitted value of each quantity the fit's runs determine.

    C, N, D and M for the over-training and Chinchilla laws, C for the compute law,
    L (the loss) for the error law.
    """
    if "L" in result.inputs:
        L = result.inputs["L"]
        return {"L": (float(L.min()), float(L.max()))}
    out = {}
    for k, v in run_sizes(result).items():
        if np.all(np.isfinite(v)):
            out[k] = (float(v.min()), float(v.max()))
    return out


def outside_ratio(x, lo: float, hi: float) -> np.ndarray:
    """x / hi above the range, x / lo below it, 1 inside: how far x lies outside [lo, hi]."""
    x = np.asarray(x, dtype=float)
    return np.where(x > hi, x / hi, np.where(x < lo, x / lo, 1.0))


def multiplier_warning(M: float, m_range: tuple[float, float]) -> str | None:
    """The warning line for a token multiplier M outside the fitted range, or None."""
    lo, hi = m_range
    if lo <= M <= hi or not np.isfinite(M):
        return None
    return f"M = {M:.3g} lies outside the fitted M range [{lo:.3g}, {hi:.3g}]: the law's M-dependence is extrapolated"


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)  # holds arrays
class Extrapolation:
    """How far each target lies outside the fitted runs.

    Attributes
    ----------
    ratios
        Quantity (C, N, D, M) -> array of :func:`outside_ratio` per target (NaN where the
        quantity is unknown, e.g. M for the compute law).
    ranges
        Quantity -> (smallest, largest) fitted value; ``"L"`` is the loss range of the
        error law's runs.
    loss_outside
        Per target, predicted loss minus the nearest end of the error law's fitted loss
        range, in nats (0 inside; negative below the lowest fitted loss); None without an
        error law.
    warnings
        Per target, the warning lines.
    """

    ratios: dict[str, np.ndarray]
    ranges: dict[str, tuple[float, float]]
    loss_outside: np.ndarray | None
    warnings: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, eq=False)  # holds arrays
class Forecast:
    """Predictions for targets (see the module docstring).

    Attributes
    ----------
    targets
        N, D, C, M of each target (NaN where unknown).
    loss, err
        Point predictions (``err`` None without an error law).
    intervals
        Name -> (low, high) arrays: ``"loss"`` and ``"err"`` (the law interval),
        ``"loss_new_run"`` and ``"err_new_run"`` (the new-run interval, on request).
        Empty without bootstrap replicates.
    level
        Level of the intervals.
    n_boot
        Replicates used (the smaller count when the two fits differ), 0 without.
    extrapolation
        The :class:`Extrapolation` report.
    notes
        Remarks on how the intervals were made.
    """

    targets: dict[str, np.ndarray]
    loss: np.ndarray
    err: np.ndarray | None
    intervals: dict[str, tuple[np.ndarray, np.ndarray]]
    level: float
    n_boot: int
    extrapolation: Extrapolation
    notes: tuple[str, ...] = field(default=())

    @property
    def n_targets(self) -> int:
        return int(self.loss.size)

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per target: sizes, predictions, intervals, extrapolation, warnings."""
        ex = self.extrapolation
        cols = {k: _nums(self.targets[k]) for k in SIZES}
        cols["loss"] = _nums(self.loss)
        if self.err is not None:
            cols["err"] = _nums(self.err)
        bounds = {f"{name}_interval": (_nums(lo), _nums(hi)) for name, (lo, hi) in self.intervals.items()}
        ratios = {k: _nums(v) for k, v in ex.ratios.items()}
        outside = None if ex.loss_outside is None else _nums(ex.loss_outside)
        out = []
        for i in range(self.n_targets):
            rec: dict[str, Any] = {k: v[i] for k, v in cols.items()}
            for name, (lo, hi) in bounds.items():
                rec[name] = [lo[i], hi[i]]
            rec["extrapolation"] = {k: v[i] for k, v in ratios.items()}
            if outside is not None:
                rec["extrapolation"]["loss_outside_error_fit"] = outside[i]
            rec["warnings"] = list(ex.warnings[i])
            out.append(rec)
        return out


def _nums(a: np.ndarray) -> list[float | None]:
    """Python floats, None where not finite (JSON has no NaN)."""
    return [v if math.isfinite(v) else None for v in np.asarray(a, dtype=float).tolist()]


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


# ----------------------------------------------------------------------------- forecast


def _unpack(fit: SavedFit | FitResult, boot: Bootstrap | None) -> tuple[FitResult, Bootstrap | None]:
    if isinstance(fit, FitResult):
        return fit, boot
    return fit.result, boot if boot is not None else fit.bootstrap


def _law_inputs(result: FitResult, t: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    names = spec_of(result.law).inputs
    if names == ("L",):
        raise FitError("the loss law cannot be an error law: give the loss fit first and the error fit as error_fit")
    x = [t[n] for n in names]
    if not all(np.all(np.isfinite(v)) for v in x):
        raise FitError(
            f"the {type(result.law).__name__} needs targets with {' and '.join(names)}; give N and D, N and M, or C and M"
        )
    return x


def _noise(result: FitResult, shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Draws of the fit's run-to-run noise: s * resampled centred residuals (log scale for huber_log)."""
    n, p = result.n_points, N_PARAMS[spec_of(result.law).kind]
    if n <= p:
        raise FitError(
            f"a new-run interval needs more runs than parameters ({n} runs, {p} parameters): the residuals are all zero"
        )
    s = np.sqrt(n / (n - p))
    log_scale = result.objective == "huber_log"
    r = np.log(result.y) - np.log(result.predicted) if log_scale else result.residuals
    r = r - r.mean()
    return s * r[rng.integers(0, n, size=shape)], log_scale


def forecast(
    fit: SavedFit | FitResult,
    targets: Mapping[str, Any],
    *,
    error_fit: SavedFit | FitResult | None = None,
    bootstrap: Bootstrap | None = None,
    error_bootstrap: Bootstrap | None = None,
    level: float = 0.95,
    new_run: bool = False,
    seed: int | None = None,
) -> Forecast:
    """Predict the loss (and, through ``error_fit``, the error) of targets, with intervals.

    Parameters
    ----------
    fit
        The loss law's fit (a :class:`~scalinglib.fit.SavedFit` carries its replicates;
        for a :class:`~scalinglib.fit.FitResult` pass ``bootstrap``).
    targets
        N, D, M, C as for :func:`target_sizes` (a mapping, e.g. ``{"N": [6.9e9], "D": [1.38e11]}``).
    error_fit, error_bootstrap
        The error law Err(L) and its replicates, to chain the loss into an error.
    level
        Level of the percentile intervals.
    new_run
        Also give the new-run intervals (replicate + the fit's run-to-run noise).
    seed
        Seed of the noise draws of the new-run interval (default: the loss bootstrap's seed).

    Raises
    ------
    FitError
        Bad targets, a loss law that is an error law, or an error fit that is not one;
        ``new_run`` without replicates or without residual degrees of freedom.
    """
    if not 0.0 < level < 1.0:
        raise FitError(f"level must be in (0, 1), got {level!r}")
    # a law whose parameters overflow at a target gives inf or NaN there (reported as null), not a warning
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _forecast(fit, targets, error_fit, bootstrap, error_bootstrap, level, new_run, seed)


def _forecast(fit, targets, error_fit, bootstrap, error_bootstrap, level, new_run, seed) -> Forecast:
    from .uncertainty import percentile_interval

    result, boot = _unpack(fit, bootstrap)
    t = target_sizes(**{k: v for k, v in targets.items() if v is not None})
    x = _law_inputs(result, t)
    law: Any = result.law
    loss = np.asarray(law.predict(*x), dtype=float)
    eres = eboot = None
    if error_fit is not None:
        eres, eboot = _unpack(error_fit, error_bootstrap)
        if spec_of(eres.law).inputs != ("L",):
            raise FitError(f"the error fit must be of the error law Err(L), not {type(eres.law).__name__}")
    elaw: Any = None if eres is None else eres.law
    err = None if elaw is None else np.asarray(elaw.predict(loss), dtype=float)

    notes: list[str] = []
    intervals: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    n_boot = 0
    if boot is not None and (eres is None or eboot is not None):
        n_boot = boot.n_boot if eboot is None else min(boot.n_boot, eboot.n_boot)
        if eboot is not None and eboot.n_boot != boot.n_boot:
            notes.append(
                f"the first {n_boot} replicates of each fit are paired ({boot.n_boot} and {eboot.n_boot} saved)"
            )
        if (
            eres is not None
            and eboot is not None
            and eboot.seed is not None
            and eboot.seed == boot.seed
            and eres.n_points == result.n_points
            and eboot.method == boot.method == "residual"
        ):
            notes.append(
                f"both fits were bootstrapped with seed {boot.seed} on as many runs: their resamples are drawn "
                "alike; bootstrap one with another --seed for independent replicates"
            )
        base = seed if seed is not None else (boot.seed if boot.seed is not None else 0)
        rng = np.random.default_rng(np.random.SeedSequence([base, 20]))
        intervals = _replicate_intervals(result, boot, eres, eboot, x, n_boot, level, new_run, rng, percentile_interval)
        if new_run:
            notes.append(
                "new-run interval: each replicate plus one draw of the fit's run-to-run noise "
                "(its residuals resampled, inflated by sqrt(n / (n - p)))"
            )
    elif new_run:
        raise FitError(
            "a new-run interval needs bootstrap replicates: fit with --bootstrap B --save (or pass bootstrap=)"
        )
    elif boot is not None and eres is not None and eboot is None:
        notes.append("no intervals: the error fit carries no bootstrap replicates")

    ex = _extrapolation(result, eres, t, loss, err)
    return Forecast(
        targets=t,
        loss=loss,
        err=err,
        intervals=intervals,
        level=level,
        n_boot=n_boot,
        extrapolation=ex,
        notes=tuple(notes),
    )


def _replicate_intervals(result, boot, eres, eboot, x, n_boot, level, new_run, rng, percentile_interval):
    k = x[0].size
    names = ["loss"] + (["err"] if eboot is not None else [])
    if new_run:
        names += ["loss_new_run"] + (["err_new_run"] if eboot is not None else [])
    out = {n: (np.empty(k), np.empty(k)) for n in names}
    law_b = boot.law_batch()
    elaw_b = eboot.law_batch() if eboot is not None else None
    if n_boot < boot.n_boot or (eboot is not None and n_boot < eboot.n_boot):  # pair the first n_boot of each
        from .uncertainty import Bootstrap

        def head(b):
            return Bootstrap(b.law, b.method, b.seed, b.point, {kk: v[:n_boot] for kk, v in b.samples.items()})

        law_b = head(boot).law_batch()
        elaw_b = head(eboot).law_batch() if eboot is not None else None
    for start in range(0, k, _BLOCK):
        sl = slice(start, min(k, start + _BLOCK))
        L_b = np.asarray(law_b.predict(*[v[sl] for v in x]), dtype=float)  # (B, block)
        reps = {"loss": L_b}
        if elaw_b is not None:
            reps["err"] = np.asarray(elaw_b.predict(L_b), dtype=float)
        if new_run:
            noise, log_scale = _noise(result, L_b.shape, rng)
            L_new = L_b * np.exp(noise) if log_scale else L_b + noise
            reps["loss_new_run"] = L_new
            if elaw_b is not None:
                e_noise, e_log = _noise(eres, L_b.shape, rng)
                E_new = np.asarray(elaw_b.predict(L_new), dtype=float)
                reps["err_new_run"] = E_new * np.exp(e_noise) if e_log else E_new + e_noise
        for name, r in reps.items():  # replicates along the contiguous axis: the same quantiles, faster
            lo, hi = percentile_interval(np.ascontiguousarray(r.T), level, axis=1)
            out[name][0][sl], out[name][1][sl] = lo, hi
    return out


def _extrapolation(result: FitResult, eres: FitResult | None, t, loss, err) -> Extrapolation:
    ranges = fitted_ranges(result)
    k = loss.size
    ratios = {}
    for q in SIZES:
        if q in ranges and np.all(np.isfinite(t[q])):
            ratios[q] = outside_ratio(t[q], *ranges[q])
        else:
            ratios[q] = np.full(k, np.nan)
    lines: list[list[str]] = [[] for _ in range(k)]
    if "M" in ranges:
        for i in range(k):
            w = multiplier_warning(float(t["M"][i]), ranges["M"])
            if w:
                lines[i].append(w)
    loss_outside = None
    if eres is not None and err is not None:
        lo, hi = fitted_ranges(eres)["L"]
        ranges["L"] = (lo, hi)
        loss_outside = np.where(loss < lo, loss - lo, np.where(loss > hi, loss - hi, 0.0))
        for i in range(k):
            if loss_outside[i] != 0:
                side = "below the lowest" if loss_outside[i] < 0 else "above the highest"
                lines[i].append(
                    f"predicted loss {loss[i]:.4g} lies {abs(loss_outside[i]):.3g} nats {side} loss the error law "
                    f"was fitted on [{lo:.4g}, {hi:.4g}]: the error law is extrapolated"
                )
            if not 0.0 <= err[i] <= 1.0:
                lines[i].append(f"predicted error {err[i]:.4g} lies outside [0, 1]: the error law does not hold there")
    return Extrapolation(
        ratios=ratios, ranges=ranges, loss_outside=loss_outside, warnings=tuple(tuple(w) for w in lines)
    )
