r"""Which runs to train next: rank candidate runs by how much they narrow a target's forecast.

Given the runs a user already has (N, D, loss), a target run (N_t, D_t) and a FLOP
budget for new runs, the recommender ranks candidate runs (N, D) by the expected
narrowing of the target's prediction interval per FLOP of the candidate, and picks
small sets greedily within the budget.

Method: a linearised (Fisher-information, delta-method) criterion
-------------------------------------------------------------------
The expected width :math:`w(X)` of the target's level-q interval when the law is fitted
to runs at X is computed without any outcome, by the delta method about the current fit
(:mod:`scalinglib.targetwidth`, which states the formula, the error-law option, the
pilot law for runs that do not identify the law, and the simulation check). A candidate
x is scored by the relative narrowing per FLOP,

.. math:: \mathrm{score}(x) = \frac{\ln w(X) - \ln w(X \cup \{x\})}{C_x}, \qquad C_x = 6 N D.

When the current runs do not identify the law (:math:`J_X^\top J_X` singular, e.g. every
run at one M), w(X) is infinite: every candidate that makes the law identifiable has an
infinite score, and they are ranked by the width they reach. A set is chosen greedily:
add the best affordable candidate, update X, re-rank, until the budget or ``max_runs``
is spent or no candidate narrows the interval.

With ``method="simulate"`` the widths are those of bootstrap intervals of refits with
simulated outcomes (:func:`~scalinglib.targetwidth.simulated_width`): a check, not the default.

This module ranks (:func:`rank_candidates`) and chooses sets (:func:`greedy_design`); the
candidates are parsed by :mod:`scalinglib.candidates` and the ``--plot`` figure is
:func:`scalinglib.figures.design_figure`. Every name of those, and of
:mod:`scalinglib.targetwidth`, that the recommender's users need is importable from here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .candidates import candidate_grid, check_candidates, load_candidates, parse_grid
from .fit import FitError, FitResult, FitWarning, fit_overtraining
from .targetwidth import (
    _P,
    DEFAULT_NOISE,
    CurrentFit,
    DesignError,
    _arr,
    current_fit,
    m_groups,
    simulated_width,
    target_width,
)

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


def plot_design(N, D, target: tuple[float, float], design: Design, top: int = 10):
    """Figure of a recommendation (the ``--plot`` of ``scalinglib design``): see
    :func:`scalinglib.figures.design_figure`, which this calls (importing matplotlib)."""
    from .figures import design_figure

    return design_figure(N, D, target, design, top=top)
