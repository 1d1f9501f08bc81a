r"""Diagnostics of a fit, computed in one place for every law and objective.

* **edge of the box** — an exponent within one grid cell of the box's edge
  (:func:`_edge_mask`): the optimum may lie outside, widen the box;
* **active constraints** — a coefficient :math:`c_j \ge 0` held at exactly zero by
  its constraint (:func:`_active`);
* **identifiability** — the free parameters must have a full-rank Jacobian
  :math:`\partial f / \partial \theta` at the optimum: the smallest singular value of
  the column-normalised Jacobian above :data:`RANK_TOLERANCE` times the largest
  (:func:`_identified`); a coefficient held at zero is not free, and an exponent all
  of whose coefficients are zero is not identified;
* **floor** — a loss law's irreducible loss E above the smallest observed loss.

:func:`_finish` turns them into notes, raises each as a :class:`FitWarning` and
assembles the :class:`FitResult`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .problem import _columns, _Problem
from .result import FitResult, FitWarning


def _edge_mask(x: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Whether each exponent in x lies within one grid cell of the ends of the grid ``axis``."""
    return (x <= axis[0] + (axis[1] - axis[0])) | (x >= axis[-1] - (axis[-1] - axis[-2]))


def _edge(names, x, axes) -> tuple[str, ...]:
    """Exponents within one grid cell of the box's edge."""
    return tuple(e for e, xi, a in zip(names, x, axes) if _edge_mask(xi, a))


def _active(names: Sequence[str], coef: np.ndarray) -> tuple[str, ...]:
    """Names of the coefficients held at zero by their constraint (coef: intercept first)."""
    return tuple(n for n, c in zip(names, coef[1:]) if c == 0.0)


_LOSS_LAWS = ("overtraining", "compute", "chinchilla")


def _floor_notes(name: str, E: float, y: np.ndarray) -> tuple[str, ...]:
    """A note when a loss law's irreducible loss E lies above the smallest observed loss."""
    if name in _LOSS_LAWS and E > float(np.min(y)):
        return (
            (
                f"E = {E:.4g} is above the smallest observed loss ({float(np.min(y)):.4g}): the law cannot "
                "reach that run's loss; treat E and extrapolations with suspicion"
            ),
        )
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
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        J = _jacobian(prob, np.asarray(theta, dtype=float))
    if not np.all(np.isfinite(J)):
        # Inputs so extreme that the derivatives overflow: nothing can be identified there
        # (and the SVD below would not converge).
        return False
    if len(drop):
        J = np.delete(J, list(drop), axis=1)
    J = J / np.maximum(np.linalg.norm(J, axis=0), 1e-300)
    s = np.linalg.svd(J, compute_uv=False)
    return bool(s.size and s[-1] > RANK_TOLERANCE * s[0] and J.shape[0] >= J.shape[1])


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
