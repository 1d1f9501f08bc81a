"""Benchmark: start-up time of the ``scalinglib`` command, as whole processes.

Run ``python benchmarks/bench_startup.py`` from the repository (options: ``--runs R``,
default 7; ``--before REV``, default ``e824741``, the commit issue 12 was measured
against).

Three commands are timed, each as a fresh ``python -m scalinglib ...`` process
(wall clock, ``time.perf_counter`` around ``subprocess.run``), median of R runs,
the runs of all variants interleaved so that load on the machine hits them alike:

* ``--help``;
* ``fit runs.csv --law overtraining`` on a 5-run CSV (N, D, loss from the paper's
  C4 law, written to a temporary directory);
* the reference ``python -c "import numpy, scipy.optimize, pandas"``.

"Before" is the package at ``--before``, extracted with ``git archive`` into a
temporary directory and put first on ``PYTHONPATH``; "after" is this checkout. Both
run with the same interpreter in the same run, so the ratio after/before is what the
change bought on this machine at this moment. The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# 5 runs from L(C, M) = E + (a M^eta + b M^-eta) C^-eta with C = 6 N D, M = D / N.
_E, _A, _B, _ETA = 1.8, 120.0, 2500.0, 0.12
_RUNS = [(1.1e7, 2.2e8), (7.9e7, 1.6e9), (1.5e8, 3.1e9), (4.1e8, 8.2e9), (1.5e8, 2.5e10)]


def _write_csv(path: Path) -> None:
    lines = ["N,D,loss"]
    for N, D in _RUNS:
        C, M = 6 * N * D, D / N
        lines.append(f"{N:g},{D:g},{_E + (_A * M**_ETA + _B * M**-_ETA) * C**-_ETA:.6f}")
    path.write_text("\n".join(lines) + "\n")


def _extract(rev: str, into: Path) -> Path:
    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "scalinglib"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into)
    return into


def _env(pythonpath: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": pythonpath}


def _time(cmd: list[str], pythonpath: str, cwd: Path) -> float:
    # cwd is a scratch directory: `python -m` puts the working directory first on sys.path.
    t0 = time.perf_counter()
    subprocess.run(cmd, env=_env(pythonpath), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _package_file(py: str, pythonpath: str, cwd: Path) -> str:
    code = "import scalinglib; print(scalinglib.__file__)"
    return subprocess.run(
        [py, "-c", code], env=_env(pythonpath), cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--before", default="e824741")
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = tmp / "runs.csv"
        _write_csv(csv)
        before = str(_extract(args.before, tmp / "before"))
        after = str(ROOT)
        for label, path in (("before", before), ("after", after)):  # each variant imports its own copy
            got = _package_file(py, path, tmp)
            assert got.startswith(path), f"{label}: imported {got}, expected a file under {path}"
        cases = {
            "help": [py, "-m", "scalinglib", "--help"],
            "fit5": [py, "-m", "scalinglib", "fit", str(csv), "--law", "overtraining"],
        }
        times: dict[str, list[float]] = {}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                for label, path in (("before", before), ("after", after)):
                    times.setdefault(f"{name}_{label}", []).append(_time(cmd, path, tmp))
            times.setdefault("reference_imports", []).append(
                _time([py, "-c", "import numpy, scipy.optimize, pandas"], after, tmp)
            )
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{'command':28s} {'before s':>9s} {'after s':>9s} {'after/before':>13s}")
    for name, label in (("help", "scalinglib --help"), ("fit5", "scalinglib fit (5 runs)")):
        b, a = med[f"{name}_before"], med[f"{name}_after"]
        print(f"{label:28s} {b:9.3f} {a:9.3f} {a / b:13.2f}")
    print(f"{'import numpy, scipy.optimize, pandas':28s} {med['reference_imports']:9.3f}")
    result = {
        "runs": args.runs,
        "before_rev": args.before,
        "median_s": {k: round(v, 4) for k, v in med.items()},
        "ratio_help": round(med["help_after"] / med["help_before"], 3),
        "ratio_fit5": round(med["fit5_after"] / med["fit5_before"], 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
