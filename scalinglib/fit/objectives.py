r"""The objectives a law is fitted with; each plugs into the same core.

* ``"lsq"`` — least squares on raw values (the paper's objective),
  :math:`\sum_i (y_i - f(x_i; \theta))^2`, minimised globally over the box by the
  variable-projection core (:func:`scalinglib.fit.core._solve_vp`), see :func:`_lsq`.
* ``"huber_log"`` — the Chinchilla Approach-3 objective (Hoffmann et al., 2022),

  .. math:: \sum_i w_i\, \mathrm{Huber}_\delta\big(\ln f(x_i; \theta) - \ln y_i\big),
      \qquad \mathrm{Huber}_\delta(r) = \begin{cases} r^2/2 & |r| \le \delta \\
      \delta (|r| - \delta/2) & |r| > \delta \end{cases}

  with :math:`\delta = 10^{-3}`: the least-squares fit of the core first, then BFGS
  descents (analytic gradient, positive coefficients in log space) from that solution
  and from the best points of a grid of starts (:func:`_huber_log`). One descent from
  a given law, a warm start, is :func:`refine_huber_log`.

Both end in the same diagnostics (:mod:`scalinglib.fit.diagnostics`).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..laws import ChinchillaLaw, OvertrainingLaw
from .core import _solve_vp
from .diagnostics import _active, _finish, _floor_notes, _identified
from .problem import SEARCH_BOXES, Law, Term, _columns, _Problem, problem, spec_of
from .result import FitError, FitResult, FitWarning, _as_finite, _as_positive

#: The objectives a fit can minimise.
OBJECTIVES = ("lsq", "huber_log")


def _lsq(prob: _Problem, inputs: dict[str, np.ndarray], box=None, extra_notes=(), identified=True) -> FitResult:
    box = box or prob.box
    exps, coef, f, edge = _solve_vp(prob, box)
    law = prob.spec.law_from(exps, coef)
    pred = prob.spec.predict(law, inputs)
    active = _active(prob.spec.linear, coef)
    theta = np.concatenate([coef, exps])
    if identified:
        identified = _identified(prob, theta)
    notes = tuple(extra_notes) + _floor_notes(prob.name, float(coef[0]), prob.y)
    return _finish(prob.name, law, "lsq", inputs, prob.y, pred, box, edge, active, identified, notes, f)


def _dispatch(name: str, prob: _Problem, inputs, objective: str, delta: float, box, notes=(), identified=True):
    """Fit ``prob`` with the named objective (:data:`OBJECTIVES`)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be 'lsq' or 'huber_log', got {objective!r}")
    if objective == "lsq":
        return _lsq(prob, inputs, box, notes, identified)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        lsq = _lsq(prob, inputs, box, notes, identified)
    return _huber_log(prob, inputs, lsq, delta, prob.spec.default_starts())


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


def _huber_descent(
    terms: tuple[Term, ...], logy: np.ndarray, delta: float, z0: np.ndarray, w: np.ndarray | None = None
):
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
    from scipy import optimize  # only the Huber objective needs scipy: imported here, on first use

    res = optimize.minimize(fun, z0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 5000})
    if res.fun <= f0:
        return res.x, float(res.fun)
    return z0.copy(), float(f0)


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
    spec = spec_of(law)
    kind = spec.kind
    missing = [k for k in spec.inputs if k not in inputs]
    if missing:
        raise FitError(f"the {kind} law needs the input(s) {', '.join(missing)}; got {sorted(inputs)}")
    xs = {k: (_as_finite if k == "L" else _as_positive)(inputs[k], k) for k in spec.inputs}
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
    n_lin = 1 + len(spec.linear)
    if np.any(theta[1:n_lin] < 0) or not np.all(np.isfinite(theta)):
        raise FitError(f"a warm start needs finite parameters and non-negative scale coefficients; got {law.params}")
    prob = problem(kind, xs, y)
    z0 = theta.copy()
    z0[1:n_lin] = np.log(np.maximum(theta[1:n_lin], 1e-12))
    z, value = _huber_descent(prob.terms, np.log(y), delta, z0, w)
    with np.errstate(all="ignore"):
        pred = spec.predict(law, xs)
        h = huber(np.log(pred) - np.log(y), delta)
        start = float(np.sum(h if w is None else w * h)) if np.all(pred > 0) else np.inf
    if value > start:
        return law, start
    theta = z.copy()
    theta[1:n_lin] = np.exp(z[1:n_lin])
    return spec.law_from(theta[n_lin:], theta[:n_lin]), value


