r"""The outcome of a fit (:class:`FitResult`), its warnings and errors, and the checks of its input.

A fit takes finite inputs, positive where the law takes a logarithm or a power of
them (N, D, C, M and the observed losses), and at least as many points as the law
has parameters; anything else is a :class:`FitError` naming the input and the index
of the first bad value. Magnitudes are those a CSV may hold
(:data:`scalinglib.userdata.MAGNITUDE_RANGE`, 1e-12 to 1e40): inputs near 1e300 would
give parameters near 1e301 whose predictions overflow, and are refused the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from ..userdata import MAGNITUDE_RANGE
from .problem import N_PARAMS, Law


class FitWarning(UserWarning):
    """A fit that is valid but deserves attention (edge of the box, unidentified, ...)."""


class FitError(ValueError):
    """Input that cannot be fitted (too few points, NaN, non-positive sizes)."""


#: The law a :class:`FitResult` holds: ``fit_overtraining`` returns a
#: ``FitResult[OvertrainingLaw]``, so a type checker knows ``res.law.eta`` exists.
LawT = TypeVar("LawT", bound=Law)


@dataclass(frozen=True, repr=False)
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

    def __repr__(self) -> str:
        """A short summary: law, parameters, number of points, flags (not the input arrays)."""
        params = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        flags = [] if self.identified else ["NOT identified"]
        if self.on_edge:
            flags.append("on edge: " + ", ".join(self.on_edge))
        if self.active_constraints:
            flags.append("active: " + ", ".join(self.active_constraints))
        tail = f"; {'; '.join(flags)}" if flags else ""
        return f"FitResult({type(self.law).__name__}: {params}; n={self.n_points}, {self.objective}{tail})"

    def save(self, path, bootstrap=None, *, level: float | None = None, source=None):
        """Write this fit (and its bootstrap replicates, if given) to ``path`` as a versioned,
        checksummed JSON document; read it back with :func:`scalinglib.load_fit`.

        See :mod:`scalinglib.fit.saved` for the document. Returns the path written.
        """
        from .saved import save_fit

        return save_fit(self, path, bootstrap, level=level, source=source)


def _input_range(name: str) -> tuple[float, float]:
    """Accepted magnitudes of input ``name``: :data:`MAGNITUDE_RANGE` for a quantity read from a
    CSV (N, D, L), wider for those derived from two of them (C = 6 N D, M = D / N)."""
    lo, hi = MAGNITUDE_RANGE
    if name == "C":
        return 6.0 * lo * lo, 6.0 * hi * hi
    if name == "M":
        return lo / hi, hi / lo
    return lo, hi


def _as_positive(x, name: str) -> np.ndarray:
    lo, hi = _input_range(name)
    a = np.asarray(x, dtype=float).ravel()
    if a.size and a.min() >= lo and a.max() <= hi:  # a NaN fails the first test
        return a
    if a.size == 0:
        raise FitError(f"{name} is empty")
    bad = ~np.isfinite(a)
    if bad.any():
        raise FitError(f"{name} has a NaN or infinite value at index {int(np.flatnonzero(bad)[0])}")
    if np.any(a <= 0):
        i = int(np.flatnonzero(a <= 0)[0])
        raise FitError(f"{name} must be positive; index {i} has {a[i]!r}")
    i = int(np.flatnonzero((a < lo) | (a > hi))[0])
    raise FitError(
        f"{name}[{i}] = {a[i]:g} is outside the accepted range [{lo:g}, {hi:g}] (beyond it the fitted "
        "parameters and predictions leave the range of doubles); rescale it"
    )


def _as_finite(x, name: str) -> np.ndarray:
    hi = MAGNITUDE_RANGE[1]
    a = np.asarray(x, dtype=float).ravel()
    if a.size and np.isfinite(a.sum()) and np.abs(a).max() <= hi:  # a NaN or an infinity makes the sum non-finite
        return a
    bad = ~np.isfinite(a)
    if bad.any():
        raise FitError(f"{name} has a NaN or infinite value at index {int(np.flatnonzero(bad)[0])}")
    if a.size:
        i = int(np.argmax(np.abs(a)))
        raise FitError(f"{name}[{i}] = {a[i]:g} is outside the accepted range [-{hi:g}, {hi:g}]; rescale it")
    return a


def _check_count(n: int, law: str, *arrays: np.ndarray) -> None:
    sizes = {a.size for a in arrays}
    if len(sizes) != 1:
        raise FitError(f"inputs of the {law} fit have different lengths: {sorted(sizes)}")
    need = N_PARAMS[law]
    if n < need:
        raise FitError(f"the {law} law has {need} parameters and needs at least {need} points; got {n}")
