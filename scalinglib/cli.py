"""Command line: ``scalinglib reproduce``, ``scalinglib fit`` and ``scalinglib plan``.

``scalinglib reproduce`` prints the paper's headline predictions (every training set,
both downstream splits, both targets); ``scalinglib fit runs.csv --law ...`` fits a
user's own runs; ``scalinglib plan`` chooses N and D for a target loss or error.
``--bootstrap B`` adds percentile intervals to ``fit``, ``reproduce`` and ``plan``. ``--json``
makes each print only JSON on stdout.

Exit status: 0 on success, 2 for bad input (command line, CSV, or data a law cannot
be fitted to), 1 when the testbed cannot be loaded. Errors are one line on stderr,
without a traceback.

Each subcommand is a pair of functions, ``_add_<name>_parser(subparsers)`` and
``_cmd_<name>(args) -> int``, registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

# Only the standard library and plain constants at import time, so that
# `scalinglib --help` starts fast: numpy (.userdata), pandas (.data) and scipy (.fit)
# are imported by the commands that use them.
from .catalog import DATASET_LABELS, DEFAULT_EVAL, EVAL_SETS, MODEL_LABELS

if TYPE_CHECKING:
    from .fit import FitResult
    from .userdata import UserRuns

__all__ = ["main", "build_parser"]

PROG = "scalinglib"

#: Keys of each ``reproduce --json`` record, in order.
REPRODUCE_KEYS: tuple[str, ...] = (
    "dataset",
    "downstream",
    "model",
    "N",
    "M",
    "loss_observed",
    "loss_predicted",
    "loss_rel_error",
    "err_observed",
    "err_predicted",
    "err_rel_error",
    "compute_ratio_loss",
    "compute_ratio_err",
)

#: Plain-text formula of each law, for the terminal.
FORMULAS: dict[str, str] = {
    "overtraining": "L(C, M) = E + (a M^eta + b M^-eta) C^-eta",
    "chinchilla": "L(N, D) = E + A N^-alpha + B D^-beta",
    "compute": "L(C) = E + lambda C^-eta",
    "error": "Err(L) = epsilon - k exp(-gamma L)",
}

OBJECTIVES: dict[str, str] = {
    "lsq": "least squares on raw values (the paper's objective)",
    "huber_log": "Huber loss on log residuals (Chinchilla Approach 3)",
}

SPLIT_LABELS = {"avg": "46-task", "avg_subset": "17-task"}

#: Each subcommand's texts: one-line help, description, help of --json, what --bootstrap adds.
COMMANDS: dict[str, dict[str, str]] = {
    "reproduce": dict(
        help="the paper's headline predictions for all three training sets",
        description=(
            "Fit the paper's default configuration on each training set and predict the 1.4B "
            "over-trained run and the 6.9B run: loss and average top-1 error (46-task and 17-task "
            "splits), with relative errors and compute ratios."
        ),
        json="print a JSON list of records instead of a table",
        intervals="add percentile intervals of predicted loss and error (two-stage bootstrap)",
    ),
    "fit": dict(
        help="fit a scaling law to your own runs (a CSV file)",
        description=(
            "Fit a law to a CSV of training runs, one run per row. overtraining and chinchilla need "
            "N and D, or N and M (D = N M), or N and C (D = C / 6N), or C and M, plus loss; compute "
            "needs C (or N and D) plus loss; error needs loss and err."
        ),
        json="print one JSON object instead of text",
        intervals="add percentile intervals of every parameter",
    ),
    "plan": dict(
        help="plan a training run: N and D reaching a target loss or error at least total FLOPs",
        description=(
            "Choose the model size N and training tokens D that reach a target loss (or downstream "
            "error) with the fewest training FLOPs 6ND plus inference FLOPs 2NT (Sardana et al. 2023). "
            "With --dataset the loss law is fitted on every small-model run of that testbed training set "
            "(M = 5 to 640, the runs that choose N and D: scalinglib.recipe.choose_config) and the error "
            "law on the paper's default configuration. With --csv (and --law) the loss law is fitted on your "
            "runs; an error target (--target-err) also fits the error law to runs with loss and error columns: "
            "those of --err-csv, else the --csv rows, which then need an error column (--err-col)."
        ),
        json="print one JSON object instead of text",
        intervals="add percentile intervals of N, D, M and FLOPs (the plan under each replicate's laws)",
    ),
}


# ----------------------------------------------------------------------------- output helpers


def _emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON on stdout (the only thing written there with --json)."""
    json.dump(obj, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def _format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """An aligned plain-text table; ``right[j]`` right-aligns column j (numbers)."""
    widths = [max(len(h), *(len(r[j]) for r in rows)) if rows else len(h) for j, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _warn_lines(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    """De-duplicated messages of captured :class:`FitWarning`s."""
    from .fit import FitWarning

    out: list[str] = []
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, FitWarning) and msg not in out:
            out.append(msg)
    return out


def _run_capturing(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Call ``fn`` with fit warnings captured (returned as text, not printed by Python)."""
    from .fit import FitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        value = fn()
    for w in caught:  # re-issue anything that is not a fit warning
        if not issubclass(w.category, FitWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value, _warn_lines(caught)


# ----------------------------------------------------------------------------- reproduce


def _add_reproduce_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "reproduce", _cmd_reproduce)
    _add_testbed_options(p)
    return p


def _reproduce_records(args: argparse.Namespace) -> tuple[list[dict], list[str]]:
    """The headline rows as plain dicts (keys :data:`REPRODUCE_KEYS`) and any fit warnings."""
    from .data import load_testbed
    from .paper import reproduce

    df = load_testbed(args.data)
    table, notes = _run_capturing(lambda: reproduce(df, eval_set=args.eval_set))
    records = [{k: _plain(row[k]) for k in REPRODUCE_KEYS} for row in table.to_dict("records")]
    return records, notes


def _plain(x: Any) -> Any:
    """numpy scalars -> Python scalars for JSON."""
    return x.item() if hasattr(x, "item") else x


def _target_cells(r: dict) -> list[str]:
    """The first four cells of a headline row: training set, split, target model, M."""
    return [
        DATASET_LABELS.get(r["dataset"], r["dataset"]),
        SPLIT_LABELS.get(r["downstream"], r["downstream"]),
        MODEL_LABELS.get(r["model"], r["model"]),
        f"{r['M']:g}",
    ]


def _reproduce_text(records: Sequence[dict], eval_set: str) -> str:
    headers = [
        "training set", "split", "target", "M",
        "loss obs.", "loss pred.", "loss rel.err",
        "err obs.", "err pred.", "err rel.err",
        "compute x (loss fit)", "compute x (err fit)",
    ]
    right = [False, False, False] + [True] * 9
    rows = [
        [
            *_target_cells(r),
            f"{r['loss_observed']:.4f}",
            f"{r['loss_predicted']:.4f}",
            f"{100 * r['loss_rel_error']:.2f}%",
            f"{r['err_observed']:.4f}",
            f"{r['err_predicted']:.4f}",
            f"{100 * r['err_rel_error']:.2f}%",
            f"{r['compute_ratio_loss']:.0f}",
            f"{r['compute_ratio_err']:.0f}",
        ]
        for r in records
    ]
    title = (
        f"Headline predictions (loss on {eval_set}; error = average top-1 error over the split). "
        "rel.err = |predicted - observed| / observed; compute x = target FLOPs / total FLOPs of the fitting runs."
    )
    return title + "\n\n" + _format_table(headers, rows, right)


def _cmd_reproduce(args: argparse.Namespace) -> int:
    records, notes = _reproduce_records(args)
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    if args.bootstrap:
        _add_reproduce_intervals(args, records)
    if args.json:
        _emit_json(records)
    else:
        print(_reproduce_text(records, args.eval_set))
        if args.bootstrap:
            print("\n" + _reproduce_intervals_text(records, args))
    return 0


# ----------------------------------------------------------------------------- bootstrap options


#: The CSV column options of `fit` and `plan`: flag, default column name, what it holds.
_COLUMN_OPTIONS = (
    ("--n-col", "N", "parameters N"),
    ("--d-col", "D", "training tokens D"),
    ("--m-col", "M", "token multiplier M = D / N"),
    ("--c-col", "C", "training FLOPs C"),
    ("--loss-col", "loss", "loss"),
    ("--err-col", "err", "downstream error"),
)


def _add_column_options(p: argparse.ArgumentParser, title: str, options) -> None:
    cols = p.add_argument_group(title)
    for flag, default, what in options:
        cols.add_argument(flag, metavar="NAME", default=default, help=f"column of {what} (default {default!r})")


def _add_testbed_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", default=None, help="testbed exp_data directory (default: $SCALINGLIB_DATA or download)")
    p.add_argument("--eval-set", default=DEFAULT_EVAL, choices=EVAL_SETS, help=f"loss evaluation set (default {DEFAULT_EVAL})")


def _add_command(sub: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int],
                 **defaults: Any) -> argparse.ArgumentParser:
    """Subcommand ``name`` (texts from :data:`COMMANDS`) with what every subcommand shares:
    ``--json``, the bootstrap options and the function it runs."""
    text = COMMANDS[name]
    p = sub.add_parser(name, help=text["help"], description=text["description"])
    p.add_argument("--json", action="store_true", help=text["json"])
    _add_bootstrap_options(p, text["intervals"])
    p.set_defaults(func=func, **defaults)
    return p


def _add_bootstrap_options(p: argparse.ArgumentParser, what: str, method: bool = True) -> None:
    g = p.add_argument_group("bootstrap")
    g.add_argument("--bootstrap", metavar="B", type=_positive_int, default=0, help=f"B bootstrap replicates: {what}")
    g.add_argument("--level", type=_level, default=0.95, help="interval level (default 0.95)")
    g.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0; same seed, same intervals)")
    if method:
        g.add_argument(
            "--bootstrap-method", choices=("pairs", "residual"), default="pairs",
            help="pairs: resample runs (default); residual: resample residuals (for small fits)",
        )


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 2:
        raise argparse.ArgumentTypeError(f"need at least 2 replicates, got {v}")
    return v


def _level(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"the level must be in (0, 1), got {v}")
    return v


def _add_reproduce_intervals(args: argparse.Namespace, records: list[dict]) -> None:
    """Add loss_predicted_low/high and err_predicted_low/high to each headline record."""
    from .paper import default_config
    from .uncertainty import bootstrap_config

    from .data import load_testbed

    df = load_testbed(args.data)
    cache: dict = {}
    for r in records:
        key = (r["dataset"], r["downstream"])
        if key not in cache:
            cfg = default_config(r["dataset"], args.eval_set, r["downstream"])
            cb, _ = _run_capturing(
                lambda: bootstrap_config(df, cfg, n_boot=args.bootstrap, seed=args.seed, method=args.bootstrap_method)
            )
            cache[key] = cb.target_intervals(args.level)
        t = cache[key]
        row = t[(t["model"] == r["model"]) & (t["M"] == r["M"])].iloc[0]
        r["loss_predicted_low"] = float(row["loss_low"])
        r["loss_predicted_high"] = float(row["loss_high"])
        r["err_predicted_low"] = float(row["err_low"])
        r["err_predicted_high"] = float(row["err_high"])


def _reproduce_intervals_text(records: Sequence[dict], args: argparse.Namespace) -> str:
    headers = ["training set", "split", "target", "M", "loss pred.", "loss interval", "err pred.", "err interval"]
    rows = [
        [
            *_target_cells(r),
            f"{r['loss_predicted']:.4f}",
            f"[{r['loss_predicted_low']:.4f}, {r['loss_predicted_high']:.4f}]",
            f"{r['err_predicted']:.4f}",
            f"[{r['err_predicted_low']:.4f}, {r['err_predicted_high']:.4f}]",
        ]
        for r in records
    ]
    title = (
        f"{100 * args.level:g}% percentile intervals from {args.bootstrap} {args.bootstrap_method} bootstrap "
        f"replicates (seed {args.seed}); the error interval propagates the loss replicates through the error law."
    )
    return title + "\n\n" + _format_table(headers, rows, [False, False, False] + [True] * 5)


# ----------------------------------------------------------------------------- fit


def _add_fit_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "fit", _cmd_fit)
    p.add_argument("csv", metavar="CSV", help="the runs, comma-separated with a header line")
    p.add_argument("--law", required=True, choices=tuple(FORMULAS), help="which law to fit")
    p.add_argument("--objective", default="lsq", choices=tuple(OBJECTIVES), help="lsq (default) or huber_log")
    _add_column_options(p, "column names", _COLUMN_OPTIONS)
    return p


def _load_fit_runs(args: argparse.Namespace) -> UserRuns:
    from .userdata import load_runs

    return load_runs(
        args.csv,
        args.law,
        n_col=args.n_col,
        d_col=args.d_col,
        m_col=args.m_col,
        c_col=args.c_col,
        loss_col=args.loss_col,
        err_col=args.err_col,
    )


def _fit_runs(runs: UserRuns, objective: str) -> FitResult:
    """Fit the runs; a :class:`FitError` is re-raised naming the file."""
    from .fit import FitError, fit_law

    try:
        result, _ = _run_capturing(lambda: fit_law(runs.law, objective=objective, **runs.data))
    except FitError as exc:
        raise FitError(f"{runs.file}: {exc}") from None
    return result


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
    if args.json:
        payload = _fit_payload(result, runs)
        if boot is not None:
            payload["intervals"] = {k: [lo, hi] for k, (lo, hi) in boot.intervals(args.level).items()}
            payload["bootstrap"] = {
                "n_boot": boot.n_boot, "method": boot.method, "seed": args.seed, "level": args.level,
                "n_redrawn": boot.n_redrawn, "notes": list(boot.notes),
            }
        _emit_json(payload)
    else:
        print(_fit_text(result, runs))
        if boot is not None:
            width = max(len(k) for k in result.params)
            print(
                f"{100 * args.level:g}% intervals ({boot.n_boot} {boot.method} bootstrap replicates, seed {args.seed}"
                + (f"; {boot.n_redrawn} degenerate resamples redrawn" if boot.n_redrawn else "") + "):"
            )
            for k, (lo, hi) in boot.intervals(args.level).items():
                print(f"  {k.ljust(width)} in [{lo:.6g}, {hi:.6g}]")
    return 0


def _bootstrap_fit(args: argparse.Namespace, result: FitResult, runs: UserRuns):
    """Bootstrap a user's fit; a :class:`FitError` (unidentified fit, no residuals) names the file."""
    from .fit import FitError
    from .uncertainty import bootstrap

    try:
        boot, _ = _run_capturing(lambda: bootstrap(result, args.bootstrap, args.bootstrap_method, seed=args.seed))
    except FitError as exc:
        raise FitError(f"{runs.file}: bootstrap: {exc}") from None
    return boot


# ----------------------------------------------------------------------------- plan


def _add_plan_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "plan", _cmd_plan)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", choices=("c4_original", "rpj", "rw_original"), help="plan with the laws of this training set (see above)")
    src.add_argument("--csv", metavar="FILE", help="fit your own runs (columns as for `scalinglib fit`)")
    tgt = p.add_mutually_exclusive_group(required=True)
    tgt.add_argument("--target-loss", type=float, metavar="L", help="the loss to reach")
    tgt.add_argument("--target-err", type=float, metavar="E",
                     help="the average top-1 error to reach (with --csv: needs an error column or --err-csv)")
    p.add_argument("--downstream", choices=("avg", "avg_subset"), default="avg_subset",
                   help="error split for --target-err: avg (46 tasks) or avg_subset (17 tasks, default)")
    p.add_argument("--inference-tokens", type=float, default=0.0, metavar="T", help="tokens to be served at inference (default 0)")
    p.add_argument("--law", choices=("overtraining", "chinchilla"), default=None, help="law to fit to --csv")
    p.add_argument("--objective", default="lsq", choices=tuple(OBJECTIVES), help="objective of the --csv fit (default lsq)")
    _add_testbed_options(p)
    p.add_argument("--err-csv", metavar="FILE", default=None,
                   help="with --csv and --target-err: runs with loss and error columns for the error law "
                        "(default: the --csv file, which then needs an error column)")
    _add_column_options(p, "column names (with --csv)", _COLUMN_OPTIONS)
    return p


def _cmd_plan(args: argparse.Namespace) -> int:
    from .planning import PlanError, plan_for_error, plan_for_loss
    from .userdata import UserDataError

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
        error_law = None
        if args.target_err is not None:  # the error law from the loss-and-error runs (--err-csv, else --csv)
            from .userdata import load_error_runs

            if args.bootstrap:
                raise UserDataError("plan --csv --bootstrap gives intervals for a loss target only (--target-loss)")
            err_runs = load_error_runs(args.csv, args.err_csv, loss_col=args.loss_col, err_col=args.err_col)
            error_law = _fit_runs(err_runs, args.objective).law
            source += f"; error law fitted to {err_runs.file}"
        if args.bootstrap:
            boot = _bootstrap_fit(args, result, runs)
    else:
        if args.law is not None:
            raise UserDataError("--law applies to --csv; with --dataset the over-training law is fitted on the testbed's runs")
        from .paper import fit_config
        from .recipe import choose_config

        from .data import load_testbed

        df = load_testbed(args.data)
        cfg = choose_config(df, args.dataset, args.eval_set, args.downstream)  # the runs that choose N and D
        if args.bootstrap:
            from .uncertainty import bootstrap_config

            boot, _ = _run_capturing(
                lambda: bootstrap_config(df, cfg, n_boot=args.bootstrap, seed=args.seed, method=args.bootstrap_method)
            )
            fitted = boot.fitted
        else:
            fitted, _ = _run_capturing(lambda: fit_config(df, cfg))
        loss_law, error_law = fitted.loss_law, fitted.error_law
        source = (
            f"{DATASET_LABELS.get(args.dataset, args.dataset)}: loss law on all small-model runs (loss on {args.eval_set}), "
            "error law of the default configuration"
        )
    try:
        if args.target_err is not None:
            plan = plan_for_error(error_law, loss_law, args.target_err, args.inference_tokens)
        else:
            plan = plan_for_loss(loss_law, args.target_loss, args.inference_tokens)
    except PlanError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    spread = None
    if boot is not None:
        from .planning import plan_interval

        spread = plan_interval(boot, args.target_loss, target_err=args.target_err, inference_tokens=args.inference_tokens)
    if args.json:
        out = {k: float(v) for k, v in plan.as_dict().items()}
        out.update(inference_tokens=float(args.inference_tokens), target_err=args.target_err, source=source)
        if spread is not None:
            # JSON has no infinity: an unbounded end (too many replicates without a plan) is null
            out["intervals"] = {
                k: [v if math.isfinite(v) else None for v in bounds]
                for k, bounds in spread.intervals(args.level).items()
                if k in _PLAN_INTERVAL_KEYS
            }
            out["bootstrap"] = {
                "n_boot": spread.n_boot, "method": args.bootstrap_method, "seed": args.seed, "level": args.level,
                "n_unreachable": spread.n_unreachable,
            }
        _emit_json(out)
        return 0
    target = (
        f"average top-1 error {args.target_err:g} ({SPLIT_LABELS[args.downstream]} split) = loss {plan.target_loss:.4f}"
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
            ]
        )
    )
    if spread is not None:
        print(
            f"{100 * args.level:g}% intervals ({spread.n_boot} {args.bootstrap_method} bootstrap replicates, seed {args.seed}; "
            f"{spread.n_unreachable} without a plan, whose N, D and FLOPs count as infinite; M over the others):"
        )
        for k, (lo, hi) in spread.intervals(args.level).items():
            if k in _PLAN_INTERVAL_KEYS:
                print(f"  {_PLAN_INTERVAL_KEYS[k].ljust(16)} in [{lo:.4g}, {hi:.4g}]")
    return 0


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


# ----------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; one ``_add_<name>_parser`` per subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Scaling laws for over-trained language models and downstream error (Gadre et al. 2024).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_reproduce_parser(sub)
    _add_fit_parser(sub)
    _add_plan_parser(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input, 1 data unavailable)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error (argparse printed it)
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        return int(args.func(args))
    except Exception as exc:
        # .fit and .data are not imported at start-up; an exception can only be a
        # FitError or a DataError if its module has been imported by now.
        loaded = {name: sys.modules.get(f"{__package__}.{name}") for name in ("userdata", "fit", "data")}
        bad_input = [loaded["userdata"] and loaded["userdata"].UserDataError, loaded["fit"] and loaded["fit"].FitError]
        if any(cls and isinstance(exc, cls) for cls in bad_input):
            print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        if loaded["data"] is not None and isinstance(exc, loaded["data"].DataError):
            print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
            return 1
        if isinstance(exc, BrokenPipeError):  # e.g. piped into `head`: stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
