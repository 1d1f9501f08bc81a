r"""Exact fits of the scaling laws.

Least squares on raw values (the paper's objective) by variable projection
(Golub & Pereyra, 1973). Every law here is linear in all parameters but its
exponent(s) once the exponents are fixed:

* over-training  L = E + a (M/C)^eta + b (1/(MC))^eta        linear in E, a, b
* Chinchilla     L = E + A N^-alpha + B D^-beta               linear in E, A, B
* compute        L = E + lambda C^-eta                        linear in E, lambda
* error          Err = epsilon - k exp(-gamma L)              linear in epsilon, k

For fixed exponents the sum of squared errors is minimised exactly by non-negative
least squares (the intercept is free, the scale coefficients are constrained to be
>= 0): with at most two constrained columns, the NNLS optimum is the best feasible
unconstrained solution over the subsets of columns, computed in closed form and
vectorised over a dense grid of exponents. The profile SSE(exponents) is then
minimised on the grid and refined inside the bracketing grid cells (one exponent:
a fine lattice plus interpolation of the analytic profile derivative; two
exponents: projected Levenberg-Marquardt on the variable-projection residual with
Kaufman's Jacobian), so the
result is the global minimum over the documented search box (to the resolution at
which the grid separates distinct minima). A result on the edge of the box is
flagged with a :class:`FitWarning`. For two exponents with one per column
(Chinchilla) the grid moments are per-axis sums and one matrix product.
Fits with one exponent (over-training, compute and error laws) run on a lean
path (:class:`_OneExponent`): the same grid and refinement, each evaluation a fixed
handful of array operations on a batch of exponents, so that a fit on a few dozen
points takes about half a millisecond.

The Chinchilla Approach-3 objective (Hoffmann et al., 2022), a Huber loss with
delta = 1e-3 on log-loss residuals, is minimised with a quasi-Newton method
(BFGS, analytic gradient) from the best points of a grid of starting points and
from the least-squares solution. One such descent from a given law (a warm start,
e.g. for bootstrap refits) is :func:`refine_huber_log`.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import optimize

from .laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw

__all__ = [
    "FitWarning",
    "FitError",
    "FitResult",
    "SEARCH_BOXES",
    "fit_overtraining",
    "fit_chinchilla",
    "fit_compute",
    "fit_error",
    "fit_law",
    "huber",
    "huber_log_objective",
    "refine_huber_log",
]

Law = ChinchillaLaw | OvertrainingLaw | ComputeLaw | ErrorLaw

#: Search boxes of the exponents (lower, upper, grid points) for the least-squares fits.
SEARCH_BOXES: dict[str, dict[str, tuple[float, float, int]]] = {
    "overtraining": {"eta": (1e-3, 1.5, 1500)},
    "compute": {"eta": (1e-3, 1.5, 1500)},
    "error": {"gamma": (1e-3, 20.0, 2000)},
    "chinchilla": {"alpha": (1e-2, 1.5, 150), "beta": (1e-2, 1.5, 150)},
}

N_PARAMS = {"overtraining": 4, "compute": 3, "error": 3, "chinchilla": 5}


class FitWarning(UserWarning):
    """A fit that is valid but deserves attention (edge of the box, unidentified, ...)."""


class FitError(ValueError):
    """Input that cannot be fitted (too few points, NaN, non-positive sizes)."""


@dataclass(frozen=True)
class FitResult:
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
    """

    law: Law
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

    @property
    def params(self) -> dict[str, float]:
        return self.law.params

    @property
    def n_points(self) -> int:
        return int(self.y.size)


# ----------------------------------------------------------------------------- checks


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


# ----------------------------------------------------------------------------- engine

_TINY = 1e-13  # a column whose centred sum of squares is below this (relative) is constant


def _nnls_core(yy, sw, r1, S11, r2=None, S22=None, S12=None):
    """Exact NNLS (free intercept) from centred moments, one or two columns.

    With y_c and F_c centred by their (weighted) means, ``yy = y_c' W y_c``,
    ``r_j = F_cj' W y_c`` and ``S_jk = F_cj' W F_ck``, the optimum of
    min_{c >= 0} ||y_c - F_c c||_W^2 is the best feasible unconstrained solution over
    the subsets of columns: {} (SSE = yy), {j}: c_j = r_j / S_jj, and {1, 2}:
    c = S^-1 r, each with SSE = yy - c' r (ties go to the smaller subset).

    Returns (sse, c1, c2) with c2 None for one column; coefficients held at zero by
    the constraint are exactly 0.
    """
    thr = _TINY * np.maximum(1.0, sw)
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = r1 / S11
        s1 = np.where((S11 > thr) & (a1 >= 0), yy - a1 * r1, np.inf)
        if r2 is None:
            take = s1 < yy
            return np.maximum(np.where(take, s1, yy), 0.0), np.where(take, a1, 0.0), None
        a2 = r2 / S22
        s2 = np.where((S22 > thr) & (a2 >= 0), yy - a2 * r2, np.inf)
        det = S11 * S22 - S12 * S12
        b1 = (S22 * r1 - S12 * r2) / det
        b2 = (S11 * r2 - S12 * r1) / det
        ok = (det > 1e-10 * np.maximum(S11 * S22, 1e-300)) & (b1 >= 0) & (b2 >= 0)
        s12 = np.where(ok, yy - b1 * r1 - b2 * r2, np.inf)
    # the first minimum in the order {}, {1}, {2}, {1, 2}
    t1 = s1 < yy
    best = np.where(t1, s1, yy)
    t2 = s2 < best
    best = np.where(t2, s2, best)
    t12 = s12 < best
    best = np.where(t12, s12, best)
    c1 = np.where(t12, b1, np.where(t1 & ~t2, a1, 0.0))
    c2 = np.where(t12, b2, np.where(t2, a2, 0.0))
    return np.maximum(best, 0.0), c1, c2


def _nnls_moments(yy: np.ndarray, r: np.ndarray, S: np.ndarray, sw: np.ndarray):
    """:func:`_nnls_core` on stacked moments r (..., p), S (..., p, p); returns (sse, coef (..., p))."""
    p = S.shape[-1]
    if p == 1:
        sse, c1, _ = _nnls_core(yy, sw, r[..., 0], S[..., 0, 0])
        return sse, c1[..., None]
    if p != 2:
        raise NotImplementedError("at most two constrained columns")
    sse, c1, c2 = _nnls_core(yy, sw, r[..., 0], S[..., 0, 0], r[..., 1], S[..., 1, 1], S[..., 0, 1])
    return sse, np.stack([c1, c2], axis=-1)


