r"""The linear step: exact non-negative least squares with a free intercept, from moments.

For fixed exponents a law is linear in its coefficients, and the best ones solve

.. math:: \min_{c_0,\; c \ge 0} \sum_i w_i \Big(y_i - c_0 - \sum_j c_j F_{ij}\Big)^2 .

Centring y and the columns F by their (weighted) means removes the intercept; with
:math:`yy = y_c' W y_c`, :math:`r_j = F_{cj}' W y_c` and :math:`S_{jk} = F_{cj}' W F_{ck}`
the optimum over :math:`c \ge 0` is, for at most two columns, the best *feasible*
unconstrained solution over the subsets of columns: {} (SSE = yy), {j}
(:math:`c_j = r_j / S_{jj}`) and {1, 2} (:math:`c = S^{-1} r`), each with
:math:`\mathrm{SSE} = yy - c' r` (:func:`_nnls_core`). Everything here is vectorised
over a leading axis of exponents (a grid) or of data sets (bootstrap replicates):

* :func:`_weighted_nnls` — weighted moments of stacked features (..., n, p), one data
  set per leading index (the coefficients of bootstrap replicates);
* :func:`_profile_columns` — the unweighted fast path on columns given separately,
  with the SSE recomputed from the residuals (the exact objective of the returned
  coefficients);
* :func:`_grid_argmin`, :func:`_sse_at` — the weighted moments of many replicates
  (weights, responses (B, n)) on a grid of exponents or at one exponent per replicate,
  SSE only.

All of them solve the NNLS by the one function :func:`_nnls_core`; a single-column
subset's SSE is computed as :math:`yy - r_j^2 / S_{jj}`.
"""

from __future__ import annotations

import numpy as np

#: replicates per chunk of the batched grid scan (bounds memory: chunk x grid x p^2 floats)
_CHUNK = 256

_TINY = 1e-13  # a column whose centred sum of squares is below this (relative) is constant


def _nnls_core(yy, sw, r1, S11, r2=None, S22=None, S12=None, coef: bool = True):
    """Exact NNLS (free intercept) from centred moments, one or two columns.

    With y_c and F_c centred by their (weighted) means, ``yy = y_c' W y_c``,
    ``r_j = F_cj' W y_c`` and ``S_jk = F_cj' W F_ck``, the optimum of
    min_{c >= 0} ||y_c - F_c c||_W^2 is the best feasible unconstrained solution over
    the subsets of columns: {} (SSE = yy), {j}: c_j = r_j / S_jj, and {1, 2}:
    c = S^-1 r, each with SSE = yy - c' r (ties go to the smaller subset).

    Returns (sse, c1, c2) with c2 None for one column; coefficients held at zero by
    the constraint are exactly 0. ``coef=False``: the SSE only (c1 and c2 None), for
    grid scans.
    """
    thr = _TINY * np.maximum(1.0, sw)
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = r1 / S11
        s1 = np.where((S11 > thr) & (a1 >= 0), yy - r1 * r1 / S11, np.inf)
        if r2 is None:
            take = s1 < yy
            return np.maximum(np.where(take, s1, yy), 0.0), (np.where(take, a1, 0.0) if coef else None), None
        a2 = r2 / S22
        s2 = np.where((S22 > thr) & (a2 >= 0), yy - r2 * r2 / S22, np.inf)
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
    if not coef:
        return np.maximum(best, 0.0), None, None
    c1 = np.where(t12, b1, np.where(t1 & ~t2, a1, 0.0))
    c2 = np.where(t12, b2, np.where(t2, a2, 0.0))
    return np.maximum(best, 0.0), c1, c2


