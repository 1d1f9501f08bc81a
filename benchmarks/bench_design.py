"""Time `scalinglib design` ranking 100 candidates for one target, against one bootstrap of the same fit.

The runs are the paper's default configuration on RedPajama (C4-eval loss: the four
small models at M = 20 and the smallest at M = 320), written to a temporary CSV; the
target is the 1.4B model at M = 640; the candidates are a grid of 10 sizes (10M to
400M, log-spaced) by 10 multipliers (5 to 640, log-spaced), 100 runs, all within the
budget.

Measured (wall clock, best of ``--repeat``):

* ``seconds_process``: the whole command, ``python -m scalinglib design ... --json``
  in a fresh process (interpreter start, imports, CSV, fit, ranking of 100 candidates,
  greedy set of 5) — the target is under 10 s;
* ``seconds_rank``: :func:`scalinglib.design.rank_candidates` (linearised criterion)
  in this process;
* ``seconds_bootstrap``: :func:`scalinglib.uncertainty.bootstrap` of the same fit,
  ``--n-boot`` residual replicates (default 1,000), in this process — the baseline;
* ``seconds_simulate``: the simulation check (``method="simulate"``, 2 draws of
  ``--sim-boot`` replicates each) on the first ``--sim`` candidates, extrapolated to
  100 when fewer.

Ratios: ``ratio_process`` = process / bootstrap and ``ratio_rank`` = rank / bootstrap.
The last line of output is JSON.

Usage::

    SCALINGLIB_DATA=... python benchmarks/bench_design.py [--repeat 3] [--n-boot 1000] [--sim 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from scalinglib import load_testbed
from scalinglib.design import rank_candidates
from scalinglib.fit import fit_overtraining
from scalinglib.uncertainty import bootstrap


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument(
        "--sim", type=int, default=10, help="candidates ranked by the simulation check (extrapolated to 100)"
    )
    ap.add_argument("--sim-boot", type=int, default=200)
    args = ap.parse_args()

    df = load_testbed()
    d = df[df["dataset"] == "rpj"]
    small = ["d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8"]
    runs = d[(d["model"].isin(small) & (d["M"] == 20)) | ((d["model"] == small[0]) & (d["M"] == 320))]
    target = d[(d["model"] == "open_lm_1b") & (d["M"] == 640)].iloc[0]
    Ns = np.geomspace(1e7, 4e8, 10)
    Ms = np.geomspace(5, 640, 10)
    cN = np.repeat(Ns, 10)
    cD = np.tile(Ms, 10) * cN
    budget = float((6 * cN * cD).max())
    N, D, L = runs["N"].to_numpy(float), runs["D"].to_numpy(float), runs["loss_c4_val"].to_numpy(float)

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "runs.csv"
        csv.write_text("N,D,loss\n" + "".join(f"{float(n)!r},{float(x)!r},{float(y)!r}\n" for n, x, y in zip(N, D, L)))
        cand = Path(tmp) / "candidates.csv"
        cand.write_text("N,D\n" + "".join(f"{float(n)!r},{float(x)!r}\n" for n, x in zip(cN, cD)))
        cmd = [
            sys.executable,
            "-m",
            "scalinglib",
            "design",
            str(csv),
            "--law",
            "overtraining",
            "--target",
            repr(float(target["N"])),
            repr(float(target["D"])),
            "--budget",
            repr(budget),
            "--candidates",
            str(cand),
            "--json",
        ]
        t_proc = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
            t_proc.append(time.perf_counter() - t0)
            if out.returncode != 0:
                raise SystemExit(f"design failed: {out.stderr}")
        n_ranked = len(json.loads(out.stdout)["ranking"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_overtraining(6 * N * D, D / N, L)
        t_rank, t_boot = [], []
        for r in range(args.repeat):
            t0 = time.perf_counter()
            rank_candidates(N, D, L, (float(target["N"]), float(target["D"])), cN, cD, budget)
            t_rank.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            bootstrap(fit, args.n_boot, "residual", seed=r)
            t_boot.append(time.perf_counter() - t0)
        n_sim = min(args.sim, 100)
        t0 = time.perf_counter()
        rank_candidates(
            N,
            D,
            L,
            (float(target["N"]), float(target["D"])),
            cN[:n_sim],
            cD[:n_sim],
            budget,
            method="simulate",
            n_boot=args.sim_boot,
        )
        t_sim = (time.perf_counter() - t0) * 100 / n_sim

    res = {
        "n_candidates": n_ranked,
        "seconds_process": min(t_proc),
        "seconds_rank": min(t_rank),
        "seconds_bootstrap": min(t_boot),
        "n_boot": args.n_boot,
        "ratio_process": min(t_proc) / min(t_boot),
        "ratio_rank": min(t_rank) / min(t_boot),
        "seconds_simulate_100": t_sim,
        "simulate_extrapolated_from": n_sim,
        "under_10_s": min(t_proc) < 10.0,
    }
    print(
        f"`scalinglib design`, {n_ranked} candidates, whole process: {res['seconds_process']:.2f} s "
        f"({res['ratio_process']:.1f} x one {args.n_boot}-replicate bootstrap of {res['seconds_bootstrap']:.3f} s)"
    )
    print(f"rank_candidates in process: {res['seconds_rank']:.3f} s ({res['ratio_rank']:.2f} x the bootstrap)")
    print(f"simulation check, 100 candidates (extrapolated from {n_sim}): {t_sim:.1f} s")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