def _profile(F: np.ndarray, y: np.ndarray, w: np.ndarray | None = None):
    """Exact NNLS with a free intercept, vectorised.

    Solves min_{c0, c >= 0} sum_i w_i (y_i - c0 - sum_j c_j F_ij)^2 for every leading
    index of F.

    Parameters
    ----------
    F : array (..., n, p) with p in {1, 2}
        Columns whose coefficients must be non-negative.
    y : array (..., n)
    w : array (..., n), optional
        Non-negative weights (e.g. bootstrap counts).

    Returns
    -------
    sse : array (...)
        Minimum weighted SSE, from the moments (``yy - c' r``).
    coef : array (..., p + 1)  intercept first
    """
    # scale each column to max |F| = 1 for conditioning; undone at the end
    scale = np.max(np.abs(F), axis=-2, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    Fs = F / scale
    if w is None:
        n = y.shape[-1]
        sw = np.asarray(float(n))
        ybar = np.sum(y, axis=-1) / n
        Fbar = np.sum(Fs, axis=-2) / n
        yc = y - ybar[..., None]
        Fc = Fs - Fbar[..., None, :]
        wyc, wFc = yc, Fc
    else:
        w = np.asarray(w, dtype=float)
        sw = np.sum(w, axis=-1)
        ybar = np.sum(w * y, axis=-1) / sw
        Fbar = np.einsum("...n,...np->...p", w, Fs) / sw[..., None]
        yc = y - ybar[..., None]
        Fc = Fs - Fbar[..., None, :]
        wyc, wFc = w * yc, w[..., :, None] * Fc
    # einsum, not matmul: BLAS threads on many tiny products are slow on a busy machine
    yy = np.sum(wyc * yc, axis=-1)
    r = np.einsum("...n,...np->...p", wyc, Fc)
    S = np.einsum("...np,...nq->...pq", Fc, wFc)
    best, coef = _nnls_moments(yy, r, S, sw)
    intercept = ybar - np.sum(coef * Fbar, axis=-1)
    coef = coef / scale[..., 0, :]
    return best, np.concatenate([intercept[..., None], coef], axis=-1)


#: A column of a VP problem: (index of its exponent, u, sign) for column = sign * exp(e u).
Term = tuple[int, np.ndarray, float]


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
    """A variable-projection problem: features(exponents) -> (n, p) non-negative columns.

    Every law here has power columns, column_j = sign_j exp(e_{k_j} u_j) (``terms``);
    ``features`` stacks them as (G, n, p) for exponents (G, q).
    """

    name: str
    exps: tuple[str, ...]
    features: Callable[[np.ndarray], np.ndarray]  # (G, q) -> (G, n, p)
    y: np.ndarray
    box: dict[str, tuple[float, float, int]]
    terms: tuple[Term, ...] = ()

    @property
    def separable(self) -> bool:
        """One exponent per column (then the grid is a tensor product of per-axis moments)."""
        return len(self.exps) == len(self.terms) and sorted(k for k, _, _ in self.terms) == list(range(len(self.exps)))


def _make_problem(name: str, exps: tuple[str, ...], terms: tuple[Term, ...], y: np.ndarray, box) -> _Problem:
    def features(E):
        return np.stack(_columns(terms, np.asarray(E, dtype=float)), axis=-1)

    return _Problem(name, exps, features, y, box, terms)


def _profile_columns(Fs: list[np.ndarray], scale: list[np.ndarray], y: np.ndarray, resid: bool = False, exact: bool = True):
    """Unweighted exact NNLS for scaled columns given separately; the fast path of :func:`_profile`.

    ``Fs`` are the columns, transposed to (n, G) (sums over n then run along
    contiguous rows), divided by ``scale`` (G,). Same solution as :func:`_profile`,
    but the SSE is computed from the residuals (no cancellation in yy - c' r), so it
    is the exact objective of the returned coefficients (``exact=False``: the SSE
    from the moments, cheaper, for a grid scan).

    Returns (sse (G,), coef (G, p + 1)) and, with ``resid=True``, also the residuals
    (n, G) and the fitted terms c_j F_j (n, G) as a list.
    """
    n = y.size
    ybar = np.sum(y) / n
    yc = y - ybar
    yy = np.dot(yc, yc)
    Fbar = [np.sum(f, axis=0) / n for f in Fs]
    Fc = [f - m for f, m in zip(Fs, Fbar)]
    r1 = yc @ Fc[0]
    S11 = np.einsum("ng,ng->g", Fc[0], Fc[0])
    if len(Fs) == 1:
        sse, c1, _ = _nnls_core(yy, float(n), r1, S11)
        cs = [c1]
    else:
        r2 = yc @ Fc[1]
        S22 = np.einsum("ng,ng->g", Fc[1], Fc[1])
        S12 = np.einsum("ng,ng->g", Fc[0], Fc[1])
        sse, c1, c2 = _nnls_core(yy, float(n), r1, S11, r2, S22, S12)
        cs = [c1, c2]
    if exact or resid:
        res = yc[:, None] - cs[0] * Fc[0]
        if len(Fs) == 2:
            res -= cs[1] * Fc[1]
        sse = np.einsum("ng,ng->g", res, res)
    intercept = ybar - sum(c * m for c, m in zip(cs, Fbar))
    coef = np.stack([intercept] + [c / s for c, s in zip(cs, scale)], axis=-1)
    if resid:
        return sse, coef, res, [c * f for c, f in zip(cs, Fs)]
    return sse, coef


def _solve_at(prob: _Problem, E: np.ndarray, grad: bool = False, exact: bool = True):
    """NNLS solution and its exact SSE at exponents E (G, q): (sse (G,), coef (G, p + 1)).

    With ``grad=True`` also the gradient of the profile SSE (G, q) (variable
    projection: with the optimal coefficients c and the constraint set fixed, the
    envelope theorem gives dSSE/de_k = -2 sum_i res_i sum_{j: k_j = k} c_j u_ij F_ij).
    """
    Fs, scale = _scaled_columns(prob.terms, E)
    if not grad:
        return _profile_columns(Fs, scale, prob.y, exact=exact)
    sse, coef, res, cF = _profile_columns(Fs, scale, prob.y, resid=True)
    g = np.zeros(E.shape)
    for (k, u, _), t in zip(prob.terms, cF):
        g[:, k] -= 2.0 * np.einsum("ng,ng->g", res, u[:, None] * t)
    return sse, coef, g


def _centred_columns(u: np.ndarray, sign: float, e: np.ndarray, yc: np.ndarray):
    """Scaled, centred power columns sign exp(e u) for a vector of exponents e (G,).

    Returns (Fc (G, n), r = Fc yc (G,), Sjj (G,)).
    """
    F = sign * np.exp(e[:, None] * u[None, :])
    scale = np.max(np.abs(F), axis=1)
    Fs = F / scale[:, None]
    Fc = Fs - Fs.mean(axis=1)[:, None]
    return Fc, np.einsum("gn,n->g", Fc, yc), np.einsum("gn,gn->g", Fc, Fc)


def _separable_grid(prob: _Problem, axes: list[np.ndarray]) -> np.ndarray:
    """Profile SSE on the tensor grid axes[0] x axes[1] of a separable two-column problem.

    The per-axis moments are computed once per axis value; the cross moments of the
    centred columns are one matrix product (G1, n) x (n, G2).
    """
    y = prob.y
    yc = y - y.mean()
    (k1, u1, s1), (k2, u2, s2) = sorted(prob.terms, key=lambda t: t[0])
    F1, r1, S11 = _centred_columns(u1, s1, axes[0], yc)
    F2, r2, S22 = _centred_columns(u2, s2, axes[1], yc)
    S12 = F1 @ F2.T  # (G1, G2); a single BLAS call
    sse, _, _ = _nnls_core(
        np.dot(yc, yc), float(y.size), r1[:, None], S11[:, None], r2[None, :], S22[None, :], S12
    )
    return sse.ravel()


def _grid_search(prob: _Problem, box: dict[str, tuple[float, float, int]]):
    """The profile SSE at every point of the grid of the box: (axes, mesh (G, q), sse (G,))."""
    axes = [np.linspace(*box[e]) for e in prob.exps]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    if len(axes) == 2 and prob.separable:
        sse = _separable_grid(prob, axes)
    else:
        sse, _ = _solve_at(prob, mesh, exact=False)
    return axes, mesh, sse


def _local_minima(sse: np.ndarray, shape: tuple[int, ...], k: int) -> list[int]:
    """Indices of the k lowest grid points that are no larger than their neighbours."""
    if len(shape) == 1:
        is_min = np.ones(sse.size, dtype=bool)
        np.less_equal(sse[1:], sse[:-1], out=is_min[1:])
        is_min[:-1] &= sse[:-1] <= sse[1:]
        idx = np.flatnonzero(is_min)
        idx = idx[np.argsort(sse[idx], kind="stable")]
        return list(idx[:k]) if idx.size else [int(np.argmin(sse))]
    grid = sse.reshape(shape)
    padded = np.pad(grid, 1, mode="constant", constant_values=np.inf)
    is_min = np.ones(shape, dtype=bool)
    for axis in range(len(shape)):
        for step in (-1, 1):
            neigh = np.roll(padded, step, axis=axis)[tuple(slice(1, -1) for _ in shape)]
            is_min &= grid <= neigh
    idx = np.flatnonzero(is_min.ravel())
    idx = idx[np.argsort(sse[idx], kind="stable")]
    return list(idx[:k]) if idx.size else [int(np.argmin(sse))]


def _refine_1d(evaluate, lo: np.ndarray, hi: np.ndarray, x0: np.ndarray, K: int = 33, yy: float = np.inf):
    """Refinement of a one-exponent profile inside every bracket [lo, hi] (B brackets).

    The profile and its analytic derivative g are evaluated on K equally spaced points
    per bracket (spacing 6e-5 for the default over-training grid). Around the best
    lattice point, a sign change of g in a neighbouring cell locates the minimiser by
    interpolation of g (linear, then one Newton step on the quadratic through three
    lattice points: error of order spacing^3); the interpolated points, the lattice
    point and the grid point ``x0`` are compared on the exact SSE and the best is
    returned, so the result is never worse than the grid point. Where the best SSE is
    below 1e-10 ``yy`` (a fit that nearly interpolates its points, where the profile
    is steep and the interpolated root alone can leave an SSE of 1e-24 where 1e-30 is
    reachable), a last Newton step on g with the lattice slope follows.

    ``evaluate(x (m,), grad, want_coef=True)`` returns the exact SSE (m,), the
    coefficients (m, p + 1) (or anything, when not wanted) and, with ``grad``, the
    profile derivative (m,). The bookkeeping is
    plain Python on a handful of numbers; the arrays go to ``evaluate``.

    Returns (x (B,), sse (B,), coef (B, p + 1)).
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    B = lo.size
    t = lo[:, None] + (hi - lo)[:, None] * (np.arange(K) / (K - 1.0))
    f, _, g = evaluate(t.ravel(), True, False)
    best_i = f.reshape(B, K).argmin(axis=1).tolist()
    T, Gr = t.tolist(), g.reshape(B, K).tolist()
    X, slopes = [], []
    for b in range(B):
        i, tt, gg = best_i[b], T[b], Gr[b]
        cands, slope = [float(x0[b]), tt[i]], 0.0
        for a in (max(i - 1, 0), min(i, K - 2)):  # the cells left and right of the best lattice point
            c = a + 2 if a + 2 <= K - 1 else a - 1  # a third point for the curvature of g
            ta, tb, tc, ga, gb, gc = tt[a], tt[a + 1], tt[c], gg[a], gg[a + 1], gg[c]
            d1 = (gb - ga) / (tb - ta)
            slope = max(slope, d1)
            if not (ga < 0.0 < gb):
                cands += [tt[i], tt[i]]
                continue
            root = min(max(ta + (tb - ta) * ga / (ga - gb), ta), tb)  # linear interpolation of g
            d2 = ((gc - gb) / (tc - tb) - d1) / (tc - ta)
            dq = d1 + (2.0 * root - ta - tb) * d2
            newton = root - (root - ta) * (root - tb) * d2 / dq if dq > 0 else tt[i]
            cands += [root, min(max(newton, ta), tb)]
        X.append(cands)
        slopes.append(slope)
    X = np.array(X)  # (B, 6)
    F, coef = evaluate(X.ravel(), False)
    F = F.reshape(B, -1)
    j = F.argmin(axis=1)
    r = np.arange(B)
    x, f, coef = X[r, j], F[r, j], coef.reshape(B, X.shape[1], -1)[r, j]
    if not float(f.min()) < 1e-10 * yy:
        return x, f, coef
    _, _, gx = evaluate(x, True)
    slope = np.array(slopes)
    xn = np.minimum(np.maximum(x - np.where(slope > 0, gx / np.where(slope > 0, slope, 1.0), 0.0), lo), hi)
    fn, cn = evaluate(xn, False)
    better = fn < f
    return np.where(better, xn, x), np.where(better, fn, f), np.where(better[:, None], cn, coef)


def _vp_residual(prob: _Problem, x: np.ndarray):
    """SSE, residual r (n,) and the Kaufman Jacobian dr/de (n, q) of the VP residual at x (q,).

    r(e) = y - c0 - F(e) c(e) with the NNLS coefficients. Kaufman's approximation of
    its Jacobian, J = -(I - P) dF/de c with P the projection on the intercept and the
    columns in use, gives the exact gradient 2 J' r of the profile SSE and the
    Gauss-Newton matrix J'J (exact Newton for a zero-residual fit).
    """
    Fs, scale = _scaled_columns(prob.terms, x[None, :])
    sse, coef, res, cF = _profile_columns(Fs, scale, prob.y, resid=True)
    used = [Fs[j][:, 0] - Fs[j][:, 0].mean() for j in range(len(Fs)) if coef[0, 1 + j] > 0]
    J = np.zeros((prob.y.size, x.size))
    for (k, u, _), t in zip(prob.terms, cF):
        J[:, k] -= u * t[:, 0]
    J -= J.mean(axis=0)
    if len(used) == 1:
        f = used[0]
        J -= np.outer(f, f @ J / (f @ f))
    elif len(used) == 2:
        f1, f2 = used
        S11, S22, S12 = f1 @ f1, f2 @ f2, f1 @ f2
        det = S11 * S22 - S12 * S12
        r1, r2 = f1 @ J, f2 @ J
        J -= np.outer(f1, (S22 * r1 - S12 * r2) / det) + np.outer(f2, (S11 * r2 - S12 * r1) / det)
    return float(sse[0]), res[:, 0], J


def _lm_step(J: np.ndarray, r: np.ndarray, mu: float, free: np.ndarray) -> np.ndarray:
    """Levenberg-Marquardt step on the free coordinates: (J'J + mu diag(J'J)) d = -J'r.

    Closed form for q <= 2; coordinates held at a bound (``free`` False) do not move.
    """
    A = J.T @ J
    g = J.T @ r
    A = A + mu * np.diag(np.diag(A))
    d = np.zeros_like(g)
    if free.all() and g.size == 2:
        det = A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]
        if det > 1e-300 * max(A[0, 0] * A[1, 1], 1e-300):
            return np.array([A[0, 1] * g[1] - A[1, 1] * g[0], A[1, 0] * g[0] - A[0, 0] * g[1]]) / det
    ok = free & (np.diag(A) > 0)
    d[ok] = -g[ok] / np.diag(A)[ok]
    return d


def _refine_box(prob: _Problem, x0: np.ndarray, f0: float, lo: np.ndarray, hi: np.ndarray, box_lo, box_hi):
    """Projected Levenberg-Marquardt on the VP residual inside the bracket [lo, hi].

    Gauss-Newton with Kaufman's Jacobian of the variable-projection residual
    (quadratic convergence for a zero-residual fit), the step kept in the bracket;
    a coordinate at a bound whose descent direction points out is held there.
    If the optimum lands on a face of the bracket that is not a face of the box, the
    bracket is re-centred there and doubled, and the search continues: the grid
    minimum of a long narrow valley can lie far from the valley's minimum, which is
    then still found. Never worse than (x0, f0).
    """
    x = np.array(x0, dtype=float)
    f, r, J = _vp_residual(prob, x)
    half = (hi - lo) / 2.0
    for _ in range(40):
        mu = 1e-3
        for _ in range(200):
            g = J.T @ r  # at a bound with the descent direction -g pointing out, hold it
            free = ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))
            xn = np.clip(x + _lm_step(J, r, mu, free), lo, hi)
            if np.all(np.abs(xn - x) <= 1e-14 * (1.0 + np.abs(x))):
                break
            fn, rn, Jn = _vp_residual(prob, xn)
            if fn < f:
                x, f, r, J = xn, fn, rn, Jn
                mu = max(mu / 4.0, 1e-12)
            else:
                mu *= 8.0
                if mu > 1e12:
                    break
        stuck = ((x <= lo) & (lo > box_lo)) | ((x >= hi) & (hi < box_hi))
        if not stuck.any():
            break
        half = 2.0 * half
        lo, hi = np.maximum(x - half, box_lo), np.minimum(x + half, box_hi)
    if not f < f0:
        return np.array(x0, dtype=float), float(f0)
    return x, f



# ----------------------------------------------------------------------------- one exponent, lean


def _solve_vp(prob: _Problem, box=None):
    """Global least-squares optimum of a VP problem over the box; returns (exps, coef, sse, edge).

    The profile SSE(exponents) is evaluated on the full grid of the box; the three
    lowest grid local minima are refined inside their bracketing cells (one exponent:
    lattice and derivative interpolation; two exponents: projected Levenberg-Marquardt
    on the variable-projection residual, the bracket following the optimum), and the
    best is kept. ``sse`` is computed from the residuals of the returned coefficients.
    One exponent searched over non-negative values (every default box) takes the lean
    path of :class:`_OneExponent`: the same grid, the same refinement, fewer array
    operations.
    """
    box = box or prob.box
    if (len(prob.exps) == 1 and box[prob.exps[0]][0] >= 0 and len(prob.terms) <= 2
            and len({sign for _, _, sign in prob.terms}) == 1):
        return _solve_vp1(prob, box)
    return _solve_vp_generic(prob, box)


def _solve_vp_generic(prob: _Problem, box):
    """:func:`_solve_vp` for any problem: the general column code (two exponents, negative boxes)."""
    axes, mesh, sse = _grid_search(prob, box)
    shape = tuple(len(a) for a in axes)
    cands = _local_minima(sse, shape, k=3)
    multis = [np.unravel_index(i, shape) for i in cands]
    lo = np.array([[a[max(i - 1, 0)] for a, i in zip(axes, m)] for m in multis])
    hi = np.array([[a[min(i + 1, len(a) - 1)] for a, i in zip(axes, m)] for m in multis])
    x0 = mesh[cands]
    if len(axes) == 1:

        def evaluate(x, grad, want_coef=True):
            out = _solve_at(prob, x[:, None], grad=grad)
            return (out[0], out[1], out[2][:, 0]) if grad else out

        xs, fs, coefs = _refine_1d(evaluate, lo[:, 0], hi[:, 0], x0[:, 0])
        xs = xs[:, None]
    else:
        box_lo = np.array([a[0] for a in axes])
        box_hi = np.array([a[-1] for a in axes])
        f0 = _solve_at(prob, x0)[0]
        out = [_refine_box(prob, x0[j], f0[j], lo[j], hi[j], box_lo, box_hi) for j in range(len(cands))]
        xs = np.array([o[0] for o in out])
        fs, coefs = _solve_at(prob, xs)
    j = int(np.argmin(fs))
    x, f, coef = xs[j], fs[j:j + 1], coefs[j:j + 1]
    return x, coef[0], float(f[0]), _edge(prob.exps, x, axes)


def _edge(names, x, axes) -> tuple[str, ...]:
    """Exponents within one grid cell of the box's edge."""
    return tuple(
        e for e, xi, a in zip(names, x, axes) if xi <= a[0] + (a[1] - a[0]) or xi >= a[-1] - (a[-1] - a[-2])
    )


