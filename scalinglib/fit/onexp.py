r"""The fast kernel of the one-exponent laws (over-training, compute, error).

The same computation as :func:`scalinglib.fit.nnls._profile_columns` at exponents
:math:`\eta \ge 0` for columns of one sign, arranged for speed: a fit on a few dozen
points costs the number of array operations, not the arithmetic, so the kernel
sets the data up once per fit (:meth:`_OneExponent.of`) and then evaluates the
profile :math:`\mathrm{SSE}(\eta) = \min_{c_0, c \ge 0} \|y - c_0 - F(\eta) c\|^2` (and
its derivative, by the envelope theorem) on a whole batch of exponents with a fixed
handful of operations. tests/test_fit.py checks that the core's generic path
(:func:`scalinglib.fit.core._solve_vp_generic`) finds the same optimum on the same
problems; the generic path covers what the kernel does not (two exponents, boxes
reaching below zero, columns of mixed sign).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .nnls import _TINY
from .problem import _Problem


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
    def of(cls, prob: _Problem) -> _OneExponent:
        U = np.array([u for _, u, _ in prob.terms])
        umax = U.max(axis=1)
        y = prob.y
        ybar = float(np.add.reduce(y)) / y.size
        yc = y - ybar
        signs = [s for _, _, s in prob.terms]  # all of one sign (see _solve_vp)
        return cls(
            U,
            U - umax[:, None],
            umax,
            np.array(signs),
            yc,
            ybar,
            float(yc @ yc),
            _TINY * max(1.0, float(y.size)),
            signs[0] < 0,
        )

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
            coef = np.concatenate(
                [(self.ybar - np.einsum("pb,pb->b", cs, Fm))[None, :], c * np.exp(self.umax[:, None] * -e)]
            ).T
        if not grad:
            return sse, coef
        dfit = np.einsum("pb,pnb->nb", cs, Fc * self.V[:, :, None]) + self.V.T @ (cs * Fm)
        return sse, coef, -2.0 * np.einsum("nb,nb->b", res, dfit)
