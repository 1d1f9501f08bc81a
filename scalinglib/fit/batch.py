r"""The batch path: least-squares refits of a batch of weighted data sets at once, for every law.

Replicate b of a batch (a bootstrap replicate) has weights :math:`W_{bi}` (resampling
counts, or 1) and observations :math:`Y_{bi}` on the fit's inputs, and minimises

.. math:: \mathrm{SSE}_b(e) = \min_{c_0,\; c \ge 0} \sum_i W_{bi} \big(Y_{bi} - c_0 - \textstyle\sum_j c_j F_{ij}(e)\big)^2

over the law's exponents e in the fit's search box, by the same variable projection
as a single fit (:mod:`scalinglib.fit.core`), with every step vectorised over the
batch:

1. **grid** — the profile of every replicate at every point of a grid of the box (a
   fifth as dense as :data:`~scalinglib.fit.SEARCH_BOXES` per exponent): the weighted
   moments of all replicates are one matrix product of the weights with the columns
   (and their products) on the grid, and the exact NNLS of the linear part follows
   from the moments at every grid point (:func:`~scalinglib.fit.nnls._grid_argmin`);
2. **refine** — from each replicate's grid minimum: one exponent, a golden-section
   search in the two bracketing cells (:func:`~scalinglib.fit.refine._golden`); two
   or more, projected Levenberg-Marquardt on the variable-projection residual with
   Kaufman's Jacobian, all replicates' exponents together, the same convergence test
   for every replicate (:func:`_lm_batch`);
3. **coefficients** — the exact weighted NNLS at each replicate's exponents.

A law uses this path by declaring itself on the core: its :class:`~scalinglib.fit.problem._Problem`
gives the columns at a batch of exponents (:meth:`~scalinglib.fit.problem._Problem.features`)
and their derivatives (:meth:`~scalinglib.fit.problem._Problem.dfeatures`); nothing
here depends on the columns being powers, so a law with two nonlinear parameters of
another form (e.g. a sigmoid :math:`b + a / (1 + e^{-k (x - x_0)})`, nonlinear k and
:math:`x_0`, linear a and b) runs on the same code once its problem provides those two.
"""

from __future__ import annotations

import numpy as np

from .diagnostics import _edge_mask
from .nnls import _CHUNK, _grid_argmin, _nnls_core, _sse_at, _weighted_nnls
from .problem import SEARCH_BOXES, _Problem, problem, spec_of
from .refine import _golden

#: the batch grid is this many times coarser than the fit's (at least 101 points for one exponent)
_COARSEN = 5

#: Levenberg-Marquardt of a batch: a replicate stops when its step is below this (relative) ...
_STEP_TOL = 1e-11
#: ... or when its damping exceeds this (no step along the Gauss-Newton direction decreases its SSE)
_MU_MAX = 1e10
#: ... or when the decrease its Gauss-Newton model promises is below this, relative to its SSE
_GAIN_TOL = 1e-15
_MAX_ITER = 200


