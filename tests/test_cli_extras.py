"""Command-line extras: `fit --bootstrap`, `reproduce --bootstrap`, `scalinglib plan`."""

from __future__ import annotations

import json

import pytest

from scalinglib.cli import main
from scalinglib.fit import fit_error, fit_overtraining
from scalinglib.paper import default_config, fit_config
from scalinglib.planning import plan_for_error, plan_for_loss
from scalinglib.recipe import choose_config

PLAN_KEYS = ("N", "D", "M", "train_flops", "inference_flops", "total_flops")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def runs_csv(testbed, tmp_path):
    """The small RedPajama runs (N, D, loss) as a user's CSV."""
    d = testbed[(testbed["dataset"] == "rpj") & (testbed["N"] < 1e9)]
    path = tmp_path / "runs.csv"
    d[["N", "D", "loss_c4_val"]].rename(columns={"loss_c4_val": "loss"}).to_csv(path, index=False)
    return path


def test_fit_bootstrap_json_adds_an_interval_per_parameter_around_the_estimate(capsys, runs_csv):
    code, out, err = _run(capsys, "fit", str(runs_csv), "--law", "overtraining", "--bootstrap", "200", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload["intervals"]) == set(payload["params"]) == {"E", "a", "b", "eta"}
    for k, (lo, hi) in payload["intervals"].items():
        assert lo <= payload["params"][k] <= hi, k
    assert payload["bootstrap"]["n_boot"] == 200 and payload["bootstrap"]["level"] == 0.95


def test_fit_bootstrap_is_reproducible_with_the_seed_and_narrower_at_a_lower_level(capsys, runs_csv):
    base = (
        "fit",
        str(runs_csv),
        "--law",
        "overtraining",
        "--bootstrap",
        "100",
        "--json",
        "--bootstrap-method",
        "residual",
    )
    a = json.loads(_run(capsys, *base, "--seed", "3")[1])["intervals"]
    b = json.loads(_run(capsys, *base, "--seed", "3")[1])["intervals"]
    c = json.loads(_run(capsys, *base, "--seed", "3", "--level", "0.5")[1])["intervals"]
    assert a == b
    assert all(c[k][0] >= a[k][0] and c[k][1] <= a[k][1] for k in a)


def test_fit_bootstrap_text_lists_intervals_from_the_residual_bootstrap_by_default(capsys, runs_csv):
    code, out, _ = _run(capsys, "fit", str(runs_csv), "--law", "overtraining", "--bootstrap", "50", "--level", "0.9")
    assert code == 0
    assert "90% intervals (50 residual bootstrap replicates, seed 0" in out
    assert "eta in [" in out


def test_fit_bootstrap_rejects_bad_options(capsys, runs_csv):
    assert _run(capsys, "fit", str(runs_csv), "--law", "overtraining", "--bootstrap", "1")[0] == 2
    assert _run(capsys, "fit", str(runs_csv), "--law", "overtraining", "--bootstrap", "10", "--level", "95")[0] == 2


def test_reproduce_bootstrap_json_adds_interval_keys_around_the_predictions(capsys, data_dir):
    code, out, err = _run(capsys, "reproduce", "--bootstrap", "50", "--seed", "1", "--json", "--data", str(data_dir))
    assert code == 0, err
    records = json.loads(out)
    assert len(records) == 12
    for r in records:
        assert r["loss_predicted_low"] <= r["loss_predicted"] <= r["loss_predicted_high"]
        assert r["err_predicted_low"] <= r["err_predicted"] <= r["err_predicted_high"]