@dataclass(frozen=True)
class _OneExponent:
    r"""A one-exponent problem, set up once per fit and evaluated on batches of exponents.

    The p <= 2 columns are :math:`s_j e^{\eta u_{ij}}` with a shared exponent
    :math:`\eta \ge 0`. They are evaluated scaled by their largest entry,
    :math:`F_{ij}(\eta) = e^{\eta v_{ij}}` with :math:`v_{ij} = u_{ij} - \max_i u_{ij} \le 0`,
    so they stay in (0, 1] over the whole box. An evaluation is a fixed, small number
    of array operations whatever the number of exponents (the cost of a fit on a few
    dozen points is the number of operations, not the arithmetic), with the exponents
    on the last, contiguous axis and a single p x n x G temporary worked in place.
    """

    U: np.ndarray  # (p, n) the u_j
    V: np.ndarray  # (p, n) u_j - max u_j
    umax: np.ndarray  # (p,)
    s: np.ndarray  # (p,) column signs
    yc: np.ndarray  # (n,) centred observations
    ybar: float
    yy: float
    thr: float  # a centred column with a smaller squared norm is constant
    negative: bool  # the columns are negative (the error law's -exp(-gamma L))

    @classmethod
    def of(cls, prob: _Problem) -> "_OneExponent":
        U = np.array([u for _, u, _ in prob.terms])
        umax = U.max(axis=1)
        y = prob.y
        ybar = float(np.add.reduce(y)) / y.size
        yc = y - ybar
        signs = [s for _, _, s in prob.terms]  # all of one sign (see _solve_vp)
        return cls(U, U - umax[:, None], umax, np.array(signs), yc, ybar, float(yc @ yc),
                   _TINY * max(1.0, float(y.size)), signs[0] < 0)

    def _moments(self, e: np.ndarray):
        """Centred columns Fc (p, n, G), means Fm (p, G), r = s Fc' yc (p, G), squared norms (p, G), S12 (G,)."""
        Fc = self.V[:, :, None] * e
        np.exp(Fc, out=Fc)
        Fm = np.add.reduce(Fc, axis=1) / self.yc.size
        Fc -= Fm[:, None, :]
        r = self.yc @ Fc
        if self.negative:  # (the error law's single column)
            r = -r
        Sd = np.einsum("png,png->pg", Fc, Fc)
        S12 = np.einsum("ng,ng->g", Fc[0], Fc[1]) if self.s.size == 2 else None
        return Fc, Fm, r, Sd, S12

    def _single(self, r, Sd):
        """One-column NNLS: coefficients r_j^+ / S_jj (0 for a constant column) and their SSE reductions."""
        ok = Sd > self.thr
        rp = np.maximum(r, 0.0)
        rp *= ok
        a = rp / np.where(ok, Sd, 1.0)
        return ok, a, a * rp

    def _pair(self, r, Sd, S12, ok):
        """Both columns: the unconstrained solution S^-1 r and where it is feasible (c >= 0, S well conditioned)."""
        det = Sd[0] * Sd[1] - S12 * S12
        bn = Sd[::-1] * r - S12 * r[::-1]  # adj(S) r
        pair = (np.minimum(bn[0], bn[1]) >= 0.0) & ok[0] & ok[1] & (det > 1e-10 * (Sd[0] * Sd[1]))
        return pair, bn / np.where(pair, det, 1.0)

    def scan(self, e: np.ndarray) -> np.ndarray:
        r"""Profile SSE at every exponent of e (G,), from the moments (for the grid scan).

        The NNLS optimum (intercept free) is the largest feasible reduction of
        :math:`y_c' y_c`: one column j alone, :math:`c_j = r_j^+ / S_{jj}`, reduces it by
        :math:`c_j r_j`; both, :math:`c = S^{-1} r`, by :math:`c' r` when :math:`c \ge 0`,
        and a feasible pair is never worse than either column alone.
        """
        _, _, r, Sd, S12 = self._moments(e)
        ok, _, g = self._single(r, Sd)
        if S12 is None:
            return np.maximum(self.yy - g[0], 0.0)
        pair, b = self._pair(r, Sd, S12, ok)
        gain = np.where(pair, b[0] * r[0] + b[1] * r[1], np.maximum(g[0], g[1]))
        return np.maximum(self.yy - gain, 0.0)

    def _coefficients(self, r, Sd, S12):
        """NNLS coefficients (p, G) of the scaled columns; on a tie the smaller subset, then the first column."""
        ok, a, g = self._single(r, Sd)
        if S12 is None:
            return a
        pair, b = self._pair(r, Sd, S12, ok)
        first = g[0] >= g[1]
        a[0] *= first
        a[1] *= ~first
        return np.where(pair, b, a)

    def solve(self, e: np.ndarray, grad: bool = False, want_coef: bool = True):
        r"""Exact NNLS at exponents e (B,): (sse (B,), coef (B, p + 1) or None[, dSSE/de (B,)]).

        The SSE is the sum of the squared residuals of the returned coefficients
        (intercept first, then the coefficients of :math:`s_j e^{\eta u_j}`); the
        derivative is the variable-projection one (envelope theorem):
        :math:`-2 \sum_i r_i \sum_j c_j s_j v_{ij} F_{ij}`, in the scaled
        parametrisation (equal to the one in u because the residual is orthogonal to
        the columns in use, and free of large multiples of a column).
        """
        Fc, Fm, r, Sd, S12 = self._moments(e)
        c = self._coefficients(r, Sd, S12)
        cs = -c if self.negative else c
        res = self.yc[:, None] - np.einsum("pb,pnb->nb", cs, Fc)
        sse = np.einsum("nb,nb->b", res, res)
        coef = None
        if want_coef:
            coef = np.concatenate([(self.ybar - np.einsum("pb,pb->b", cs, Fm))[None, :],
                                   c * np.exp(self.umax[:, None] * -e)]).T
        if not grad:
            return sse, coef
        dfit = np.einsum("pb,pnb->nb", cs, Fc * self.V[:, :, None]) + self.V.T @ (cs * Fm)
        return sse, coef, -2.0 * np.einsum("nb,nb->b", res, dfit)


