r"""The Approach-3 (Huber-on-log) objective refined on a batch of weighted data sets at once.

Replicate b minimises

.. math:: \Phi_b(z) = \sum_i W_{bi}\, \mathrm{Huber}_\delta\big(\ln f(x_i; z) - \ln Y_{bi}\big),
    \qquad f = z_0 + \textstyle\sum_j e^{z_j} F_{ij}(e),

with z = (intercept, log of the non-negative coefficients, exponents e), the
parametrisation of :func:`~scalinglib.fit.refine_huber_log`. All replicates descend
together by a damped Newton method with the exact Hessian (:func:`_huber_newton`):

.. math:: \nabla \Phi = \sum_i W_i\, \psi_i \frac{\nabla f_i}{f_i}, \qquad
    \nabla^2 \Phi = \sum_i W_i \Big[(\psi'_i - \psi_i) \frac{\nabla f_i \nabla f_i'}{f_i^2}
    + \psi_i \frac{\nabla^2 f_i}{f_i}\Big],

:math:`\psi = \mathrm{clip}(r, -\delta, \delta)` and :math:`\psi' = [|r| \le \delta]`. The
derivatives of f come from the law's problem (:meth:`~scalinglib.fit.problem._Problem.jet`
and :meth:`~scalinglib.fit.problem._Problem.d2features`), so any law declared on the
core (power columns, or two nonlinear parameters of another form) runs here.
"""

from __future__ import annotations

import numpy as np

from .problem import _Problem

#: Newton iterations of a batch at most
_MAX_ITER = 200
#: a replicate stops when the decrease its quadratic model promises is below this, relative to its value,
_GAIN_TOL = 1e-15
#: or its step is below this (relative), or its damping exceeds _MU_MAX
_STEP_TOL = 1e-12
_MU_MAX = 1e12


def _huber_eval(prob: _Problem, Z: np.ndarray, W: np.ndarray, logY: np.ndarray, delta: float, order: int = 2):
    """Objective (B,) and, for ``order=2``, gradient (B, P) and Hessian (B, P, P) at Z (B, P).

    A replicate with a non-positive or non-finite prediction has the value inf.
    """
    with np.errstate(all="ignore"):  # a replicate gone non-finite is marked bad
        return _huber_eval_raw(prob, Z, W, logY, delta, order)


def _huber_eval_raw(prob, Z, W, logY, delta, order):
    q = len(prob.exps)
    p = Z.shape[1] - 1 - q
    e = Z[:, 1 + p :]
    F, dF = prob.jet(e)  # (B, n, p), (B, n, p, q)
    with np.errstate(all="ignore"):
        c = np.exp(Z[:, 1 : 1 + p])
        cF = [c[:, j, None] * F[:, :, j] for j in range(p)]
        f = Z[:, :1] + sum(cF)
        bad = ~np.all(np.isfinite(f) & (f > 0), axis=1)
        r = np.log(np.where(f > 0, f, 1.0)) - logY
    a = np.abs(r)
    with np.errstate(all="ignore"):
        h = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
        value = np.where(bad, np.inf, np.sum(W * h, axis=1))
    if order < 2:
        return value
    # first derivatives of f: intercept, log-coefficients, exponents
    cdF = [[c[:, j, None] * dF[:, :, j, k] for k in range(q)] for j in range(p)]
    Df = [np.ones_like(f)] + cF + [sum(cdF[j][k] for j in range(p)) for k in range(q)]
    with np.errstate(all="ignore"):
        inv = 1.0 / f
        psi = np.clip(r, -delta, delta)
        w1 = W * psi * inv  # gradient weights; psi / f times the second derivatives of f
        w2 = W * ((a <= delta) - psi) * inv * inv  # (psi' - psi) / f^2 times the outer products
    with np.errstate(all="ignore"):  # a replicate gone non-finite is marked bad below
        g, H = _derivatives(prob, Z, e, c, cF, cdF, Df, w1, w2)
    bad |= ~np.all(np.isfinite(g), axis=1) | ~np.all(np.isfinite(H), axis=(1, 2))
    return value, np.where(bad[:, None], 0.0, g), np.where(bad[:, None, None], 0.0, H)