def _weighted_nnls(F: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact weighted NNLS with a free intercept, one data set per leading index.

    Solves min_{c0, c >= 0} sum_i w_i (y_i - c0 - sum_j c_j F_ij)^2 for every leading
    index of F (..., n, p), p in {1, 2}, with y and the non-negative weights w
    (..., n) (e.g. bootstrap counts). Returns the coefficients (..., p + 1), intercept
    first.
    """
    # scale each column to max |F| = 1 for conditioning; undone at the end
    scale = np.max(np.abs(F), axis=-2, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    Fs = F / scale
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
    if S.shape[-1] == 1:
        _, c1, _ = _nnls_core(yy, sw, r[..., 0], S[..., 0, 0])
        coef = c1[..., None]
    else:
        _, c1, c2 = _nnls_core(yy, sw, r[..., 0], S[..., 0, 0], r[..., 1], S[..., 1, 1], S[..., 0, 1])
        coef = np.stack([c1, c2], axis=-1)
    intercept = ybar - np.sum(coef * Fbar, axis=-1)
    coef = coef / scale[..., 0, :]
    return np.concatenate([intercept[..., None], coef], axis=-1)


def _profile_columns(
    Fs: list[np.ndarray], scale: list[np.ndarray], y: np.ndarray, resid: bool = False, exact: bool = True
):
    """Unweighted exact NNLS for scaled columns given separately (one data set, many exponents).

    ``Fs`` are the columns, transposed to (n, G) (sums over n then run along
    contiguous rows), divided by ``scale`` (G,). Same solution as :func:`_weighted_nnls`,
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


def _centred_columns(u: np.ndarray, sign: float, e: np.ndarray, yc: np.ndarray):
    """Scaled, centred power columns sign exp(e u) for a vector of exponents e (G,).

    Returns (Fc (G, n), r = Fc yc (G,), Sjj (G,)).
    """
    F = sign * np.exp(e[:, None] * u[None, :])
    scale = np.max(np.abs(F), axis=1)
    Fs = F / scale[:, None]
    Fc = Fs - Fs.mean(axis=1)[:, None]
    return Fc, np.einsum("gn,n->g", Fc, yc), np.einsum("gn,gn->g", Fc, Fc)


def _small_matmul(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    """A @ R for a short inner dimension, as a sum of outer products.

    Avoids BLAS for (k, n) @ (n, m) with small n: multithreaded BLAS on tiny inner
    dimensions is slow on a busy machine, a handful of vector operations is not.
    """
    n = A.shape[1]
    if n > 32:
        return A @ R
    out = A[:, :1] * R[:1]
    for i in range(1, n):
        out += A[:, i : i + 1] * R[i : i + 1]
    return out


def _grid_argmin(F: np.ndarray, W: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Index of the grid point with the smallest weighted NNLS SSE, per replicate.

    F (G, n, p) features on the grid; W, Y (B, n). The weighted moments are matrix
    products with the features, which are centred first by their unweighted means
    and scaled to max |F| = 1 (the intercept is free, so neither changes the fit;
    both help conditioning).
    """
    G, _, p = F.shape
    Fs = F - F.mean(axis=1, keepdims=True)
    scale = np.max(np.abs(Fs), axis=1, keepdims=True)
    Fs = Fs / np.where(scale > 0, scale, 1.0)
    f1 = Fs[..., 0].T  # (n, G)
    if p == 2:
        f2 = Fs[..., 1].T
        R = np.concatenate([f1, f2, f1 * f1, f2 * f2, f1 * f2], axis=1)  # (n, 5G)
    else:
        R = np.concatenate([f1, f1 * f1], axis=1)  # (n, 2G)
    out = np.empty(W.shape[0], dtype=int)
    for s in range(0, W.shape[0], _CHUNK):
        w = W[s : s + _CHUNK]
        y = Y[s : s + _CHUNK]
        y = y - y.mean(axis=1, keepdims=True)
        inv = (1.0 / w.sum(axis=1))[:, None]
        wy = w * y
        my = wy.sum(axis=1)[:, None]
        yy = np.sum(wy * y, axis=1)[:, None] - my * my * inv
        Pw = _small_matmul(w, R)
        Pwy = _small_matmul(wy, R[:, : p * G])  # only the first-order moments are needed here
        m1 = Pw[:, :G]
        r1 = Pwy[:, :G] - m1 * my * inv
        if p == 2:
            m2 = Pw[:, G : 2 * G]
            S11 = Pw[:, 2 * G : 3 * G] - m1 * m1 * inv
            S22 = Pw[:, 3 * G : 4 * G] - m2 * m2 * inv
            S12 = Pw[:, 4 * G :] - m1 * m2 * inv
            r2 = Pwy[:, G : 2 * G] - m2 * my * inv
            sse = _nnls_core(yy, 1.0 / inv, r1, S11, r2, S22, S12, coef=False)[0]
        else:
            S11 = Pw[:, G:] - m1 * m1 * inv
            sse = _nnls_core(yy, 1.0 / inv, r1, S11, coef=False)[0]
        out[s : s + _CHUNK] = np.argmin(sse, axis=1)
    return out


def _sse_at(F: np.ndarray, W: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Weighted NNLS SSE for one exponent per replicate: F (B, n, p), W, Y (B, n) -> (B,).

    The SSE of :func:`_weighted_nnls`, from moments of columns centred by their
    unweighted means (the weighted moments then follow by one subtraction each, as in
    :func:`_grid_argmin`). The golden-section search of :func:`scalinglib.fit.core.fit_batch`
    compares these values until they differ only by rounding, so this arithmetic is
    part of the batch's results; it is kept as it was.
    """
    p = F.shape[-1]
    Fs = F - F.mean(axis=1, keepdims=True)
    scale = np.max(np.abs(Fs), axis=1, keepdims=True)
    Fs = Fs / np.where(scale > 0, scale, 1.0)
    y = Y - Y.mean(axis=1, keepdims=True)
    sw = W.sum(axis=1)
    wy = W * y
    my = wy.sum(axis=1)
    yy = np.sum(wy * y, axis=1) - my * my / sw
    f1 = Fs[..., 0]
    m1 = np.sum(W * f1, axis=1)
    S11 = np.sum(W * f1 * f1, axis=1) - m1 * m1 / sw
    r1 = np.sum(wy * f1, axis=1) - m1 * my / sw
    if p == 1:
        return _nnls_core(yy, sw, r1, S11, coef=False)[0]
    f2 = Fs[..., 1]
    m2 = np.sum(W * f2, axis=1)
    S22 = np.sum(W * f2 * f2, axis=1) - m2 * m2 / sw
    S12 = np.sum(W * f1 * f2, axis=1) - m1 * m2 / sw
    r2 = np.sum(wy * f2, axis=1) - m2 * my / sw
    return _nnls_core(yy, sw, r1, S11, r2, S22, S12, coef=False)[0]