def fit_batch(fit, W: np.ndarray, Y: np.ndarray, grid_points: int | None = None):
    r"""Least-squares refits of a law on a batch of weighted data sets.

    Replicate b minimises :math:`\sum_i W_{bi} (Y_{bi} - f(x_i; \theta))^2` over the
    inputs of ``fit`` (a :class:`~scalinglib.fit.FitResult`) and its search box. The
    grid has ``grid_points`` per exponent (default: a fifth of the density of
    :data:`~scalinglib.fit.SEARCH_BOXES`, at least 101 for one exponent); one
    exponent is refined by golden section in the two bracketing cells (to ~1e-10),
    two by batched projected Levenberg-Marquardt (:func:`_lm_batch`); the
    coefficients are the exact weighted NNLS.

    Returns (parameter name -> array (B,), replicates with an exponent within one
    grid cell of the box's edge, replicates with a coefficient held at zero).
    """
    spec = spec_of(fit.law)
    W = np.asarray(W, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if spec.basis is not None:  # the sigmoid: its linear step bounds the asymptotes (fit.bounded)
        from .bounded import fit_bounded_batch

        return fit_bounded_batch(fit, W, Y, grid_points)
    if len(spec.exponents) == 1:
        return _fit_batch_one(fit, spec, W, Y, grid_points)
    prob = problem(spec.kind, fit.inputs, fit.y)
    x, coef = fit_batch_exponents(prob, fit.search_box, W, Y, grid_points)
    # the edge as a single fit reports it: within one cell of the fit's grid (the default density over its box)
    fine = [
        np.linspace(fit.search_box[e][0], fit.search_box[e][1], SEARCH_BOXES[spec.kind][e][2]) for e in spec.exponents
    ]
    n_edge = int(np.sum(np.any([_edge_mask(x[:, k], a) for k, a in enumerate(fine)], axis=0)))
    n_active = int(np.sum(np.any(coef[:, 1:] == 0.0, axis=1)))
    # every law lists intercept, linear coefficient(s), then the exponent(s)
    return dict(zip(spec.law.names, list(coef.T) + list(x.T))), n_edge, n_active


def _fit_batch_one(fit, spec, W, Y, grid_points):
    """One exponent: grid, golden section in the bracketing cells, weighted NNLS."""
    lo, hi = next(iter(fit.search_box.values()))
    npts = int(grid_points or max(101, next(iter(SEARCH_BOXES[spec.kind].values()))[2] // _COARSEN))
    if npts < 3:
        raise ValueError(f"grid_points must be at least 3, got {grid_points!r}")
    exp_name = next(iter(fit.search_box))
    prob = problem(spec.kind, fit.inputs, fit.y, {exp_name: (lo, hi, npts)})
    grid = np.linspace(lo, hi, npts)
    g = _grid_argmin(prob.features(grid[:, None]), W, Y)  # (G, n, p) features on the grid
    x = _golden(lambda e: _sse_at(prob.features(e[:, None]), W, Y), grid, g)
    coef = _weighted_nnls(prob.features(x[:, None]), Y, W)
    n_edge = int(np.sum(_edge_mask(x, grid)))
    n_active = int(np.sum(np.any(coef[:, 1:] == 0.0, axis=1)))
    return dict(zip(spec.law.names, list(coef.T) + [x])), n_edge, n_active


def fit_batch_exponents(prob: _Problem, box: dict, W: np.ndarray, Y: np.ndarray, grid_points: int | None = None):
    r"""Exponents (B, q) and coefficients (B, p + 1) of a batch, for a problem with q >= 1 exponents.

    ``box`` maps each exponent to (lower, upper[, grid points]); the grid has
    ``grid_points`` per exponent, by default a fifth of the law's default density
    (at least 11). Each replicate starts from its grid minimum (exact weighted NNLS at
    every grid point, from the moments) and is refined by :func:`_lm_batch`.
    """
    spec_box = SEARCH_BOXES.get(prob.name, {})
    axes = []
    for e in prob.exps:
        lo, hi = box[e][0], box[e][1]
        n_default = spec_box[e][2] if e in spec_box else 150
        npts = int(grid_points or max(11, n_default // _COARSEN))
        if npts < 3:
            raise ValueError(f"grid_points must be at least 3, got {grid_points!r}")
        axes.append(np.linspace(lo, hi, npts))
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    if len(axes) == 2 and getattr(prob, "separable", False):  # power columns, one exponent each
        g = _separable_grid_argmin(prob, axes, W, Y)
    else:
        g = _grid_argmin(prob.features(mesh), W, Y)
    box_lo = np.array([a[0] for a in axes])
    box_hi = np.array([a[-1] for a in axes])
    return _lm_batch(prob, W, Y, mesh[g], box_lo, box_hi)


def _separable_grid_argmin(prob: _Problem, axes: list[np.ndarray], W: np.ndarray, Y: np.ndarray) -> np.ndarray:
    r"""Index of each replicate's grid minimum on the tensor grid axes[0] x axes[1], one exponent per column.

    The same NNLS as :func:`~scalinglib.fit.nnls._grid_argmin`, but the moments of a
    column are computed once per value of its own exponent: :math:`\sum_i W_{bi} f_{ig}`,
    :math:`\sum_i W_{bi} f_{ig}^2` and :math:`\sum_i W_{bi} Y_{bi} f_{ig}` are products of
    (B, n) with (n, G_k); the cross moments :math:`\sum_i W_{bi} f_{ig} f'_{ih}` of all
    replicates are one matrix product of the weights (B, n) with the products of the
    columns (n, G_1 G_2).
    """
    F = []
    for k, u, s in sorted(prob.terms, key=lambda t: t[0]):
        f = s * np.exp(axes[k][:, None] * u[None, :])  # (G_k, n)
        f = f - f.mean(axis=1, keepdims=True)  # centring and scaling leave the fit unchanged
        sc = np.max(np.abs(f), axis=1, keepdims=True)
        F.append((f / np.where(sc > 0, sc, 1.0)).T)  # (n, G_k)
    f1, f2 = F
    G1, G2 = f1.shape[1], f2.shape[1]
    K = (f1[:, :, None] * f2[:, None, :]).reshape(f1.shape[0], G1 * G2)  # products of the two columns
    out = np.empty(W.shape[0], dtype=int)
    for s0 in range(0, W.shape[0], _CHUNK):
        w, y = W[s0 : s0 + _CHUNK], Y[s0 : s0 + _CHUNK]
        y = y - y.mean(axis=1, keepdims=True)
        sw = w.sum(axis=1)
        inv = (1.0 / sw)[:, None]
        wy = w * y
        my = wy.sum(axis=1)[:, None]
        yy = np.sum(wy * y, axis=1)[:, None] - my * my * inv
        P1, P2 = w @ np.hstack([f1, f1 * f1]), w @ np.hstack([f2, f2 * f2])
        m1, m2 = P1[:, :G1], P2[:, :G2]
        S11 = P1[:, G1:] - m1 * m1 * inv
        S22 = P2[:, G2:] - m2 * m2 * inv
        r1 = wy @ f1 - m1 * my * inv
        r2 = wy @ f2 - m2 * my * inv
        b = w.shape[0]
        S12 = (w @ K).reshape(b, G1, G2) - m1[:, :, None] * m2[:, None, :] * inv[:, :, None]
        sse = _nnls_core(
            yy[:, :, None],
            sw[:, None, None],
            r1[:, :, None],
            S11[:, :, None],
            r2[:, None, :],
            S22[:, None, :],
            S12,
            coef=False,
        )[0]
        out[s0 : s0 + _CHUNK] = np.argmin(sse.reshape(b, -1), axis=1)
    return out


def _vp_batch(prob: _Problem, x: np.ndarray, W: np.ndarray, Y: np.ndarray, jac: bool = True):
    r"""SSE (B,), coefficients (B, p + 1) and, with ``jac``, gradient (B, q) and Gauss-Newton matrix (B, q, q).

    For replicate b at exponents x_b: the exact weighted NNLS coefficients c, the
    residual :math:`r = Y_b - c_0 - F c` and its SSE :math:`\sum_i W_{bi} r_i^2`.
    Kaufman's Jacobian of the variable-projection residual is
    :math:`J = -(I - P)\, \partial(F c)/\partial e` with P the W-orthogonal projection
    on the intercept and the columns in use; the gradient of the profile is
    :math:`2 J' W r` and its Gauss-Newton matrix :math:`2 J' W J` (both returned
    without the factor 2).
    """
    F, dF = prob.jet(x)  # (B, n, p), (B, n, p, q)
    p, q = F.shape[-1], x.shape[-1]
    sw = np.sum(W, axis=1)

    def wmean(a):
        return np.sum(W * a, axis=1) / sw

    # the exact weighted NNLS from W-centred, scaled columns (plain 2-d operations: no einsum on 4-d arrays)
    ybar = wmean(Y)
    yc = Y - ybar[:, None]
    Wyc = W * yc
    scale, mean, Fc = [], [], []
    for j in range(p):
        s = np.max(np.abs(F[:, :, j]), axis=1)
        s = np.where(s > 0, s, 1.0)
        f = F[:, :, j] / s[:, None]
        m = wmean(f)
        scale.append(s)
        mean.append(m)
        Fc.append(f - m[:, None])
    r = [np.sum(Wyc * f, axis=1) for f in Fc]
    WF = [W * f for f in Fc]
    S = [[np.sum(WF[j] * Fc[l], axis=1) for l in range(p)] for j in range(p)]
    if p == 1:
        _, c1, _ = _nnls_core(np.sum(Wyc * yc, axis=1), sw, r[0], S[0][0])
        c = [c1]
    else:
        _, c1, c2 = _nnls_core(np.sum(Wyc * yc, axis=1), sw, r[0], S[0][0], r[1], S[1][1], S[0][1])
        c = [c1, c2]
    res = yc - sum(cj[:, None] * f for cj, f in zip(c, Fc))
    Wr = W * res
    sse = np.sum(Wr * res, axis=1)
    coef = np.stack([ybar - sum(cj * m for cj, m in zip(c, mean))] + [cj / s for cj, s in zip(c, scale)], axis=1)
    if not jac:
        return sse, coef
    cu = coef[:, 1:]
    V = []  # d(F c)/de_k, W-centred (the intercept projected out)
    for k in range(q):
        v = sum(cu[:, j, None] * dF[:, :, j, k] for j in range(p))
        V.append(v - wmean(v)[:, None])
    used = np.stack(c, axis=1) > 0
    G = np.empty((x.shape[0], p, p))
    R = np.empty((x.shape[0], p, q))
    for j in range(p):
        for l in range(p):
            G[:, j, l] = S[j][l] * (used[:, j] & used[:, l])
        G[:, j, j] += ~used[:, j]
        for k in range(q):
            R[:, j, k] = np.sum(WF[j] * V[k], axis=1) * used[:, j]
    T = np.linalg.solve(G, R)  # the columns in use, projected out
    J = [V[k] - sum(Fc[j] * T[:, j, k, None] for j in range(p)) for k in range(q)]  # minus Kaufman's J
    g = np.stack([-np.sum(Jk * Wr, axis=1) for Jk in J], axis=1)
    H = np.empty((x.shape[0], q, q))
    for k in range(q):
        WJ = W * J[k]
        for l in range(k, q):
            H[:, k, l] = H[:, l, k] = np.sum(WJ * J[l], axis=1)
    return sse, coef, g, H


def _lm_batch(prob: _Problem, W, Y, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    r"""Projected Levenberg-Marquardt of every replicate's exponents together, from x0 (B, q), in [lo, hi].

    Step :math:`(H + \mu\, \mathrm{diag}\, H)\, d = -g` (:func:`_vp_batch`), clipped to
    the box; an exponent at a bound whose descent direction points out of the box is
    held there, as is one the SSE does not depend on (a column held at zero). A
    replicate's step is kept when it lowers its SSE (then :math:`\mu \to \mu / 4`),
    else :math:`\mu \to 8 \mu`. Every replicate stops by the same test: its step is
    below ``_STEP_TOL`` relative to its exponents, or :math:`\mu` exceeds ``_MU_MAX``.
    Replicates that have stopped leave the batch, so the work shrinks as they converge.
    Never worse than x0. Returns (x (B, q), coefficients (B, p + 1)).
    """
    B, q = x0.shape
    x = np.array(x0, dtype=float)
    idx = np.arange(B)
    xa, Wa, Ya = x.copy(), W, Y
    fa, _, ga, Ha = _vp_batch(prob, xa, Wa, Ya)
    mu = np.full(B, 1e-3)
    eye = np.eye(q)[None]
    for _ in range(_MAX_ITER):
        free = ~(((xa <= lo) & (ga > 0)) | ((xa >= hi) & (ga < 0)))
        dH = np.einsum("bqq->bq", Ha)
        free &= dH > 0
        M = Ha * (free[:, :, None] & free[:, None, :]) + eye * (1.0 - free)[:, :, None]
        M = M + eye * (mu[:, None] * np.where(free, dH, 0.0))[:, :, None]
        d = np.linalg.solve(M, -(ga * free)[:, :, None])[:, :, 0]
        xn = np.clip(xa + d, lo, hi)
        d = xn - xa
        # the decrease the Gauss-Newton model promises for the (clipped) step
        gain = -np.sum(ga * d, axis=1) - 0.5 * np.einsum("bq,bqr,br->b", d, Ha, d)
        small = np.all(np.abs(d) <= _STEP_TOL * (1.0 + np.abs(xa)), axis=1) | (gain <= _GAIN_TOL * fa)
        fn, _, gn, Hn = _vp_batch(prob, xn, Wa, Ya)
        better = fn < fa
        xa = np.where(better[:, None], xn, xa)
        fa = np.where(better, fn, fa)
        ga = np.where(better[:, None], gn, ga)
        Ha = np.where(better[:, None, None], Hn, Ha)
        mu = np.where(better, np.maximum(mu / 4.0, 1e-12), mu * 8.0)
        done = small | (mu > _MU_MAX)
        if done.any():
            x[idx[done]] = xa[done]
            keep = ~done
            idx, xa, fa, ga, Ha, mu = idx[keep], xa[keep], fa[keep], ga[keep], Ha[keep], mu[keep]
            Wa, Ya = Wa[keep], Ya[keep]
            if idx.size == 0:
                break
    x[idx] = xa
    _, coef = _vp_batch(prob, x, W, Y, jac=False)
    return x, coef
