"""`fit --save`, `scalinglib predict`, `--plot` on fit/predict/plan, and plan's warnings."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from test_saved_fit import REFUSALS, synthetic_runs

import scalinglib as sl
from scalinglib.cli import main
from scalinglib.forecast import target_sizes
from scalinglib.uncertainty import bootstrap, percentile_interval


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A user's CSV (N, D, loss, err) and both laws fitted and saved with 200 replicates."""
    d = tmp_path_factory.mktemp("predict")
    r = synthetic_runs()
    lines = ["N,D,loss,err"] + [
        f"{n:.6g},{dd:.6g},{l:.6g},{e:.6g}" for n, dd, l, e in zip(r["N"], r["D"], r["L"], r["err"])
    ]
    (d / "runs.csv").write_text("\n".join(lines) + "\n")
    for law, seed, name in (("overtraining", 0, "loss_fit.json"), ("error", 1, "err_fit.json")):
        code = main(
            [
                "fit",
                str(d / "runs.csv"),
                "--law",
                law,
                "--bootstrap",
                "200",
                "--seed",
                str(seed),
                "--save",
                str(d / name),
            ]
        )
        assert code == 0
    return d


def test_predict_chains_both_saved_fits_and_equals_the_library(capsys, work):
    code, out, err = _run(
        capsys,
        "predict",
        work / "loss_fit.json",
        "--N",
        "6.9e9",
        "--D",
        "1.38e11",
        "--error-fit",
        work / "err_fit.json",
        "--level",
        "0.9",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    (rec,) = payload["targets"]
    # the same fits and replicates in Python, with the uncertainty module
    runs = sl.load_runs(work / "runs.csv", "overtraining")
    errs = sl.load_runs(work / "runs.csv", "error")
    lf, ef = sl.fit_overtraining(**runs.data), sl.fit_error(**errs.data)
    lb, eb = bootstrap(lf, 200, "residual", seed=0), bootstrap(ef, 200, "residual", seed=1)
    t = target_sizes(N=[6.9e9], D=[1.38e11])
    L_b = lb.predict(t["C"], t["M"])
    lo, hi = percentile_interval(L_b, 0.9)
    elo, ehi = percentile_interval(eb.law_batch().predict(L_b), 0.9)
    assert rec["loss"] == float(lf.law.predict(t["C"], t["M"])[0])
    assert rec["loss_interval"] == [float(lo[0]), float(hi[0])]
    assert rec["err_interval"] == [float(elo[0]), float(ehi[0])]
    assert rec["extrapolation"]["N"] > 1 and rec["extrapolation"]["M"] == 1.0
    assert any("error law is extrapolated" in w for w in rec["warnings"])
    assert "law interval" in payload["intervals"]["loss"] and payload["n_boot"] == 200


def test_predict_text_labels_law_and_new_run_intervals(capsys, work):
    code, out, err = _run(
        capsys,
        "predict",
        work / "loss_fit.json",
        "--N",
        "6.9e9",
        "--M",
        "20",
        "--error-fit",
        work / "err_fit.json",
        "--new-run",
    )
    assert code == 0, err
    loss_line = next(line for line in out.splitlines() if line.startswith("  loss "))
    assert "law [" in loss_line and "new run [" in loss_line
    assert "warning: predicted loss" in out and "outside the fitted runs: C x" in out


def test_predict_reads_a_targets_csv_and_warns_outside_the_fitted_m_range(capsys, work):
    (work / "targets.csv").write_text("N,M\n1.5e8,20\n1.1e7,1000\n6.9e9,20\n")
    code, out, err = _run(capsys, "predict", work / "loss_fit.json", "--targets", work / "targets.csv", "--json")
    assert code == 0, err
    recs = json.loads(out)["targets"]
    assert [r["warnings"] != [] for r in recs] == [False, True, False]
    assert recs[0]["extrapolation"] == {"C": 1.0, "N": 1.0, "D": 1.0, "M": 1.0}
    assert "err" not in recs[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--N", "1e9"], "give a target as"),
        (["--N", "1e9", "--D", "1e10", "--targets", "t.csv"], "not both"),
        (["--N", "1e9", "--D", "1e10", "--error-fit", "loss_fit.json"], "needs a fit of an error law"),
    ],
)
def test_predict_refuses_bad_arguments_in_one_line(capsys, work, monkeypatch, argv, message):
    monkeypatch.chdir(work)
    code, _, err = _run(capsys, "predict", "loss_fit.json", *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_predict_of_an_error_fit_alone_is_refused(capsys, work):
    code, _, err = _run(capsys, "predict", work / "err_fit.json", "--N", "1e9", "--D", "1e10")
    assert code == 2 and "this is a fit of an error law" in err


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_hostile_saved_files_never_give_a_traceback(capsys, work, tmp_path, case):
    bad = tmp_path / "fit.json"
    bad.write_bytes((work / "loss_fit.json").read_bytes())
    damage, expected = REFUSALS[case]
    damage(bad)
    code, out, err = _run(capsys, "predict", bad, "--N", "1e9", "--D", "2e10")
    assert code == 2 and out == ""
    assert err.startswith(f"scalinglib: error: {bad}") and expected in err and err.count("\n") == 1


def test_a_hostile_file_through_the_real_command_prints_no_traceback(work, tmp_path):
    bad = tmp_path / "fit.json"
    bad.write_text('{"format": "scalinglib-fit", "format_version": 1, "checksum": 3}')
    p = subprocess.run(
        [sys.executable, "-m", "scalinglib", "predict", str(bad), "--C", "1e20"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr and "wrong type" in p.stderr


MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF", "svg": b"<?xml"}


@pytest.mark.parametrize("ext", sorted(MAGIC))
def test_every_plot_option_writes_a_file_of_its_type(capsys, work, tmp_path, ext):
    commands = {
        "fit": ["fit", work / "runs.csv", "--law", "overtraining"],
        "predict": [
            "predict",
            work / "loss_fit.json",
            "--N",
            "6.9e9",
            "--D",
            "1.38e11",
            "--error-fit",
            work / "err_fit.json",
            "--new-run",
        ],
        "plan": ["plan", "--csv", work / "runs.csv", "--law", "overtraining", "--target-loss", "2.6"],
    }
    for name, argv in commands.items():
        out = tmp_path / f"{name}.{ext}"
        code, _, err = _run(capsys, *argv, "--plot", out)
        assert code == 0, err
        data = out.read_bytes()
        assert len(data) > 2000 and data.startswith(MAGIC[ext]), name
        if ext == "svg":
            assert b"<svg" in data[:2000]


def test_a_rendered_predict_figure_is_not_blank(capsys, work, tmp_path):
    import matplotlib.image as mpimg

    out = tmp_path / "forecast.png"
    code, _, err = _run(
        capsys,
        "predict",
        work / "loss_fit.json",
        "--N",
        "6.9e9",
        "--D",
        "1.38e11",
        "--error-fit",
        work / "err_fit.json",
        "--plot",
        out,
    )
    assert code == 0, err
    img = mpimg.imread(out)[..., :3]
    assert img.shape[0] > 400 and img.shape[1] > 800
    ink = np.mean(img.min(axis=2) < 0.9)  # share of pixels that are not white
    assert 0.03 < ink < 0.6
    assert np.unique(img.reshape(-1, 3).round(2), axis=0).shape[0] > 20  # several colours, not one flat tone


def test_plot_refuses_an_unknown_extension(capsys, work):
    code, _, err = _run(capsys, "fit", work / "runs.csv", "--law", "overtraining", "--plot", "fit.jpg")
    assert code == 2 and ".png, .svg or .pdf" in err


def test_matplotlib_is_imported_only_with_plot(work, tmp_path):
    probe = (
        "import contextlib, io, sys\nfrom scalinglib.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['predict', {str(work / 'loss_fit.json')!r}, '--N', '1e9', '--D', '2e10']) == 0\n"
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_plan_warns_when_its_m_leaves_the_fitted_range(capsys, tmp_path):
    r = synthetic_runs()
    keep = r["D"] / r["N"] >= 40  # runs at M = 40 to 160 only; the law of the runs has M* near 21
    lines = ["N,D,loss"] + [f"{n:.6g},{d:.6g},{l:.6g}" for n, d, l in zip(r["N"][keep], r["D"][keep], r["L"][keep])]
    (tmp_path / "runs.csv").write_text("\n".join(lines) + "\n")
    code, out, err = _run(
        capsys, "plan", "--csv", tmp_path / "runs.csv", "--law", "overtraining", "--target-loss", "2.6", "--json"
    )
    assert code == 0, err
    payload = json.loads(out)
    outside = not 40 <= payload["M"] <= 160
    assert outside  # the compute-optimal M lies below the fitted 40
    assert any("outside the fitted M range" in w for w in payload["warnings"])
    code, out, err = _run(
        capsys, "plan", "--csv", tmp_path / "runs.csv", "--law", "overtraining", "--target-loss", "2.6"
    )
    assert "warning: the plan's M =" in out


def test_plan_with_a_users_error_law_does_not_claim_the_17_task_split(capsys, work):
    code, out, err = _run(capsys, "plan", "--csv", work / "runs.csv", "--law", "overtraining", "--target-err", "0.45")
    assert code == 0, err
    assert "17-task" not in out and "(your error law)" in out


def test_plan_bootstrap_for_a_loss_target_prints_no_degenerate_target_loss_interval(capsys, work):
    code, out, err = _run(
        capsys, "plan", "--csv", work / "runs.csv", "--law", "overtraining", "--target-loss", "2.6", "--bootstrap", "30"
    )
    assert code == 0, err
    assert "target loss" not in out.split("intervals (")[1]


def _leaves(obj, path=()):
    """Paths of every value in a JSON document (dicts and lists, recursively)."""
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _leaves(v, (*path, i))


def test_randomly_corrupted_but_checksummed_documents_never_give_a_traceback(capsys, work, tmp_path):
    # A hostile file can carry a valid checksum: replace one value anywhere by a value of another
    # kind, recompute the checksum, and predict. Each must load and predict, or be refused in one line.
    from test_saved_fit import _checksum

    docs = {name: json.loads((work / name).read_text()) for name in ("loss_fit.json", "err_fit.json")}
    rng = np.random.default_rng(0)
    junk = [None, True, -1, 0, 1e308, -1e308, "x", [], {}, [1.0], {"a": 1}, 10**400, 2.5]
    bad = tmp_path / "bad.json"
    for trial in range(200):
        name = ("loss_fit.json", "err_fit.json")[trial % 2]
        doc = docs[name]
        paths = [p for p in _leaves(doc) if p and p[0] != "checksum"]
        d = json.loads(json.dumps(doc))
        path = paths[rng.integers(len(paths))]
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = junk[rng.integers(len(junk))]
        d["checksum"] = _checksum(d)
        bad.write_text(json.dumps(d))
        files = (bad, work / "err_fit.json") if name == "loss_fit.json" else (work / "loss_fit.json", bad)
        code, out, err = _run(
            capsys, "predict", files[0], "--N", "1e9", "--D", "2e10", "--error-fit", files[1], "--json"
        )
        assert code in (0, 2), (path, err)
        if code == 2:
            assert err.startswith("scalinglib: error: ") and err.count("\n") == 1, (path, err)
        else:
            json.loads(out)