def _derivatives(prob, Z, e, c, cF, cdF, Df, w1, w2):
    """Gradient (B, P) and Hessian (B, P, P) of the objective from the derivatives of f (see the module)."""
    p, q, P = len(cF), e.shape[1], len(Df)
    g = np.stack([np.sum(w1 * d, axis=1) for d in Df], axis=1)
    H = np.empty(Z.shape + (P,))
    for i in range(P):
        wd = w2 * Df[i]
        for k in range(i, P):
            H[:, i, k] = np.sum(wd * Df[k], axis=1)
    # second derivatives of f (the intercept's vanish)
    d2 = prob.d2features(e) if q else None
    for j in range(p):
        H[:, 1 + j, 1 + j] += np.sum(w1 * cF[j], axis=1)
        for k in range(q):
            H[:, 1 + j, 1 + p + k] += np.sum(w1 * cdF[j][k], axis=1)
    for k in range(q):
        assert d2 is not None  # q > 0 here
        for l in range(k, q):
            H[:, 1 + p + k, 1 + p + l] += np.sum(w1 * sum(c[:, j, None] * d2[:, :, j, k, l] for j in range(p)), axis=1)
    iu = np.triu_indices(P, 1)
    H[:, iu[1], iu[0]] = H[:, iu[0], iu[1]]
    return g, H


def _huber_newton(prob: _Problem, Z0: np.ndarray, W: np.ndarray, logY: np.ndarray, delta: float):
    r"""Damped Newton descent of every replicate's Approach-3 objective from Z0 (B, P), all together.

    Step :math:`(H + \mu D)\, d = -g` with the exact Hessian H and D the absolute
    diagonal of H (at least 1e-12 of its largest entry); a step that is not a descent
    direction, or does not lower the replicate's objective, is refused and
    :math:`\mu \to 8 \mu`, an accepted one gives :math:`\mu \to \mu / 4`. Every
    replicate stops by the same test: the decrease its quadratic model promises is
    below ``_GAIN_TOL`` of its objective, or its step below ``_STEP_TOL``
    (relative), or :math:`\mu > 10^{12}`; stopped replicates leave the batch. Never
    worse than Z0. Returns (Z (B, P), objective (B,)).
    """
    Z = np.array(Z0, dtype=float)
    B, P = Z.shape
    value = np.empty(B)
    idx = np.arange(B)
    za, Wa, La = Z.copy(), W, logY
    fa, ga, Ha = _huber_eval(prob, za, Wa, La, delta)
    mu = np.full(B, 1e-6)
    for _ in range(_MAX_ITER):
        dg = np.abs(np.einsum("bii->bi", Ha))
        D = np.maximum(dg, 1e-12 * np.max(dg, axis=1, keepdims=True) + 1e-300)
        A = Ha + mu[:, None, None] * (np.eye(P)[None] * D[:, None, :])
        with np.errstate(all="ignore"):
            try:
                d = np.linalg.solve(A, -ga[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:  # a singular system: solve one by one, refusing the singular ones
                d = np.zeros_like(ga)
                for b in range(A.shape[0]):
                    try:
                        d[b] = np.linalg.solve(A[b], -ga[b])
                    except np.linalg.LinAlgError:
                        pass
        slope = np.sum(ga * d, axis=1)
        gain = -slope - 0.5 * np.einsum("bi,bij,bj->b", d, Ha, d)
        ok = np.isfinite(slope) & (slope < 0)
        d = np.where(ok[:, None], d, 0.0)
        zn = za + d
        converged = ok & (
            (gain <= _GAIN_TOL * np.abs(fa)) | np.all(np.abs(d) <= _STEP_TOL * (1.0 + np.abs(za)), axis=1)
        )
        fn, gn, Hn = _huber_eval(prob, zn, Wa, La, delta)
        better = ok & (fn < fa)
        za = np.where(better[:, None], zn, za)
        fa = np.where(better, fn, fa)
        ga = np.where(better[:, None], gn, ga)
        Ha = np.where(better[:, None, None], Hn, Ha)
        mu = np.where(better, np.maximum(mu / 4.0, 1e-15), mu * 8.0)
        done = converged | (mu > _MU_MAX) | (ga == 0).all(axis=1)
        if done.any():
            Z[idx[done]], value[idx[done]] = za[done], fa[done]
            keep = ~done
            idx, za, fa, ga, Ha, mu = idx[keep], za[keep], fa[keep], ga[keep], Ha[keep], mu[keep]
            Wa, La = Wa[keep], La[keep]
            if idx.size == 0:
                break
    Z[idx], value[idx] = za, fa
    return Z, value