def refine_huber_log_batch(law: Law, inputs: dict, Y, delta: float = 1e-3, weights=None) -> dict[str, np.ndarray]:
    r"""Minimise the Approach-3 objective of a batch of data sets from the same start ``law``, all at once.

    Row b of ``Y`` (B, n) holds the observations of data set b and row b of
    ``weights`` (B, n; default all 1) its weights, e.g. bootstrap replicates
    warm-started from the point estimate. Replicate b minimises
    :math:`\sum_i w_{bi} \mathrm{Huber}_\delta(\ln f(x_i; \theta) - \ln Y_{bi})` (the
    objective of :func:`refine_huber_log`, same parametrisation) by a damped Newton
    method with the exact Hessian, vectorised over the batch with the same
    convergence test for every replicate (:func:`scalinglib.fit.huberbatch._huber_newton`);
    tests/test_uncertainty.py checks it against :func:`refine_huber_log` replicate by
    replicate. Returns parameter name -> array (B,).
    """
    from .huberbatch import _huber_newton

    spec = spec_of(law)
    kind = spec.kind
    missing = [k for k in spec.inputs if k not in inputs]
    if missing:
        raise FitError(f"the {kind} law needs the input(s) {', '.join(missing)}; got {sorted(inputs)}")
    xs = {k: (_as_finite if k == "L" else _as_positive)(inputs[k], k) for k in spec.inputs}
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    n = next(iter(xs.values())).size
    if Y.shape[1] != n or any(a.size != n for a in xs.values()):
        raise FitError(f"inputs and Y of the {kind} law have different lengths: {n} inputs, Y of shape {Y.shape}")
    if not (np.all(np.isfinite(Y)) and np.all(Y > 0)):
        raise FitError("Y must be positive and finite (the objective takes its logarithm)")
    if weights is None:
        W = np.ones_like(Y)
    else:
        W = np.asarray(weights, dtype=float)
        if W.shape != Y.shape:
            raise FitError(f"weights have shape {W.shape}, Y has {Y.shape}")
        if not np.all(np.isfinite(W)) or np.any(W < 0):
            raise FitError("weights must be finite and non-negative")
    theta = np.array(list(law.params.values()), dtype=float)
    n_lin = 1 + len(spec.linear)
    if np.any(theta[1:n_lin] < 0) or not np.all(np.isfinite(theta)):
        raise FitError(f"a warm start needs finite parameters and non-negative scale coefficients; got {law.params}")
    prob = problem(kind, xs, Y[0])
    z0 = theta.copy()
    z0[1:n_lin] = np.log(np.maximum(theta[1:n_lin], 1e-12))
    Z, _ = _huber_newton(prob, np.tile(z0, (Y.shape[0], 1)), W, np.log(Y), delta)
    Z[:, 1:n_lin] = np.exp(Z[:, 1:n_lin])
    return dict(zip(type(law).names, Z.T.copy()))


def _huber_log(
    prob: _Problem, inputs: dict[str, np.ndarray], lsq: FitResult, delta: float, starts: np.ndarray
) -> FitResult:
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
    assert best_z is not None  # order always holds the least-squares start
    theta = best_z.copy()
    theta[1:n_lin] = np.exp(theta[1:n_lin])
    law = prob.spec.law_from(theta[n_lin:], theta[:n_lin])
    pred = prob.spec.predict(law, inputs)
    identified = lsq.identified and _identified(prob, theta)
    notes = _floor_notes(name, float(theta[0]), y)
    for e_name, e in zip(prob.exps, theta[n_lin:]):
        lo, hi, _ = SEARCH_BOXES[name][e_name]
        if not lo <= e <= hi:
            notes += (f"exponent {e_name} = {e:.4g} lies outside the least-squares search box [{lo:g}, {hi:g}]",)
    return _finish(
        name,
        law,
        "huber_log",
        inputs,
        y,
        pred,
        {},
        (),
        (),
        identified,
        notes,
        best_f,
        delta=delta,
    )
