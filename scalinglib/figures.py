"""Ready-made figures of fits, forecasts, plans and recommendations (book style, :mod:`scalinglib.plotting`).

These are the figures a user would otherwise draw by hand after ``scalinglib fit``,
``predict``, ``plan`` and ``design`` (their ``--plot FILE`` option calls them):

* :func:`fit_figure`: the runs and the fitted law, loss against compute with one curve
  per token multiplier M (error against loss for the error law), the fitted region shaded;
* :func:`forecast_figure`: the same with the targets and their intervals, and a second
  panel for the error chained through the error law;
* :func:`plan_figure`: the iso-loss curve of the target in the (N, D) plane, the chosen
  N and D, the fitted runs and their range of M;
* :func:`design_figure`: a recommendation of ``scalinglib design`` (:mod:`scalinglib.design`),
  the ranked candidates in the (C, M) plane and the interval width against the FLOPs spent.

Each returns a :class:`matplotlib.figure.Figure`; importing this module imports matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

from . import plotting as pl
from .fit import FitResult
from .fit.problem import spec_of
from .forecast import run_sizes

if TYPE_CHECKING:
    from .design import Design
    from .forecast import Forecast
    from .planning import Plan

__all__ = ["design_figure", "fit_figure", "forecast_figure", "plan_figure"]

#: At most this many M curves are drawn (spread over the range of M).
MAX_CURVES = 8
#: Targets drawn with interval bars; beyond this number they are drawn as points only.
MAX_BARS = 40

_SHADE: dict[str, Any] = {"color": "0.85", "alpha": 0.5, "lw": 0, "zorder": 0}


def _curve_ms(M: np.ndarray, extra=None) -> np.ndarray:
    """Token multipliers to draw a curve at (3 significant figures): those of ``extra`` (the
    targets, up to 3) and distinct fitted ones, at most MAX_CURVES in all, spread over the range."""
    ex = np.unique([float(f"{m:.3g}") for m in np.atleast_1d(extra)]) if extra is not None else np.array([])
    if ex.size > 3:
        ex = ex[np.unique(np.round(np.linspace(0, ex.size - 1, 3)).astype(int))]
    ms = np.setdiff1d(np.unique([float(f"{m:.3g}") for m in M]), ex)
    room = max(MAX_CURVES - ex.size, 2)
    if ms.size > room:
        ms = ms[np.unique(np.round(np.linspace(0, ms.size - 1, room)).astype(int))]
    return np.union1d(ms, ex)


def _plain_y(ax) -> None:
    """Plain numbers on a log y axis (2.5, 3, 4 rather than 3 x 10^0)."""
    import matplotlib.ticker as mt

    lo, hi = ax.get_ylim()
    narrow = hi / lo < 10  # less than a decade: label every minor tick (3, 4, 5, 6)
    ax.yaxis.set_major_formatter(mt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(mt.FuncFormatter(lambda v, _: f"{v:g}" if narrow or f"{v:g}"[0] in "25" else ""))


def _loss_at(law: Any, C: np.ndarray, M: float) -> np.ndarray:
    """The loss law along compute C at token multiplier M (any loss law)."""
    kind = spec_of(law).kind
    if kind == "overtraining":
        return law.predict(C, np.full_like(C, M))
    if kind == "chinchilla":
        return law.predict(np.sqrt(C / (6.0 * M)), np.sqrt(C * M / 6.0))
    return law.predict(C)


def _title(result: FitResult) -> str:
    params = ", ".join(f"{k} = {v:.3g}" for k, v in result.params.items())
    return f"{spec_of(result.law).kind} law, {result.n_points} runs\n{params}"


def _loss_panel(ax, result: FitResult, C_extra=None, M_extra=None) -> None:
    """Runs, curves per M and the shaded fitted range of C on one loss-against-compute panel."""
    s = run_sizes(result)
    C, y = s["C"], result.y
    has_m = np.all(np.isfinite(s["M"]))
    lo = min(C.min(), *(np.atleast_1d(C_extra) if C_extra is not None else [C.min()]))
    hi = max(C.max(), *(np.atleast_1d(C_extra) if C_extra is not None else [C.max()]))
    grid = np.geomspace(lo / 1.5, hi * 1.5, 200)
    ax.axvspan(C.min(), C.max(), **_SHADE, label="fitted range of C")
    if has_m:
        ms = _curve_ms(s["M"], M_extra)
        for m in ms:
            ax.plot(grid, _loss_at(result.law, grid, m), color=pl.m_color(m), lw=1.4, label=f"law at M = {m:.3g}")
        ax.scatter(
            C,
            y,
            c=[pl.m_color(m) for m in s["M"]],
            s=22,
            edgecolors="white",
            linewidths=0.5,
            zorder=3,
            label="fitted runs (colour: M)",
        )
    else:
        ax.plot(grid, _loss_at(result.law, grid, 0.0), color=pl.OKABE_ITO["blue"], lw=1.4, label="law")
        ax.scatter(
            C, y, color=pl.OKABE_ITO["blue"], s=22, edgecolors="white", linewidths=0.5, zorder=3, label="fitted runs"
        )
    pl.log_axes(ax, "C", "loss")
    _plain_y(ax)


def _error_panel(ax, result: FitResult, L_extra=None) -> None:
    L, err = result.inputs["L"], result.y
    ext = np.concatenate([L, np.atleast_1d(L_extra) if L_extra is not None else []])
    pad = 0.05 * (ext.max() - ext.min() or 1.0)
    grid = np.linspace(ext.min() - pad, ext.max() + pad, 200)
    ax.axvspan(L.min(), L.max(), **_SHADE, label="fitted range of loss")
    law: Any = result.law
    ax.plot(grid, law.predict(grid), color=pl.OKABE_ITO["vermillion"], lw=1.4, label="error law")
    ax.scatter(
        L,
        err,
        color=pl.OKABE_ITO["vermillion"],
        s=22,
        edgecolors="white",
        linewidths=0.5,
        zorder=3,
        label="fitted runs",
    )
    pl.log_axes(ax, "loss", "err", logx=False, logy=False)


def fit_figure(result: FitResult):
    """The runs and the fitted law (error against loss for the error law); the fitted range shaded."""
    with pl.style():
        fig, ax = plt.subplots(figsize=(6.6, 4.4), layout="constrained")
        if "L" in result.inputs:
            _error_panel(ax, result)
        else:
            _loss_panel(ax, result)
        ax.set_title(_title(result), fontsize=10)
        ax.legend(fontsize=8, loc="best")
    return fig


def _targets(ax, x, y, bounds, many: bool, label: str) -> None:
    if many:
        ax.scatter(x, y, marker=".", s=6, color=pl.OKABE_ITO["black"], zorder=4, label=label)
        return
    for name, (lo, hi), kw in bounds:  # vertical bars from low to high (a percentile interval need not hold the point)
        ax.vlines(x, lo, hi, label=name, **kw)
    ax.plot(x, y, "*", color=pl.OKABE_ITO["black"], ms=10, zorder=5, label=label)


def forecast_figure(fc: Forecast, result: FitResult, error_result: FitResult | None = None):
    """The fit's runs and law with the targets and their intervals; a second panel for the error law."""
    chained = error_result is not None and fc.err is not None
    many = fc.n_targets > MAX_BARS
    with pl.style():
        # one column: the figure stays legible at the width of a page or a terminal's image viewer
        fig, axes = plt.subplots(
            2 if chained else 1, 1, figsize=(6.6, 9.0 if chained else 4.6), layout="constrained", squeeze=False
        )
        ax = axes[0][0]
        M = fc.targets["M"]
        _loss_panel(ax, result, C_extra=fc.targets["C"], M_extra=M[np.isfinite(M)] if np.all(np.isfinite(M)) else None)
        pct = f"{100 * fc.level:g}%"

        def bounds(prefix: str):
            out = []
            if prefix in fc.intervals:
                out.append((f"{pct} law interval", fc.intervals[prefix], {"colors": "0.1", "lw": 3.0, "zorder": 4.5}))
            if f"{prefix}_new_run" in fc.intervals:
                out.append(
                    (
                        f"{pct} new-run interval",
                        fc.intervals[f"{prefix}_new_run"],
                        {"colors": pl.OKABE_ITO["orange"], "lw": 1.2, "zorder": 4},
                    )
                )
            return out

        _targets(ax, fc.targets["C"], fc.loss, bounds("loss"), many, "targets (predicted)")
        ax.set_title(f"loss: {_title(result)}", fontsize=9)
        ax.legend(fontsize=8, loc="upper right", ncol=2)
        if chained and error_result is not None:
            ax2 = axes[1][0]
            _error_panel(ax2, error_result, L_extra=fc.loss)
            _targets(ax2, fc.loss, fc.err, bounds("err"), many, "targets (predicted)")
            ax2.set_title(f"error: {_title(error_result)}", fontsize=9)
            ax2.legend(fontsize=8, loc="lower right")
    return fig


