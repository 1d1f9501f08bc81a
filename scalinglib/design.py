r"""Which runs to train next: rank candidate runs by how much they narrow a target's forecast.

Given the runs a user already has (N, D, loss), a target run (N_t, D_t) and a FLOP
budget for new runs, the recommender ranks candidate runs (N, D) by the expected
narrowing of the target's prediction interval per FLOP of the candidate, and picks
small sets greedily within the budget.

Method: a linearised (Fisher-information, delta-method) criterion
-------------------------------------------------------------------
Let :math:`f(x; \theta)` be the over-training law
:math:`L(C, M) = E + (a M^{\eta} + b M^{-\eta}) C^{-\eta}`, :math:`\hat\theta` the
current fit and :math:`\sigma` the residual spread of the runs about it. To first order
in the parameters, the least-squares fit on a design X (the runs' (C, M)) has
covariance :math:`\sigma^2 (J_X^\top J_X)^{-1}`, with :math:`J_X` the Jacobian of f at
:math:`\hat\theta` on the runs, so the target's predicted loss has standard deviation

.. math:: s(X) = \sigma \sqrt{g^\top (J_X^\top J_X)^{-1} g}, \qquad g = \nabla_\theta f(x_t; \hat\theta),

and a level-q interval of width :math:`w(X) = 2 z_{(1+q)/2}\, s(X)`. A candidate x adds a
row to J (the information is additive) but no outcome is needed: the expected width
after training it, :math:`w(X \cup \{x\})`, depends only on where it is. Its score is
the relative narrowing per FLOP,

.. math:: \mathrm{score}(x) = \frac{\ln w(X) - \ln w(X \cup \{x\})}{C_x}, \qquad C_x = 6 N D.

When the current runs do not identify the law (:math:`J_X^\top J_X` singular, e.g. every
run at one M), w(X) is infinite: every candidate that makes the law identifiable has an
infinite score, and they are ranked by the width they reach. A set is chosen greedily:
add the best affordable candidate, update X, re-rank, until the budget or ``max_runs``
is spent or no candidate narrows the interval.

With ``error_fit`` (an :class:`~scalinglib.fit.FitResult` of
:math:`\mathrm{Err}(L) = \epsilon - k e^{-\gamma L}`), the width is that of the target's
*error*: :math:`s_{err}^2 = \mathrm{Err}'(\hat L_t)^2 s(X)^2 + s_{law}^2`, where
:math:`s_{law}` is the error law's own delta-method spread at :math:`\hat L_t` (fixed
by its runs, so it bounds how much new loss runs can help).

Why linearised: it is exact for the linear parameters and first-order in eta; it needs
no simulated outcomes, is deterministic, and costs one Jacobian (central differences) and
one small (4 x 4) solve per candidate, about 2 ms, so ranking 100 candidates takes about
0.2 s (``benchmarks/bench_design.py``). Its assumptions
(the current fit is close to the truth, errors are independent with spread sigma) are
checked by the simulation below and, on real runs, by :mod:`scalinglib.designcheck`.

The simulation check (``method="simulate"``)
--------------------------------------------
For each candidate and each of ``n_draws`` draws: draw the candidate's loss from the
current fit plus a normal residual of spread sigma, refit the law on the runs with it
added (:func:`~scalinglib.fit.fit_overtraining`), bootstrap the refit with residuals
(:func:`scalinglib.uncertainty.bootstrap`, ``n_boot`` replicates) and take the width of
the target's percentile interval; the expected width is the mean over draws. Cost:
``n_draws`` x (1 + ``n_boot``) refits per candidate (about 0.1 s per draw with 200
replicates on a busy 2-core machine), so 15 to 30 s for 100 candidates with 2 draws — a
check, not the default.
It needs at least 4 runs with two multipliers before the candidate (a residual
bootstrap needs more points than the law's 4 parameters).

Pilot law. When the runs do not identify the over-training law (fewer than 4 runs or a
single M), the ranking still needs a :math:`\hat\theta`: the compute law
:math:`L = E + \lambda C^{-\eta}` is fitted to the runs at the most common M (at least
3), and a, b are split so that this M is compute-optimal (:math:`a M^{\eta} = b M^{-\eta}
= \lambda / 2`, the Chinchilla assumption the paper starts from). Without residual
degrees of freedom sigma is unknown and set to ``DEFAULT_NOISE`` times the mean loss;
sigma scales every width equally, so it changes the reported widths, not the ranking
(unless ``error_fit`` adds its own spread).
"""

