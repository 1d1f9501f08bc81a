"""``scalinglib design``: which runs to train next for a target's forecast (:mod:`scalinglib.design`)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .core import (
    PROG,
    _add_column_options,
    _add_command,
    _emit_json,
    _format_table,
    _one_line,
)

if TYPE_CHECKING:
    from ..fit import FitResult

#: Multipliers of the default candidate grid (the testbed's).
DEFAULT_MS = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _add_design_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "design", _cmd_design)
    p.add_argument("csv", metavar="RUNS.csv", help="your runs (columns as for `scalinglib fit --law overtraining`)")
    p.add_argument("--law", required=True, choices=("overtraining",), help="the law forecasting the target")
    p.add_argument(
        "--target",
        nargs=2,
        type=_positive_float,
        required=True,
        metavar=("N", "D"),
        help="parameters and tokens of the run to forecast",
    )
    p.add_argument(
        "--budget", type=_positive_float, required=True, metavar="FLOPS", help="FLOPs available for new runs (6ND each)"
    )
    p.add_argument(
        "--candidates",
        metavar="GRID|FILE",
        default=None,
        help="'N1,N2,... x M1,M2,...' (N may be written 150M, 1.3B) or a CSV with columns N and D (or N and M)",
    )
    p.add_argument(
        "--error-fit",
        metavar="ERR.json|ERR.csv",
        default=None,
        help="rank by the interval of the target's error through Err(L): an error-law fit saved by "
        "`scalinglib fit --law error --save` (a JSON file), or a CSV of runs with loss and error columns to fit it to",
    )
    p.add_argument(
        "--method",
        choices=("linear", "simulate"),
        default="linear",
        help="linear: linearised criterion (default, deterministic); simulate: refit with simulated outcomes (seeded)",
    )
    p.add_argument(
        "--criterion",
        choices=("per_flop", "per_run"),
        default="per_flop",
        help="rank by narrowing per FLOP (default) or per run",
    )
    p.add_argument("--max-runs", type=int, default=5, metavar="K", help="size of the greedy set (default 5)")
    p.add_argument("--top", type=int, default=10, metavar="K", help="candidates to print (default 10)")
    p.add_argument(
        "--noise",
        type=_positive_float,
        default=None,
        metavar="SIGMA",
        help="residual spread of a run's loss (default: from the fit's residuals)",
    )
    p.add_argument(
        "--plot", metavar="FILE", default=None, help="save a figure of the ranking and the greedy set (PNG, SVG, PDF)"
    )
    _add_column_options(
        p,
        "column names",
        (
            ("--n-col", "N", "parameters N"),
            ("--d-col", "D", "training tokens D"),
            ("--m-col", "M", "token multiplier M = D / N"),
            ("--c-col", "C", "training FLOPs C"),
            ("--loss-col", "loss", "loss"),
            ("--err-col", "err", "downstream error"),
        ),
    )
    return p


def _is_saved_fit(path: str) -> bool:
    """Whether ``--error-fit`` names a saved fit (a ``.json`` file, or a file whose text opens with ``{``)
    rather than a CSV of runs."""
    p = Path(path)
    if p.suffix.lower() in (".json", ".csv"):
        return p.suffix.lower() == ".json"
    try:
        with p.open("rb") as f:
            head = f.read(256)
    except OSError:  # the CSV reader names the file and the problem
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _error_fit(args: argparse.Namespace) -> tuple[FitResult, str]:
    """The error law of ``--error-fit`` and how it was obtained: loaded from a saved fit of the
    error law (a saved loss-law or sigmoid fit is refused, naming the file), or fitted to a CSV."""
    from ..fit import FitError
    from .core import _fit_runs, _load_saved

    path = args.error_fit
    if _is_saved_fit(path):
        saved = _load_saved(path)
        if saved.kind == "error":
            return saved.result, "saved fit"
        if saved.kind == "sigmoid":
            raise FitError(
                f"{path}: --error-fit of design needs a fit of the error law Err(L) = epsilon - k exp(-gamma L) "
                "(`scalinglib fit --law error --save`); this is a fit of the sigmoid law, which design does not take"
            )
        raise FitError(
            f"{path}: this is a saved fit of a loss law ({saved.kind}), not of the error law; --error-fit needs "
            "a fit saved by `scalinglib fit --law error --save`, or a CSV of runs with loss and error columns "
            "(the loss law is fitted to RUNS.csv)"
        )
    from ..userdata import load_error_runs

    runs = load_error_runs(args.csv, path, loss_col=args.loss_col, err_col=args.err_col)
    return _fit_runs(runs, "lsq"), "fitted to its loss and error columns"


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _cmd_design(args: argparse.Namespace) -> int:
    import numpy as np

    from ..design import (
        DesignError,
        candidate_grid,
        check_candidates,
        greedy_design,
        load_candidates,
        parse_grid,
        rank_candidates,
    )
    from .core import _load_fit_runs, _run_capturing

    runs = _load_fit_runs(args)
    if "N" in runs.data:
        N, D = runs.data["N"], runs.data["D"]
    else:
        C, M = runs.data["C"], runs.data["M"]
        N = np.sqrt(C / (6 * M))
        D = M * N
    L = runs.data["L"]
    error_fit, error_how = _error_fit(args) if args.error_fit is not None else (None, "")
    try:
        if args.candidates is None:
            cN, cD = candidate_grid(np.unique(N), DEFAULT_MS)
            keep = 6 * cN * cD <= args.budget
            if not keep.any():
                raise DesignError(
                    f"no run of the default grid (your sizes at M = 5 to 640) fits in the budget {args.budget:.4g}"
                )
            cN, cD = cN[keep], cD[keep]
            source = "your sizes at M = 5 to 640, within the budget"
        elif Path(args.candidates).suffix.lower() == ".csv" or Path(args.candidates).exists():
            cN, cD = check_candidates(*load_candidates(args.candidates), args.budget, source=f"{args.candidates}")
            source = args.candidates
        else:
            cN, cD = parse_grid(args.candidates)
            keep = 6 * cN * cD <= args.budget
            if not keep.any():
                raise DesignError(f"no run of the grid {args.candidates!r} fits in the budget {args.budget:.4g} FLOPs")
            source = f"grid {args.candidates}" + (
                f"; {int((~keep).sum())} of its {keep.size} runs above the budget left out" if not keep.all() else ""
            )
            cN, cD = cN[keep], cD[keep]
        if args.max_runs < 1 or args.top < 1:
            raise DesignError("--max-runs and --top must be at least 1")
        n_boot = args.bootstrap or 200
        level = args.level
        rank, _ = _run_capturing(
            lambda: rank_candidates(
                N,
                D,
                L,
                tuple(args.target),
                cN,
                cD,
                args.budget,
                method=args.method,
                level=level,
                error_fit=error_fit,
                noise=args.noise,
                seed=args.seed,
                n_boot=n_boot,
                criterion=args.criterion,
            )
        )
        design, _ = _run_capturing(
            lambda: greedy_design(
                N,
                D,
                L,
                tuple(args.target),
                cN,
                cD,
                args.budget,
                max_runs=args.max_runs,
                level=level,
                error_fit=error_fit,
                noise=args.noise,
                criterion=args.criterion,
            )
        )
    except DesignError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    fit = rank.fit
    t = rank.table
    if args.plot:
        from ..figures import design_figure

        fig = design_figure(N, D, tuple(args.target), design, top=args.top)
        fig.savefig(args.plot, dpi=120)
    if args.json:
        _emit_json(
            {
                "target": {
                    "N": args.target[0],
                    "D": args.target[1],
                    "M": args.target[1] / args.target[0],
                    "C": 6 * args.target[0] * args.target[1],
                    "predicted_loss": float(
                        fit.law.predict(6 * args.target[0] * args.target[1], args.target[1] / args.target[0])
                    ),
                },
                "budget": args.budget,
                "method": rank.method,
                "criterion": rank.criterion,
                "level": level,
                "units": rank.units,
                "fit": {
                    "params": {k: float(v) for k, v in fit.law.params.items()},
                    "source": fit.source,
                    "sigma": fit.sigma,
                    "sigma_source": fit.sigma_source,
                    "n_runs": fit.n_runs,
                    "file": str(runs.file),
                },
                "error_fit": None
                if error_fit is None
                else {
                    "file": str(args.error_fit),
                    "how": error_how,
                    "params": {k: float(v) for k, v in error_fit.params.items()},
                },
                "candidates": source,
                "width_now": _num(rank.width_now),
                "ranking": [
                    {k: (_num(float(r[k])) if k != "rank" else int(r[k])) for k in t.columns} for _, r in t.iterrows()
                ],
                "design": [{k: _num(float(r[k])) for k in design.picks.columns} for _, r in design.picks.iterrows()],
                "design_spent": design.spent,
            }
        )
        return 0
    Nt, Dt = args.target
    pilot = (
        " (pilot: compute law at one M taken as compute-optimal; the runs do not identify the law)"
        if fit.source == "pilot"
        else ""
    )
    lines = [
        f"runs:      {runs.file} ({fit.n_runs} used by the fit{pilot})",
        "law:       "
        + ", ".join(f"{k} = {v:.4g}" for k, v in fit.law.params.items())
        + f"; sigma = {fit.sigma:.3g} ({fit.sigma_source})",
        *(
            [
                "error law: "
                + ", ".join(f"{k} = {v:.4g}" for k, v in error_fit.params.items())
                + f"; {args.error_fit} ({error_how})"
            ]
            if error_fit is not None
            else []
        ),
        f"target:    N = {Nt:.4g}, D = {Dt:.4g} (M = {Dt / Nt:.4g}, C = {6 * Nt * Dt:.4g}); predicted loss {float(fit.law.predict(6 * Nt * Dt, Dt / Nt)):.4f}",
        f"now:       expected {100 * level:g}% interval width of the target's {rank.units}: {rank.width_now:.4g}",
        f"ranking:   {len(t)} candidates ({source}), {rank.method} method, narrowing {rank.criterion.replace('_', ' ')}",
        "",
    ]
    rows = [
        [
            str(int(r["rank"])),
            f"{r['N']:.4g}",
            f"{r['D']:.4g}",
            f"{r['M']:.4g}",
            f"{r['C']:.3g}",
            f"{r['width_after']:.4g}",
            f"{r['narrowing']:.3g}",
            f"{r['score']:.3g}",
        ]
        for _, r in t.head(args.top).iterrows()
    ]
    score = "per 1e18 FLOPs" if rank.criterion == "per_flop" else "per run"
    lines.append(
        _format_table(
            ["rank", "N", "D", "M", "C", "width after", "ln(now/after)", f"score ({score})"], rows, [True] * 8
        )
    )
    lines += ["", f"greedy set within the budget {args.budget:.4g} FLOPs (at most {args.max_runs} runs):"]
    if len(design.picks):
        prow = [
            [
                str(i + 1),
                f"{r['N']:.4g}",
                f"{r['D']:.4g}",
                f"{r['M']:.4g}",
                f"{r['C']:.3g}",
                f"{r['cumulative_C']:.3g}",
                f"{r['width_after']:.4g}",
            ]
            for i, (_, r) in enumerate(design.picks.iterrows())
        ]
        lines.append(_format_table(["#", "N", "D", "M", "C", "spent", "width after"], prow, [True] * 7))
    else:
        lines.append("  none: no affordable candidate narrows the interval")
    if args.plot:
        lines.append(f"\nfigure saved to {args.plot}")
    print("\n".join(lines))
    return 0