def _solve_vp1(prob: _Problem, box):
    """:func:`_solve_vp` for one exponent in a non-negative box (every default box).

    The profile SSE on the box's grid (from the moments), its three lowest local
    minima, and :func:`_refine_1d` in each bracket [x_{i-1}, x_{i+1}].
    """
    lo_b, hi_b, G = box[prob.exps[0]]
    axis = lo_b + (hi_b - lo_b) / (int(G) - 1.0) * np.arange(int(G))
    axis[-1] = hi_b
    one = _OneExponent.of(prob)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        idx = np.array(_local_minima(one.scan(axis), (axis.size,), k=3))
        lo = axis[np.maximum(idx - 1, 0)]
        hi = axis[np.minimum(idx + 1, axis.size - 1)]
        xs, fs, coefs = _refine_1d(one.solve, lo, hi, axis[idx], yy=one.yy)
    j = int(np.argmin(fs))
    x = xs[j:j + 1]
    return x, coefs[j], float(fs[j]), _edge(prob.exps, x, [axis])


def _finish(prob_name, law, objective, inputs, y, pred, box, edge, active, identified, notes, obj_value, delta=None):
    notes = list(notes)
    if edge:
        notes.append(f"exponent(s) {', '.join(edge)} on the edge of the search box {box}; widen it")
    if active:
        notes.append(f"non-negativity constraint active: {', '.join(active)} = 0")
    if not identified:
        notes.append("parameters not identified by these points (rank-deficient Jacobian)")
    for note in notes:
        warnings.warn(f"{prob_name} fit: {note}", FitWarning, stacklevel=3)
    resid = y - pred
    return FitResult(
        law=law,
        objective=objective,
        inputs=inputs,
        y=y,
        predicted=pred,
        residuals=resid,
        sse=float(resid @ resid),
        objective_value=float(obj_value),
        search_box={k: (v[0], v[1]) for k, v in box.items()},
        on_edge=edge,
        active_constraints=tuple(active),
        identified=identified,
        notes=tuple(notes),
        delta=delta,
    )


