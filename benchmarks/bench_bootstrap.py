"""Time 1,000 pairs-bootstrap replicates of every law: the batch path against a loop of fits.

Cases (each a point fit done once, outside the timing, then 1,000 pairs replicates):

* ``overtraining``, ``error`` — the loss law and the 17-task error law of the default
  RedPajama configuration (the yardstick: the over-training law);
* ``chinchilla_lsq_epoch``, ``chinchilla_huber_epoch`` — L(N, D) = E + A N^-alpha +
  B D^-beta on Epoch AI's 240 Chinchilla points (the 245 runs below the fifth-highest
  loss), least squares and the Huber-on-log objective;
* ``chinchilla_lsq_sardana`` — the same law, least squares, on Sardana et al.'s 47 runs.

Batch: :func:`scalinglib.uncertainty.bootstrap` (best of ``--repeat``). Loop: the
same resamples refitted one by one, as the bootstrap did before the batch path: the
law's ordinary fit on the resampled rows (least squares), or one
``refine_huber_log`` descent from the point estimate (Huber). The loop is timed on
``--loop`` replicates and extrapolated linearly to ``--n-boot`` (the JSON says so);
on those replicates the run also reports the largest relative difference of any
parameter and the worst objective ratio batch / loop.

Usage::

    SCALINGLIB_DATA=... SCALINGLIB_EXTERNAL=... SCALINGLIB_SARDANA=... \\
        python benchmarks/bench_bootstrap.py [--n-boot 1000] [--loop 50] [--repeat 3]

Times are CPU seconds of this process (``time.process_time``, BLAS on one thread
unless the environment sets it), which the other load of a shared machine disturbs
less than the wall clock; the batch's wall time is reported beside them
(``wall_seconds_batch``), and the machine's load in ``load_average_1min``. The last
line of output is JSON: per case ``seconds_batch``, ``seconds_loop``,
``loop_over_batch`` and ``batch_over_overtraining``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as bench_fit.py: one thread, so that other load disturbs less

import argparse
import json
import time
import warnings

import numpy as np

from scalinglib import load_sardana, load_testbed
from scalinglib.chinchilla import exclude_highest_losses
from scalinglib.data import load_chinchilla_runs
from scalinglib.fit import FITS, fit_chinchilla, huber_log_objective, refine_huber_log
from scalinglib.paper import default_config, fit_config
from scalinglib.uncertainty import _draw_pairs, bootstrap

KINDS = {"OvertrainingLaw": "overtraining", "ErrorLaw": "error", "ChinchillaLaw": "chinchilla"}


def _fits() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cf = fit_config(load_testbed(), default_config("rpj"))
        epoch = exclude_highest_losses(load_chinchilla_runs(), 5)
        sardana = load_sardana()
        ne, de, le = (epoch[c].to_numpy(float) for c in ("N", "D", "loss"))
        ns, ds, ls = (sardana[c].to_numpy(float) for c in ("N", "D", "loss"))
        return {
            "overtraining": cf.loss_fit,
            "error": cf.error_fit,
            "chinchilla_lsq_epoch": fit_chinchilla(ne, de, le),
            "chinchilla_huber_epoch": fit_chinchilla(ne, de, le, objective="huber_log"),
            "chinchilla_lsq_sardana": fit_chinchilla(ns, ds, ls),
        }


def _objective(fit, law, w) -> float:
    x = [fit.inputs[k] for k in fit.inputs]
    if fit.objective == "huber_log":
        return huber_log_objective(law, *x, fit.y, fit.delta, w)
    return float(np.sum(w * (fit.y - law.predict(*x)) ** 2))


def _loop(fit, W: np.ndarray, n: int):
    """Refit the first n resamples one by one; returns (seconds, laws)."""
    kind = KINDS[type(fit.law).__name__]
    cols = [fit.inputs[k] for k in fit.inputs]
    laws = []
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(n):
            if fit.objective == "huber_log":
                laws.append(refine_huber_log(fit.law, fit.inputs, fit.y, fit.delta, W[b])[0])
            else:
                reps = W[b].astype(int)
                laws.append(FITS[kind](*[np.repeat(c, reps) for c in cols], np.repeat(fit.y, reps)).law)
    return time.process_time() - t0, laws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--loop", type=int, default=50, help="replicates refitted by the loop (extrapolated)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings of the batch path")
    args = ap.parse_args()

    fits = _fits()
    out = {}
    for name, fit in fits.items():
        times, walls = [], []
        for r in range(args.repeat):
            t0, w0 = time.process_time(), time.perf_counter()
            boot = bootstrap(fit, args.n_boot, "pairs", seed=r)
            times.append(time.process_time() - t0)
            walls.append(time.perf_counter() - w0)
        t_batch = min(times)
        boot = bootstrap(fit, args.n_boot, "pairs", seed=0)
        W, _ = _draw_pairs(KINDS[type(fit.law).__name__], fit, args.n_boot, np.random.default_rng(0))
        n_loop = min(args.loop, args.n_boot)
        t_sub, laws = _loop(fit, W, n_loop)
        batch_laws = boot.laws()
        rel = max(
            abs(getattr(bl, k) - v) / max(abs(v), 1e-300)
            for bl, ll in zip(batch_laws, laws)
            for k, v in ll.params.items()
        )
        # batch / loop objective per replicate; where the loop's fit interpolates the resample (objective
        # below 1e-9 of the centred sum of squares, both are rounding errors) the excess over it, as a fraction of it
        yy = float(np.sum((fit.y - fit.y.mean()) ** 2))
        pairs_ = [
            (_objective(fit, bl, W[b]), _objective(fit, ll, W[b])) for b, (bl, ll) in enumerate(zip(batch_laws, laws))
        ]
        worst = max((o / t for o, t in pairs_ if t > 1e-9 * yy), default=float("nan"))
        excess = max((o - t) / yy for o, t in pairs_)
        out[name] = {
            "seconds_batch": round(t_batch, 4),
            "wall_seconds_batch": round(min(walls), 4),
            "seconds_loop": round(t_sub * args.n_boot / n_loop, 3),
            "loop_over_batch": round(t_sub * args.n_boot / n_loop / t_batch, 1),
            "loop_replicates_timed": n_loop,
            "max_rel_param_diff": float(f"{rel:.1e}"),
            "worst_objective_ratio_batch_over_loop": float(f"{worst:.15f}"),
            "worst_objective_excess_over_centred_ss": float(f"{excess:.1e}"),
            "n_points": fit.n_points,
        }
    base = out["overtraining"]["seconds_batch"]
    print(f"{args.n_boot} pairs replicates, batch best of {args.repeat}; loop timed on {args.loop} and extrapolated")
    print("CPU seconds (batch: also wall)")
    print(
        f"{'case':26s} {'batch s':>8s} {'wall s':>8s} {'loop s':>8s} {'loop/batch':>10s} {'batch/over-training':>20s} {'max rel diff':>12s} {'worst obj ratio':>16s}"
    )
    for name, o in out.items():
        o["batch_over_overtraining"] = round(o["seconds_batch"] / base, 2)
        print(
            f"{name:26s} {o['seconds_batch']:8.3f} {o['wall_seconds_batch']:8.3f} {o['seconds_loop']:8.2f} {o['loop_over_batch']:9.1f}x "
            f"{o['batch_over_overtraining']:19.2f}x {o['max_rel_param_diff']:12.1e} "
            f"{o['worst_objective_ratio_batch_over_loop']:16.13f}"
        )
    out["n_boot"] = args.n_boot
    out["cpu_count"] = os.cpu_count()
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