def test_plan_dataset_json_matches_the_library(capsys, testbed, data_dir):
    code, out, err = _run(
        capsys,
        "plan",
        "--dataset",
        "rpj",
        "--target-loss",
        "2.4",
        "--inference-tokens",
        "1e12",
        "--json",
        "--data",
        str(data_dir),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert set(PLAN_KEYS) <= set(payload)
    fitted = fit_config(testbed, choose_config(testbed, "rpj"))
    ref = plan_for_loss(fitted.loss_law, 2.4, 1e12)
    for k in PLAN_KEYS:
        assert payload[k] == pytest.approx(getattr(ref, k), rel=1e-9)


def test_plan_for_an_error_target_uses_the_chosen_split(capsys, testbed, data_dir):
    code, out, err = _run(
        capsys,
        "plan",
        "--dataset",
        "c4_original",
        "--target-err",
        "0.62",
        "--downstream",
        "avg",
        "--json",
        "--data",
        str(data_dir),
    )
    assert code == 0, err
    fitted = fit_config(testbed, choose_config(testbed, "c4_original", downstream="avg"))
    ref = plan_for_error(fitted.error_law, fitted.loss_law, 0.62)
    assert json.loads(out)["total_flops"] == pytest.approx(ref.total_flops, rel=1e-9)


def test_plan_text_prints_sizes_and_flops(capsys, data_dir):
    code, out, _ = _run(capsys, "plan", "--dataset", "rw_original", "--target-loss", "2.4", "--data", str(data_dir))
    assert code == 0
    for label in (
        "parameters N:",
        "tokens D:",
        "tokens/param M:",
        "training FLOPs:",
        "inference FLOPs:",
        "total FLOPs:",
    ):
        assert label in out


def test_plan_from_a_users_csv(capsys, runs_csv):
    code, out, err = _run(
        capsys, "plan", "--csv", str(runs_csv), "--law", "overtraining", "--target-loss", "2.3", "--json"
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["train_flops"] == pytest.approx(6 * payload["N"] * payload["D"])
    assert payload["inference_flops"] == 0.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--dataset", "rpj", "--target-loss", "1.0"), "unreachable"),
        (("--dataset", "rpj", "--target-err", "0.99"), "unreachable"),
        (("--dataset", "rpj", "--target-loss", "2.4", "--inference-tokens", "-5"), "inference_tokens"),
    ],
)
def test_plan_unreachable_or_bad_targets_exit_2_with_a_message(capsys, data_dir, argv, message):
    code, out, err = _run(capsys, "plan", *argv, "--data", str(data_dir))
    assert code == 2
    assert message in err and out == ""


def test_plan_csv_needs_a_law_and_exactly_one_source_and_target(capsys, runs_csv):
    code, _, err = _run(capsys, "plan", "--csv", str(runs_csv), "--target-loss", "2.3")
    assert code == 2 and "--law" in err
    assert _run(capsys, "plan", "--target-loss", "2.3")[0] == 2
    assert _run(capsys, "plan", "--dataset", "rpj")[0] == 2


@pytest.fixture
def loss_err_csv(testbed, tmp_path):
    """The small RedPajama runs with loss and 17-task error columns, as a user's CSV."""
    d = testbed[(testbed["dataset"] == "rpj") & (testbed["N"] < 1e9)]
    path = tmp_path / "runs_err.csv"
    d[["N", "D", "loss_c4_val", "err_avg_subset"]].rename(
        columns={"loss_c4_val": "loss", "err_avg_subset": "err"}
    ).to_csv(path, index=False)
    return path, d


