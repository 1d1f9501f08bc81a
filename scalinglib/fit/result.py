r"""The outcome of a fit (:class:`FitResult`), its warnings and errors, and the checks of its input.

A fit takes finite inputs, positive where the law takes a logarithm or a power of
them (N, D, C, M and the observed losses), and at least as many points as the law
has parameters; anything else is a :class:`FitError` naming the input and the index
of the first bad value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from .problem import N_PARAMS, Law


class FitWarning(UserWarning):
    """A fit that is valid but deserves attention (edge of the box, unidentified, ...)."""


class FitError(ValueError):
    """Input that cannot be fitted (too few points, NaN, non-positive sizes)."""


#: The law a :class:`FitResult` holds: ``fit_overtraining`` returns a
#: ``FitResult[OvertrainingLaw]``, so a type checker knows ``res.law.eta`` exists.
LawT = TypeVar("LawT", bound=Law)


@dataclass(frozen=True)
class FitResult(Generic[LawT]):
    """The outcome of one fit.

    Attributes
    ----------
    law
        The fitted law (an immutable object with ``predict``).
    objective
        ``"lsq"`` (sum of squared raw residuals) or ``"huber_log"`` (sum of Huber
        losses of log residuals, delta given by ``delta``).
    inputs
        The points used, by name (e.g. ``{"C": ..., "M": ...}``), and ``y`` the
        observed values.
    predicted, residuals
        Law at the inputs and ``y - predicted``.
    sse
        Sum of squared raw residuals.
    objective_value
        Value of the minimised objective (equals ``sse`` for ``"lsq"``).
    search_box
        Exponent name -> (lower, upper) searched.
    on_edge
        Exponents whose optimum lies on the edge of the box.
    active_constraints
        Non-negative coefficients held at zero by the constraint.
    identified
        False when the data cannot determine every parameter (e.g. a single M in an
        over-training fit, or a rank-deficient Jacobian at the optimum).
    notes
        Human-readable remarks (also raised as :class:`FitWarning`).
    delta
        Huber threshold of a ``"huber_log"`` fit (None otherwise).
    band
        Sigmoid fits only: the interval (lo, hi) its asymptotes were constrained to
        (floor b >= lo, ceiling a + b <= hi); None for the other laws.
    """

    law: LawT
    objective: str
    inputs: dict[str, np.ndarray]
    y: np.ndarray
    predicted: np.ndarray
    residuals: np.ndarray
    sse: float
    objective_value: float
    search_box: dict[str, tuple[float, float]]
    on_edge: tuple[str, ...] = ()
    active_constraints: tuple[str, ...] = ()
    identified: bool = True
    notes: tuple[str, ...] = ()
    delta: float | None = None
    band: tuple[float, float] | None = None

    @property
    def params(self) -> dict[str, float]:
        return self.law.params

    @property
    def n_points(self) -> int:
        return int(self.y.size)


def _as_positive(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size and a.min() > 0 and a.max() < np.inf:  # a NaN fails the first test
        return a
    if a.size == 0:
        raise FitError(f"{name} is empty")
    bad = ~np.isfinite(a)
    if bad.any():
        raise FitError(f"{name} has a NaN or infinite value at index {int(np.flatnonzero(bad)[0])}")
    i = int(np.flatnonzero(a <= 0)[0])
    raise FitError(f"{name} must be positive; index {i} has {a[i]!r}")


def _as_finite(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size and np.isfinite(a.sum()):  # a NaN or an infinity makes the sum non-finite
        return a
    bad = ~np.isfinite(a)
    if bad.any():
        raise FitError(f"{name} has a NaN or infinite value at index {int(np.flatnonzero(bad)[0])}")
    return a


def _check_count(n: int, law: str, *arrays: np.ndarray) -> None:
    sizes = {a.size for a in arrays}
    if len(sizes) != 1:
        raise FitError(f"inputs of the {law} fit have different lengths: {sorted(sizes)}")
    need = N_PARAMS[law]
    if n < need:
        raise FitError(f"the {law} law has {need} parameters and needs at least {need} points; got {n}")
