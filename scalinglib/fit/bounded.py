r"""Fits of a law with one column in [0, 1] and bounded asymptotes: the sigmoid.

The sigmoid :math:`\mathrm{Err}(x) = b + a\, \sigma(k (x - x_0))` is linear in (b, a)
for fixed (k, x0), like every law of the core, so it is fitted by variable
projection too; what differs is its linear step. Written with its two asymptotes,
the floor u = b and the ceiling v = a + b,

.. math:: \mathrm{Err}(x) = u\, (1 - \sigma) + v\, \sigma, \qquad lo \le u \le v \le hi,

and for fixed (k, x0) the best (u, v) is a convex quadratic programme on a triangle,
solved exactly (:func:`_bounded_lsq`): the unconstrained optimum if it lies inside,
otherwise the best of the three edges (u = lo, v = hi, u = v), each a one-variable
least-squares problem whose solution is clipped to the edge. ``lo`` and ``hi`` bound
the error band: ``lo = 0`` (no accuracy above 1) and ``hi = 1 - chance`` (no model
worse than guessing, on average, however high its loss), so no prediction of the law
can leave [lo, hi] (:class:`~scalinglib.laws.SigmoidLaw` keeps every prediction
between its asymptotes).

The profile :math:`\mathrm{SSE}(k, x_0)` is evaluated on a grid of the box (k
geometric, x0 linear; :func:`~scalinglib.fit.problem.sigmoid_box`), and the three
lowest grid local minima are refined by a trust-region least-squares descent of all
four parameters inside the box (scipy's ``trf``, analytic Jacobian; a Nelder-Mead
search of the profile takes over if the descent ends with u > v); the best is kept.
:func:`fit_bounded_batch` does the same for a batch of weighted data sets (bootstrap
replicates). ``huber_log`` minimises the Approach-3 objective over
all four parameters by Nelder-Mead from the least-squares solution and the best grid
points, with the asymptotes kept in the band by a logistic reparametrisation.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..laws import SigmoidLaw, _logistic
from .diagnostics import RANK_TOLERANCE
from .objectives import huber
from .problem import _Problem
from .result import FitResult, FitWarning

#: Nelder-Mead of the profile (the fallback): tolerances on (log k, x0) and on the SSE (relative)
_XTOL, _FTOL = 1e-10, 1e-15


def _moments(F: np.ndarray, W: np.ndarray, Y: np.ndarray):
    """Weighted moments of columns F ((G, n) shared by the batch, or (B, G, n)) and data W, Y (B, n)."""
    WY = W * Y
    if F.ndim == 2:
        Sf, Sff, Sfy = W @ F.T, W @ (F * F).T, WY @ F.T
    else:
        Sf = np.einsum("bn,bgn->bg", W, F)
        Sff = np.einsum("bn,bgn->bg", W, F * F)
        Sfy = np.einsum("bn,bgn->bg", WY, F)
    Sw = W.sum(axis=1)[:, None]
    Sy = WY.sum(axis=1)[:, None]
    Syy = (WY * Y).sum(axis=1)[:, None]
    return Sw, Sy, Syy, Sf, Sff, Sfy


def _bounded_lsq(F: np.ndarray, W: np.ndarray, Y: np.ndarray, lo: float, hi: float):
    r"""Exact weighted least squares of Y by u (1 - F) + v F with lo <= u <= v <= hi.

    F holds columns in [0, 1], (G, n) for every replicate or (B, G, n); W and Y are
    (B, n). Returns (sse, u, v), each (B, G). The objective is a convex quadratic in
    (u, v); its minimum over the triangle is the unconstrained one when feasible, else
    on an edge, where the one-variable optimum clipped to the edge is exact.
    """
    Sw, Sy, Syy, Sf, Sff, Sfy = _moments(F, W, Y)
    Sgg = Sw - 2.0 * Sf + Sff  # moments of g = 1 - F
    Sgf = Sf - Sff
    Sgy = Sy - Sfy

    def sse(u, v):
        return Syy - 2.0 * u * Sgy - 2.0 * v * Sfy + u * u * Sgg + 2.0 * u * v * Sgf + v * v * Sff

    tiny = 1e-300
    with np.errstate(divide="ignore", invalid="ignore"):
        det = Sgg * Sff - Sgf * Sgf
        u0 = (Sgy * Sff - Sfy * Sgf) / det
        v0 = (Sfy * Sgg - Sgy * Sgf) / det
        ok = (det > 1e-12 * Sgg * Sff) & (u0 >= lo) & (u0 <= v0) & (v0 <= hi)
        cands = [(np.where(ok, u0, lo), np.where(ok, v0, lo), ok)]
        # edge u = lo: v free in [lo, hi]
        v1 = np.clip((Sfy - lo * Sgf) / np.maximum(Sff, tiny), lo, hi)
        cands.append((np.full_like(v1, lo), v1, None))
        # edge v = hi: u free in [lo, hi]
        u2 = np.clip((Sgy - hi * Sgf) / np.maximum(Sgg, tiny), lo, hi)
        cands.append((u2, np.full_like(u2, hi), None))
        # edge u = v: a constant
        c = np.clip(np.broadcast_to(Sy / Sw, Sf.shape), lo, hi)
        cands.append((c, c, None))
    best = np.full(Sf.shape, np.inf)
    bu, bv = np.full(Sf.shape, lo), np.full(Sf.shape, lo)
    for u, v, feasible in cands:
        f = sse(u, v)
        if feasible is not None:
            f = np.where(feasible, f, np.inf)
        better = f < best
        best = np.where(better, f, best)
        bu = np.where(better, u, bu)
        bv = np.where(better, v, bv)
    return np.maximum(best, 0.0), bu, bv


def _axes(box) -> tuple[np.ndarray, np.ndarray]:
    (klo, khi, nk), (xlo, xhi, nx) = box["k"], box["x0"]
    return np.geomspace(klo, khi, int(nk)), np.linspace(xlo, xhi, int(nx))


def _local_minima_2d(sse: np.ndarray, k: int) -> list[tuple[int, int]]:
    """Up to k lowest grid points no higher than their eight neighbours (always at least the lowest)."""
    pad = np.pad(sse, 1, constant_values=np.inf)
    nb = np.min([np.roll(np.roll(pad, i, 0), j, 1) for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)], axis=0)
    mins = np.argwhere(sse <= nb[1:-1, 1:-1])
    order = np.argsort(sse[tuple(mins.T)], kind="stable")[:k]
    out = [(int(mins[i][0]), int(mins[i][1])) for i in order]
    best = np.unravel_index(int(np.argmin(sse)), sse.shape)
    if (int(best[0]), int(best[1])) not in out:
        out.insert(0, (int(best[0]), int(best[1])))
    return out


def _profile(x, w, y, z, lo, hi) -> tuple[float, float, float]:
    """Profile SSE at z = (log k, x0) and its bounded asymptotes (sse, u, v)."""
    F = _logistic(np.exp(z[0]) * (x - z[1]))[None, :]
    sse, u, v = _bounded_lsq(F, w[None, :], y[None, :], lo, hi)
    return float(sse[0, 0]), float(u[0, 0]), float(v[0, 0])


def _refine(x: np.ndarray, w: np.ndarray, y: np.ndarray, z0: np.ndarray, zlo: np.ndarray, zhi: np.ndarray, lo, hi):
    """The optimum near z0 = (log k, x0): ((log k, x0), sse), never worse than z0.

    A trust-region least-squares descent (scipy's ``trf``, analytic Jacobian) of all four
    parameters (u, v, log k, x0) in the box lo <= u, v <= hi, zlo <= (log k, x0) <= zhi,
    from z0 and its exact bounded asymptotes. Its end point is kept if it satisfies
    u <= v (then it is a local optimum of the constrained problem too) and lowers the SSE;
    otherwise a Nelder-Mead search of the profile (derivative-free) takes over.
    """
    from scipy import optimize

    f0, u0, v0 = _profile(x, w, y, z0, lo, hi)
    sw = np.sqrt(w)

    def resid(t):
        s = _logistic(np.exp(t[2]) * (x - t[3]))
        return sw * (t[0] + (t[1] - t[0]) * s - y)

    def jac(t):
        k = np.exp(t[2])
        s = _logistic(k * (x - t[3]))
        ds = (t[1] - t[0]) * s * (1.0 - s)
        return sw[:, None] * np.stack([1.0 - s, s, ds * k * (x - t[3]), -ds * k], axis=1)

    t0 = np.array([u0, v0, *z0])
    blo = np.array([lo, lo, *zlo])
    bhi = np.array([hi, hi, *zhi])
    t0 = np.clip(t0, blo, bhi)
    # strictly inside for trf: nudge a start sitting on a bound
    eps = 1e-12 * (bhi - blo)
    t0 = np.clip(t0, blo + eps, bhi - eps)
    res = optimize.least_squares(
        resid,
        t0,
        jac=jac,
        bounds=(blo, bhi),
        method="trf",
        x_scale="jac",
        ftol=1e-13,
        xtol=1e-13,
        gtol=1e-13,
        max_nfev=500,
    )
    u, v = res.x[0], res.x[1]
    if u <= v:
        z = res.x[2:]
        f, _, _ = _profile(x, w, y, z, lo, hi)  # the exact linear step at the end point (never worse)
        if f <= f0:
            return z, f

    def prof(z):
        return _profile(x, w, y, np.clip(z, zlo, zhi), lo, hi)[0]

    scale = (zhi - zlo) / 60.0
    simplex = np.array([z0, z0 + [scale[0], 0.0], z0 + [0.0, scale[1]]])
    nm = optimize.minimize(
        prof,
        z0,
        method="Nelder-Mead",
        options={
            "initial_simplex": simplex,
            "xatol": _XTOL,
            "fatol": _FTOL * max(f0, 1e-300),
            "maxiter": 4000,
            "maxfev": 8000,
        },
    )
    z = np.clip(nm.x, zlo, zhi)
    fz = prof(z)
    return (z, fz) if fz <= f0 else (np.asarray(z0, dtype=float), f0)


def _solve(x, w, y, box, lo, hi, n_candidates: int = 3):
    """Global weighted least-squares optimum of the bounded sigmoid over the box: (k, x0, u, v, sse)."""
    ks, x0s = _axes(box)
    K, X0 = np.meshgrid(ks, x0s, indexing="ij")
    F = _logistic(K.ravel()[:, None] * (x[None, :] - X0.ravel()[:, None]))
    sse = _bounded_lsq(F, w[None, :], y[None, :], lo, hi)[0][0].reshape(K.shape)
    zlo = np.array([np.log(ks[0]), x0s[0]])
    zhi = np.array([np.log(ks[-1]), x0s[-1]])
    best = None
    for i, j in _local_minima_2d(sse, n_candidates):
        z, f = _refine(x, w, y, np.array([np.log(ks[i]), x0s[j]]), zlo, zhi, lo, hi)
        if best is None or f < best[1]:
            best = (z, f)
    assert best is not None
    z = best[0]
    k, x0 = float(np.exp(z[0])), float(z[1])
    Fz = _logistic(k * (x - x0))[None, :]
    _, u, v = _bounded_lsq(Fz, w[None, :], y[None, :], lo, hi)
    return k, x0, float(u[0, 0]), float(v[0, 0]), (ks, x0s)


def _edge_names(k: float, x0: float, axes) -> tuple[str, ...]:
    ks, x0s = axes
    out = []
    if k <= ks[1] or k >= ks[-2]:
        out.append("k")
    if x0 <= x0s[1] or x0 >= x0s[-2]:
        out.append("x0")
    return tuple(out)


def _identified(x: np.ndarray, law: SigmoidLaw, lo: float, hi: float) -> bool:
    r"""Whether the points determine the sigmoid's free parameters at ``law``.

    a = 0 leaves k and x0 without effect: not identified. An asymptote held at its
    bound is not free. The Jacobian of the free parameters, columns normalised, must
    have full rank (smallest singular value above :data:`RANK_TOLERANCE` times the largest).
    """
    if law.a == 0.0:
        return False
    s = _logistic(law.k * (x - law.x0))
    ds = s * (1.0 - s)
    u_fixed, v_fixed = law.b <= lo, law.b + law.a >= hi
    cols = []
    if not u_fixed:
        cols.append(1.0 - s)
    if not v_fixed:
        cols.append(s)
    cols += [law.a * ds * (x - law.x0), -law.a * law.k * ds]
    J = np.stack(cols, axis=1)
    if J.shape[0] < J.shape[1] or not np.all(np.isfinite(J)):
        return False
    J = J / np.maximum(np.linalg.norm(J, axis=0), 1e-300)
    sv = np.linalg.svd(J, compute_uv=False)
    return bool(sv[-1] > RANK_TOLERANCE * sv[0])


def _bound_notes(law: SigmoidLaw, lo: float, hi: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
    active, notes = [], []
    if law.b <= lo:
        active.append(f"floor b = {lo:g}")
    if law.b + law.a >= hi:
        active.append(f"ceiling a + b = {hi:g}")
    if law.a == 0.0:
        active.append("a = 0")
    if active:
        notes.append(
            f"asymptote constraint active: {', '.join(active)} (the data ask for an error band wider than [{lo:g}, {hi:g}])"
        )
    return tuple(active), tuple(notes)


def fit_bounded(prob: _Problem, L: np.ndarray, objective: str, delta: float, lo: float, hi: float) -> FitResult:
    """Fit the sigmoid problem ``prob`` (inputs ``L``, observations ``prob.y``) with asymptotes in [lo, hi]."""
    y = prob.y
    w = np.ones_like(y)
    k, x0, u, v, axes = _solve(L, w, y, prob.box, lo, hi)
    law = SigmoidLaw(u, v - u, k, x0)
    sse = float(np.sum((y - law.predict(L)) ** 2))
    value = sse
    if objective == "huber_log":
        law, value = _huber_log(L, y, law, delta, lo, hi, axes)
    edge = _edge_names(law.k, law.x0, axes)
    active, bound_notes = _bound_notes(law, lo, hi)
    identified = _identified(L, law, lo, hi)
    notes = list(bound_notes)
    if edge:
        notes.append(f"parameter(s) {', '.join(edge)} on the edge of the search box; widen it")
    if not identified:
        notes.append("parameters not identified by these points (rank-deficient Jacobian)")
    for note in notes:
        warnings.warn(f"sigmoid fit: {note}", FitWarning, stacklevel=3)
    pred = law.predict(L)
    resid = y - pred
    return FitResult(
        law=law,
        objective=objective,
        inputs={"L": L},
        y=y,
        predicted=pred,
        residuals=resid,
        sse=float(resid @ resid),
        objective_value=float(value),
        search_box={e: (float(b[0]), float(b[1])) for e, b in prob.box.items()},
        on_edge=edge,
        active_constraints=active,
        identified=identified,
        notes=tuple(notes),
        delta=delta if objective == "huber_log" else None,
        band=(float(lo), float(hi)),
    )


def _huber_log(x, y, law: SigmoidLaw, delta: float, lo: float, hi: float, axes):
    r"""Minimise :math:`\sum_i \mathrm{Huber}_\delta(\ln \mathrm{Err}(x_i) - \ln y_i)` over the four parameters.

    u = lo + (hi - lo) logistic(p), v = u + (hi - u) logistic(q) keep lo <= u <= v <= hi;
    Nelder-Mead from the least-squares solution and from the nine best grid points of
    the least-squares profile (each with its least-squares asymptotes).
    """
    from scipy import optimize

    logy = np.log(y)
    span = hi - lo

    def unpack(z):
        u = lo + span * _logistic(np.array(z[0]))
        v = u + (hi - u) * _logistic(np.array(z[1]))
        return float(u), float(v), float(np.exp(z[2])), float(z[3])

    def pack(u, v, k, x0):
        def logit(t):
            t = min(max(t, 1e-12), 1 - 1e-12)
            return float(np.log(t / (1 - t)))

        p = logit((u - lo) / span)
        q = logit((v - u) / max(hi - u, 1e-300))
        return np.array([p, q, np.log(k), x0])

    def value(z):
        u, v, k, x0 = unpack(z)
        pred = u + (v - u) * _logistic(k * (x - x0))
        if np.any(pred <= 0):
            return 1e10
        return float(np.sum(huber(np.log(pred) - logy, delta)))

    starts = [pack(law.b, law.b + law.a, law.k, law.x0)]
    ks, x0s = axes
    K, X0 = np.meshgrid(ks[::4], x0s[::4], indexing="ij")
    F = _logistic(K.ravel()[:, None] * (x[None, :] - X0.ravel()[:, None]))
    sse, U, V = _bounded_lsq(F, np.ones((1, x.size)), y[None, :], lo, hi)
    for g in np.argsort(sse[0], kind="stable")[:9]:
        starts.append(pack(U[0, g], V[0, g], K.ravel()[g], X0.ravel()[g]))
    best_z, best_f = starts[0], value(starts[0])
    for z0 in starts:
        res = optimize.minimize(
            value, z0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-16, "maxiter": 20000, "maxfev": 40000}
        )
        if res.fun < best_f:
            best_z, best_f = res.x, float(res.fun)
    u, v, k, x0 = unpack(best_z)
    return SigmoidLaw(u, v - u, k, x0), best_f


def fit_bounded_batch(fit: FitResult, W: np.ndarray, Y: np.ndarray, grid_points: int | None = None):
    """Least-squares refits of a sigmoid on a batch of weighted data sets (bootstrap replicates).

    Replicate b minimises :math:`\\sum_i W_{bi} (Y_{bi} - \\mathrm{Err}(x_i))^2` with the
    asymptotes in [lo, hi], over the box of ``fit``: the exact bounded linear step at
    every point of a ``grid_points`` x ``grid_points`` grid (k geometric; default 31) for
    every replicate at once, then the refinement of :func:`_refine` from each replicate's
    grid minimum.
    The band [lo, hi] is the fit's (``fit.band``). Returns (parameter name -> array (B,),
    replicates on the box's edge, replicates with an asymptote constraint active).
    """
    if fit.band is None:
        raise ValueError("fit_bounded_batch needs a sigmoid fit (with a band)")
    lo, hi = fit.band
    grid_points = int(grid_points or 31)
    x = np.asarray(fit.inputs["L"], dtype=float)
    W = np.atleast_2d(np.asarray(W, dtype=float))
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    (klo, khi), (xlo, xhi) = fit.search_box["k"], fit.search_box["x0"]
    ks, x0s = np.geomspace(klo, khi, grid_points), np.linspace(xlo, xhi, grid_points)
    K, X0 = np.meshgrid(ks, x0s, indexing="ij")
    F = _logistic(K.ravel()[:, None] * (x[None, :] - X0.ravel()[:, None]))
    sse = _bounded_lsq(F, W, Y, lo, hi)[0]
    g = np.argmin(sse, axis=1)
    zlo, zhi = np.array([np.log(klo), xlo]), np.array([np.log(khi), xhi])
    fine = (np.geomspace(klo, khi, 61), np.linspace(xlo, xhi, 61))
    out = {n: np.empty(W.shape[0]) for n in SigmoidLaw.names}
    n_edge = n_active = 0
    for b in range(W.shape[0]):
        z, _ = _refine(x, W[b], Y[b], np.array([np.log(K.ravel()[g[b]]), X0.ravel()[g[b]]]), zlo, zhi, lo, hi)
        k, x0 = float(np.exp(z[0])), float(z[1])
        _, u, v = _bounded_lsq(_logistic(k * (x - x0))[None, :], W[b : b + 1], Y[b : b + 1], lo, hi)
        u, v = float(u[0, 0]), float(v[0, 0])
        for n, val in zip(SigmoidLaw.names, (u, v - u, k, x0)):
            out[n][b] = val
        n_edge += bool(_edge_names(k, x0, fine))
        n_active += bool(u <= lo or v >= hi or v == u)
    return out, n_edge, n_active