# ----------------------------------------------------------------------------- problems


def _overtraining_problem(C, M, L, box=None) -> _Problem:
    # L = E + a exp(eta (log M - log C)) + b exp(-eta (log M + log C))
    lc, lm = np.log(C), np.log(M)
    terms = ((0, lm - lc, 1.0), (0, -(lm + lc), 1.0))
    return _make_problem("overtraining", ("eta",), terms, L, box or SEARCH_BOXES["overtraining"])


def _compute_problem(C, L, box=None) -> _Problem:
    # L = E + lambda exp(-eta log C)
    return _make_problem("compute", ("eta",), ((0, -np.log(C), 1.0),), L, box or SEARCH_BOXES["compute"])


def _error_problem(L, err, box=None) -> _Problem:
    # Err = epsilon + k * (-exp(-gamma L)), k >= 0
    return _make_problem("error", ("gamma",), ((0, -np.asarray(L, dtype=float), -1.0),), err, box or SEARCH_BOXES["error"])


def _chinchilla_problem(N, D, L, box=None) -> _Problem:
    # L = E + A exp(-alpha log N) + B exp(-beta log D)
    terms = ((0, -np.log(N), 1.0), (1, -np.log(D), 1.0))
    return _make_problem("chinchilla", ("alpha", "beta"), terms, L, box or SEARCH_BOXES["chinchilla"])


