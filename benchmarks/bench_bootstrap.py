"""Time 1,000 pairs-bootstrap refits of the default RedPajama configuration.

Vectorised: :func:`scalinglib.uncertainty.bootstrap` on the loss fit and on the
error fit (1,000 replicates each; the two point fits are done once, outside the
timing). Loop: the same resamples refitted one by one with ``fit_overtraining`` and
``fit_error``. The loop is timed on a subset (``--loop`` replicates, default 100)
and extrapolated linearly to 1,000, which the output says.

Usage::

    SCALINGLIB_DATA=... python benchmarks/bench_bootstrap.py [--n-boot 1000] [--loop 100] [--repeat 3]

The last line of output is JSON with ``seconds_vectorised``, ``seconds_loop``
(for n_boot replicates, extrapolated when ``loop < n_boot``), ``speedup`` and the
details.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

from scalinglib import load_testbed
from scalinglib.fit import fit_error, fit_overtraining
from scalinglib.paper import default_config, fit_config
from scalinglib.uncertainty import _draw_pairs, bootstrap


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--loop", type=int, default=100, help="replicates refitted by the loop (extrapolated)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings of the vectorised path")
    args = ap.parse_args()

    df = load_testbed()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fit_config(df, default_config("rpj"))
    loss_fit, error_fit = fitted.loss_fit, fitted.error_fit

    times = []
    for r in range(args.repeat):
        t0 = time.perf_counter()
        bl = bootstrap(loss_fit, args.n_boot, "pairs", seed=r)
        be = bootstrap(error_fit, args.n_boot, "pairs", seed=r)
        times.append(time.perf_counter() - t0)
    t_vec = min(times)

    # the loop refits the very resamples the vectorised path used (same seed => same counts)
    rng_l, rng_e = np.random.default_rng(0), np.random.default_rng(0)
    cl, _ = _draw_pairs("overtraining", loss_fit, args.n_boot, rng_l)
    ce, _ = _draw_pairs("error", error_fit, args.n_boot, rng_e)
    n_loop = min(args.loop, args.n_boot)
    bl0 = bootstrap(loss_fit, args.n_boot, "pairs", seed=0)
    max_rel = 0.0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(n_loop):
            w = cl[b].astype(int)
            f = fit_overtraining(
                np.repeat(loss_fit.inputs["C"], w), np.repeat(loss_fit.inputs["M"], w), np.repeat(loss_fit.y, w)
            )
            w = ce[b].astype(int)
            fit_error(np.repeat(error_fit.inputs["L"], w), np.repeat(error_fit.y, w))
            max_rel = max(max_rel, abs(f.law.eta - bl0.samples["eta"][b]) / f.law.eta)
    t_loop_subset = time.perf_counter() - t0
    t_loop = t_loop_subset * args.n_boot / n_loop

    out = {
        "n_boot": args.n_boot,
        "seconds_vectorised": round(t_vec, 4),
        "seconds_loop": round(t_loop, 3),
        "speedup": round(t_loop / t_vec, 1),
        "loop_replicates_timed": n_loop,
        "loop_extrapolated": n_loop < args.n_boot,
        "seconds_loop_timed": round(t_loop_subset, 3),
        "max_rel_diff_eta_loop_vs_vectorised": float(f"{max_rel:.2e}"),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(f"vectorised: {t_vec:.3f} s for {args.n_boot} loss + error refits (best of {args.repeat})")
    print(f"loop: {t_loop_subset:.2f} s for {n_loop} refits -> {t_loop:.1f} s for {args.n_boot}" + (" (extrapolated)" if n_loop < args.n_boot else ""))
    print(json.dumps(out))
    del bl, be


if __name__ == "__main__":
    main()
