r"""Exact fits of the scaling laws: one variable-projection core for every law.

Every law of the library is linear in all its parameters but its exponents,

.. math:: f(x; c, e) = c_0 + \sum_j c_j\, s_j\, e^{e_{k_j} u_j(x)}, \qquad c_j \ge 0,

and is fitted the same way: for fixed exponents the coefficients are an exact
non-negative least-squares solution, so the exponents alone are searched — on a grid
of a documented box, then refined inside the bracketing cells — and the result is
the global optimum over the box, with the same diagnostics for every law. Reading
order, one idea per module:

- :mod:`~scalinglib.fit.problem` — what a law declares: inputs, exponents, linear
  basis (u_j, s_j), search box (:data:`SEARCH_BOXES`);
- :mod:`~scalinglib.fit.nnls` — the linear step: exact NNLS with a free intercept
  from centred moments, vectorised over exponents or data sets;
- :mod:`~scalinglib.fit.core` — the nonlinear step: grid, refinement, coefficients,
  for one data set (:func:`~scalinglib.fit.core._solve_vp`);
- :mod:`~scalinglib.fit.batch` — the same on a batch of weighted data sets at once
  (:func:`fit_batch`, bootstrap replicates), for every law: one exponent by batched
  golden section, two by batched projected Levenberg-Marquardt;
- :mod:`~scalinglib.fit.refine` — refinement inside a grid cell (lattice and
  derivative interpolation, Levenberg-Marquardt, batched golden section);
- :mod:`~scalinglib.fit.onexp` — the fast kernel of the one-exponent laws (the same
  computation as the generic path, ~0.5 ms per fit);
- :mod:`~scalinglib.fit.bounded` — the sigmoid, whose one column is not a power and
  whose asymptotes are bounded: exact bounded linear step, grid, trust-region refinement;
- :mod:`~scalinglib.fit.objectives` — ``"lsq"`` (raw least squares) and
  ``"huber_log"`` (Chinchilla Approach 3), both on top of the core;
- :mod:`~scalinglib.fit.huberbatch` — the Approach-3 objective refined on a batch
  of weighted data sets at once (vectorised damped Newton, exact Hessian);
- :mod:`~scalinglib.fit.diagnostics` — edge of the box, active constraints,
  identifiability, notes and warnings;
- :mod:`~scalinglib.fit.result` — :class:`FitResult`, :class:`FitError`,
  :class:`FitWarning` and the input checks;
- :mod:`~scalinglib.fit.saved` — a fit and its bootstrap replicates as a versioned,
  checksummed JSON file (:func:`save_fit`, :func:`load_fit`);
- :mod:`~scalinglib.fit.api` — :func:`fit_overtraining`, :func:`fit_chinchilla`,
  :func:`fit_compute`, :func:`fit_error`, :func:`fit_sigmoid`, :func:`fit_law`.
"""

from .api import FITS, fit_chinchilla, fit_compute, fit_error, fit_law, fit_overtraining, fit_sigmoid
from .batch import fit_batch
from .objectives import OBJECTIVES, huber, huber_log_objective, refine_huber_log, refine_huber_log_batch
from .problem import N_PARAMS, SEARCH_BOXES, SPECS, LawSpec
from .result import FitError, FitResult, FitWarning
from .saved import SavedFit, SavedFitError, load_fit, save_fit

__all__ = [
    "FitWarning",
    "FitError",
    "FitResult",
    "SavedFit",
    "SavedFitError",
    "load_fit",
    "save_fit",
    "SEARCH_BOXES",
    "N_PARAMS",
    "SPECS",
    "LawSpec",
    "OBJECTIVES",
    "fit_overtraining",
    "fit_chinchilla",
    "fit_compute",
    "fit_error",
    "fit_sigmoid",
    "fit_law",
    "FITS",
    "fit_batch",
    "huber",
    "huber_log_objective",
    "refine_huber_log",
    "refine_huber_log_batch",
]