def _law_from(name: str, exps: np.ndarray, coef: np.ndarray) -> Law:
    c = [float(v) for v in coef]
    e = [float(v) for v in exps]
    if name == "overtraining":
        return OvertrainingLaw(E=c[0], a=c[1], b=c[2], eta=e[0])
    if name == "compute":
        return ComputeLaw(E=c[0], lam=c[1], eta=e[0])
    if name == "error":
        return ErrorLaw(epsilon=c[0], k=c[1], gamma=e[0])
    return ChinchillaLaw(E=c[0], A=c[1], B=c[2], alpha=e[0], beta=e[1])


_LINEAR_NAMES = {"overtraining": ("a", "b"), "compute": ("lambda",), "error": ("k",), "chinchilla": ("A", "B")}


def _predict(law: Law, inputs: dict[str, np.ndarray]) -> np.ndarray:
    if isinstance(law, OvertrainingLaw):
        return law.predict(inputs["C"], inputs["M"])
    if isinstance(law, ComputeLaw):
        return law.predict(inputs["C"])
    if isinstance(law, ErrorLaw):
        return law.predict(inputs["L"])
    return law.predict(inputs["N"], inputs["D"])




def _lsq(prob: _Problem, inputs: dict[str, np.ndarray], box=None, extra_notes=(), identified=True) -> FitResult:
    box = box or prob.box
    exps, coef, f, edge = _solve_vp(prob, box)
    law = _law_from(prob.name, exps, coef)
    pred = _predict(law, inputs)
    active = tuple(n for n, c in zip(_LINEAR_NAMES[prob.name], coef[1:]) if c == 0.0)
    theta = np.concatenate([coef, exps])
    if identified:
        identified = _identified(prob, theta)
    notes = tuple(extra_notes) + _floor_notes(prob.name, float(coef[0]), prob.y)
    return _finish(prob.name, law, "lsq", inputs, prob.y, pred, box, edge, active, identified, notes, f)


_LOSS_LAWS = ("overtraining", "compute", "chinchilla")


def _floor_notes(name: str, E: float, y: np.ndarray) -> tuple[str, ...]:
    """A note when a loss law's irreducible loss E lies above the smallest observed loss."""
    if name in _LOSS_LAWS and E > float(np.min(y)):
        return (f"E = {E:.4g} is above the smallest observed loss ({float(np.min(y)):.4g}): the law cannot "
                "reach that run's loss; treat E and extrapolations with suspicion",)
    return ()


def _identified(prob: _Problem, theta: np.ndarray) -> bool:
    """Whether the points determine every free parameter of the fit at theta.

    A coefficient held at zero by its constraint is not free; an exponent all of whose
    coefficients are zero is free but has no effect on the fit, so it is not identified.
    The remaining parameters must have a full-rank Jacobian (:func:`_jacobian_rank_ok`).
    """
    p = len(prob.terms)
    zero = [j for j in range(p) if theta[1 + j] == 0.0]
    for k in range(len(prob.exps)):
        if all(theta[1 + j] == 0.0 for j, (kk, _, _) in enumerate(prob.terms) if kk == k):
            return False
    return _jacobian_rank_ok(prob, theta, drop=[1 + j for j in zero])


# ----------------------------------------------------------------------------- Jacobians


def _jacobian(prob: _Problem, theta: np.ndarray) -> np.ndarray:
    """d f / d theta (n, p) of the law at theta = (intercept, coefficients, exponents).

    f = c0 + sum_j c_j sign_j exp(e_{k_j} u_j): the columns are 1, the terms, and for
    each exponent k the sum over its terms of c_j u_j sign_j exp(e_k u_j).
    """
    p = len(prob.terms)
    c, e = theta[1 : 1 + p], theta[1 + p :]
    cols = _columns(prob.terms, e[None, :])
    J = np.zeros((prob.y.size, 1 + p + e.size))
    J[:, 0] = 1.0
    for j, ((k, u, _), F) in enumerate(zip(prob.terms, cols)):
        J[:, 1 + j] = F[0]
        J[:, 1 + p + k] += c[j] * u * F[0]
    return J


#: Smallest singular value of the column-normalised Jacobian, relative to the largest,
#: below which parameters count as not identified. Real testbed fits sit near 3e-3;
#: a power term that has collapsed onto the intercept falls to ~1e-6 and below.
RANK_TOLERANCE = 1e-5


def _jacobian_rank_ok(prob: _Problem, theta: np.ndarray, drop: Sequence[int] = ()) -> bool:
    """Whether the law's Jacobian has full column rank at theta.

    ``drop`` lists parameter columns to leave out (coefficients held at zero). Columns
    are normalised to unit length; full rank means n >= p and the smallest singular
    value above :data:`RANK_TOLERANCE` times the largest.
    """
    J = _jacobian(prob, np.asarray(theta, dtype=float))
    if len(drop):
        J = np.delete(J, list(drop), axis=1)
    J = J / np.maximum(np.linalg.norm(J, axis=0), 1e-300)
    s = np.linalg.svd(J, compute_uv=False)
    return bool(s.size and s[-1] > RANK_TOLERANCE * s[0] and J.shape[0] >= J.shape[1])


# ----------------------------------------------------------------------------- Huber on log residuals


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss: r^2 / 2 for |r| <= delta, delta (|r| - delta / 2) beyond."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))



def huber_log_objective(law: ChinchillaLaw | OvertrainingLaw, x1, x2, y, delta: float = 1e-3, weights=None) -> float:
    r"""Approach-3 objective of ``law`` on points: :math:`\sum_i w_i \mathrm{Huber}_\delta(\ln y_i - \ln \hat y_i)`.

    ``x1, x2`` are N, D for a :class:`ChinchillaLaw` and C, M for an
    :class:`OvertrainingLaw`; ``weights`` default to 1 (a sum, not a mean, as in
    Hoffmann et al., 2022).
    """
    y = np.asarray(y, dtype=float)
    pred = law.predict(x1, x2)
    if np.any(pred <= 0):
        return float("inf")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * huber(np.log(y) - np.log(pred), delta)))


#: Quasi-Newton runs of a Huber fit: from the least-squares solution and the best grid starts.
_HUBER_RUNS = 10

#: Names of the inputs of each law, in the order of its problem's columns.
_INPUT_NAMES = {"overtraining": ("C", "M"), "compute": ("C",), "error": ("L",), "chinchilla": ("N", "D")}
_LAW_KINDS = {OvertrainingLaw: "overtraining", ComputeLaw: "compute", ErrorLaw: "error", ChinchillaLaw: "chinchilla"}


