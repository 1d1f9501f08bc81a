"""Command line: ``scalinglib reproduce``, ``scalinglib fit``, ``scalinglib plan`` and ``scalinglib design``.

``scalinglib reproduce`` prints the paper's headline predictions (every training set,
both downstream splits, both targets); ``scalinglib fit runs.csv --law ...`` fits a
user's own runs; ``scalinglib plan`` chooses N and D for a target loss or error;
``scalinglib design`` ranks the runs to train next for a target's forecast.
``--bootstrap B`` adds percentile intervals to ``fit``, ``reproduce`` and ``plan``. ``--json``
makes each print only JSON on stdout.

Exit status: 0 on success, 2 for bad input (command line, CSV, or data a law cannot
be fitted to), 1 when the testbed cannot be loaded. Errors are one line on stderr,
without a traceback.

Each subcommand is a module (:mod:`.reproduce`, :mod:`.fit`, :mod:`.plan`, :mod:`.design`) with a pair of
functions, ``_add_<name>_parser(subparsers)`` and ``_cmd_<name>(args) -> int``, registered
in :func:`build_parser`; :mod:`.core` holds what they share.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# Only the standard library and plain constants at import time (see .core). The shared
# texts and REPRODUCE_KEYS are re-exported: they were public here before the split.
from .._version import __version__
from .core import COMMANDS, FORMULAS, OBJECTIVES, PROG, SPLIT_LABELS, _one_line  # noqa: F401
from .design import _add_design_parser
from .fit import _add_fit_parser
from .plan import _add_plan_parser
from .reproduce import REPRODUCE_KEYS, _add_reproduce_parser  # noqa: F401

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; one ``_add_<name>_parser`` per subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Scaling laws for over-trained language models and downstream error (Gadre et al. 2024).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_reproduce_parser(sub)
    _add_fit_parser(sub)
    _add_plan_parser(sub)
    _add_design_parser(sub)
    return parser


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
        loaded = {name: sys.modules.get(f"scalinglib.{name}") for name in ("userdata", "fit", "data")}
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
