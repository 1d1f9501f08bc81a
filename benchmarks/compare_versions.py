"""Compare this scalinglib with another version of it: same results, and which is faster.

The other version is a copy of the package's directory, e.g. the commit before a
refactor::

    mkdir -p /tmp/old && git archive <commit> scalinglib | tar -x -C /tmp/old
    SCALINGLIB_DATA=... SCALINGLIB_EXTERNAL=... \\
        python benchmarks/compare_versions.py --other /tmp/old/scalinglib [--check] [--time]

It is imported side by side with the installed package under the name
``scalinglib_other``. ``--check`` runs every fit of :func:`results` with both and
reports the largest relative difference of any number (parameters, SSE, objective
values, bootstrap replicates), failing above ``--rtol`` (default 1e-10) or when a
diagnostic (edge, active constraints, identified, notes) differs. ``--time`` times
the fits of ``benchmarks/bench_fit.py`` (default fits and a seeded sweep; our fitter
only) and the vectorised bootstraps of ``benchmarks/bench_bootstrap.py`` with both
versions, interleaved repetition by repetition so that the load of a shared machine
falls on both alike, and prints the ratio other / this (above 1: this one is faster).

``--write FILE`` stores :func:`reference_results` of the installed package as JSON
(tests/data/fit_reference.json pins them; see tests/test_fit_reference.py).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import importlib.util
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load_other(path: str, name: str = "scalinglib_other"):
    """Import the package directory ``path`` under the module name ``name``."""
    init = Path(path) / "__init__.py"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(Path(path))])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _sub(pkg, name: str):
    return importlib.import_module(f"{pkg.__name__}.{name}")


def _fit_record(res) -> dict:
    """The numbers and diagnostics of a FitResult."""
    return {
        "params": [float(v) for v in res.law.params.values()],
        "sse": float(res.sse),
        "objective_value": float(res.objective_value),
        "on_edge": list(res.on_edge),
        "active": list(res.active_constraints),
        "identified": bool(res.identified),
        "notes": list(res.notes),
    }


def _boot_record(b) -> dict:
    return {
        "samples": [float(v) for k in b.samples for v in b.samples[k]],
        "n_redrawn": int(b.n_redrawn),
        "n_on_edge": int(b.n_on_edge),
        "n_active": int(b.n_active),
    }


def _exclude_highest(runs, n=5):
    cut = np.sort(runs["loss"].to_numpy(float))[-n]
    return runs[runs["loss"] < cut]


def reference_results(pkg, df, chin) -> dict:
    """The fits pinned by tests/test_fit_reference.py (a few seconds)."""
    fit = _sub(pkg, "fit")
    paper = _sub(pkg, "paper")
    unc = _sub(pkg, "uncertainty")
    data = _sub(pkg, "data")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ds in data.DATASETS:
            for ev in data.EVAL_SETS:
                cf = paper.fit_config(df, paper.default_config(ds, ev))
                out[f"config/{ds}/{ev}/loss"] = _fit_record(cf.loss_fit)
                out[f"config/{ds}/{ev}/error"] = _fit_record(cf.error_fit)
        N, D, L = (chin[c].to_numpy(float) for c in ("N", "D", "loss"))
        sub = _exclude_highest(chin)
        Ns, Ds, Ls = (sub[c].to_numpy(float) for c in ("N", "D", "loss"))
        out["chinchilla/all/lsq"] = _fit_record(fit.fit_chinchilla(N, D, L))
        out["chinchilla/all/huber_log"] = _fit_record(fit.fit_chinchilla(N, D, L, objective="huber_log"))
        out["chinchilla/besiroglu/huber_log"] = _fit_record(fit.fit_chinchilla(Ns, Ds, Ls, objective="huber_log"))
        cf = paper.fit_config(df, paper.default_config("rpj"))
        out["bootstrap/rpj/loss/pairs"] = _boot_record(unc.bootstrap(cf.loss_fit, 200, "pairs", seed=0))
        out["bootstrap/rpj/error/residual"] = _boot_record(unc.bootstrap(cf.error_fit, 200, "residual", seed=1))
    return out


def results(pkg, df, chin) -> dict:
    """Everything :func:`reference_results` has, and more fits (about a minute)."""
    fit = _sub(pkg, "fit")
    paper = _sub(pkg, "paper")
    unc = _sub(pkg, "uncertainty")
    data = _sub(pkg, "data")
    ot = _sub(pkg, "overtraining")
    out = reference_results(pkg, df, chin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ds in data.DATASETS:
            for ev in data.EVAL_SETS:
                cf = paper.fit_config(df, paper.default_config(ds, ev, "avg"))
                out[f"config46/{ds}/{ev}/error"] = _fit_record(cf.error_fit)
                out[f"shared_floor/{ds}/{ev}"] = _fit_record(ot.shared_floor(df, ds, ev))
            runs = paper.select_runs(df, ds, paper.default_config(ds).loss_runs)
            C, M, Lr = (runs[c].to_numpy(float) for c in ("C", "M", "loss_c4_val"))
            for obj in ("lsq", "huber_log"):
                out[f"overtraining/{ds}/{obj}"] = _fit_record(fit.fit_overtraining(C, M, Lr, objective=obj))
                out[f"fit_law/{ds}/{obj}"] = _fit_record(fit.fit_law("overtraining", C=C, M=M, L=Lr, objective=obj))
            small = df[(df["dataset"] == ds) & df["model"].isin(paper.SMALL_MODELS)]
            out[f"chinchilla_testbed/{ds}"] = _fit_record(
                fit.fit_chinchilla(
                    small["N"].to_numpy(float), small["D"].to_numpy(float), small["loss_c4_val"].to_numpy(float)
                )
            )
            for Mv, g in small.groupby("M"):
                if len(g) >= 3:
                    for obj in ("lsq", "huber_log"):
                        out[f"compute/{ds}/{Mv}/{obj}"] = _fit_record(
                            fit.fit_compute(g["C"].to_numpy(float), g["loss_c4_val"].to_numpy(float), objective=obj)
                        )
            cf = paper.fit_config(df, paper.default_config(ds))
            e = cf.error_fit
            out[f"error_huber/{ds}"] = _fit_record(fit.fit_error(e.inputs["L"], e.y, objective="huber_log"))
            law, v = fit.refine_huber_log(cf.loss_fit.law, cf.loss_fit.inputs, cf.loss_fit.y)
            out[f"refine_huber_log/{ds}"] = {"params": [float(x) for x in law.params.values()], "value": float(v)}
            for method, seed in (("pairs", 3), ("residual", 4)):
                out[f"bootstrap/{ds}/loss/{method}"] = _boot_record(unc.bootstrap(cf.loss_fit, 300, method, seed=seed))
                out[f"bootstrap/{ds}/error/{method}"] = _boot_record(
                    unc.bootstrap(cf.error_fit, 300, method, seed=seed)
                )
            out[f"bootstrap/{ds}/loss/grid101"] = _boot_record(
                unc.bootstrap(cf.loss_fit, 100, "pairs", seed=5, grid_points=101)
            )
            cb = unc.bootstrap_config(df, paper.default_config(ds), n_boot=100, seed=2)
            out[f"bootstrap_config/{ds}"] = {
                "samples": [float(v) for v in cb.target_intervals().select_dtypes("number").to_numpy().ravel()]
            }
        # per-M compute fits on random subsets, as in the sweep of bench_fit
        rng = np.random.default_rng(0)
        for i in range(40):
            ds = data.DATASETS[i % 3]
            ev = data.EVAL_SETS[i % len(data.EVAL_SETS)]
            small = df[(df["dataset"] == ds) & df["model"].isin(paper.SMALL_MODELS)]
            pick = small.iloc[np.sort(rng.choice(len(small), size=min(len(small), 5 + i % 10), replace=False))]
            if pick["M"].nunique() >= 2:
                out[f"sweep_ot/{i}"] = _fit_record(
                    fit.fit_overtraining(
                        pick["C"].to_numpy(float), pick["M"].to_numpy(float), pick[f"loss_{ev}"].to_numpy(float)
                    )
                )
            errs = df[(df["dataset"] == ds)].dropna(subset=["err_avg_subset"])
            pe = errs.iloc[np.sort(rng.choice(len(errs), size=min(len(errs), 4 + i % 8), replace=False))]
            out[f"sweep_err/{i}"] = _fit_record(
                fit.fit_error(pe[f"loss_{ev}"].to_numpy(float), pe["err_avg_subset"].to_numpy(float))
            )
        # Chinchilla runs: lsq, huber_log, bootstraps (warm huber, loop lsq)
        N, D, L = (chin[c].to_numpy(float) for c in ("N", "D", "loss"))
        hub = fit.fit_chinchilla(N, D, L, objective="huber_log")
        out["bootstrap/chinchilla/huber/pairs"] = _boot_record(unc.bootstrap(hub, 20, "pairs", seed=0))
        out["bootstrap/chinchilla/huber/residual"] = _boot_record(unc.bootstrap(hub, 20, "residual", seed=0))
        sub = chin.iloc[::6]
        lsq = fit.fit_chinchilla(sub["N"].to_numpy(float), sub["D"].to_numpy(float), sub["loss"].to_numpy(float))
        out["chinchilla/sub6/lsq"] = _fit_record(lsq)
        out["bootstrap/chinchilla/lsq/pairs"] = _boot_record(unc.bootstrap(lsq, 10, "pairs", seed=0))
        for box in ({"alpha": (0.05, 0.6, 40), "beta": (0.05, 0.6, 40)},):
            out["chinchilla/box"] = _fit_record(fit.fit_chinchilla(N, D, L, box=box))
        out["compute/negative_box"] = _fit_record(
            fit.fit_compute(
                np.array([1e18, 3e18, 1e19, 3e19, 1e20]),
                np.array([3.9, 3.7, 3.5, 3.35, 3.2]),
                box={"eta": (-0.5, 0.8, 300)},
            )
        )
    return out


def compare(a: dict, b: dict, rtol: float) -> tuple[float, str, list[str]]:
    """Largest relative difference of any number, where, and differing diagnostics."""
    worst, where, bad = 0.0, "", []
    for key, fields in a.items():
        if key not in b:
            bad.append(f"{key}: missing")
            continue
        for field, va in fields.items():
            vb = b[key][field]
            if isinstance(va, list) and va and isinstance(va[0], float) or isinstance(va, float):
                x, y = np.atleast_1d(np.asarray(va, float)), np.atleast_1d(np.asarray(vb, float))
                if x.shape != y.shape:
                    bad.append(f"{key}.{field}: shapes {x.shape} != {y.shape}")
                    continue
                both_nan = np.isnan(x) & np.isnan(y)
                with np.errstate(invalid="ignore", divide="ignore"):
                    rel = np.where(both_nan | (x == y), 0.0, np.abs(x - y) / np.maximum(np.abs(x), np.abs(y)))
                if rel.size and np.nanmax(rel) > worst:
                    worst, where = float(np.nanmax(rel)), f"{key}.{field}"
            elif va != vb:
                bad.append(f"{key}.{field}: {va!r} != {vb!r}")
    return worst, where, bad


def _time_fits(pkg, fits) -> float:
    fit = _sub(pkg, "fit")
    fns = {"overtraining": fit.fit_overtraining, "error": fit.fit_error, "compute": fit.fit_compute}
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in fits:
            x = f["x"]
            fns[f["kind"]](*(x if f["kind"] == "overtraining" else (x,)), f["y"])
    return time.process_time() - t0


def _time_boot(pkg, fitted) -> float:
    unc = _sub(pkg, "uncertainty")
    t0 = time.process_time()
    unc.bootstrap(fitted.loss_fit, 1000, "pairs", seed=0)
    unc.bootstrap(fitted.error_fit, 1000, "pairs", seed=1)
    return time.process_time() - t0


def timing(new, other, df, repeat: int, n_sweep: int) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_fit

    fits = bench_fit.default_fits(df) + bench_fit.sweep_fits(df, n_sweep, 0)
    pairs = {}
    for label, fn, args in (
        ("bench_fit", _time_fits, {"new": (fits,), "other": (fits,)}),
        (
            "bench_bootstrap",
            _time_boot,
            {
                "new": (_sub(new, "paper").fit_config(df, _sub(new, "paper").default_config("rpj")),),
                "other": (_sub(other, "paper").fit_config(df, _sub(other, "paper").default_config("rpj")),),
            },
        ),
    ):
        t_new, t_other = [], []
        fn(new, *args["new"])  # warm both (imports, caches)
        fn(other, *args["other"])
        for r in range(repeat):  # interleaved, alternating which goes first
            order = (("new", new), ("other", other)) if r % 2 == 0 else (("other", other), ("new", new))
            for name, pkg in order:
                (t_new if name == "new" else t_other).append(fn(pkg, *args[name]))
        pairs[label] = dict(
            seconds_this=float(np.median(t_new)),
            seconds_other=float(np.median(t_other)),
            ratio_other_over_this=float(np.median(np.array(t_other) / np.array(t_new))),
            min_ratio=float(np.min(t_other) / np.min(t_new)),
            repeat=repeat,
        )
        print(
            f"{label}: this {np.median(t_new):.3f} s, other {np.median(t_other):.3f} s (medians of {repeat}); "
            f"ratio other/this: median of pairs {pairs[label]['ratio_other_over_this']:.3f}, "
            f"best/best {pairs[label]['min_ratio']:.3f}",
            flush=True,
        )
    return pairs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", help="directory of the other version's scalinglib package")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--write", help="write reference_results of this version to this JSON file")
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--sweep", type=int, default=300)
    args = ap.parse_args(argv)

    import scalinglib as new

    df = _sub(new, "data").load_testbed()
    chin = _sub(new, "data").load_chinchilla_runs()
    status = 0
    if args.write:
        Path(args.write).write_text(json.dumps(reference_results(new, df, chin), indent=1) + "\n")
        print(f"wrote {args.write}")
    if args.other:
        other = load_other(args.other)
        summary = {}
        if args.check:
            t0 = time.perf_counter()
            a, b = results(other, df, chin), results(new, df, chin)
            worst, where, bad = compare(a, b, args.rtol)
            n_numbers = sum(
                len(np.atleast_1d(v)) for r in a.values() for v in r.values() if not isinstance(v, (bool, str))
            )
            print(
                f"{len(a)} results, {n_numbers} numbers compared in {time.perf_counter() - t0:.0f} s; "
                f"largest relative difference {worst:.3g} ({where})"
            )
            for line in bad:
                print("DIFFERENT:", line)
            summary["check"] = dict(n_results=len(a), max_rel_diff=worst, where=where, n_different_diagnostics=len(bad))
            status |= int(worst > args.rtol or bool(bad))
        if args.time:
            summary["time"] = timing(new, other, df, args.repeat, args.sweep)
        print(json.dumps(summary))
    return status


if __name__ == "__main__":
    sys.exit(main())