def test_plan_csv_with_an_error_column_plans_for_an_error_target_with_both_fitted_laws(capsys, loss_err_csv):
    path, d = loss_err_csv
    code, out, err = _run(
        capsys,
        "plan",
        "--csv",
        str(path),
        "--law",
        "overtraining",
        "--target-err",
        "0.5",
        "--inference-tokens",
        "1e12",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    loss_law = fit_overtraining(d["C"].to_numpy(), d["M"].to_numpy(), d["loss_c4_val"].to_numpy()).law
    error_law = fit_error(d["loss_c4_val"].to_numpy(), d["err_avg_subset"].to_numpy()).law
    ref = plan_for_error(error_law, loss_law, 0.5, 1e12)
    for k in PLAN_KEYS:
        assert payload[k] == pytest.approx(getattr(ref, k), rel=1e-9), k
    assert "error law fitted to" in payload["source"]


def test_plan_csv_error_target_reads_the_error_law_from_err_csv(capsys, runs_csv, loss_err_csv, tmp_path):
    path, d = loss_err_csv
    renamed = tmp_path / "errors.csv"
    d[["loss_c4_val", "err_avg_subset"]].rename(columns={"loss_c4_val": "loss", "err_avg_subset": "top1"}).to_csv(
        renamed, index=False
    )
    argv = ("plan", "--csv", str(runs_csv), "--law", "overtraining", "--target-err", "0.5", "--json")
    code, out, err = _run(capsys, *argv, "--err-csv", str(renamed), "--err-col", "top1")
    assert code == 0, err
    code2, out2, _ = _run(capsys, "plan", "--csv", str(path), "--law", "overtraining", "--target-err", "0.5", "--json")
    assert code2 == 0
    assert json.loads(out)["N"] == pytest.approx(json.loads(out2)["N"], rel=1e-12)


def test_plan_csv_error_target_without_an_error_column_says_how_to_supply_one(capsys, runs_csv, tmp_path):
    code, out, err = _run(capsys, "plan", "--csv", str(runs_csv), "--law", "overtraining", "--target-err", "0.5")
    assert code == 2 and out == ""
    assert str(runs_csv) in err and "'err'" in err and "--err-csv" in err and "--err-col" in err
    # a second CSV without the named column names that file
    other = tmp_path / "other.csv"
    other.write_text("loss,error\n3.1,0.6\n3.0,0.58\n2.9,0.55\n")
    code, _, err = _run(
        capsys, "plan", "--csv", str(runs_csv), "--law", "overtraining", "--target-err", "0.5", "--err-csv", str(other)
    )
    assert code == 2 and str(other) in err and "columns found: 'loss', 'error'" in err
    # --err-csv without an error target is refused
    code, _, err = _run(
        capsys, "plan", "--csv", str(runs_csv), "--law", "overtraining", "--target-loss", "2.4", "--err-csv", str(other)
    )
    assert code == 2 and "--err-csv" in err


def test_plan_dataset_is_the_plan_of_chapter_12(capsys, testbed, data_dir):
    """The command line plans with the law chapter 12 plans with (the runs that choose N and D)."""
    code, out, err = _run(
        capsys,
        "plan",
        "--dataset",
        "rpj",
        "--target-loss",
        "2.44",
        "--inference-tokens",
        "1e12",
        "--json",
        "--data",
        str(data_dir),
    )
    assert code == 0, err
    chapter = plan_for_loss(fit_config(testbed, choose_config(testbed, "rpj")).loss_law, 2.44, 1e12)
    default = plan_for_loss(fit_config(testbed, default_config("rpj")).loss_law, 2.44, 1e12)
    payload = json.loads(out)
    assert payload["N"] == pytest.approx(chapter.N, rel=1e-9) and payload["M"] == pytest.approx(chapter.M, rel=1e-9)
    assert abs(payload["M"] / default.M - 1) > 0.5  # and not the default configuration's plan


def test_plan_bootstrap_json_brackets_the_point_plan_and_matches_plan_interval(capsys, testbed, data_dir):
    from scalinglib.planning import plan_interval
    from scalinglib.uncertainty import bootstrap_config

    argv = ("plan", "--dataset", "rpj", "--target-err", "0.45", "--inference-tokens", "1e12", "--data", str(data_dir))
    code, out, err = _run(capsys, *argv, "--bootstrap", "100", "--seed", "3", "--level", "0.8", "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload["intervals"]) == {*PLAN_KEYS, "target_loss"}
    assert payload["bootstrap"]["n_boot"] == 100 and payload["bootstrap"]["level"] == 0.8
    ref = plan_interval(
        bootstrap_config(
            testbed, choose_config(testbed, "rpj"), n_boot=100, seed=3, method="residual"
        ),  # the CLI's default
        target_err=0.45,
        inference_tokens=1e12,
    )
    assert payload["bootstrap"]["n_unreachable"] == ref.n_unreachable
    for k, (lo, hi) in ref.intervals(0.8).items():
        got_lo, got_hi = payload["intervals"][k]
        assert got_lo == pytest.approx(lo, rel=1e-12)
        assert (got_hi is None) if hi == float("inf") else got_hi == pytest.approx(hi, rel=1e-12)
    for k in ("N", "total_flops"):
        lo, hi = payload["intervals"][k]
        assert lo <= payload[k] and (hi is None or payload[k] <= hi)
    # the point plan is the one without --bootstrap
    code, out_plain, _ = _run(capsys, *argv, "--json")
    assert {k: json.loads(out_plain)[k] for k in PLAN_KEYS} == {k: payload[k] for k in PLAN_KEYS}


def test_plan_bootstrap_from_a_users_csv_prints_intervals(capsys, runs_csv):
    code, out, err = _run(
        capsys, "plan", "--csv", str(runs_csv), "--law", "overtraining", "--target-loss", "2.6", "--bootstrap", "50"
    )
    assert code == 0, err
    assert "95% intervals (50 residual bootstrap replicates, seed 0;" in out
    for label in ("parameters N", "tokens D", "total FLOPs"):
        assert any(line.strip().startswith(label) and " in [" in line for line in out.splitlines())


def test_plan_bootstrap_json_writes_an_unbounded_end_as_null(capsys, runs_csv):
    # a target just above the fitted E: many replicates' E lie above it, so the upper ends are unbounded
    from scalinglib.fit import fit_law
    from scalinglib.userdata import load_runs

    runs = load_runs(runs_csv, "overtraining")
    E = fit_law(runs.law, objective="lsq", **runs.data).law.E
    code, out, err = _run(
        capsys,
        "plan",
        "--csv",
        str(runs_csv),
        "--law",
        "overtraining",
        "--target-loss",
        f"{E + 1e-3}",
        "--bootstrap",
        "100",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["bootstrap"]["n_unreachable"] > 5
    assert payload["intervals"]["total_flops"][1] is None