def _iso_loss_D(law, N: np.ndarray, target: float) -> np.ndarray:
    """D reaching loss ``target`` at each N (NaN where no D does): the iso-loss curve."""
    ch = law.to_chinchilla() if spec_of(law).kind == "overtraining" else law
    gap = target - ch.E - ch.A * N ** (-ch.alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gap > 0, (ch.B / gap) ** (1.0 / ch.beta), np.nan)


def plan_figure(plan: Plan, law, result: FitResult):
    """The target's iso-loss curve in the (N, D) plane, the chosen N and D, the fitted runs and M range."""
    s = run_sizes(result)
    with pl.style():
        fig, ax = plt.subplots(figsize=(6.6, 4.6), layout="constrained")
        Ns = np.concatenate([s["N"], [plan.N]])
        grid = np.geomspace(Ns.min() / 3, Ns.max() * 30, 400)
        D_iso = _iso_loss_D(law, grid, plan.target_loss)
        m_lo, m_hi = float(s["M"].min()), float(s["M"].max())
        ax.fill_between(grid, m_lo * grid, m_hi * grid, **_SHADE, label=f"fitted range of M [{m_lo:.3g}, {m_hi:.3g}]")
        ax.plot(grid, D_iso, color=pl.OKABE_ITO["blue"], lw=1.6, label=f"loss = {plan.target_loss:.4g} (iso-loss)")
        ax.plot(
            grid,
            plan.train_flops / (6.0 * grid),
            color="0.4",
            lw=1.0,
            ls="--",
            label=f"same training FLOPs 6ND = {plan.train_flops:.3g}",
        )
        ax.scatter(
            s["N"],
            s["D"],
            c=[pl.m_color(m) for m in s["M"]],
            s=22,
            edgecolors="white",
            linewidths=0.5,
            zorder=3,
            label="fitted runs (colour: M)",
        )
        ax.plot(
            [plan.N],
            [plan.D],
            "*",
            color=pl.OKABE_ITO["vermillion"],
            ms=14,
            zorder=5,
            label=f"plan: N = {plan.N:.3g}, D = {plan.D:.3g} (M = {plan.M:.3g})",
        )
        pl.log_axes(ax, "N", "D")
        Ds = np.concatenate([s["D"], [plan.D]])
        ax.set_ylim(Ds.min() / 5, Ds.max() * 20)
        ax.set_title(f"plan for loss {plan.target_loss:.4g}: {_title(result)}", fontsize=9)
        ax.legend(fontsize=8, loc="upper left")
    return fig


def design_figure(N, D, target: tuple[float, float], design: Design, top: int = 10):
    """Figure of a recommendation: left, the runs, the candidates (best ``top`` ranked by number)
    and the target in the (C, M) plane; right, the expected interval width against the
    FLOPs spent on the greedy set. Returns the matplotlib Figure."""
    N, D = np.asarray(N, float), np.asarray(D, float)
    rk = design.first
    t = rk.table
    with pl.style():
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
        pl.log_axes(ax, "training FLOPs C", "tokens per parameter M")
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
        pl.log_axes(bx, "FLOPs spent on new runs", f"expected {100 * rk.level:g}% interval width ({rk.units})")
        bx.set_title("greedy set within the budget")
        fig.tight_layout()
    return fig