from __future__ import annotations

import csv
import math
import re
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .fit import FitError, FitResult, FitWarning, fit_compute, fit_overtraining
from .laws import ErrorLaw, OvertrainingLaw

__all__ = [
    "DEFAULT_NOISE",
    "CurrentFit",
    "Design",
    "DesignError",
    "Ranking",
    "candidate_grid",
    "check_candidates",
    "current_fit",
    "greedy_design",
    "load_candidates",
    "m_groups",
    "parse_grid",
    "plot_design",
    "rank_candidates",
    "simulated_width",
    "target_width",
]

#: Residual spread assumed, relative to the mean loss, when the runs leave no degrees of freedom.
DEFAULT_NOISE = 0.005

_P = 4  # parameters of the over-training law


class DesignError(ValueError):
    """Bad input to the recommender (candidates, budget, target, runs)."""


@dataclass(frozen=True)
class CurrentFit:
    """The law the ranking linearises about.

    ``source`` is ``"fit"`` (the over-training law fitted to the runs) or ``"pilot"``
    (compute law at one M, that M taken as compute-optimal; see the module docstring);
    ``sigma`` is the residual spread, ``sigma_source`` ``"residuals"`` or ``"default"``.
    """

    law: OvertrainingLaw
    sigma: float
    source: str
    sigma_source: str
    n_runs: int


def _arr(x, name: str) -> np.ndarray:
    a = np.atleast_1d(np.asarray(x, dtype=float))
    if a.ndim != 1:
        raise DesignError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        bad = a[~(np.isfinite(a) & (a > 0))][0]
        raise DesignError(f"{name} must be positive and finite; got {bad!r}")
    return a


def m_groups(M) -> np.ndarray:
    """Group label of each multiplier: multipliers within 2% of their neighbour share a group
    (the OLMo ladder's "M = 20" runs are at 20.01 to 20.03)."""
    logm = np.log(np.asarray(M, dtype=float))
    order = np.argsort(logm)
    labels = np.empty(logm.size, dtype=int)
    labels[order] = np.concatenate([[0], np.cumsum(np.diff(logm[order]) > 0.02)]) if logm.size else []
    return labels