def _huber_descent(terms: tuple[Term, ...], logy: np.ndarray, delta: float, z0: np.ndarray, w: np.ndarray | None = None):
    r"""One BFGS descent of the Approach-3 objective from ``z0``; returns (z, value), never worse than z0.

    z = (intercept, log of the positive coefficients, exponents); the law is
    f = z_0 + sum_j exp(z_{1+j}) sign_j exp(e_{k_j} u_j). The objective
    :math:`\sum_i w_i \mathrm{Huber}_\delta(\ln f_i - \ln y_i)` has the analytic gradient
    :math:`\sum_i w_i \psi_\delta(r_i) / f_i \; \partial f_i / \partial z` with
    :math:`\psi_\delta(r) = \mathrm{clip}(r, -\delta, \delta)`. A point with a non-positive or
    non-finite prediction has the value 1e10 (and a zero gradient).
    """
    p = len(terms)
    n_lin = 1 + p  # intercept + positive coefficients

    def fun(z):
        with np.errstate(all="ignore"):
            c = np.exp(z[1:n_lin])
            e = z[n_lin:]
            cF = [c[j] * s * np.exp(e[k] * u) for j, (k, u, s) in enumerate(terms)]
            pred = z[0] + sum(cF)
        if not np.all(np.isfinite(pred) & (pred > 0)):
            return 1e10, np.zeros_like(z)
        r = np.log(pred) - logy
        a = np.abs(r)
        h = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
        psi = np.clip(r, -delta, delta) / pred
        if w is not None:
            h = w * h
            psi = w * psi
        g = np.zeros_like(z)
        g[0] = np.sum(psi)
        for j, ((k, u, _), t) in enumerate(zip(terms, cF)):
            pt = psi * t
            g[1 + j] = np.sum(pt)  # d/d log c_j
            g[n_lin + k] += np.dot(pt, u)
        return float(np.sum(h)), g

    z0 = np.asarray(z0, dtype=float)
    f0 = fun(z0)[0]
    res = optimize.minimize(fun, z0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 5000})
    if res.fun <= f0:
        return res.x, float(res.fun)
    return z0.copy(), float(f0)


def _law_kind(law: Law) -> str:
    kind = _LAW_KINDS.get(type(law))
    if kind is None:
        raise TypeError(f"expected one of {[c.__name__ for c in _LAW_KINDS]}, got {type(law).__name__}")
    return kind


def _problem_for(kind: str, inputs: dict[str, np.ndarray], y: np.ndarray) -> _Problem:
    """The variable-projection problem (columns only; the box is irrelevant) of a law on points."""
    if kind == "overtraining":
        return _overtraining_problem(inputs["C"], inputs["M"], y)
    if kind == "compute":
        return _compute_problem(inputs["C"], y)
    if kind == "error":
        return _error_problem(inputs["L"], y)
    return _chinchilla_problem(inputs["N"], inputs["D"], y)


def refine_huber_log(law: Law, inputs: dict, y, delta: float = 1e-3, weights=None) -> tuple[Law, float]:
    r"""Minimise the Approach-3 objective by BFGS starting from ``law`` (a warm start).

    The objective (Hoffmann et al., 2022, with weights) is

    .. math:: \sum_i w_i\, \mathrm{Huber}_\delta\big(\ln f(x_i; \theta) - \ln y_i\big),
        \qquad \mathrm{Huber}_\delta(r) = \begin{cases} r^2/2 & |r| \le \delta \\
        \delta (|r| - \delta/2) & |r| > \delta \end{cases}

    a sum, not a mean. The intercept (E or epsilon) is optimised directly, the scale
    coefficients (a, b, A, B, lambda, k) in log space, so they stay positive, and the
    exponent(s) directly; the gradient is analytic,
    :math:`\sum_i w_i \psi_\delta(r_i) / f_i \; \partial f_i / \partial\theta` with
    :math:`\psi_\delta(r) = \mathrm{clip}(r, -\delta, \delta)`. This is the descent that
    :func:`fit_chinchilla` and the other fits run from each of their starts with
    ``objective="huber_log"``; alone it finds the optimum of the basin ``law`` lies in
    (e.g. a bootstrap replicate refitted from the full-data optimum).

    Parameters
    ----------
    law
        Start: any of the four laws. A coefficient held at 0 starts at 1e-12.
    inputs
        The law's inputs by name: ``C`` and ``M`` (over-training), ``C`` (compute),
        ``L`` (error), ``N`` and ``D`` (Chinchilla).
    y
        Observed values (loss or error), positive.
    delta
        Huber threshold on log residuals.
    weights
        Non-negative weights w (default 1), e.g. bootstrap counts: integer counts give
        the fit on the resampled points.

    Returns
    -------
    (law, value)
        The law at the end of the descent and its objective value; never worse than
        the start (if the descent does not improve on ``law``, ``law`` is returned).
    """
    kind = _law_kind(law)
    missing = [k for k in _INPUT_NAMES[kind] if k not in inputs]
    if missing:
        raise FitError(f"the {kind} law needs the input(s) {', '.join(missing)}; got {sorted(inputs)}")
    xs = {k: (_as_finite if k == "L" else _as_positive)(inputs[k], k) for k in _INPUT_NAMES[kind]}
    y = _as_positive(y, "y")
    w = None
    if weights is not None:
        w = _as_finite(weights, "weights")
        if np.any(w < 0):
            raise FitError(f"weights must be non-negative; index {int(np.flatnonzero(w < 0)[0])} has {w[w < 0][0]!r}")
    sizes = {a.size for a in (*xs.values(), y, *(() if w is None else (w,)))}
    if len(sizes) != 1:
        raise FitError(f"inputs, y and weights of the {kind} law have different lengths: {sorted(sizes)}")
    theta = np.array(list(law.params.values()), dtype=float)
    n_lin = 1 + len(_LINEAR_NAMES[kind])
    if np.any(theta[1:n_lin] < 0) or not np.all(np.isfinite(theta)):
        raise FitError(f"a warm start needs finite parameters and non-negative scale coefficients; got {law.params}")
    prob = _problem_for(kind, xs, y)
    z0 = theta.copy()
    z0[1:n_lin] = np.log(np.maximum(theta[1:n_lin], 1e-12))
    z, value = _huber_descent(prob.terms, np.log(y), delta, z0, w)
    with np.errstate(all="ignore"):
        pred = _predict(law, xs)
        h = huber(np.log(pred) - np.log(y), delta)
        start = float(np.sum(h if w is None else w * h)) if np.all(pred > 0) else np.inf
    if value > start:
        return law, start
    theta = z.copy()
    theta[1:n_lin] = np.exp(z[1:n_lin])
    return _law_from(kind, theta[n_lin:], theta[:n_lin]), value


