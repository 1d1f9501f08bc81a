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
minimised on the grid and refined inside the bracketing grid cells, so the result
is the global minimum over the documented search box (to the resolution at which
the grid separates distinct minima). A result on the edge of the box is flagged
with a :class:`FitWarning`.

The Chinchilla Approach-3 objective (Hoffmann et al., 2022), a Huber loss with
delta = 1e-3 on log-loss residuals, is minimised with L-BFGS from a grid of
starting points that includes the least-squares solution.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
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
    if a.size == 0:
        raise FitError(f"{name} is empty")
    bad = ~np.isfinite(a)
    if bad.any():
        raise FitError(f"{name} has a NaN or infinite value at index {int(np.flatnonzero(bad)[0])}")
    bad = a <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FitError(f"{name} must be positive; index {i} has {a[i]!r}")
    return a


def _as_finite(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
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
    coef : array (..., p + 1)  intercept first
    """
    p = F.shape[-1]
    if w is None:
        w = np.ones(y.shape[-1])
    # scale each column to max |F| = 1 for conditioning; undone at the end
    scale = np.max(np.abs(F), axis=-2, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    Fs = F / scale
    sw = np.sum(w, axis=-1)
    ybar = np.sum(w * y, axis=-1) / sw
    yc = y - ybar[..., None]
    Fbar = np.einsum("...n,...np->...p", w, Fs) / sw[..., None]
    Fc = Fs - Fbar[..., None, :]
    yy = np.sum(w * yc * yc, axis=-1)
    r = np.einsum("...n,...np->...p", w * yc, Fc)
    S = np.einsum("...n,...np,...nq->...pq", w, Fc, Fc)

    shape = np.broadcast_shapes(yy.shape, r.shape[:-1])
    best = np.broadcast_to(yy, shape).copy()  # empty subset: intercept only
    coef = np.zeros(shape + (p,))
    tiny = 1e-13
    for j in range(p):
        Sjj = S[..., j, j]
        ok = Sjj > tiny * np.maximum(1.0, sw)
        cj = np.where(ok, r[..., j] / np.where(ok, Sjj, 1.0), 0.0)
        sse = yy - cj * r[..., j]
        take = ok & (cj >= 0) & (sse < best)
        best = np.where(take, sse, best)
        c = np.zeros(shape + (p,))
        c[..., j] = cj
        coef = np.where(take[..., None], c, coef)
    if p == 2:
        S11, S22, S12 = S[..., 0, 0], S[..., 1, 1], S[..., 0, 1]
        det = S11 * S22 - S12 * S12
        ok = det > 1e-10 * np.maximum(S11 * S22, 1e-300)
        dsafe = np.where(ok, det, 1.0)
        c1 = (S22 * r[..., 0] - S12 * r[..., 1]) / dsafe
        c2 = (S11 * r[..., 1] - S12 * r[..., 0]) / dsafe
        sse = yy - c1 * r[..., 0] - c2 * r[..., 1]
        take = ok & (c1 >= 0) & (c2 >= 0) & (sse < best)
        best = np.where(take, sse, best)
        coef = np.where(take[..., None], np.stack([c1, c2], axis=-1), coef)
    elif p != 1:
        raise NotImplementedError("at most two constrained columns")
    intercept = ybar - np.einsum("...p,...p->...", coef, Fbar)
    coef = coef / scale[..., 0, :]
    return np.maximum(best, 0.0), np.concatenate([intercept[..., None], coef], axis=-1)


@dataclass(frozen=True)
class _Problem:
    """A variable-projection problem: features(exponents) -> (n, p) non-negative columns."""

    name: str
    exps: tuple[str, ...]
    features: Callable[[np.ndarray], np.ndarray]  # (G, q) -> (G, n, p)
    y: np.ndarray
    box: dict[str, tuple[float, float, int]]


def _grid_search(prob: _Problem, box: dict[str, tuple[float, float, int]]):
    axes = [np.linspace(*box[e]) for e in prob.exps]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    sse, _ = _profile(prob.features(mesh), prob.y)
    return axes, mesh, sse


def _local_minima(sse: np.ndarray, shape: tuple[int, ...], k: int) -> list[int]:
    """Indices of the k lowest grid points that are no larger than their neighbours."""
    grid = sse.reshape(shape)
    padded = np.pad(grid, 1, mode="constant", constant_values=np.inf)
    is_min = np.ones(shape, dtype=bool)
    for axis in range(len(shape)):
        for step in (-1, 1):
            neigh = np.roll(padded, step, axis=axis)[tuple(slice(1, -1) for _ in shape)]
            is_min &= grid <= neigh
    idx = np.flatnonzero(is_min.ravel())
    idx = idx[np.argsort(sse[idx])]
    return list(idx[:k]) if idx.size else [int(np.argmin(sse))]


def _solve_vp(prob: _Problem, box=None):
    """Global least-squares optimum of a VP problem over the box; returns (exps, coef, sse, edge)."""
    box = box or prob.box
    axes, mesh, sse = _grid_search(prob, box)
    shape = tuple(len(a) for a in axes)

    def profile(e):
        s, _ = _profile(prob.features(np.atleast_2d(e)), prob.y)
        return float(s[0])

    best = None
    for idx in _local_minima(sse, shape, k=3):
        multi = np.unravel_index(idx, shape)
        lo = [a[max(i - 1, 0)] for a, i in zip(axes, multi)]
        hi = [a[min(i + 1, len(a) - 1)] for a, i in zip(axes, multi)]
        x0 = mesh[idx]
        if len(axes) == 1:
            res = optimize.minimize_scalar(
                lambda t: profile([t]), bounds=(lo[0], hi[0]), method="bounded",
                options={"xatol": 1e-12 * max(1.0, abs(x0[0])), "maxiter": 500},
            )
            x, f = np.array([res.x]), float(res.fun)
        else:
            res = optimize.minimize(
                lambda t: profile(t), x0, method="Nelder-Mead", bounds=list(zip(lo, hi)),
                options={"xatol": 1e-12, "fatol": 1e-18, "maxiter": 4000},
            )
            x, f = np.asarray(res.x), float(res.fun)
        if f > sse[idx]:  # the refinement must never be worse than its grid point
            x, f = x0, float(sse[idx])
        if best is None or f < best[1]:
            best = (x, f)
    x, f = best
    _, coef = _profile(prob.features(np.atleast_2d(x)), prob.y)
    edge = tuple(
        e for e, xi, a in zip(prob.exps, x, axes) if xi <= a[0] + (a[1] - a[0]) or xi >= a[-1] - (a[-1] - a[-2])
    )
    return x, coef[0], f, edge


def _jacobian_rank_ok(fun: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> bool:
    """Whether the model's Jacobian in all parameters has full column rank at theta."""
    J = optimize.approx_fprime(theta, fun, epsilon=1e-7 * np.maximum(np.abs(theta), 1e-3))
    J = np.atleast_2d(J)
    J = J / np.maximum(np.linalg.norm(J, axis=0), 1e-300)
    s = np.linalg.svd(J, compute_uv=False)
    return bool(s.size and s[-1] > 1e-9 * s[0] and J.shape[0] >= J.shape[1])


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
    lc, lm = np.log(C), np.log(M)

    def features(E):
        eta = E[:, 0][:, None]
        return np.stack([np.exp(eta * (lm - lc)), np.exp(-eta * (lm + lc))], axis=-1)

    return _Problem("overtraining", ("eta",), features, L, box or SEARCH_BOXES["overtraining"])


def _compute_problem(C, L, box=None) -> _Problem:
    lc = np.log(C)

    def features(E):
        return np.exp(-E[:, 0][:, None] * lc)[..., None]

    return _Problem("compute", ("eta",), features, L, box or SEARCH_BOXES["compute"])


def _error_problem(L, err, box=None) -> _Problem:
    # Err = epsilon + k * (-exp(-gamma L)), k >= 0
    def features(E):
        return (-np.exp(-E[:, 0][:, None] * L))[..., None]

    return _Problem("error", ("gamma",), features, err, box or SEARCH_BOXES["error"])


def _chinchilla_problem(N, D, L, box=None) -> _Problem:
    ln, ld = np.log(N), np.log(D)

    def features(E):
        return np.stack([np.exp(-E[:, 0][:, None] * ln), np.exp(-E[:, 1][:, None] * ld)], axis=-1)

    return _Problem("chinchilla", ("alpha", "beta"), features, L, box or SEARCH_BOXES["chinchilla"])


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


def _theta_fun(name: str, inputs: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def f(theta):
        return _predict(_law_from(name, theta[len(theta) - _NEXP[name]:], theta[: len(theta) - _NEXP[name]]), inputs)

    return f


_NEXP = {"overtraining": 1, "compute": 1, "error": 1, "chinchilla": 2}


def _lsq(prob: _Problem, inputs: dict[str, np.ndarray], box=None, extra_notes=(), identified=True) -> FitResult:
    box = box or prob.box
    exps, coef, f, edge = _solve_vp(prob, box)
    law = _law_from(prob.name, exps, coef)
    pred = _predict(law, inputs)
    active = tuple(n for n, c in zip(_LINEAR_NAMES[prob.name], coef[1:]) if c == 0.0)
    theta = np.concatenate([coef, exps])
    if identified and not active:
        identified = _jacobian_rank_ok(_theta_fun(prob.name, inputs), theta)
    return _finish(prob.name, law, "lsq", inputs, prob.y, pred, box, edge, active, identified, extra_notes, f)


# ----------------------------------------------------------------------------- Huber on log residuals


def huber(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss: r^2 / 2 for |r| <= delta, delta (|r| - delta / 2) beyond."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _huber_log(
    name: str, inputs: dict[str, np.ndarray], y: np.ndarray, lsq: FitResult, delta: float, starts: np.ndarray
) -> FitResult:
    """Minimise sum_i Huber_delta(log y_i - log f(x_i; theta)) with L-BFGS-B.

    Positive coefficients are optimised in log space, so every start is feasible; the
    intercept (E or epsilon) is optimised directly. ``starts`` are (n_starts, n_params)
    in the natural parametrisation; the least-squares solution is always added.
    """
    nexp = _NEXP[name]
    n_lin = N_PARAMS[name] - nexp  # intercept + positive coefficients
    logy = np.log(y)

    def unpack(z):
        inter = z[0]
        lin = np.exp(z[1:n_lin])
        return np.concatenate([[inter], lin, z[n_lin:]])

    def obj(z):
        theta = unpack(z)
        law = _law_from(name, theta[n_lin:], theta[:n_lin])
        with np.errstate(all="ignore"):
            pred = _predict(law, inputs)
        if np.any(~np.isfinite(pred)) or np.any(pred <= 0):
            return 1e10
        return float(np.sum(huber(np.log(pred) - logy, delta)))

    theta_lsq = np.concatenate([list(lsq.law.params.values())[:n_lin], list(lsq.law.params.values())[n_lin:]])
    all_starts = np.vstack([theta_lsq[None, :], starts])
    zs = []
    for th in all_starts:
        lin = np.maximum(th[1:n_lin], 1e-12)
        zs.append(np.concatenate([[th[0]], np.log(lin), th[n_lin:]]))
    values = np.array([obj(z) for z in zs])
    order = np.argsort(values)[: min(len(zs), 24)]
    if 0 not in order:
        order = np.concatenate([[0], order])
    best = None
    for i in order:
        res = optimize.minimize(obj, zs[i], method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
    theta = unpack(best.x)
    law = _law_from(name, theta[n_lin:], theta[:n_lin])
    pred = _predict(law, inputs)
    identified = lsq.identified and _jacobian_rank_ok(_theta_fun(name, inputs), theta)
    return _finish(
        name, law, "huber_log", inputs, y, pred, {}, (), (), identified,
        (), best.fun, delta=delta,
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
    return _huber_log(name, inputs, prob.y, lsq, delta, _default_starts(name))


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
    if np.unique(np.round(np.log(M), 9)).size < 2:
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
    on log-loss residuals, minimised with L-BFGS-B from a grid of starts plus the
    least-squares solution.
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
