"""The run recommender (scalinglib.design), its validation (scalinglib.designcheck) and `scalinglib design`."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from scalinglib import designcheck as dc
from scalinglib.cli import main
from scalinglib.design import (
    DesignError,
    current_fit,
    greedy_design,
    load_candidates,
    parse_grid,
    rank_candidates,
    target_width,
)
from scalinglib.laws import OvertrainingLaw

TRUE = OvertrainingLaw(E=1.8, a=200.0, b=350.0, eta=0.135)
TARGET = (1.4e9, 1.4e9 * 640)  # N, D: M = 640, outside the runs' M range


def _runs(Ns=(1e7, 8e7, 1.5e8, 4e8), Ms=(20.0, 40.0), noise=0.01, seed=0):
    N = np.repeat(Ns, len(Ms))
    M = np.tile(Ms, len(Ns))
    D = M * N
    rng = np.random.default_rng(seed)
    L = TRUE.predict(6 * N * D, M) + noise * rng.standard_normal(N.size)
    return N, D, L


def test_linear_ranking_is_deterministic_and_simulated_ranking_is_deterministic_for_a_seed():
    N, D, L = _runs()
    cN, cD = parse_grid("1e7,8e7 x 5,80,320")
    a = rank_candidates(N, D, L, TARGET, cN, cD, 1e20)
    b = rank_candidates(N, D, L, TARGET, cN, cD, 1e20)
    pd.testing.assert_frame_equal(a.table, b.table)
    s1 = rank_candidates(N, D, L, TARGET, cN[:3], cD[:3], 1e20, method="simulate", seed=7, n_boot=50)
    s2 = rank_candidates(N, D, L, TARGET, cN[:3], cD[:3], 1e20, method="simulate", seed=7, n_boot=50)
    pd.testing.assert_frame_equal(s1.table, s2.table)
    s3 = rank_candidates(N, D, L, TARGET, cN[:3], cD[:3], 1e20, method="simulate", seed=8, n_boot=50)
    assert not np.allclose(s1.table["width_after"], s3.table["width_after"])


@pytest.mark.parametrize("criterion", ["per_flop", "per_run"])
def test_duplicate_of_an_existing_run_ranks_below_a_run_extending_the_M_range(criterion):
    N, D, L = _runs()
    dup = (4e8, 4e8 * 20)  # an existing run again, C = 1.92e19
    ext = (1e8, 1e8 * 320)  # M beyond the runs' range (toward the target's 640), same cost
    assert math.isclose(6 * dup[0] * dup[1], 6 * ext[0] * ext[1])
    r = rank_candidates(N, D, L, TARGET, [dup[0], ext[0]], [dup[1], ext[1]], 1e20, criterion=criterion)
    top = r.table.iloc[0]
    assert top["M"] == pytest.approx(320.0)
    assert r.table["width_after"].iloc[0] < r.table["width_after"].iloc[1] < r.width_now


def test_linearised_width_tracks_the_simulated_refits():
    # the simulation check of the module docstring: both shrink with an extending run,
    # and agree on its width within a factor of two
    N, D, L = _runs(noise=0.01, seed=1)
    ext = (1e8, 1e8 * 320)
    lin = rank_candidates(N, D, L, TARGET, [ext[0]], [ext[1]], 1e20)
    sim = rank_candidates(N, D, L, TARGET, [ext[0]], [ext[1]], 1e20, method="simulate", n_draws=3, n_boot=300)
    assert lin.table["width_after"].iloc[0] < lin.width_now
    assert 0.5 < lin.table["width_after"].iloc[0] / sim.table["width_after"].iloc[0] < 2.0


def test_greedy_design_stays_within_the_budget():
    N, D, L = _runs()
    cN, cD = parse_grid("1e7,8e7,1.5e8,4e8 x 5,10,80,160,320")
    budget = 3e19
    keep = 6 * cN * cD <= budget
    d = greedy_design(N, D, L, TARGET, cN[keep], cD[keep], budget, max_runs=20)
    assert len(d.picks) >= 2
    assert d.spent <= budget
    assert (d.picks["cumulative_C"] <= budget).all()
    assert np.all(np.diff(d.picks["width_after"]) < 0)  # every pick narrows the interval


def test_three_runs_at_one_M_get_a_pilot_law_that_is_compute_optimal_there():
    N, D, L = _runs(Ns=(1e7, 8e7, 1.5e8), Ms=(20.0,), noise=0.0)
    fit = current_fit(6 * N * D, D / N, L)
    assert fit.source == "pilot" and fit.sigma_source == "default"
    assert fit.law.optimal_multiplier() == pytest.approx(20.0)
    assert math.isinf(target_width(fit, 6 * N * D, D / N, 6 * TARGET[0] * TARGET[1], 640.0))
    r = rank_candidates(N, D, L, TARGET, [1e7, 1e7], [1e7 * 20, 1e7 * 320], 1e20)
    assert r.table["M"].iloc[0] == pytest.approx(320.0)  # the duplicate leaves the law unidentified
    assert math.isinf(r.table["width_after"].iloc[1])


@pytest.mark.parametrize(
    "cN, cD, budget, message",
    [
        ([1e8, -1e8], [1e9, 1e9], 1e20, "candidate 2 (data row 2) has non-positive or non-finite N"),
        ([1e8, 1e8], [1e9, 0.0], 1e20, "candidate 2 (data row 2) has non-positive or non-finite D"),
        (
            [1e8, 1e9],
            [1e9, 1e11],
            1e20,
            "candidate 2 (data row 2; N = 1e+09, D = 1e+11) costs 6e+20 FLOPs, above the budget",
        ),
        ([1e8], [1e9], -5.0, "budget must be a positive number"),
    ],
)
def test_bad_candidates_and_budget_are_named(cN, cD, budget, message):
    N, D, L = _runs()
    with pytest.raises(DesignError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        rank_candidates(N, D, L, TARGET, cN, cD, budget)


def test_candidate_csv_errors_name_file_line_and_column(tmp_path):
    good = tmp_path / "c.csv"
    good.write_text("N,M\n1e8,20\n2e8,40\n")
    _, D = load_candidates(good)
    assert np.allclose(D, [2e9, 8e9])
    for text, msg in [
        ("", "empty file"),
        ("N,loss\n1e8,3\n", "needs columns N and D"),
        ("N,D\n1e8,abc\n", "line 2: column D value 'abc' is not a number"),
        ("N,D\n1e8,1e9\n-1,1e9\n", "line 3: column N value '-1' must be positive"),
        ("N,D\n1e8\n", "line 2: column D is missing"),
        ("N,D\n", "no candidate rows"),
    ]:
        f = tmp_path / "bad.csv"
        f.write_text(text)
        with pytest.raises(DesignError, match=msg):
            load_candidates(f)
        assert str(f) in str(pytest.raises(DesignError, load_candidates, f).value)
    with pytest.raises(DesignError, match="not a number"):
        parse_grid("1e8,abc x 20")
    with pytest.raises(DesignError, match="expected 'N1,N2"):
        parse_grid("1e8,2e8")


# ----------------------------------------------------------------------------- CLI


@pytest.fixture()
def runs_csv(tmp_path, testbed):
    d = testbed[testbed["dataset"] == "rpj"]
    small = ["d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8"]
    r = d[(d["model"].isin(small) & (d["M"] == 20)) | ((d["model"] == small[0]) & (d["M"] == 320))]
    path = tmp_path / "runs.csv"
    r.assign(loss=r["loss_c4_val"], err=r["err_avg_subset"])[["N", "D", "loss", "err"]].to_csv(path, index=False)
    return path


def test_cli_design_ranks_testbed_runs_within_the_budget(runs_csv, capsys, tmp_path):
    plot = tmp_path / "d.png"
    code = main(
        [
            "design",
            str(runs_csv),
            "--law",
            "overtraining",
            "--target",
            "1.44e9",
            "9.2e11",
            "--budget",
            "2e19",
            "--candidates",
            "11M,79M,154M,411M x 5,10,20,40,80,160,320,640",
            "--json",
            "--plot",
            str(plot),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["fit"]["source"] == "fit" and out["fit"]["n_runs"] == 5
    N, M = np.meshgrid([11e6, 79e6, 154e6, 411e6], [5, 10, 20, 40, 80, 160, 320, 640])
    over = int((6 * N**2 * M > 2e19).sum())
    assert over == 10
    assert len(out["ranking"]) == 32 - over
    assert f"{over} of its 32 runs above the budget left out" in out["candidates"]
    assert all(r["C"] <= 2e19 for r in out["ranking"])
    assert out["design_spent"] <= 2e19
    assert out["width_now"] > out["design"][-1]["width_after"] > 0
    assert plot.stat().st_size > 10_000


def test_cli_design_error_fit_reports_error_units(runs_csv, capsys):
    code = main(
        [
            "design",
            str(runs_csv),
            "--law",
            "overtraining",
            "--target",
            "1.44e9",
            "9.2e11",
            "--budget",
            "2e19",
            "--error-fit",
            str(runs_csv),
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["units"] == "error"
    assert 0 < out["width_now"] < 1


def _design_error_fit(runs_csv, error_fit, capsys) -> tuple[int, dict | str]:
    argv = ["design", str(runs_csv), "--law", "overtraining", "--target", "1.44e9", "9.2e11", "--budget", "2e19"]
    code = main([*argv, "--error-fit", str(error_fit), "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else out.err)


def test_cli_design_error_fit_takes_a_saved_error_law_fit_with_the_ranking_of_its_csv(runs_csv, tmp_path, capsys):
    saved = tmp_path / "err_fit.json"
    assert main(["fit", str(runs_csv), "--law", "error", "--save", str(saved)]) == 0
    capsys.readouterr()
    no_ext = tmp_path / "err_fit"  # recognised by its content
    no_ext.write_bytes(saved.read_bytes())
    code, from_csv = _design_error_fit(runs_csv, runs_csv, capsys)
    assert code == 0 and from_csv["error_fit"]["how"] == "fitted to its loss and error columns"
    for path in (saved, no_ext):
        code, from_saved = _design_error_fit(runs_csv, path, capsys)
        assert code == 0 and from_saved["units"] == "error"
        assert from_saved["error_fit"] == {**from_csv["error_fit"], "file": str(path), "how": "saved fit"}
        assert from_saved["width_now"] == from_csv["width_now"]
        assert from_saved["ranking"] == from_csv["ranking"] and from_saved["design"] == from_csv["design"]


@pytest.mark.parametrize(("law", "message"), [("overtraining", "saved fit of a loss law"), ("sigmoid", "sigmoid law")])
def test_cli_design_refuses_a_saved_fit_of_another_law_as_error_fit(runs_csv, tmp_path, capsys, law, message):
    saved = tmp_path / f"{law}.json"
    assert main(["fit", str(runs_csv), "--law", law, "--save", str(saved)]) == 0
    capsys.readouterr()
    code, err = _design_error_fit(runs_csv, saved, capsys)
    assert code == 2
    assert str(saved) in err and message in err and "scalinglib fit --law error --save" in err


def test_cli_design_bad_candidates_exit_2_with_a_message(runs_csv, tmp_path, capsys):
    bad = tmp_path / "cand.csv"
    bad.write_text("N,D\n1e8,2e9\n1e9,1e11\n")
    code = main(
        [
            "design",
            str(runs_csv),
            "--law",
            "overtraining",
            "--target",
            "1.44e9",
            "9.2e11",
            "--budget",
            "2e19",
            "--candidates",
            str(bad),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "candidate 2" in err and "above the budget" in err and str(bad) in err
    assert main(["design", str(runs_csv), "--law", "overtraining", "--target", "1.44e9", "-1", "--budget", "2e19"]) == 2


# ----------------------------------------------------------------------------- validation


def test_validation_walks_stay_within_budget_and_never_use_a_target(testbed):
    case = dc.cases(testbed=testbed)[0]
    t = case.targets.iloc[0]
    for strategy in ("recommender", "recommender_run", "random", "m20"):
        order = dc.walk(case, t, strategy, seed=3)
        assert case.runs["C"].iloc[order].sum() <= case.budget * (1 + 1e-9)
        assert not set(order) & set(case.start)
        assert "open_lm_1b" not in set(case.runs["model"].iloc[order]) or t["M"] != 640
    assert dc.walk(case, t, "random", seed=3) == dc.walk(case, t, "random", seed=3)
    # "more sizes at M = 20" never identifies the over-training law: no forecast at M = 640
    tr = dc.trajectory(case, t, "m20", n_boot=50)
    assert np.isnan(tr["predicted"].iloc[-1])
    # the paper's default configuration reproduces its headline: 1.4B at M = 640 within 1%
    d = dc.trajectory(case, t, "default", n_boot=50)
    assert d["rel_error"].iloc[-1] < 0.01


def test_validation_table_counts_a_missing_forecast_or_interval_as_worse():
    rows = []
    for strategy, seed, err, width in [
        ("recommender", 0, 0.02, np.nan),
        ("default", 0, 0.01, 0.3),
        ("m20", 0, np.nan, np.nan),
        ("random", 0, 0.05, 0.2),
        ("random", 1, 0.01, 0.4),
        ("random", 2, 0.03, 0.5),
    ]:
        rows.append(
            {
                "lab": "lab",
                "target": "t",
                "strategy": strategy,
                "seed": seed,
                "step": 1,
                "spent": 1.0,
                "rel_error": err,
                "width": width,
            }
        )
    t = dc.validation_table(pd.DataFrame(rows)).set_index("baseline")
    assert not t.loc[dc.STRATEGIES["default"], "beats_error"]
    assert t.loc[dc.STRATEGIES["m20"], "beats_error"] and not t.loc[dc.STRATEGIES["m20"], "beats_width"]
    assert t.loc[dc.STRATEGIES["random"], "beats_error"]  # 0.02 < median 0.03
    assert t.loc[dc.STRATEGIES["random"], "share_error"] == pytest.approx(2 / 3)
    assert t.loc[dc.STRATEGIES["random"], "share_width"] == 0.0
