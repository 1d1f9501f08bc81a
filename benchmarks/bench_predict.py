"""Benchmark: ``scalinglib predict`` of 10,000 targets with intervals from 1,000 saved replicates.

Run ``python benchmarks/bench_predict.py`` from the repository (options: ``--runs R``,
default 5; ``--targets K``, default 10,000; ``--replicates B``, default 1,000).

Set-up (not timed), in a temporary directory: a CSV of 24 runs (N, D, loss, err) drawn
from L = 1.46 + (88 M^0.111 + 174 M^-0.111) C^-0.111 with 1% noise and
Err = 0.85 - 2.2 exp(-0.7 L) with noise 0.005; both laws fitted and saved with
``scalinglib fit ... --bootstrap B --save``; a targets CSV of K rows (N from 1e8 to 1e11,
M from 5 to 500, log-uniform, seeded).

Timed, as whole processes (wall clock around ``subprocess.run``, median of R runs, the
commands interleaved so that load on the machine hits them alike):

* ``predict``: ``scalinglib predict loss_fit.json --targets targets.csv --error-fit
  err_fit.json --new-run --json`` (law and new-run intervals of loss and error for every
  target, with the extrapolation report), output to a file;
* ``predict_text``: the same without ``--json`` (the text report);
* ``fit``: the baseline, a plain ``scalinglib fit runs.csv --law overtraining`` (no bootstrap).

The last line is a JSON object with the medians and the ratios predict / fit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _scalinglib(args: list[str], cwd: Path, out: Path | None = None) -> float:
    t0 = time.perf_counter()
    with open(out or os.devnull, "w") as fh:
        subprocess.run([sys.executable, "-m", "scalinglib", *args], env=_env(), cwd=cwd, stdout=fh, check=True)
    return time.perf_counter() - t0


def _setup(d: Path, k: int, b: int) -> None:
    rng = np.random.default_rng(0)
    N = np.repeat([1.1e7, 7.9e7, 1.5e8, 4.1e8], 6)
    M = np.tile([5.0, 10, 20, 40, 80, 160], 4)
    D = N * M
    C = 6 * N * D
    L = (1.46 + (88 * M**0.111 + 174 * M**-0.111) * C**-0.111) * np.exp(rng.normal(0, 0.01, N.size))
    err = 0.85 - 2.2 * np.exp(-0.7 * L) + rng.normal(0, 0.005, N.size)
    rows = [f"{n:.6g},{dd:.6g},{ll:.6g},{e:.6g}" for n, dd, ll, e in zip(N, D, L, err)]
    (d / "runs.csv").write_text("N,D,loss,err\n" + "\n".join(rows) + "\n")
    tN = 10 ** rng.uniform(8, 11, k)
    tM = 10 ** rng.uniform(np.log10(5), np.log10(500), k)
    (d / "targets.csv").write_text("N,M\n" + "\n".join(f"{n:.6g},{m:.6g}" for n, m in zip(tN, tM)) + "\n")
    _scalinglib(["fit", "runs.csv", "--law", "overtraining", "--bootstrap", str(b), "--save", "loss_fit.json"], d)
    _scalinglib(
        ["fit", "runs.csv", "--law", "error", "--bootstrap", str(b), "--seed", "1", "--save", "err_fit.json"], d
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--replicates", type=int, default=1_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _setup(d, args.targets, args.replicates)
        predict = ["predict", "loss_fit.json", "--targets", "targets.csv", "--error-fit", "err_fit.json", "--new-run"]
        cases = {
            "predict": (predict + ["--json"], d / "out.json"),
            "predict_text": (predict, d / "out.txt"),
            "fit": (["fit", "runs.csv", "--law", "overtraining"], None),
        }
        times: dict[str, list[float]] = {}
        for _ in range(args.runs):
            for name, (cmd, out) in cases.items():
                times.setdefault(name, []).append(_scalinglib(cmd, d, out))
        payload = json.loads((d / "out.json").read_text())
        n_targets = len(payload["targets"])
        n_warned = sum(bool(t["warnings"]) for t in payload["targets"])
        assert n_targets == args.targets and payload["n_boot"] == args.replicates
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{'command':52s} {'median s':>9s} {'x fit':>7s}")
    labels = {
        "predict": f"predict {args.targets} targets, {args.replicates} replicates (--json)",
        "predict_text": "the same, text output",
        "fit": "fit runs.csv --law overtraining (baseline)",
    }
    for name, label in labels.items():
        print(f"{label:52s} {med[name]:9.3f} {med[name] / med['fit']:7.2f}")
    print(
        json.dumps(
            {
                "runs": args.runs,
                "targets": args.targets,
                "replicates": args.replicates,
                "targets_warned": n_warned,
                "median_s": {k: round(v, 4) for k, v in med.items()},
                "ratio_predict_to_fit": round(med["predict"] / med["fit"], 3),
                "ratio_predict_text_to_fit": round(med["predict_text"] / med["fit"], 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
