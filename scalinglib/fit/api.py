r"""The fitting functions, one per law: check the input, build the law's problem, fit it.

* :func:`fit_overtraining` — :math:`L(C, M) = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}`
* :func:`fit_chinchilla` — :math:`L(N, D) = E + A N^{-\alpha} + B D^{-\beta}`
* :func:`fit_compute` — :math:`L(C) = E + \lambda C^{-\eta}`
* :func:`fit_error` — :math:`\mathrm{Err}(L) = \epsilon - k \exp(-\gamma L)`
* :func:`fit_sigmoid` — :math:`\mathrm{Err}(L) = b + a / (1 + \exp(-k (L - x_0)))`, asymptotes bounded
* :func:`fit_law` — any of them by name.

Each takes ``objective="lsq"`` (default) or ``"huber_log"``
(:mod:`scalinglib.fit.objectives`) and an optional search ``box`` for the exponents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw
from .objectives import _dispatch
from .problem import problem
from .result import FitError, FitResult, _as_finite, _as_positive, _check_count


def fit_overtraining(
    C: Sequence[float] | None = None,
    M: Sequence[float] | None = None,
    L: Sequence[float] | None = None,
    *,
    N: Sequence[float] | None = None,
    D: Sequence[float] | None = None,
    objective: str = "lsq",
    delta: float = 1e-3,
    box: dict[str, tuple[float, float, int]] | None = None,
) -> FitResult[OvertrainingLaw]:
    r"""Fit :math:`L(C, M) = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}` (a, b >= 0).

    Give either ``C`` and ``M`` or ``N`` and ``D`` (then C = 6ND, M = D/N).
    ``eta`` is searched on ``SEARCH_BOXES["overtraining"]`` unless ``box`` is given.

    Raises
    ------
    FitError
        Fewer than 4 points, NaN, non-positive inputs, or a single M (then a and b
        cannot be separated: a M^eta + b M^-eta is one constant; fit the compute law).
    """
    if N is not None or D is not None:
        if N is None or D is None:
            raise FitError("give both N and D, or C and M")
        Nn, Dd = _as_positive(N, "N"), _as_positive(D, "D")
        C, M = 6.0 * Nn * Dd, Dd / Nn
    if C is None or M is None or L is None:
        raise FitError("the over-training fit needs C and M (or N and D) and L")
    Ca, Ma, La = _as_positive(C, "C"), _as_positive(M, "M"), _as_positive(L, "L")
    _check_count(La.size, "overtraining", Ca, Ma, La)
    log_M = np.log(Ma)
    if log_M.max() - log_M.min() < 1e-9:
        raise FitError(
            "all points have the same token multiplier M: a and b are not identified "
            "(a M^eta + b M^-eta is a single constant). Add runs at a second M or fit the compute law."
        )
    inputs = {"C": Ca, "M": Ma}
    return _dispatch("overtraining", problem("overtraining", inputs, La, box), inputs, objective, delta, box)


def fit_compute(C, L, *, objective: str = "lsq", delta: float = 1e-3, box=None) -> FitResult[ComputeLaw]:
    r"""Fit the per-M compute law :math:`L(C) = E + \lambda C^{-\eta}` (lambda >= 0)."""
    C, L = _as_positive(C, "C"), _as_positive(L, "L")
    _check_count(L.size, "compute", C, L)
    return _dispatch("compute", problem("compute", {"C": C}, L, box), {"C": C}, objective, delta, box)


def fit_error(L, err, *, objective: str = "lsq", delta: float = 1e-3, box=None) -> FitResult[ErrorLaw]:
    r"""Fit :math:`\mathrm{Err}(L) = \epsilon - k \exp(-\gamma L)` (k >= 0)."""
    L = _as_positive(L, "L")
    err = _as_finite(err, "err")
    _check_count(L.size, "error", L, err)
    if objective == "huber_log" and np.any(err <= 0):
        raise FitError("the huber_log objective needs positive errors")
    return _dispatch("error", problem("error", {"L": L}, err, box), {"L": L}, objective, delta, box)


def fit_chinchilla(N, D, L, *, objective: str = "lsq", delta: float = 1e-3, box=None) -> FitResult[ChinchillaLaw]:
    r"""Fit :math:`L(N, D) = E + A N^{-\alpha} + B D^{-\beta}` (A, B >= 0).

    ``objective="huber_log"`` is the Chinchilla Approach 3: Huber loss (``delta``)
    on log-loss residuals, minimised with BFGS (analytic gradient) from the best
    points of a grid of starts plus the least-squares solution.
    """
    N, D, L = _as_positive(N, "N"), _as_positive(D, "D"), _as_positive(L, "L")
    _check_count(L.size, "chinchilla", N, D, L)
    return _dispatch(
        "chinchilla", problem("chinchilla", {"N": N, "D": D}, L, box), {"N": N, "D": D}, objective, delta, box
    )


def fit_sigmoid(
    L,
    err,
    *,
    chance: float = 0.0,
    floor: float = 0.0,
    ceiling: float | None = None,
    objective: str = "lsq",
    delta: float = 1e-3,
    box=None,
) -> FitResult:
    r"""Fit :math:`\mathrm{Err}(L) = b + a / (1 + \exp(-k (L - x_0)))` with its asymptotes in a band.

    L is any loss (a task's bits per byte, C4 loss, ...), err the top-1 error (1 -
    accuracy) as a fraction. The floor b (the error of a perfect model, L far below x0)
    and the ceiling a + b (the error of a useless one) are constrained to
    ``floor <= b <= a + b <= ceiling``, by default ``[0, 1 - chance]``: no accuracy above
    1, and no model worse than random guessing on average, however high its loss (the
    ladder paper's step 2 bounds the accuracy's upper asymptote to [0, 1] and adds an
    ideal point instead; see :mod:`scalinglib.twostep`). So the law's predictions stay
    in the band for every L. k (> 0) and x0 are searched on
    :func:`~scalinglib.fit.problem.sigmoid_box` of the data unless ``box`` is given
    (``{"k": (lo, hi, n), "x0": (lo, hi, n)}``, k on a geometric grid); the linear step
    is exact (:mod:`scalinglib.fit.bounded`).

    Raises
    ------
    FitError
        Fewer than 4 points, NaN, or an empty band (``floor >= ceiling``).
    """
    from .bounded import fit_bounded

    L = _as_finite(L, "L")
    err = _as_finite(err, "err")
    _check_count(L.size, "sigmoid", L, err)
    hi = 1.0 - float(chance) if ceiling is None else float(ceiling)
    lo = float(floor)
    if not lo < hi:
        raise FitError(f"the sigmoid's band [floor, ceiling] = [{lo:g}, {hi:g}] is empty")
    if objective not in ("lsq", "huber_log"):
        raise ValueError(f"objective must be 'lsq' or 'huber_log', got {objective!r}")
    if objective == "huber_log" and np.any(err <= 0):
        raise FitError("the huber_log objective needs positive errors")
    if np.ptp(L) == 0:
        raise FitError("all points have the same loss L: the sigmoid's k and x0 are not identified")
    return fit_bounded(problem("sigmoid", {"L": L}, err, box), L, objective, delta, lo, hi)


#: The fit of each law; positional arguments are the law's inputs then the observations.
FITS: dict[str, Callable[..., FitResult]] = {
    "overtraining": fit_overtraining,
    "chinchilla": fit_chinchilla,
    "compute": fit_compute,
    "error": fit_error,
    "sigmoid": fit_sigmoid,
}


def fit_law(law: str, **data) -> FitResult:
    """Dispatch by name: ``"overtraining"``, ``"chinchilla"``, ``"compute"``, ``"error"``, ``"sigmoid"``."""
    if law not in FITS:
        raise ValueError(f"unknown law {law!r}; choose one of {sorted(FITS)}")
    return FITS[law](**data)