def _huber_log(prob: _Problem, inputs: dict[str, np.ndarray], lsq: FitResult, delta: float, starts: np.ndarray) -> FitResult:
    r"""Minimise sum_i Huber_delta(log y_i - log f(x_i; theta)) by BFGS from many starts.

    ``starts`` are (n_starts, n_params) in the natural parametrisation; the
    least-squares solution is always added. The objective is evaluated at every start
    at once, and the descent of :func:`refine_huber_log` (BFGS, analytic gradient,
    positive coefficients in log space) runs from the least-squares solution and the
    best ``_HUBER_RUNS`` starts; the best end point wins. (Hoffmann et al. used L-BFGS;
    with at most five parameters the full BFGS matrix costs nothing, and scipy's BFGS
    avoids the BLAS-thread overhead of its L-BFGS-B on tiny problems.)
    """
    name, y, terms = prob.name, prob.y, prob.terms
    p = len(terms)
    n_lin = 1 + p  # intercept + positive coefficients
    logy = np.log(y)

    def values(Z):  # objective at many points (S, n_params), vectorised
        c = np.exp(Z[:, 1:n_lin])
        cols = _columns(terms, Z[:, n_lin:])
        with np.errstate(all="ignore"):
            pred = Z[:, :1] + sum(c[:, j, None] * F for j, F in enumerate(cols))
            bad = np.any(~np.isfinite(pred) | (pred <= 0), axis=-1)
            v = np.sum(huber(np.log(np.where(bad[:, None], 1.0, pred)) - logy, delta), axis=-1)
        return np.where(bad | ~np.isfinite(v), 1e10, v)

    theta_lsq = np.array(list(lsq.law.params.values()), dtype=float)
    all_starts = np.vstack([theta_lsq[None, :], starts])
    Z = all_starts.copy()
    Z[:, 1:n_lin] = np.log(np.maximum(all_starts[:, 1:n_lin], 1e-12))
    order = np.argsort(values(Z), kind="stable")[: min(len(Z), _HUBER_RUNS)]
    if 0 not in order:
        order = np.concatenate([[0], order])
    best_z, best_f = None, np.inf
    for i in order:
        z, f = _huber_descent(terms, logy, delta, Z[i])
        if best_z is None or f < best_f:
            best_z, best_f = z, f
    theta = best_z.copy()
    theta[1:n_lin] = np.exp(theta[1:n_lin])
    law = _law_from(name, theta[n_lin:], theta[:n_lin])
    pred = _predict(law, inputs)
    identified = lsq.identified and _identified(prob, theta)
    notes = _floor_notes(name, float(theta[0]), y)
    for e_name, e in zip(prob.exps, theta[n_lin:]):
        lo, hi, _ = SEARCH_BOXES[name][e_name]
        if not lo <= e <= hi:
            notes += (f"exponent {e_name} = {e:.4g} lies outside the least-squares search box [{lo:g}, {hi:g}]",)
    return _finish(
        name, law, "huber_log", inputs, y, pred, {}, (), (), identified,
        notes, best_f, delta=delta,
    )


def _default_starts(name: str) -> np.ndarray:
    """A grid of starting points in the natural parametrisation (intercept first)."""
    if name == "chinchilla":
        # Hoffmann et al.'s Approach-3 grid, thinned: E, A, B, alpha, beta
        grid = itertools.product(
            np.exp([-1.0, 0.0, 1.0]), np.exp([0.0, 5.0, 10.0, 15.0, 20.0, 25.0]),
            np.exp([0.0, 5.0, 10.0, 15.0, 20.0, 25.0]), [0.0, 0.5, 1.0, 1.5, 2.0], [0.0, 0.5, 1.0, 1.5, 2.0],
        )
    elif name == "overtraining":
        grid = itertools.product([0.5, 1.0, 2.0], [1.0, 10.0, 100.0], [1.0, 10.0, 100.0], [0.05, 0.1, 0.2, 0.4])
    elif name == "compute":
        grid = itertools.product([0.5, 1.0, 2.0], [1.0, 10.0, 100.0, 1000.0], [0.05, 0.1, 0.2, 0.4])
    else:
        grid = itertools.product([0.5, 0.75, 1.0], [0.1, 1.0, 10.0], [0.5, 1.0, 2.0, 4.0])
    return np.array(list(grid), dtype=float)


# ----------------------------------------------------------------------------- public API


def _dispatch(name: str, prob: _Problem, inputs, objective: str, delta: float, box, notes=(), identified=True):
    if objective not in ("lsq", "huber_log"):
        raise ValueError(f"objective must be 'lsq' or 'huber_log', got {objective!r}")
    if objective == "lsq":
        return _lsq(prob, inputs, box, notes, identified)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        lsq = _lsq(prob, inputs, box, notes, identified)
    return _huber_log(prob, inputs, lsq, delta, _default_starts(name))


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
) -> FitResult:
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
    C, M, L = _as_positive(C, "C"), _as_positive(M, "M"), _as_positive(L, "L")
    _check_count(L.size, "overtraining", C, M, L)
    log_M = np.log(M)
    if log_M.max() - log_M.min() < 1e-9:
        raise FitError(
            "all points have the same token multiplier M: a and b are not identified "
            "(a M^eta + b M^-eta is a single constant). Add runs at a second M or fit the compute law."
        )
    inputs = {"C": C, "M": M}
    return _dispatch("overtraining", _overtraining_problem(C, M, L, box), inputs, objective, delta, box)


def fit_compute(C, L, *, objective: str = "lsq", delta: float = 1e-3, box=None) -> FitResult:
    r"""Fit the per-M compute law :math:`L(C) = E + \lambda C^{-\eta}` (lambda >= 0)."""
    C, L = _as_positive(C, "C"), _as_positive(L, "L")
    _check_count(L.size, "compute", C, L)
    return _dispatch("compute", _compute_problem(C, L, box), {"C": C}, objective, delta, box)


def fit_error(L, err, *, objective: str = "lsq", delta: float = 1e-3, box=None) -> FitResult:
    r"""Fit :math:`\mathrm{Err}(L) = \epsilon - k \exp(-\gamma L)` (k >= 0)."""
    L = _as_positive(L, "L")
    err = _as_finite(err, "err")
    _check_count(L.size, "error", L, err)
    if objective == "huber_log" and np.any(err <= 0):
        raise FitError("the huber_log objective needs positive errors")
    return _dispatch("error", _error_problem(L, err, box), {"L": L}, objective, delta, box)


def fit_chinchilla(N, D, L, *, objective: str = "lsq", delta: float = 1e-3, box=None) -> FitResult:
    r"""Fit :math:`L(N, D) = E + A N^{-\alpha} + B D^{-\beta}` (A, B >= 0).

    ``objective="huber_log"`` is the Chinchilla Approach 3: Huber loss (``delta``)
    on log-loss residuals, minimised with BFGS (analytic gradient) from the best
    points of a grid of starts plus the least-squares solution.
    """
    N, D, L = _as_positive(N, "N"), _as_positive(D, "D"), _as_positive(L, "L")
    _check_count(L.size, "chinchilla", N, D, L)
    return _dispatch("chinchilla", _chinchilla_problem(N, D, L, box), {"N": N, "D": D}, objective, delta, box)


def fit_law(law: str, **data) -> FitResult:
    """Dispatch by name: ``"overtraining"``, ``"chinchilla"``, ``"compute"``, ``"error"``."""
    fns = {"overtraining": fit_overtraining, "chinchilla": fit_chinchilla, "compute": fit_compute, "error": fit_error}
    if law not in fns:
        raise ValueError(f"unknown law {law!r}; choose one of {sorted(fns)}")
    return fns[law](**data)
