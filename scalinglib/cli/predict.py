"""``scalinglib predict``: the loss (and error) of runs not trained, from saved fits, with intervals.

The work is :func:`scalinglib.forecast.forecast`; this module reads the arguments and the
saved fits, and prints. :func:`_targets_from_args`, :func:`_run_forecast`,
:func:`_forecast_payload` and :func:`_forecast_text` are what another command reading saved
fits can reuse.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from .core import (
    FORMULAS,
    _add_command,
    _add_plot_option,
    _emit_json,
    _level,
    _load_saved,
    _positive_float,
    _save_figure,
)

if TYPE_CHECKING:
    from ..fit import SavedFit
    from ..forecast import Forecast


def _add_predict_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "predict", _cmd_predict, bootstrap=False)
    p.add_argument(
        "fit",
        metavar="FIT.json",
        help="a loss-law fit saved by `scalinglib fit --save` (overtraining, chinchilla or compute)",
    )
    tg = p.add_argument_group("targets (N and D, N and M, C and M, C alone for the compute law, or a CSV)")
    for flag, what in (
        ("--N", "parameters N"),
        ("--D", "training tokens D"),
        ("--M", "tokens per parameter M = D / N"),
        ("--C", "training FLOPs C = 6 N D"),
    ):
        tg.add_argument(flag, dest=flag[2:], type=_positive_float, default=None, metavar=flag[2:], help=what)
    tg.add_argument(
        "--targets",
        metavar="CSV",
        default=None,
        help="one target per row, columns N and D, N and M, C and M, or C (names as for `fit`: --n-col ...)",
    )
    for flag, default in (("--n-col", "N"), ("--d-col", "D"), ("--m-col", "M"), ("--c-col", "C")):
        tg.add_argument(flag, metavar="NAME", default=default, help=f"column of --targets (default {default!r})")
    p.add_argument(
        "--error-fit",
        metavar="ERR.json",
        default=None,
        help="an error-law fit saved by `scalinglib fit --law error --save`: chain the loss into an error",
    )
    iv = p.add_argument_group("intervals (from the replicates saved by `fit --bootstrap B --save`)")
    iv.add_argument(
        "--level", type=_level, default=None, help="interval level (default: the loss fit's saved level, else 0.95)"
    )
    iv.add_argument(
        "--new-run",
        action="store_true",
        help="also the interval of a single new run: the law interval plus the fitted runs' scatter (quote this one)",
    )
    iv.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the run-to-run noise draws of --new-run (default: the fit's bootstrap seed)",
    )
    _add_plot_option(p, "the runs, the fitted law and the targets with their intervals")
    return p


def _targets_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The targets of ``--N/--D/--M/--C`` or ``--targets`` (not both), by role."""
    from ..userdata import UserDataError, load_targets

    given = {k: getattr(args, k) for k in ("N", "D", "M", "C") if getattr(args, k) is not None}
    if args.targets is not None:
        if given:
            raise UserDataError("give targets either with --targets CSV or with --N/--D/--M/--C, not both")
        return dict(load_targets(args.targets, n_col=args.n_col, d_col=args.d_col, m_col=args.m_col, c_col=args.c_col))
    if set(given) not in ({"N", "D"}, {"N", "M"}, {"C", "M"}, {"C"}):
        raise UserDataError(
            "give a target as --N and --D, --N and --M, --C and --M (or --C alone for the compute law), "
            f"or --targets CSV; got {', '.join('--' + k for k in given) or 'none'}"
        )
    return {k: [v] for k, v in given.items()}


def _check_kinds(loss: SavedFit, error: SavedFit | None) -> None:
    from ..fit import FitError
    from ..fit.problem import SPECS

    if SPECS[loss.kind].inputs == ("L",):
        raise FitError(
            f"{loss.path}: this is a fit of an error law ({loss.kind}); give a loss-law fit first and this one as --error-fit"
        )
    if error is not None and SPECS[error.kind].inputs != ("L",):
        raise FitError(
            f"{error.path}: --error-fit needs a fit of an error law (scalinglib fit --law error or sigmoid), not {error.kind}"
        )


def _run_forecast(
    loss: SavedFit, error: SavedFit | None, targets: dict, level: float | None, new_run: bool, seed: int | None
) -> Forecast:
    """The forecast of saved fits; errors name the file they come from."""
    from ..fit import FitError
    from ..forecast import forecast

    _check_kinds(loss, error)
    if level is None:
        level = loss.level if loss.level is not None else 0.95
    if new_run and loss.bootstrap is None:
        raise FitError(f"{loss.path}: --new-run needs a fit saved with --bootstrap B")
    if new_run and error is not None and error.bootstrap is None:
        raise FitError(f"{error.path}: --new-run needs a fit saved with --bootstrap B")
    try:
        return forecast(loss, targets, error_fit=error, level=level, new_run=new_run, seed=seed)
    except FitError as exc:
        raise FitError(f"{loss.path}: {exc}") from None


#: Width of the text report (a terminal, or the code block of a book page); longer lines are wrapped.
_WIDTH = 70


def _wrapped(head: str, text: str, indent: int) -> list[str]:
    """``head + text`` wrapped to :data:`_WIDTH` columns, continuation lines indented by ``indent``."""
    import textwrap

    return textwrap.wrap(
        head + text, _WIDTH, subsequent_indent=" " * indent, break_long_words=False, break_on_hyphens=False
    ) or [head]


