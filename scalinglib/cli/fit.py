"""``scalinglib fit``: fit a law to a user's runs (a CSV file), optionally with bootstrap intervals."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .core import (
    _COLUMN_OPTIONS,
    FORMULAS,
    OBJECTIVES,
    _add_column_options,
    _add_command,
    _add_plot_option,
    _bootstrap_fit,
    _emit_json,
    _fit_runs,
    _load_fit_runs,
    _save_figure,
    _save_fit,
)

if TYPE_CHECKING:
    from ..fit import FitResult
    from ..userdata import UserRuns


def _add_fit_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "fit", _cmd_fit)
    p.add_argument("csv", metavar="CSV", help="the runs, comma-separated with a header line")
    p.add_argument("--law", required=True, choices=tuple(FORMULAS), help="which law to fit")
    p.add_argument("--objective", default="lsq", choices=tuple(OBJECTIVES), help="lsq (default) or huber_log")
    _add_column_options(p, "column names", _COLUMN_OPTIONS)
    p.add_argument(
        "--save",
        metavar="FILE",
        default=None,
        help="write the fit (with the bootstrap replicates, if any) to FILE, a JSON file `scalinglib predict` reads",
    )
    _add_plot_option(p, "the runs and the fitted law")
    return p


def _fit_payload(result: FitResult, runs: UserRuns) -> dict:
    """The ``fit --json`` object."""
    return {
        "law": runs.law,
        "objective": result.objective,
        "params": {k: float(v) for k, v in result.params.items()},
        "n_points": result.n_points,
        "objective_value": float(result.objective_value),
        "sse": float(result.sse),
        "search_box": {k: [float(lo), float(hi)] for k, (lo, hi) in result.search_box.items()},
        "notes": list(result.notes),
        "identified": bool(result.identified),
        "delta": result.delta,
        **({"band": list(result.band)} if result.band is not None else {}),
        "data": {"file": str(runs.file), "columns": dict(runs.columns), "derived": runs.derivation},
    }


def _fit_text(result: FitResult, runs: UserRuns) -> str:
    cols = ", ".join(f"{role} = {name!r}" for role, name in runs.columns.items())
    derived = f"; {runs.derivation}" if runs.derivation else ""
    width = max(len(k) for k in result.params)
    lines = [
        f"law:         {runs.law}    {FORMULAS[runs.law]}",
        f"data:        {runs.file} ({runs.n_rows} runs; columns {cols}{derived})",
        f"objective:   {result.objective}: {OBJECTIVES[result.objective]}"
        + (f", delta = {result.delta:g}" if result.delta is not None else ""),
        "parameters:",
        *(f"  {k.ljust(width)} = {v:.6g}" for k, v in result.params.items()),
        f"points:      {result.n_points}",
        f"SSE:         {result.sse:.6g}",
        f"objective value: {result.objective_value:.6g}",
    ]
    if result.search_box:
        box = ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in result.search_box.items())
        lines.append(f"search box:  {box}")
    else:
        lines.append("search box:  none (BFGS from the least-squares fit and the best points of a grid of starts)")
    if result.band is not None:
        lines.append(f"asymptotes:  error between {result.band[0]:g} and {result.band[1]:g} (floor b, ceiling a + b)")
    lines.append(f"identified:  {'yes' if result.identified else 'NO: the data do not determine every parameter'}")
    if result.notes:
        lines.append("notes:")
        lines.extend(f"  - {n}" for n in result.notes)
    else:
        lines.append("notes:       none")
    return "\n".join(lines)


def _cmd_fit(args: argparse.Namespace) -> int:
    runs = _load_fit_runs(args)
    result = _fit_runs(runs, args.objective)
    boot = _bootstrap_fit(args, result, runs) if args.bootstrap else None
    if args.save:
        _save_fit(args, result, runs, boot)
    if args.plot:
        from ..figures import fit_figure

        _save_figure(args.plot, fit_figure, result)
    if args.json:
        payload = _fit_payload(result, runs)
        if boot is not None:
            payload["intervals"] = {k: [lo, hi] for k, (lo, hi) in boot.intervals(args.level).items()}
            payload["bootstrap"] = {
                "n_boot": boot.n_boot,
                "method": boot.method,
                "seed": args.seed,
                "level": args.level,
                "n_redrawn": boot.n_redrawn,
                "notes": list(boot.notes),
            }
        _emit_json(payload)
    else:
        print(_fit_text(result, runs))
        if boot is not None:
            width = max(len(k) for k in result.params)
            print(
                f"{100 * args.level:g}% intervals ({boot.n_boot} {boot.method} bootstrap replicates, seed {args.seed}"
                + (f"; {boot.n_redrawn} degenerate resamples redrawn" if boot.n_redrawn else "")
                + "):"
            )
            for k, (lo, hi) in boot.intervals(args.level).items():
                print(f"  {k.ljust(width)} in [{lo:.6g}, {hi:.6g}]")
    return 0
