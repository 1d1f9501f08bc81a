"""The scaling laws of Gadre et al. (2024), as small immutable objects.

Notation: N parameters, D training tokens, M = D / N token multiplier, C = 6 N D
training FLOPs, L loss (nats per token), Err top-1 error.

Each law has named parameters, a vectorised ``predict`` and its formula in LaTeX
(``latex``) for the book.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "ChinchillaLaw",
    "OvertrainingLaw",
    "ComputeLaw",
    "ErrorLaw",
    "SigmoidLaw",
    "tokens_params_from_compute",
]


def _pos(x: ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.size and not (a.min() > 0 and a.max() < np.inf):  # a NaN fails the first test
        raise ValueError(f"{name} must be finite and positive")
    return a


def tokens_params_from_compute(C: ArrayLike, M: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """N and D of a run with compute C = 6 N D and token multiplier M = D / N.

    N = sqrt(C / (6 M)),  D = sqrt(C M / 6).
    """
    C = _pos(C, "C")
    M = _pos(M, "M")
    return np.sqrt(C / (6.0 * M)), np.sqrt(C * M / 6.0)


class _Law:
    names: ClassVar[tuple[str, ...]]
    latex: ClassVar[str]

    @property
    def params(self) -> dict[str, float]:
        """Parameters by the names a reader of the paper uses."""
        return dict(zip(self.names, asdict(self).values()))  # type: ignore[call-overload]


@dataclass(frozen=True)
class ChinchillaLaw(_Law):
    r"""Chinchilla form :math:`L(N, D) = E + A N^{-\alpha} + B D^{-\beta}` (Hoffmann et al. 2022)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    names: ClassVar[tuple[str, ...]] = ("E", "A", "B", "alpha", "beta")
    latex: ClassVar[str] = r"L(N, D) = E + A N^{-\alpha} + B D^{-\beta}"

    def predict(self, N: ArrayLike, D: ArrayLike) -> np.ndarray:
        """Loss of a model with N parameters trained on D tokens."""
        N = _pos(N, "N")
        D = _pos(D, "D")
        return self.E + self.A * N ** (-self.alpha) + self.B * D ** (-self.beta)

    def to_overtraining(self) -> OvertrainingLaw:
        """Exact conversion to L(C, M); requires alpha == beta (eta = alpha / 2)."""
        if not np.isclose(self.alpha, self.beta, rtol=1e-12, atol=0):
            raise ValueError("only a law with alpha == beta has the over-training form L(C, M)")
        eta = self.alpha / 2.0
        return OvertrainingLaw(E=self.E, a=self.A * 6.0**eta, b=self.B * 6.0**eta, eta=eta)

    def compute_optimal(self, C: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        r"""N*(C), D*(C) minimising L(N, D) subject to 6 N D = C.

        Setting the derivative along the constraint to zero gives
        :math:`\alpha A N^{-\alpha} = \beta B D^{-\beta}` with D = C / (6 N); solved in
        closed form when alpha and beta are positive:
        :math:`N^* = G (C/6)^{\beta/(\alpha+\beta)}`,
        :math:`G = (\alpha A / (\beta B))^{1/(\alpha+\beta)}`, D* = C / (6 N*).
        """
        C = _pos(C, "C")
        if self.alpha <= 0 or self.beta <= 0 or self.A <= 0 or self.B <= 0:
            raise ValueError("compute-optimal allocation needs positive A, B, alpha, beta")
        a, b = self.alpha, self.beta
        G = (a * self.A / (b * self.B)) ** (1.0 / (a + b))
        N = G * (C / 6.0) ** (b / (a + b))
        return N, C / (6.0 * N)


@dataclass(frozen=True)
class OvertrainingLaw(_Law):
    r"""Over-training law :math:`L(C, M) = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}`.

    Equivalent to the Chinchilla form with one shared exponent alpha = beta = 2 eta,
    A = a 6^-eta, B = b 6^-eta (Gadre et al. 2024, eq. 4).
    """

    E: float
    a: float
    b: float
    eta: float

    names: ClassVar[tuple[str, ...]] = ("E", "a", "b", "eta")
    latex: ClassVar[str] = r"L(C, M) = E + \left(a M^{\eta} + b M^{-\eta}\right) C^{-\eta}"

    def predict(self, C: ArrayLike, M: ArrayLike) -> np.ndarray:
        """Loss of a run with C training FLOPs and token multiplier M."""
        C = _pos(C, "C")
        M = _pos(M, "M")
        return self.E + self.offset(M) * C ** (-self.eta)

    def predict_ND(self, N: ArrayLike, D: ArrayLike) -> np.ndarray:
        """Loss of a model with N parameters trained on D tokens (C = 6ND, M = D/N)."""
        N = _pos(N, "N")
        D = _pos(D, "D")
        return self.predict(6.0 * N * D, D / N)

    def offset(self, M: ArrayLike) -> np.ndarray:
        r"""lambda(M) = a M^eta + b M^-eta, the scale of the per-M compute power law."""
        M = _pos(M, "M")
        return self.a * M**self.eta + self.b * M ** (-self.eta)

    def at_multiplier(self, M: float) -> ComputeLaw:
        """The per-M compute law L(C) = E + lambda(M) C^-eta of this law."""
        return ComputeLaw(E=self.E, lam=float(self.offset(M)), eta=self.eta)

    def to_chinchilla(self) -> ChinchillaLaw:
        """Exact conversion to L(N, D) with alpha = beta = 2 eta."""
        s = 6.0 ** (-self.eta)
        return ChinchillaLaw(E=self.E, A=self.a * s, B=self.b * s, alpha=2 * self.eta, beta=2 * self.eta)

    @classmethod
    def from_chinchilla(cls, law: ChinchillaLaw) -> OvertrainingLaw:
        """Exact conversion from a Chinchilla law with alpha == beta."""
        return law.to_overtraining()

    def optimal_multiplier(self, strict: bool = True) -> float | np.ndarray:
        r"""The M that minimises loss at fixed compute.

        lambda(M) = a M^eta + b M^-eta is smallest where a M^eta = b M^-eta, i.e.
        :math:`M^* = (b / a)^{1 / (2\eta)}`. Needs a, b, eta > 0: otherwise a
        ``ValueError``, or NaN with ``strict=False``. A law whose parameters are arrays
        (e.g. :meth:`scalinglib.uncertainty.Bootstrap.law_batch`) gives an array of M*.
        """
        a, b, eta = (np.asarray(v, dtype=float) for v in (self.a, self.b, self.eta))
        ok = (a > 0) & (b > 0) & (eta > 0)
        if strict and not np.all(ok):
            raise ValueError("optimal multiplier needs a > 0, b > 0 and eta > 0")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            M = np.where(ok, (b / a) ** (1.0 / (2.0 * eta)), np.nan)
        return float(M) if M.ndim == 0 else M


@dataclass(frozen=True)
class ComputeLaw(_Law):
    r"""Per-M compute law :math:`L(C) = E + \lambda C^{-\eta}` (a power law with an irreducible term)."""

    E: float
    lam: float
    eta: float

    names: ClassVar[tuple[str, ...]] = ("E", "lambda", "eta")
    latex: ClassVar[str] = r"L(C) = E + \lambda C^{-\eta}"

    def predict(self, C: ArrayLike) -> np.ndarray:
        """Loss of a run with C training FLOPs."""
        C = _pos(C, "C")
        return self.E + self.lam * C ** (-self.eta)


@dataclass(frozen=True)
class ErrorLaw(_Law):
    r"""Loss-to-error law :math:`\mathrm{Err}(L) = \epsilon - k \exp(-\gamma L)`.

    With perplexity PP = exp(L) this is a power law, Err = epsilon - k PP^-gamma;
    epsilon is the error of a useless model (near chance).
    """

    epsilon: float
    k: float
    gamma: float

    names: ClassVar[tuple[str, ...]] = ("epsilon", "k", "gamma")
    latex: ClassVar[str] = r"\mathrm{Err}(L) = \epsilon - k \exp(-\gamma L)"

    def predict(self, L: ArrayLike) -> np.ndarray:
        """Average top-1 error at loss L."""
        L = np.asarray(L, dtype=float)
        if np.any(~np.isfinite(L)):
            raise ValueError("L must be finite")
        return self.epsilon - self.k * np.exp(-self.gamma * L)

    def loss_for(self, err: ArrayLike) -> np.ndarray:
        """The loss at which the law predicts error ``err``: L = -ln((epsilon - err) / k) / gamma."""
        err = np.asarray(err, dtype=float)
        gap = (self.epsilon - err) / self.k
        if np.any(gap <= 0) or self.gamma <= 0:
            raise ValueError(f"error {err} is not reachable: the law's floor is below epsilon={self.epsilon:.4g} only")
        return -np.log(gap) / self.gamma


def _logistic(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) = (1 + tanh(z / 2)) / 2: no overflow, one transcendental per entry."""
    out = np.asarray(np.multiply(z, 0.5), dtype=float)
    if out.ndim == 0:
        return 0.5 * (1.0 + np.tanh(out))
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


@dataclass(frozen=True)
class SigmoidLaw(_Law):
    r"""Bounded loss-to-error law :math:`\mathrm{Err}(x) = b + a / (1 + \exp(-k (x - x_0)))`.

    The error rises with the loss x (any loss: a task's bits per byte, C4 loss, the
    testbed's losses) from the floor b, reached by a perfect model (x far below x0), to
    the ceiling a + b, reached by a useless one (x far above x0); x0 is the loss at the
    midpoint and k > 0 the steepness. With a >= 0 every prediction lies in [b, a + b],
    whatever x. In accuracy, acc = 1 - Err runs from 1 - b down to 1 - a - b; this is
    the step-2 law of Bhagia et al. (2024) written for the error.
    """

    b: float
    a: float
    k: float
    x0: float

    names: ClassVar[tuple[str, ...]] = ("b", "a", "k", "x0")
    latex: ClassVar[str] = r"\mathrm{Err}(x) = b + \frac{a}{1 + \exp(-k (x - x_0))}"

    def predict(self, L: ArrayLike) -> np.ndarray:
        """Error at loss L (any finite value; the result lies in [b, a + b])."""
        L = np.asarray(L, dtype=float)
        if np.any(~np.isfinite(L)):
            raise ValueError("L must be finite")
        # b + a s, s in [0, 1]: clip guards the last ulp so the band holds exactly
        return np.clip(self.b + self.a * _logistic(self.k * (L - self.x0)), *self.asymptotes)

    def accuracy(self, L: ArrayLike) -> np.ndarray:
        """Accuracy 1 - Err(L)."""
        return 1.0 - self.predict(L)

    @property
    def asymptotes(self) -> tuple[float, float]:
        """(floor, ceiling) of the error: (b, a + b) for a >= 0 (arrays for a batch of laws)."""
        lo, hi = self.b, self.b + self.a
        return (np.minimum(lo, hi), np.maximum(lo, hi))
