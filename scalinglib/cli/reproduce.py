"""``scalinglib reproduce``: the paper's headline predictions, optionally with bootstrap intervals."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from typing import Any

from ..catalog import DATASET_LABELS, MODEL_LABELS
from .core import PROG, SPLIT_LABELS, _add_command, _add_testbed_options, _emit_json, _format_table, _run_capturing

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


def _add_reproduce_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = _add_command(sub, "reproduce", _cmd_reproduce)
    _add_testbed_options(p)
    return p


def _reproduce_records(args: argparse.Namespace) -> tuple[list[dict], list[str]]:
    """The headline rows as plain dicts (keys :data:`REPRODUCE_KEYS`) and any fit warnings."""
    from ..data import load_testbed
    from ..paper import reproduce

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
        "training set",
        "split",
        "target",
        "M",
        "loss obs.",
        "loss pred.",
        "loss rel.err",
        "err obs.",
        "err pred.",
        "err rel.err",
        "compute x (loss fit)",
        "compute x (err fit)",
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


def _add_reproduce_intervals(args: argparse.Namespace, records: list[dict]) -> None:
    """Add loss_predicted_low/high and err_predicted_low/high to each headline record."""
    from ..data import load_testbed
    from ..paper import default_config
    from ..uncertainty import bootstrap_config

    df = load_testbed(args.data)
    cache: dict = {}
    for r in records:
        key = (r["dataset"], r["downstream"])
        if key not in cache:
            cfg = default_config(r["dataset"], args.eval_set, r["downstream"])
            cb, _ = _run_capturing(
                functools.partial(
                    bootstrap_config, df, cfg, n_boot=args.bootstrap, seed=args.seed, method=args.bootstrap_method
                )
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
