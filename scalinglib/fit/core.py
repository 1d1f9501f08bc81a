r"""The fitting core: the global least-squares optimum of a law over its box, by variable projection.

For fixed exponents e the best coefficients are an exact non-negative least-squares
solution (:mod:`scalinglib.fit.nnls`), so the fit minimises the *profile*

.. math:: \mathrm{SSE}(e) = \min_{c_0,\; c \ge 0} \sum_i w_i \big(y_i - c_0 - \textstyle\sum_j c_j F_{ij}(e)\big)^2

over the exponents alone (Golub & Pereyra, 1973), in three steps that every law
shares:

1. **grid** — the profile at every point of a grid of the box (for two exponents with
   one per column, Chinchilla, per-axis moments and one matrix product);
2. **refine** — the three lowest grid local minima refined inside their bracketing
   cells (:mod:`scalinglib.fit.refine`), the best kept;
3. **coefficients** — the NNLS solution at the optimum; ``sse`` is recomputed from its
   residuals.

The result is the global minimum over the box, to the resolution at which the grid
separates distinct minima. :func:`_solve_vp` fits one data set; one exponent in a
non-negative box (every default box) runs on the fast kernel
:class:`~scalinglib.fit.onexp._OneExponent` (the same computation, fewer array
operations), everything else on :func:`_solve_vp_generic`. The same three steps on a
batch of weighted data sets (bootstrap replicates) at once are
:func:`scalinglib.fit.batch.fit_batch`.
"""

from __future__ import annotations

import numpy as np

from .diagnostics import _edge
from .nnls import _centred_columns, _nnls_core, _profile_columns
from .onexp import _OneExponent
from .problem import _Problem, _scaled_columns
from .refine import _local_minima, _refine_1d, _refine_box


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


def _separable_grid(prob: _Problem, axes: list[np.ndarray]) -> np.ndarray:
    """Profile SSE on the tensor grid axes[0] x axes[1] of a separable two-column problem.

    The per-axis moments are computed once per axis value; the cross moments of the
    centred columns are one matrix product (G1, n) x (n, G2).
    """
    y = prob.y
    yc = y - y.mean()
    (_, u1, s1), (_, u2, s2) = sorted(prob.terms, key=lambda t: t[0])
    F1, r1, S11 = _centred_columns(u1, s1, axes[0], yc)
    F2, r2, S22 = _centred_columns(u2, s2, axes[1], yc)
    S12 = F1 @ F2.T  # (G1, G2); a single BLAS call
    sse, _, _ = _nnls_core(
        np.dot(yc, yc), float(y.size), r1[:, None], S11[:, None], r2[None, :], S22[None, :], S12, coef=False
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
    if (
        len(prob.exps) == 1
        and box[prob.exps[0]][0] >= 0
        and len(prob.terms) <= 2
        and len({sign for _, _, sign in prob.terms}) == 1
    ):
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
    x, f, coef = xs[j], fs[j : j + 1], coefs[j : j + 1]
    return x, coef[0], float(f[0]), _edge(prob.exps, x, axes)


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
    x = xs[j : j + 1]
    return x, coefs[j], float(fs[j]), _edge(prob.exps, x, [axis])
