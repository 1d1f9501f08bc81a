"""What the commands share: texts, parser building, CSV-run and argument helpers, output.

Only the standard library and plain constants at import time, so that ``scalinglib
--help`` starts fast: numpy, pandas and scipy are imported inside the functions (and
by the commands) that use them.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..catalog import DEFAULT_EVAL, EVAL_SETS

if TYPE_CHECKING:
    from ..fit import FitResult
    from ..userdata import UserRuns

PROG = "scalinglib"


#: Plain-text formula of each law, for the terminal.
FORMULAS: dict[str, str] = {
    "overtraining": "L(C, M) = E + (a M^eta + b M^-eta) C^-eta",
    "chinchilla": "L(N, D) = E + A N^-alpha + B D^-beta",
    "compute": "L(C) = E + lambda C^-eta",
    "error": "Err(L) = epsilon - k exp(-gamma L)",
    "sigmoid": "Err(L) = b + a / (1 + exp(-k (L - x0))), 0 <= b <= a + b <= 1",
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
            "needs C (or N and D) plus loss; error and sigmoid need loss and err."
        ),
        json="print one JSON object instead of text",
        intervals="add percentile intervals of every parameter",
    ),
    "predict": dict(
        help="predict the loss (and error) of runs not trained, from saved fits, with intervals",
        description=(
            "Predict the loss of each target with a fit saved by `scalinglib fit --save`, and its average "
            "top-1 error through a saved error-law fit (--error-fit). With fits saved with --bootstrap, "
            "percentile intervals propagated through both laws: the law interval (where the law lies) and, "
            "with --new-run, the interval of a single new run (the law plus the fitted runs' scatter; the one "
            "to quote for a training run). Every target gets an extrapolation report: how far it lies outside "
            "the fitted runs in C, N, D and M, and outside the losses the error law was fitted on."
        ),
        json="print one JSON object instead of text",
        intervals="",
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
    "design": dict(
        help="which runs to train next: rank candidate runs by how much they narrow a target's forecast",
        description=(
            "Rank candidate runs (N, D) by the expected narrowing of the target's prediction interval per "
            "FLOP (linearised, Fisher-information criterion about the over-training law fitted to your runs; "
            "--method simulate refits with simulated outcomes instead), and choose a small set greedily "
            "within the budget (scalinglib.design). Candidates: a grid 'N1,N2 x M1,M2' (its runs above the "
            "budget are left out, and the output says how many) or a CSV with columns N and D (or N and M; "
            "a run above the budget is an error); by default every N of your runs at M = 5, 10, ..., 640, "
            "those within the budget. RUNS.csv needs at least 4 runs."
        ),
        json="print one JSON object instead of text",
        intervals="with --method simulate: residual-bootstrap replicates per simulated refit (default 200; --bootstrap-method does not apply)",
    ),
}


# ----------------------------------------------------------------------------- output helpers


def _emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON on stdout (the only thing written there with --json)."""
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")  # one write: fast for large outputs


def _format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """An aligned plain-text table; ``right[j]`` right-aligns column j (numbers)."""
    widths = [max(len(h), *(len(r[j]) for r in rows)) if rows else len(h) for j, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _warn_lines(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    """De-duplicated messages of captured :class:`FitWarning`s."""
    from ..fit import FitWarning

    out: list[str] = []
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, FitWarning) and msg not in out:
            out.append(msg)
    return out


def _run_capturing(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Call ``fn`` with fit warnings captured (returned as text, not printed by Python)."""
    from ..fit import FitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        value = fn()
    for w in caught:  # re-issue anything that is not a fit warning
        if not issubclass(w.category, FitWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value, _warn_lines(caught)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# ----------------------------------------------------------------------------- options


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
    p.add_argument(
        "--data", metavar="DIR", default=None, help="testbed exp_data directory (default: $SCALINGLIB_DATA or download)"
    )
    p.add_argument(
        "--eval-set", default=DEFAULT_EVAL, choices=EVAL_SETS, help=f"loss evaluation set (default {DEFAULT_EVAL})"
    )


def _add_command(
    sub: argparse._SubParsersAction,
    name: str,
    func: Callable[[argparse.Namespace], int],
    bootstrap: bool = True,
    **defaults: Any,
) -> argparse.ArgumentParser:
    """Subcommand ``name`` (texts from :data:`COMMANDS`) with what every subcommand shares:
    ``--json``, the bootstrap options (unless ``bootstrap=False``) and the function it runs."""
    text = COMMANDS[name]
    p = sub.add_parser(name, help=text["help"], description=text["description"])
    p.add_argument("--json", action="store_true", help=text["json"])
    if bootstrap:
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
            "--bootstrap-method",
            choices=("pairs", "residual"),
            default="residual",
            help="residual: resample residuals (default; the better calibrated in chapter 9, and it never leaves "
            "out the one run that identifies a parameter of a small fit); pairs: resample runs",
        )


def _add_plot_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--plot", metavar="FILE", type=_plot_file, default=None, help=f"also draw {what} to FILE (.png, .svg or .pdf)"
    )


#: File types ``--plot`` writes, by extension.
PLOT_TYPES = ("png", "svg", "pdf")


def _plot_file(text: str) -> str:
    ext = text.rsplit(".", 1)[-1].lower() if "." in text else ""
    if ext not in PLOT_TYPES:
        raise argparse.ArgumentTypeError(f"{text!r}: the file name must end in .png, .svg or .pdf")
    return text


def _save_figure(path: str, draw: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Draw with ``draw(*args, **kwargs)`` (a function of :mod:`scalinglib.figures` returning a
    figure) and save it to ``path``; matplotlib is imported only here."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw(*args, **kwargs)
    try:
        fig.savefig(path, format=path.rsplit(".", 1)[-1].lower(), dpi=150)
    except OSError as exc:
        from ..userdata import UserDataError

        raise UserDataError(f"{path}: cannot write the figure: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text!r}")
    return v


def _load_saved(path: str):
    """A saved fit (:func:`scalinglib.load_fit`); a bad file is a one-line error naming it."""
    from ..fit.saved import load_fit

    return load_fit(path)


def _save_fit(args: argparse.Namespace, result: FitResult, runs: UserRuns, boot=None) -> None:
    """``--save FILE``: the fit, its replicates and where its runs came from."""
    from ..userdata import UserDataError

    source = {"file": str(runs.file), "columns": dict(runs.columns), "derived": runs.derivation}
    try:
        result.save(args.save, boot, level=args.level if boot is not None else None, source=source)
    except OSError as exc:
        raise UserDataError(f"{args.save}: cannot write the saved fit: {exc.strerror or exc}") from None


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


# ----------------------------------------------------------------------------- a user's runs (fit, plan)


def _load_fit_runs(args: argparse.Namespace) -> UserRuns:
    from ..userdata import load_runs

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
    from ..fit import FitError, fit_law

    try:
        result, _ = _run_capturing(lambda: fit_law(runs.law, objective=objective, **runs.data))
    except FitError as exc:
        raise FitError(f"{runs.file}: {exc}") from None
    return result


def _bootstrap_fit(args: argparse.Namespace, result: FitResult, runs: UserRuns):
    """Bootstrap a user's fit; a :class:`FitError` (unidentified fit, no residuals) names the file."""
    from ..fit import FitError
    from ..uncertainty import bootstrap

    try:
        boot, _ = _run_capturing(lambda: bootstrap(result, args.bootstrap, args.bootstrap_method, seed=args.seed))
    except FitError as exc:
        raise FitError(f"{runs.file}: bootstrap: {exc}") from None
    return boot
