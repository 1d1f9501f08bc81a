r"""What a law declares to be fitted: its nonlinear exponents, its linear basis, its box.

Every law of the library is linear in all its parameters but its exponents:

.. math:: f(x; c, e) = c_0 + \sum_j c_j\, s_j\, e^{e_{k_j} u_j(x)}, \qquad c_j \ge 0,

with a free intercept :math:`c_0` (E or epsilon), non-negative coefficients
:math:`c_j`, column signs :math:`s_j` and exponents :math:`e_k` searched on a box:

* over-training  L = E + a (M/C)^eta + b (1/(MC))^eta: u = ln M - ln C, -(ln M + ln C)
* Chinchilla     L = E + A N^-alpha + B D^-beta:       u = -ln N (alpha), -ln D (beta)
* compute        L = E + lambda C^-eta:                u = -ln C
* error          Err = epsilon - k exp(-gamma L):      u = -L, s = -1

One law has a column that is not a power: the sigmoid
:math:`\mathrm{Err}(x) = b + a\, \sigma(k (x - x_0))`, :math:`\sigma(z) = 1 / (1 + e^{-z})`,
with nonlinear k and x0 and linear a >= 0 and b. It declares a :class:`Basis` instead
of power columns: the column as a function of its nonlinear parameters, with the
derivatives, which is all a variable-projection solver needs from a column. Its
linear step also bounds the asymptotes (:mod:`scalinglib.fit.bounded`).

A :class:`LawSpec` states this once per law (inputs, exponents, names of the
coefficients, the columns ``(k_j, u_j, s_j)`` as a function of the inputs, the
default search box and the starts of a Huber fit); :func:`problem` turns a spec and
data into a :class:`_Problem`, which is all the fitting core sees.

The batch path (:mod:`scalinglib.fit.batch`, :mod:`scalinglib.fit.huberbatch`) asks a
problem only for its columns at a batch of nonlinear parameters and their
derivatives: :meth:`_Problem.features` (G, n, p), :meth:`_Problem.jet` (the columns
and their first derivatives, (G, n, p, q)) and :meth:`_Problem.d2features` (second
derivatives, for the Huber objective). A law whose column is not a power declares a
:class:`Basis` (its columns and their first derivatives), which these methods return;
the sigmoid does, and its batch goes through its own bounded linear step
(:func:`scalinglib.fit.bounded.fit_bounded_batch`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw, SigmoidLaw, _logistic

Law = ChinchillaLaw | OvertrainingLaw | ComputeLaw | ErrorLaw | SigmoidLaw

#: Search boxes of the exponents (lower, upper, grid points) for the least-squares fits.
SEARCH_BOXES: dict[str, dict[str, tuple[float, float, int]]] = {
    "overtraining": {"eta": (1e-3, 1.5, 1500)},
    "compute": {"eta": (1e-3, 1.5, 1500)},
    "error": {"gamma": (1e-3, 20.0, 2000)},
    "chinchilla": {"alpha": (1e-2, 1.5, 150), "beta": (1e-2, 1.5, 150)},
}

#: A column of a VP problem: (index of its exponent, u, sign) for column = sign * exp(e u).
Term = tuple[int, np.ndarray, float]


@dataclass(frozen=True)
class Basis:
    r"""Columns that are not powers: F(theta) (G, n, p) and dF/dtheta (G, n, p, q) at nonlinear parameters (G, q).

    ``features(E)`` gives the columns at each row of E; ``jet(E)`` the columns and their
    derivatives with respect to the q nonlinear parameters.
    """

    features: Callable[[np.ndarray], np.ndarray]
    jet: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def sigmoid_basis(x) -> Basis:
    r"""The sigmoid column :math:`\sigma(k (x - x_0))` of inputs x at parameters (k, x0), with its derivatives.

    :math:`\partial \sigma / \partial k = \sigma (1 - \sigma) (x - x_0)`,
    :math:`\partial \sigma / \partial x_0 = -k\, \sigma (1 - \sigma)`.
    """
    x = np.asarray(x, dtype=float)

    def features(E):
        E = np.atleast_2d(np.asarray(E, dtype=float))
        return _logistic(E[:, :1] * (x[None, :] - E[:, 1:2]))[..., None]

    def jet(E):
        E = np.atleast_2d(np.asarray(E, dtype=float))
        d = x[None, :] - E[:, 1:2]
        s = _logistic(E[:, :1] * d)
        ds = s * (1.0 - s)
        return s[..., None], np.stack([ds * d, -ds * E[:, :1]], axis=-1)[:, :, None, :]

    return Basis(features, jet)


def sigmoid_box(x) -> dict[str, tuple[float, float, int]]:
    """The default search box of the sigmoid's (k, x0), from the spread s of the losses x.

    k s in [0.1, 300] (from a nearly straight line to a step within a hundredth of the
    data's range), searched on a geometric grid; x0 in [min x - 2 s, max x + 2 s] (the
    midpoint may lie beyond the data when they show one arm of the curve only).
    """
    x = np.asarray(x, dtype=float)
    s = float(np.ptp(x)) or 1.0
    return {"k": (0.1 / s, 300.0 / s, 61), "x0": (float(x.min()) - 2.0 * s, float(x.max()) + 2.0 * s, 61)}


@dataclass(frozen=True)
class LawSpec:
    """One law as the fitting core sees it.

    Attributes
    ----------
    kind
        ``"overtraining"``, ``"compute"``, ``"error"`` or ``"chinchilla"``.
    law
        The law class; ``law(intercept, *coefficients, *exponents)`` builds one.
    inputs
        Names of the inputs, e.g. ``("C", "M")``.
    exponents
        Names of the nonlinear parameters (keys of the search box).
    linear
        Names of the non-negative coefficients, as the fit's notes call them.
    terms
        The linear basis: inputs (in the order of ``inputs``) -> columns (k, u, sign).
    starts
        Axes of the grid of starting points of a Huber fit (intercept first).
    basis
        For a law whose column is not a power (the sigmoid): inputs -> :class:`Basis`;
        ``terms`` then gives no columns.
    box_of
        For a law whose search box depends on the data: inputs -> box.
    """

    kind: str
    law: type[Law]
    inputs: tuple[str, ...]
    exponents: tuple[str, ...]
    linear: tuple[str, ...]
    terms: Callable[..., tuple[Term, ...]]
    starts: tuple[tuple[float, ...], ...]
    basis: Callable[..., Basis] | None = None
    box_of: Callable[..., dict[str, tuple[float, float, int]]] | None = None

    @property
    def box(self) -> dict[str, tuple[float, float, int]]:
        return SEARCH_BOXES[self.kind]

    @property
    def n_params(self) -> int:
        return 1 + len(self.linear) + len(self.exponents)

    def law_from(self, exps: np.ndarray, coef: np.ndarray) -> Law:
        """The law with coefficients ``coef`` (intercept first) and exponents ``exps``."""
        return self.law(*[float(v) for v in coef], *[float(v) for v in exps])

    def predict(self, law: Law, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return law.predict(*[inputs[k] for k in self.inputs])

    def default_starts(self) -> np.ndarray:
        """The grid of starting points (n_starts, n_params) in the natural parametrisation."""
        return np.array(list(itertools.product(*self.starts)), dtype=float)


def _overtraining_terms(C, M):
    # L = E + a exp(eta (log M - log C)) + b exp(-eta (log M + log C))
    lc, lm = np.log(C), np.log(M)
    return ((0, lm - lc, 1.0), (0, -(lm + lc), 1.0))


_EXP = np.exp([0.0, 5.0, 10.0, 15.0, 20.0, 25.0])

SPECS: dict[str, LawSpec] = {
    "overtraining": LawSpec(
        "overtraining",
        OvertrainingLaw,
        ("C", "M"),
        ("eta",),
        ("a", "b"),
        _overtraining_terms,
        ((0.5, 1.0, 2.0), (1.0, 10.0, 100.0), (1.0, 10.0, 100.0), (0.05, 0.1, 0.2, 0.4)),
    ),
    "compute": LawSpec(
        "compute",
        ComputeLaw,
        ("C",),
        ("eta",),
        ("lambda",),
        lambda C: ((0, -np.log(C), 1.0),),
        ((0.5, 1.0, 2.0), (1.0, 10.0, 100.0, 1000.0), (0.05, 0.1, 0.2, 0.4)),
    ),
    "error": LawSpec(
        "error",
        ErrorLaw,
        ("L",),
        ("gamma",),
        ("k",),
        lambda L: ((0, -np.asarray(L, dtype=float), -1.0),),
        ((0.5, 0.75, 1.0), (0.1, 1.0, 10.0), (0.5, 1.0, 2.0, 4.0)),
    ),
    # Hoffmann et al.'s Approach-3 grid, thinned: E, A, B, alpha, beta
    "chinchilla": LawSpec(
        "chinchilla",
        ChinchillaLaw,
        ("N", "D"),
        ("alpha", "beta"),
        ("A", "B"),
        lambda N, D: ((0, -np.log(N), 1.0), (1, -np.log(D), 1.0)),
        (
            tuple(np.exp([-1.0, 0.0, 1.0])),
            tuple(_EXP),
            tuple(_EXP),
            (0.0, 0.5, 1.0, 1.5, 2.0),
            (0.0, 0.5, 1.0, 1.5, 2.0),
        ),
    ),
    # Err(x) = b + a sigma(k (x - x0)): one non-power column, box from the data
    "sigmoid": LawSpec(
        "sigmoid",
        SigmoidLaw,
        ("L",),
        ("k", "x0"),
        ("a",),
        lambda L: (),
        (),
        basis=sigmoid_basis,
        box_of=sigmoid_box,
    ),
}

#: Number of parameters of each law (the least number of points a fit needs).
N_PARAMS = {k: s.n_params for k, s in SPECS.items()}

_KINDS = {s.law: k for k, s in SPECS.items()}


def spec_of(law: Law) -> LawSpec:
    """The spec of a law object."""
    kind = _KINDS.get(type(law))
    if kind is None:
        raise TypeError(f"expected one of {[c.__name__ for c in _KINDS]}, got {type(law).__name__}")
    return SPECS[kind]


def _columns(terms: tuple[Term, ...], E: np.ndarray) -> list[np.ndarray]:
    """Columns sign_j exp(E[:, k_j] u_j), each (G, n), for exponents E (G, q)."""
    return [s * np.exp(E[:, k, None] * u[None, :]) for k, u, s in terms]


def _scaled_columns(terms: tuple[Term, ...], E: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The columns, transposed to (n, G), divided by their largest absolute value, and those values.

    max_i |sign exp(e u_i)| = exp(e max u) for e >= 0 and exp(e min u) otherwise, so
    the scaled column is sign exp(e (u - u_ref)) with entries in [-1, 1].
    """
    cols, scales = [], []
    for k, u, s in terms:
        e = E[:, k]
        ref = np.where(e >= 0, u.max(), u.min())
        cols.append(s * np.exp((u[:, None] - ref) * e))
        scales.append(np.exp(e * ref))
    return cols, scales