def current_fit(C, M, L, noise: float | None = None) -> CurrentFit:
    """The over-training law fitted to the runs, or the pilot law when they do not identify it.

    ``noise`` (optional) overrides the residual spread sigma (absolute, loss units).
    """
    C, M, L = _arr(C, "C"), _arr(M, "M"), _arr(L, "loss")
    if not (C.size == M.size == L.size):
        raise DesignError("C, M and loss must have the same length")
    groups = m_groups(M)
    law = None
    sse, p = math.nan, _P
    if C.size >= _P and groups.max() >= 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            try:
                res = fit_overtraining(C, M, L)
            except FitError:
                res = None
        if res is not None and res.identified and isinstance(res.law, OvertrainingLaw):
            law, sse, source = res.law, res.sse, "fit"
    if law is None:
        vals, counts = np.unique(groups, return_counts=True)
        at = groups == vals[np.argmax(counts)]
        if at.sum() < 3:
            raise DesignError(
                f"the {C.size} runs neither identify the over-training law (4 runs at two or more M) "
                "nor give 3 runs at one M for a pilot law; add runs"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            cres = fit_compute(C[at], L[at])
        E, lam, eta = (cres.law.params[k] for k in ("E", "lambda", "eta"))
        M0 = float(np.exp(np.mean(np.log(M[at]))))
        law = OvertrainingLaw(E=E, a=lam / 2 * M0 ** (-eta), b=lam / 2 * M0**eta, eta=eta)
        sse, p, source = cres.sse, 3, "pilot"
        C, L = C[at], L[at]
    if noise is not None:
        if not noise > 0:
            raise DesignError(f"noise must be positive, got {noise!r}")
        sigma, how = float(noise), "given"
    elif C.size > p and sse > 0:
        sigma, how = float(np.sqrt(sse / (C.size - p))), "residuals"
    else:
        sigma, how = DEFAULT_NOISE * float(np.mean(L)), "default"
    return CurrentFit(law=law, sigma=sigma, source=source, sigma_source=how, n_runs=int(C.size))


# ----------------------------------------------------------------------------- linearised width


def _jacobian(law, *inputs: np.ndarray) -> np.ndarray:
    """d f / d theta at the law's parameters, (n, p), by central differences."""
    cls = type(law)
    p0 = np.array([law.params[k] for k in cls.names], dtype=float)
    cols = []
    for j in range(p0.size):
        h = 1e-6 * max(abs(p0[j]), 1e-6)
        up, dn = p0.copy(), p0.copy()
        up[j] += h
        dn[j] -= h
        cols.append((np.asarray(cls(*up).predict(*inputs)) - np.asarray(cls(*dn).predict(*inputs))) / (2 * h))
    return np.column_stack(cols)


def _variance_factor(J: np.ndarray, g: np.ndarray) -> float:
    """g^T (J^T J)^-1 g (scaled columns; infinite when J^T J is singular)."""
    if J.shape[0] < J.shape[1]:
        return math.inf
    scale = np.linalg.norm(J, axis=0)
    if np.any(scale == 0):
        return math.inf
    Js, gs = J / scale, g / scale
    s = np.linalg.svd(Js, compute_uv=False)
    if s[-1] < 1e-10 * s[0]:
        return math.inf
    z = np.linalg.lstsq(Js.T @ Js, gs, rcond=None)[0]
    return float(gs @ z)


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise DesignError(f"level must be in (0, 1), got {level!r}")
    return statistics.NormalDist().inv_cdf((1 + level) / 2)


def _error_spread(error_fit: FitResult, L_t: float) -> tuple[float, float]:
    """(Err'(L_t), delta-method sd of the error law at L_t from its own runs)."""
    law = error_fit.law
    if not isinstance(law, ErrorLaw):
        raise DesignError(f"error_fit must be a fit of the error law, got {type(law).__name__}")
    L = np.asarray(error_fit.inputs["L"], dtype=float)
    n = L.size
    sigma = math.sqrt(error_fit.sse / (n - 3)) if n > 3 else 0.0
    J = _jacobian(law, L)
    g = _jacobian(law, np.array([L_t]))[0]
    v = _variance_factor(J, g)
    slope = float(law.k * law.gamma * math.exp(-law.gamma * L_t))
    return slope, sigma * math.sqrt(v) if math.isfinite(v) else math.inf


def target_width(
    fit: CurrentFit, C, M, C_t: float, M_t: float, level: float = 0.9, error_fit: FitResult | None = None
) -> float:
    r"""Linearised width of the target's level interval for runs at (C, M): :math:`2 z\, s(X)`.

    In loss units, or in error units with ``error_fit`` (see the module docstring).
    Infinite when the runs do not identify the law.
    """
    J = _jacobian(fit.law, np.asarray(C, float), np.asarray(M, float))
    g = _jacobian(fit.law, np.array([C_t]), np.array([M_t]))[0]
    v = _variance_factor(J, g)
    s = fit.sigma * math.sqrt(v) if math.isfinite(v) else math.inf
    if error_fit is not None:
        slope, s_law = _error_spread(error_fit, float(fit.law.predict(C_t, M_t)))
        s = math.sqrt((slope * s) ** 2 + s_law**2)
    return 2 * _z(level) * s


def simulated_width(
    fit: CurrentFit,
    C,
    M,
    L,
    C_c: float,
    M_c: float,
    C_t: float,
    M_t: float,
    level: float = 0.9,
    n_draws: int = 2,
    n_boot: int = 200,
    rng: np.random.Generator | None = None,
) -> float:
    """Mean width of the target's bootstrap interval after adding a candidate with a simulated loss.

    See "The simulation check" in the module docstring. Loss units. Infinite when a
    refit is not identified.
    """
    from .uncertainty import bootstrap

    rng = rng if rng is not None else np.random.default_rng(0)
    C2, M2 = np.append(np.asarray(C, float), C_c), np.append(np.asarray(M, float), M_c)
    mean_c = float(fit.law.predict(C_c, M_c))
    widths = []
    for _ in range(n_draws):
        y = np.append(np.asarray(L, float), mean_c + fit.sigma * rng.standard_normal())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            try:
                res = fit_overtraining(list(C2), list(M2), list(y))
                boot = bootstrap(res, n_boot, "residual", seed=int(rng.integers(2**31)))
            except FitError:
                return math.inf
        lo, hi = boot.predict_interval(C_t, M_t, level=level)
        widths.append(float(hi[0] - lo[0]))
    return float(np.mean(widths))


# ----------------------------------------------------------------------------- candidates


def check_candidates(N, D, budget: float, source: str = "candidates") -> tuple[np.ndarray, np.ndarray]:
    """Validate candidate runs: positive finite N and D, each within the budget (C = 6ND <= budget)."""
    if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise DesignError(f"budget must be a positive number of FLOPs, got {budget!r}")
    N = np.atleast_1d(np.asarray(N, dtype=float))
    D = np.atleast_1d(np.asarray(D, dtype=float))
    if N.size == 0 or N.size != D.size:
        raise DesignError(f"{source}: need one or more candidates with both N and D")
    for name, x in (("N", N), ("D", D)):
        bad = ~(np.isfinite(x) & (x > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DesignError(
                f"{source}: candidate {i + 1} (data row {i + 1}) has non-positive or non-finite {name} = {x[i]!r}"
            )
    C = 6 * N * D
    if np.any(C > budget):
        i = int(np.argmax(C > budget))
        raise DesignError(
            f"{source}: candidate {i + 1} (data row {i + 1}; N = {N[i]:.4g}, D = {D[i]:.4g}) costs {C[i]:.4g} FLOPs, "
            f"above the budget of {budget:.4g}"
        )
    return N, D


def parse_grid(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``"N1,N2,... x M1,M2,..."`` -> every (N, D = M N) of the product (N may use 1e9 or 150M / 1.3B)."""
    parts = re.split(r"\s*[xX]\s*", text.strip())
    if len(parts) != 2 or not all(parts):
        raise DesignError(f"candidate grid {text!r}: expected 'N1,N2,... x M1,M2,...'")

    def num(tok: str, what: str) -> float:
        t = tok.strip()
        mult = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
        try:
            v = float(t[:-1]) * mult[t[-1]] if t and t[-1] in mult else float(t)
        except ValueError:
            raise DesignError(f"candidate grid: {what} value {t!r} is not a number") from None
        return v

    Ns = [num(t, "N") for t in parts[0].split(",")]
    Ms = [num(t, "M") for t in parts[1].split(",")]
    N = np.repeat(Ns, len(Ms))
    M = np.tile(Ms, len(Ns))
    for name, x in (("N", N), ("M", M)):
        if np.any(~np.isfinite(x) | (x <= 0)):
            raise DesignError(
                f"candidate grid: {name} values must be positive, got {x[~np.isfinite(x) | (x <= 0)][0]:g}"
            )
    return N, M * N


def candidate_grid(N: Sequence[float] | np.ndarray, Ms: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (N, D = M N) of the product of sizes ``N`` and multipliers ``Ms``."""
    return parse_grid(",".join(repr(float(n)) for n in N) + " x " + ",".join(repr(float(m)) for m in Ms))


def load_candidates(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Candidates from a CSV with a header: columns ``N`` and ``D``, or ``N`` and ``M`` (D = M N).

    Errors name the file, line and column.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DesignError(f"{path}: cannot read candidates ({exc.strerror})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(h.strip() for h in rows[0]):
        raise DesignError(f"{path}: empty file, expected a header with N and D (or N and M)")
    header = [h.strip() for h in rows[0]]
    if "N" not in header or not ({"D", "M"} & set(header)):
        raise DesignError(f"{path}: header {header} needs columns N and D (or N and M)")
    second = "D" if "D" in header else "M"
    iN, i2 = header.index("N"), header.index(second)
    N, X = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        vals = []
        for col, i in (("N", iN), (second, i2)):
            if i >= len(row):
                raise DesignError(f"{path}, line {line}: column {col} is missing ({len(row)} fields)")
            try:
                v = float(row[i])
            except ValueError:
                raise DesignError(f"{path}, line {line}: column {col} value {row[i]!r} is not a number") from None
            if not (math.isfinite(v) and v > 0):
                raise DesignError(f"{path}, line {line}: column {col} value {row[i]!r} must be positive")
            vals.append(v)
        N.append(vals[0])
        X.append(vals[1])
    if not N:
        raise DesignError(f"{path}: no candidate rows")
    Na, Xa = np.array(N), np.array(X)
    return Na, (Xa * Na if second == "M" else Xa)


# ----------------------------------------------------------------------------- ranking


@dataclass(frozen=True, eq=False)
class Ranking:
    """Candidates ranked for one target.

    ``table``: one row per candidate, best first, with ``N``, ``D``, ``M``, ``C``,
    ``width_after`` (expected interval width with the candidate added), ``narrowing``
    (ln of width now over width after), ``score`` (narrowing per 1e18 FLOPs) and
    ``rank`` (1 = best). ``width_now`` is the width with the current runs (inf when
    they do not identify the law).
    """

    table: pd.DataFrame
    width_now: float
    fit: CurrentFit
    method: str
    level: float
    target: tuple[float, float]
    units: str
    criterion: str = "per_flop"


def rank_candidates(
    N,
    D,
    L,
    target: tuple[float, float],
    cand_N,
    cand_D,
    budget: float,
    *,
    method: str = "linear",
    level: float = 0.9,
    error_fit: FitResult | None = None,
    noise: float | None = None,
    seed: int | None = 0,
    n_draws: int = 2,
    n_boot: int = 200,
    criterion: str = "per_flop",
) -> Ranking:
    """Rank candidate runs by expected narrowing of the target's interval per FLOP.

    Parameters
    ----------
    N, D, L
        The existing runs: parameters, tokens, loss.
    target
        (N_t, D_t) of the run to forecast.
    cand_N, cand_D
        Candidate runs; each must cost C = 6ND <= ``budget``.
    method
        ``"linear"`` (default, deterministic) or ``"simulate"`` (seeded by ``seed``).
    error_fit
        Optional fit of the error law: rank by the interval of the target's error.
    criterion
        ``"per_flop"`` (default): score = narrowing per 1e18 FLOPs; ``"per_run"``:
        score = narrowing (the most informative affordable run, whatever it costs).
    """
    if criterion not in ("per_flop", "per_run"):
        raise DesignError(f"criterion must be 'per_flop' or 'per_run', got {criterion!r}")
    N, D, L = _arr(N, "N"), _arr(D, "D"), _arr(L, "loss")
    if not (N.size == D.size == L.size):
        raise DesignError("N, D and loss must have the same length")
    Nt, Dt = (float(v) for v in _arr(target, "target"))
    if method not in ("linear", "simulate"):
        raise DesignError(f"method must be 'linear' or 'simulate', got {method!r}")
    cN, cD = check_candidates(cand_N, cand_D, budget)
    C, M = 6 * N * D, D / N
    Ct, Mt = 6 * Nt * Dt, Dt / Nt
    cC, cM = 6 * cN * cD, cD / cN
    fit = current_fit(C, M, L, noise)
    if method == "simulate" and error_fit is not None:
        raise DesignError("method='simulate' ranks by the loss interval; use method='linear' with error_fit")
    if method == "linear":
        now = target_width(fit, C, M, Ct, Mt, level, error_fit)
        after = np.array(
            [target_width(fit, np.append(C, c), np.append(M, m), Ct, Mt, level, error_fit) for c, m in zip(cC, cM)]
        )
    else:
        if fit.source != "fit" or C.size < _P:
            raise DesignError(
                "method='simulate' needs runs that identify the over-training law (4 or more, at two M or more)"
            )
        rng = np.random.default_rng(seed)
        from .uncertainty import bootstrap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            try:
                b0 = bootstrap(fit_overtraining(C, M, L), n_boot, "residual", seed=seed)
                lo, hi = b0.predict_interval(Ct, Mt, level=level)
                now = float(hi[0] - lo[0])
            except FitError:
                now = math.inf
        after = np.array(
            [simulated_width(fit, C, M, L, c, m, Ct, Mt, level, n_draws, n_boot, rng) for c, m in zip(cC, cM)]
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        narrowing = (
            np.where(np.isfinite(after), np.log(now) - np.log(after), -np.inf)
            if math.isfinite(now)
            else np.where(np.isfinite(after), np.inf, -np.inf)
        )
    score = narrowing / (cC / 1e18) if criterion == "per_flop" else narrowing
    table = pd.DataFrame(
        {"N": cN, "D": cD, "M": cM, "C": cC, "width_after": after, "narrowing": narrowing, "score": score}
    )
    order = np.lexsort((cC, after, -score))  # score desc, then width asc, then cost asc
    table = table.iloc[order].reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    units = "error" if error_fit is not None else "loss"
    return Ranking(
        table=table,
        width_now=float(now),
        fit=fit,
        method=method,
        level=level,
        target=(Nt, Dt),
        units=units,
        criterion=criterion,
    )


@dataclass(frozen=True, eq=False)
class Design:
    """A greedy set of new runs: ``picks`` (in order, with ``cumulative_C`` and
    ``width_after``), the ``budget``, ``width_now`` and the first step's :class:`Ranking`."""

    picks: pd.DataFrame
    budget: float
    width_now: float
    first: Ranking

    @property
    def spent(self) -> float:
        return float(self.picks["C"].sum()) if len(self.picks) else 0.0


def greedy_design(
    N,
    D,
    L,
    target: tuple[float, float],
    cand_N,
    cand_D,
    budget: float,
    *,
    max_runs: int = 5,
    level: float = 0.9,
    error_fit: FitResult | None = None,
    noise: float | None = None,
    criterion: str = "per_flop",
) -> Design:
    """Choose up to ``max_runs`` candidates greedily (linearised criterion) with total C <= ``budget``.

    Step k ranks the candidates still affordable (not yet chosen; a duplicate of a
    chosen or existing run is allowed, it is a replicate) given the existing runs plus
    the k - 1 chosen ones, about the law fitted to the existing runs (no outcome is
    simulated: the linearised width needs none). Stops when nothing affordable narrows
    the interval.
    """
    if max_runs < 1:
        raise DesignError(f"max_runs must be at least 1, got {max_runs!r}")
    first = rank_candidates(
        N, D, L, target, cand_N, cand_D, budget, level=level, error_fit=error_fit, noise=noise, criterion=criterion
    )
    fit = first.fit
    Nt, Dt = first.target
    Ct, Mt = 6 * Nt * Dt, Dt / Nt
    C = list(6 * np.asarray(N, float) * np.asarray(D, float))
    M = list(np.asarray(D, float) / np.asarray(N, float))
    pool = first.table[["N", "D", "M", "C"]].to_numpy()
    chosen = np.zeros(len(pool), dtype=bool)
    now, left, rows = first.width_now, float(budget), []
    for _ in range(max_runs):
        best = None
        for i, (n, d, m, c) in enumerate(pool):
            if chosen[i] or c > left:
                continue
            w = target_width(fit, np.append(C, c), np.append(M, m), Ct, Mt, level, error_fit)
            if not math.isfinite(w):
                continue
            gain = math.inf if not math.isfinite(now) else math.log(now) - math.log(w)
            per = c if criterion == "per_flop" else 1.0
            key = (gain / per if math.isfinite(gain) else math.inf, -w, -c)
            if gain > 1e-9 and (best is None or key > best[0]):
                best = (key, i, w)
        if best is None:
            break
        _, i, w = best
        chosen[i] = True
        n, d, m, c = pool[i]
        C.append(c)
        M.append(m)
        left -= c
        rows.append(
            {
                "N": n,
                "D": d,
                "M": m,
                "C": c,
                "width_after": w,
                "narrowing": math.log(now / w) if math.isfinite(now) else math.inf,
            }
        )
        now = w
    picks = pd.DataFrame(rows, columns=["N", "D", "M", "C", "width_after", "narrowing"])
    picks["cumulative_C"] = picks["C"].cumsum()
    return Design(picks=picks, budget=float(budget), width_now=first.width_now, first=first)


# ----------------------------------------------------------------------------- figure


def plot_design(N, D, target: tuple[float, float], design: Design, top: int = 10):
    """Figure of a recommendation: left, the runs, the candidates (best ``top`` ranked by number)
    and the target in the (C, M) plane; right, the expected interval width against the
    FLOPs spent on the greedy set. Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    from .plotting import log_axes, style

    N, D = np.asarray(N, float), np.asarray(D, float)
    rk = design.first
    t = rk.table
    with style():
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        ax.scatter(t["C"], t["M"], s=18, color="0.75", label="candidates")
        best = t.head(top)
        ax.scatter(best["C"], best["M"], s=30, color="C0", label=f"best {len(best)} (by rank)")
        for _, r in best.iterrows():
            ax.annotate(
                str(int(r["rank"])), (r["C"], r["M"]), xytext=(3, 3), textcoords="offset points", fontsize=8, color="C0"
            )
        ax.scatter(6 * N * D, D / N, marker="x", color="k", label="your runs")
        Nt, Dt = target
        ax.scatter([6 * Nt * Dt], [Dt / Nt], marker="*", s=150, color="C3", label="target")
        log_axes(ax, "training FLOPs C", "tokens per parameter M")
        ax.legend(fontsize=8, loc="best")
        ax.set_title(f"ranking ({rk.criterion.replace('_', ' ')}, {rk.method})")
        p = design.picks
        if len(p):
            x = np.concatenate([[0.0], p["cumulative_C"].to_numpy()])
            w = np.concatenate([[design.width_now], p["width_after"].to_numpy()])
            ok = np.isfinite(w)
            bx.plot(x[ok][x[ok] > 0], w[ok][x[ok] > 0], "o-", color="C0")
            if ok[0]:
                bx.axhline(w[0], color="0.5", ls="--", label="with your runs only")
                bx.legend(fontsize=8)
        log_axes(bx, "FLOPs spent on new runs", f"expected {100 * rk.level:g}% interval width ({rk.units})")
        bx.set_title("greedy set within the budget")
        fig.tight_layout()
    return fig
