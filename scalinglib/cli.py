"""Command line: ``scalinglib reproduce`` and ``scalinglib fit``.

``scalinglib reproduce`` prints the paper's headline predictions (every training set,
both downstream splits, both targets); ``scalinglib fit runs.csv --law ...`` fits a
user's own runs. ``--json`` makes either print only JSON on stdout.

Exit status: 0 on success, 2 for bad input (command line, CSV, or data a law cannot
be fitted to), 1 when the testbed cannot be loaded. Errors are one line on stderr,
without a traceback.

Each subcommand is a pair of functions, ``_add_<name>_parser(subparsers)`` and
``_cmd_<name>(args) -> int``, registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import Any, Callable, Sequence

from .data import DATASET_LABELS, DEFAULT_EVAL, EVAL_SETS, MODEL_LABELS, DataError, load_testbed
from .fit import FitError, FitResult, FitWarning, fit_law
from .userdata import LAWS, UserDataError, UserRuns, load_runs

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
    out: list[str] = []
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, FitWarning) and msg not in out:
            out.append(msg)
    return out


def _run_capturing(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Call ``fn`` with fit warnings captured (returned as text, not printed by Python)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        value = fn()
    for w in caught:  # re-issue anything that is not a fit warning
        if not issubclass(w.category, FitWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value, _warn_lines(caught)


# ----------------------------------------------------------------------------- reproduce


def _add_reproduce_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "reproduce",
        help="the paper's headline predictions for all three training sets",
        description=(
            "Fit the paper's default configuration on each training set and predict the 1.4B "
            "over-trained run and the 6.9B run: loss and average top-1 error (46-task and 17-task "
            "splits), with relative errors and compute ratios."
        ),
    )
    p.add_argument("--json", action="store_true", help="print a JSON list of records instead of a table")
    p.add_argument("--data", metavar="DIR", default=None, help="testbed exp_data directory (default: $SCALINGLIB_DATA or download)")
    p.add_argument("--eval-set", default=DEFAULT_EVAL, choices=EVAL_SETS, help=f"loss evaluation set (default {DEFAULT_EVAL})")
    p.set_defaults(func=_cmd_reproduce)
    return p


def _reproduce_records(args: argparse.Namespace) -> tuple[list[dict], list[str]]:
    """The headline rows as plain dicts (keys :data:`REPRODUCE_KEYS`) and any fit warnings."""
    from .paper import reproduce

    df = load_testbed(args.data)
    table, notes = _run_capturing(lambda: reproduce(df, eval_set=args.eval_set))
    records = [{k: _plain(row[k]) for k in REPRODUCE_KEYS} for row in table.to_dict("records")]
    return records, notes


def _plain(x: Any) -> Any:
    """numpy scalars -> Python scalars for JSON."""
    return x.item() if hasattr(x, "item") else x


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
            DATASET_LABELS.get(r["dataset"], r["dataset"]),
            SPLIT_LABELS.get(r["downstream"], r["downstream"]),
            MODEL_LABELS.get(r["model"], r["model"]),
            f"{r['M']:g}",
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
    if args.json:
        _emit_json(records)
    else:
        print(_reproduce_text(records, args.eval_set))
    return 0


# ----------------------------------------------------------------------------- fit


def _add_fit_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "fit",
        help="fit a scaling law to your own runs (a CSV file)",
        description=(
            "Fit a law to a CSV of training runs, one run per row. overtraining and chinchilla need "
            "N and D, or N and M (D = N M), or N and C (D = C / 6N), or C and M, plus loss; compute "
            "needs C (or N and D) plus loss; error needs loss and err."
        ),
    )
    p.add_argument("csv", metavar="CSV", help="the runs, comma-separated with a header line")
    p.add_argument("--law", required=True, choices=LAWS, help="which law to fit")
    p.add_argument("--objective", default="lsq", choices=tuple(OBJECTIVES), help="lsq (default) or huber_log")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    cols = p.add_argument_group("column names")
    for flag, default, what in (
        ("--n-col", "N", "parameters N"),
        ("--d-col", "D", "training tokens D"),
        ("--m-col", "M", "token multiplier M = D / N"),
        ("--c-col", "C", "training FLOPs C"),
        ("--loss-col", "loss", "loss"),
        ("--err-col", "err", "downstream error"),
    ):
        cols.add_argument(flag, metavar="NAME", default=default, help=f"column of {what} (default {default!r})")
    p.set_defaults(func=_cmd_fit)
    return p


def _load_fit_runs(args: argparse.Namespace) -> UserRuns:
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
        lines.append("search box:  none (L-BFGS-B from a grid of starting points and the least-squares fit)")
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
    if args.json:
        _emit_json(_fit_payload(result, runs))
    else:
        print(_fit_text(result, runs))
    return 0


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
    except (UserDataError, FitError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