def _packed(head: str, items: list[str], indent: int) -> list[str]:
    """``items`` joined by ", " after ``head``, wrapped to :data:`_WIDTH` only between items."""
    lines, line = [], head
    for j, item in enumerate(items):
        piece = item + ("," if j < len(items) - 1 else "")
        if line.strip() and len(line) + 1 + len(piece) > _WIDTH and line != head:
            lines.append(line)
            line = " " * indent + piece
        else:
            line = line + ("" if line == head else " ") + piece
    return [*lines, line]


def _describe(fit: SavedFit) -> list[str]:
    src = fit.source or {}
    where = f" to {src['file']}" if isinstance(src.get("file"), str) else ""
    return [
        f"{fit.kind}, {FORMULAS[fit.kind]}",
        f"fitted ({fit.result.objective}){where} ({fit.result.n_points} runs), saved in {fit.path}",
    ]


def _forecast_payload(fc: Forecast, loss: SavedFit, error: SavedFit | None) -> dict:
    """The ``predict --json`` object."""

    def fit_info(f: SavedFit) -> dict:
        b = f.bootstrap
        return {
            "file": str(f.path),
            "law": f.kind,
            "params": {k: float(v) for k, v in f.result.params.items()},
            "n_runs": f.result.n_points,
            "bootstrap": None if b is None else {"n_boot": b.n_boot, "method": b.method, "seed": b.seed},
        }

    ranges = {k: [lo, hi] for k, (lo, hi) in fc.extrapolation.ranges.items()}
    return {
        "loss_fit": fit_info(loss),
        "error_fit": None if error is None else fit_info(error),
        "level": fc.level,
        "n_boot": fc.n_boot,
        "intervals": {
            name: (
                "law interval: where the law lies (bootstrap of the fit)"
                if "new_run" not in name
                else "new-run interval: the outcome of one training run (law interval plus the fitted runs' scatter)"
            )
            for name in fc.intervals
        },
        "fitted_ranges": ranges,
        "notes": list(fc.notes),
        "targets": fc.records(),
    }


def _ratio_text(name: str, r: float) -> str:
    if math.isnan(r):  # not known for this law
        return f"{name} -"
    if r == 1.0:
        return f"{name} inside"
    return f"{name} x{r:.3g} " + ("above" if r > 1 else "below")


def _forecast_text(fc: Forecast, loss: SavedFit, error: SavedFit | None) -> str:
    pad = " " * 13
    lines = []
    for head, fit in (("loss law:    ", loss), ("error law:   ", error)):
        if fit is not None:
            first, second = _describe(fit)
            lines += [head + first, *_wrapped(pad, second, 13)]
    b = loss.bootstrap
    if fc.n_boot and b is not None:
        lines += _wrapped(
            "intervals:   ",
            f"{100 * fc.level:g}% percentile, {fc.n_boot} bootstrap replicates ({b.method}, seed {b.seed}); "
            "law: where the law lies; new run: the law plus the fitted runs' scatter (quote it for one training run)",
            13,
        )
    else:
        lines.append("intervals:   none (save the fits with --bootstrap B for intervals)")
    for n in fc.notes:
        lines += _wrapped("note:        ", n, 13)
    rng = fc.extrapolation.ranges
    items = [f"{k} [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in rng.items() if k != "L"]
    if "L" in rng:
        items.append(f"error law's loss [{rng['L'][0]:.4g}, {rng['L'][1]:.4g}]")
    lines += _packed("fitted runs: ", items, 13)
    ex = fc.extrapolation

    def cell(name: str, i: int) -> str:
        if name not in fc.intervals:
            return ""
        lo, hi = fc.intervals[name]
        label = "new run" if "new_run" in name else "law"
        return f"   {label} [{lo[i]:.4f}, {hi[i]:.4f}]"

    for i in range(fc.n_targets):
        t = {k: fc.targets[k][i] for k in ("N", "D", "M", "C")}
        size = (
            f"N = {t['N']:.4g}, D = {t['D']:.4g} (M = {t['M']:.4g}, C = {t['C']:.4g})"
            if not math.isnan(t["N"])
            else f"C = {t['C']:.4g}"
        )
        lines += ["", f"target {i + 1}: {size}"]
        lines.append(f"  loss   {fc.loss[i]:.4f}{cell('loss', i)}{cell('loss_new_run', i)}")
        if fc.err is not None:
            lines.append(f"  error  {fc.err[i]:.4f}{cell('err', i)}{cell('err_new_run', i)}")
        outside = [_ratio_text(k, float(v[i])) for k, v in ex.ratios.items() if not math.isnan(v[i])]
        if ex.loss_outside is not None:
            d = float(ex.loss_outside[i])
            outside.append(
                "loss "
                + (
                    "inside the error law's runs"
                    if d == 0
                    else f"{abs(d):.3g} nats {'below' if d < 0 else 'above'} the error law's runs"
                )
            )
        lines += _packed("  outside the fitted runs: ", outside, 4)
        for w in ex.warnings[i]:
            lines += _wrapped("  warning: ", w, 4)
    return "\n".join(lines)


def _cmd_predict(args: argparse.Namespace) -> int:
    loss = _load_saved(args.fit)
    error = _load_saved(args.error_fit) if args.error_fit is not None else None
    targets = _targets_from_args(args)
    fc = _run_forecast(loss, error, targets, args.level, args.new_run, args.seed)
    if args.plot:
        from ..figures import forecast_figure

        _save_figure(args.plot, forecast_figure, fc, loss.result, None if error is None else error.result)
    if args.json:
        _emit_json(_forecast_payload(fc, loss, error))
    else:
        print(_forecast_text(fc, loss, error))
    return 0