@dataclass(frozen=True)
class _Problem:
    """A variable-projection problem: a law's columns on data, observations y and a box.

    Every law here has power columns, column_j = sign_j exp(e_{k_j} u_j) (``terms``);
    :meth:`features` stacks them as (G, n, p) for exponents (G, q).
    """

    name: str
    exps: tuple[str, ...]
    y: np.ndarray
    box: dict[str, tuple[float, float, int]]
    terms: tuple[Term, ...] = ()
    basis: Basis | None = None

    def features(self, E) -> np.ndarray:
        """Columns (G, n, p) at exponents E (G, q)."""
        if self.basis is not None:
            return self.basis.features(E)
        return np.stack(_columns(self.terms, np.asarray(E, dtype=float)), axis=-1)

    def dfeatures(self, E) -> np.ndarray:
        r"""Derivatives of the columns with respect to the exponents, (G, n, p, q) at E (G, q).

        For a power column :math:`F_j = s_j e^{e_{k_j} u_j}`,
        :math:`\partial F_j / \partial e_k = [k = k_j]\, u_j F_j`.
        """
        if self.basis is not None:
            return self.basis.jet(E)[1]
        E = np.asarray(E, dtype=float)
        cols = _columns(self.terms, E)
        out = np.zeros(cols[0].shape + (len(cols), E.shape[-1]))
        for j, ((k, u, _), F) in enumerate(zip(self.terms, cols)):
            out[..., j, k] = u * F
        return out

    def jet(self, E) -> tuple[np.ndarray, np.ndarray]:
        """The columns (G, n, p) and their derivatives (G, n, p, q) at E (G, q), in one pass."""
        if self.basis is not None:
            return self.basis.jet(E)
        E = np.asarray(E, dtype=float)
        cols = _columns(self.terms, E)
        d = np.zeros(cols[0].shape + (len(cols), E.shape[-1]))
        for j, ((k, u, _), F) in enumerate(zip(self.terms, cols)):
            d[..., j, k] = u * F
        return np.stack(cols, axis=-1), d

    def d2features(self, E) -> np.ndarray:
        r"""Second derivatives of the columns, (G, n, p, q, q) at E (G, q).

        For a power column, :math:`\partial^2 F_j / \partial e_k \partial e_l = [k = l = k_j]\, u_j^2 F_j`.
        A :class:`Basis` (the sigmoid) declares first derivatives only: its Huber objective
        has no batch path.
        """
        if self.basis is not None:
            raise NotImplementedError("the sigmoid's basis declares first derivatives only")
        E = np.asarray(E, dtype=float)
        cols = _columns(self.terms, E)
        q = E.shape[-1]
        out = np.zeros(cols[0].shape + (len(cols), q, q))
        for j, ((k, u, _), F) in enumerate(zip(self.terms, cols)):
            out[..., j, k, k] = u * u * F
        return out

    @property
    def spec(self) -> LawSpec:
        return SPECS[self.name]

    @property
    def separable(self) -> bool:
        """One exponent per column (then the grid is a tensor product of per-axis moments)."""
        return len(self.exps) == len(self.terms) and sorted(k for k, _, _ in self.terms) == list(range(len(self.exps)))


def problem(kind: str, inputs: dict[str, np.ndarray], y: np.ndarray, box=None) -> _Problem:
    """The VP problem of law ``kind`` on points ``inputs`` (by name) with observations ``y``."""
    spec = SPECS[kind]
    xs = [inputs[k] for k in spec.inputs]
    if spec.basis is not None:
        assert spec.box_of is not None  # a law with a basis declares its box from the data
        return _Problem(kind, spec.exponents, y, box or spec.box_of(*xs), (), spec.basis(*xs))
    terms = spec.terms(*xs)
    return _Problem(kind, spec.exponents, y, box or spec.box, terms)
