"""``scalinglib plan``: N and D reaching a target loss or error at least total FLOPs."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..catalog import DATASET_LABELS
from .core import (
    _COLUMN_OPTIONS,
    OBJECTIVES,
    PROG,
    SPLIT_LABELS,
    _add_column_options,
    _add_command,
    _add_plot_option,
    _add_testbed_options,
    _bootstrap_fit,
    _emit_json,
    _fit_runs,
    _load_fit_runs,
    _one_line,
    _run_capturing,
    _save_figure,
)


def _add_plan_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "plan", _cmd_plan)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--dataset",
        choices=("c4_original", "rpj", "rw_original"),
        help="plan with the laws of this training set (see above)",
    )
    src.add_argument("--csv", metavar="FILE", help="fit your own runs (columns as for `scalinglib fit`)")
    tgt = p.add_mutually_exclusive_group(required=True)
    tgt.add_argument("--target-loss", type=float, metavar="L", help="the loss to reach")
    tgt.add_argument(
        "--target-err",
        type=float,
        metavar="E",
        help="the average top-1 error to reach (with --csv: needs an error column or --err-csv)",
    )
    p.add_argument(
        "--downstream",
        choices=("avg", "avg_subset"),
        default="avg_subset",
        help="error split for --target-err: avg (46 tasks) or avg_subset (17 tasks, default)",
    )
    p.add_argument(
        "--inference-tokens", type=float, default=0.0, metavar="T", help="tokens to be served at inference (default 0)"
    )
    p.add_argument("--law", choices=("overtraining", "chinchilla"), default=None, help="law to fit to --csv")
    p.add_argument(
        "--objective", default="lsq", choices=tuple(OBJECTIVES), help="objective of the --csv fit (default lsq)"
    )
    _add_testbed_options(p)
    p.add_argument(
        "--err-csv",
        metavar="FILE",
        default=None,
        help="with --csv and --target-err: runs with loss and error columns for the error law "
        "(default: the --csv file, which then needs an error column)",
    )
    _add_column_options(p, "column names (with --csv)", _COLUMN_OPTIONS)
    _add_plot_option(p, "the iso-loss curve of the target in the (N, D) plane with the chosen N and D")
    return p


def _cmd_plan(args: argparse.Namespace) -> int:
    from ..planning import PlanError, plan_for_error, plan_for_loss
    from ..userdata import UserDataError

    boot = None  # the bootstrap of the law(s), with --bootstrap
    if args.err_csv is not None and (args.csv is None or args.target_err is None):
        raise UserDataError("--err-csv applies to --csv with --target-err")
    if args.csv is not None:
        if args.law is None:
            raise UserDataError("plan --csv needs --law overtraining or --law chinchilla")
        runs = _load_fit_runs(args)
        result = _fit_runs(runs, args.objective)
        loss_law = result.law
        source = f"{args.law} law fitted ({args.objective}) to {runs.file}"
        error_law = error_result = None
        if args.target_err is not None:  # the error law from the loss-and-error runs (--err-csv, else --csv)
            from ..userdata import load_error_runs

            if args.bootstrap:
                raise UserDataError("plan --csv --bootstrap gives intervals for a loss target only (--target-loss)")
            err_runs = load_error_runs(args.csv, args.err_csv, loss_col=args.loss_col, err_col=args.err_col)
            error_result = _fit_runs(err_runs, args.objective)
            error_law = error_result.law
            source += f"; error law fitted to {err_runs.file}"
        if args.bootstrap:
            boot = _bootstrap_fit(args, result, runs)
    else:
        if args.law is not None:
            raise UserDataError(
                "--law applies to --csv; with --dataset the over-training law is fitted on the testbed's runs"
            )
        from ..data import load_testbed
        from ..paper import fit_config
        from ..recipe import choose_config

        df = load_testbed(args.data)
        cfg = choose_config(df, args.dataset, args.eval_set, args.downstream)  # the runs that choose N and D
        if args.bootstrap:
            from ..uncertainty import bootstrap_config

            boot, _ = _run_capturing(
                lambda: bootstrap_config(df, cfg, n_boot=args.bootstrap, seed=args.seed, method=args.bootstrap_method)
            )
            fitted = boot.fitted
        else:
            fitted, _ = _run_capturing(lambda: fit_config(df, cfg))
        loss_law, error_law = fitted.loss_law, fitted.error_law
        result, error_result = fitted.loss_fit, fitted.error_fit
        source = (
            f"{DATASET_LABELS.get(args.dataset, args.dataset)}: loss law on all small-model runs (loss on {args.eval_set}), "
            "error law of the default configuration"
        )
    try:
        if args.target_err is not None:
            assert error_law is not None  # fitted above whenever there is an error target
            plan = plan_for_error(error_law, loss_law, args.target_err, args.inference_tokens)
        else:
            plan = plan_for_loss(loss_law, args.target_loss, args.inference_tokens)
    except PlanError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    warnings = _plan_warnings(plan, result, error_result if args.target_err is not None else None)
    if args.plot:
        from ..figures import plan_figure

        _save_figure(args.plot, plan_figure, plan, loss_law, result)
    spread = None
    if boot is not None:
        from ..planning import plan_interval

        spread = plan_interval(
            boot, args.target_loss, target_err=args.target_err, inference_tokens=args.inference_tokens
        )
    if args.json:
        out: dict[str, Any] = {k: float(v) for k, v in plan.as_dict().items()}
        out.update(inference_tokens=float(args.inference_tokens), target_err=args.target_err, source=source)
        out["warnings"] = warnings
        if spread is not None:
            # JSON has no infinity: an unbounded end (too many replicates without a plan) is null
            out["intervals"] = {
                k: [v if math.isfinite(v) else None for v in bounds]
                for k, bounds in spread.intervals(args.level).items()
                if k in _PLAN_INTERVAL_KEYS
            }
            out["bootstrap"] = {
                "n_boot": spread.n_boot,
                "method": args.bootstrap_method,
                "seed": args.seed,
                "level": args.level,
                "n_unreachable": spread.n_unreachable,
            }
        _emit_json(out)
        return 0
    split = f"{SPLIT_LABELS[args.downstream]} split" if args.csv is None else "your error law"
    target = (
        f"average top-1 error {args.target_err:g} ({split}) = loss {plan.target_loss:.4f}"
        if args.target_err is not None
        else f"loss {plan.target_loss:.4f}"
    )
    print(
        "\n".join(
            [
                f"law:             {source}",
                f"target:          {target}; inference tokens T = {args.inference_tokens:.4g}",
                f"parameters N:    {plan.N:.4g}",
                f"tokens D:        {plan.D:.4g}",
                f"tokens/param M:  {plan.M:.4g}",
                f"training FLOPs:  {plan.train_flops:.4g}  (6 N D)",
                f"inference FLOPs: {plan.inference_flops:.4g}  (2 N T)",
                f"total FLOPs:     {plan.total_flops:.4g}",
                *(f"warning: {w}" for w in warnings),
            ]
        )
    )
    if spread is not None:
        print(
            f"{100 * args.level:g}% intervals ({spread.n_boot} {args.bootstrap_method} bootstrap replicates, seed {args.seed}; "
            f"{spread.n_unreachable} without a plan, whose N, D and FLOPs count as infinite; M over the others):"
        )
        for k, (lo, hi) in spread.intervals(args.level).items():
            if k in _PLAN_INTERVAL_KEYS and not (k == "target_loss" and args.target_err is None):  # fixed by the user
                print(f"  {_PLAN_INTERVAL_KEYS[k].ljust(16)} in [{lo:.4g}, {hi:.4g}]")
    return 0


def _plan_warnings(plan, result, error_result) -> list[str]:
    """Warning lines: the plan's M outside the fitted M range; its loss outside the error law's runs."""
    from ..forecast import fitted_ranges, multiplier_warning

    out = []
    ranges = fitted_ranges(result)
    if "M" in ranges:
        w = multiplier_warning(plan.M, ranges["M"])
        if w:
            out.append(w.replace("M = ", "the plan's M = ", 1))
    if error_result is not None:
        lo, hi = fitted_ranges(error_result)["L"]
        if not lo <= plan.target_loss <= hi:
            out.append(
                f"the target's loss {plan.target_loss:.4g} lies outside the losses the error law was fitted on "
                f"[{lo:.4g}, {hi:.4g}]: the error law is extrapolated"
            )
    return out


#: The plan quantities given intervals by ``plan --bootstrap``, with their text labels.
_PLAN_INTERVAL_KEYS = {
    "N": "parameters N",
    "D": "tokens D",
    "M": "tokens/param M",
    "train_flops": "training FLOPs",
    "inference_flops": "inference FLOPs",
    "total_flops": "total FLOPs",
    "target_loss": "target loss",
}
