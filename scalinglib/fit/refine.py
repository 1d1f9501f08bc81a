r"""Refinement of the exponents inside the bracketing cells of the grid.

The grid of the box locates the basins of the profile :math:`\mathrm{SSE}(e)`
(:mod:`scalinglib.fit.core`); a refinement then finds each minimum inside the cells
around a grid minimum, never ending worse than the grid point:

* one exponent, one data set (:func:`_refine_1d`): a fine lattice of the bracket and
  interpolation of the analytic profile derivative :math:`d\,\mathrm{SSE}/de`;
* two exponents (:func:`_refine_box`): projected Levenberg-Marquardt on the
  variable-projection residual :math:`r(e) = y - c_0 - F(e) c(e)` with Kaufman's
  Jacobian (:func:`_vp_residual`), the bracket following a long valley;
* one exponent, a batch of data sets (:func:`_golden`): a vectorised golden-section
  search, all replicates at once.

The grid minima are picked by :func:`_local_minima`.
"""

from __future__ import annotations

import numpy as np

from .nnls import _profile_columns
from .problem import _Problem, _scaled_columns

#: golden-section steps of the batched refinement: the bracket shrinks by 0.618^36 ~ 3e-8
_GOLDEN_STEPS = 36


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
    Xa = np.array(X)  # (B, 6)
    F, coef = evaluate(Xa.ravel(), False)
    F = F.reshape(B, -1)
    j = F.argmin(axis=1)
    r = np.arange(B)
    x, f, coef = Xa[r, j], F[r, j], coef.reshape(B, Xa.shape[1], -1)[r, j]
    if not float(f.min()) < 1e-10 * yy:
        return x, f, coef
    _, _, gx = evaluate(x, True)
    sl = np.array(slopes)
    xn = np.minimum(np.maximum(x - np.where(sl > 0, gx / np.where(sl > 0, sl, 1.0), 0.0), lo), hi)
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


def _golden(f, grid: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Golden-section search of each replicate's exponent inside [grid[g-1], grid[g+1]].

    ``f(x (B,))`` is the SSE of every replicate at its own exponent; ``g`` (B,) the
    index of each replicate's grid minimum. Never worse than the grid point.
    """

    lo = grid[np.maximum(g - 1, 0)]
    hi = grid[np.minimum(g + 1, grid.size - 1)]
    x0 = grid[g]
    f0 = f(x0)
    phi = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo.copy(), hi.copy()
    c = b - phi * (b - a)
    d = a + phi * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(_GOLDEN_STEPS):
        left = fc < fd  # minimum in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new_c = b - phi * (b - a)
        new_d = a + phi * (b - a)
        x_new = np.where(left, new_c, new_d)
        f_new = f(x_new)
        c, d, fc, fd = (
            np.where(left, new_c, d),
            np.where(left, c, new_d),
            np.where(left, f_new, fd),
            np.where(left, fc, f_new),
        )
    x = np.where(fc < fd, c, d)
    fx = np.minimum(fc, fd)
    worse = fx > f0  # the refinement must never be worse than its grid point
    return np.where(worse, x0, x)
