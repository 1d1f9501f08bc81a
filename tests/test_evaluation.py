"""Tests of scalinglib.evaluation: grids, per-task, per-eval-set and compute-trade-off predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglib.data import EVAL_SETS, task_columns
from scalinglib.evaluation import (
    compute_tradeoff,
    efficient_frontier,
    eval_set_predictions,
    grid_summary,
    relative_error_grid,
    task_predictions,
    task_summary,
    tradeoff_runs,
    tradeoff_summary,
)
from scalinglib.paper import default_config, fit_config, predict_targets, reproduce


@pytest.fixture(scope="module")
def df(testbed):
    return testbed


@pytest.fixture(scope="module")
def headline(df):
    return reproduce(df, downstreams=("avg_subset",)).set_index(["dataset", "model"])


@pytest.fixture(scope="module")
def tradeoff_rpj(df):
    return compute_tradeoff(df, "rpj")


# ----------------------------------------------------------------------------- grid


def test_grid_has_one_row_per_run_of_the_training_set(df):
    g = relative_error_grid(df, "rpj")
    assert len(g) == (df["dataset"] == "rpj").sum() == 35
    assert not g.duplicated(["model", "M"]).any()


def test_grid_flags_the_default_fitting_runs_and_targets(df):
    g = relative_error_grid(df, "c4_original")
    assert g["in_loss_fit"].sum() == 5
    assert g["in_error_fit"].sum() == 6
    assert set(g.loc[g["in_error_fit"] & ~g["in_loss_fit"], "model"]) == {"open_lm_1b"}
    t = g[g["is_target"]]
    assert sorted(zip(t["model"], t["M"])) == [("open_lm_1b", 80.0), ("open_lm_7b", 20.0)]
    assert not (g["is_target"] & g["in_error_fit"]).any()


@pytest.mark.parametrize("dataset", ["c4_original", "rpj", "rw_original"])
def test_grid_target_rows_agree_with_the_headline_predictions(df, headline, dataset):
    g = relative_error_grid(df, dataset)
    g = g[g["is_target"]].set_index("model")
    for model in ("open_lm_1b", "open_lm_7b"):
        h = headline.loc[(dataset, model)]
        assert g.loc[model, "loss_rel_error"] == pytest.approx(h["loss_rel_error"], rel=1e-9)
        assert g.loc[model, "err_rel_error"] == pytest.approx(h["err_rel_error"], rel=1e-9)


def test_grid_reproduces_the_paper_redpajama_numbers(df):
    g = relative_error_grid(df, "rpj")
    g = g[g["is_target"]].set_index("model")
    assert 100 * g.loc["open_lm_7b", "loss_rel_error"] == pytest.approx(0.73, abs=0.005)
    assert 100 * g.loc["open_lm_7b", "err_rel_error"] == pytest.approx(0.05, abs=0.005)


def test_grid_relative_errors_are_absolute_signed_errors_over_observed(df):
    g = relative_error_grid(df, "rw_original")
    np.testing.assert_allclose(g["loss_rel_error"], g["loss_signed_rel_error"].abs())
    np.testing.assert_allclose(g["err_rel_error"], np.abs(g["err_predicted"] - g["err_observed"]) / g["err_observed"])


def test_grid_fits_its_own_loss_runs_within_one_percent(df):
    for ds in ("c4_original", "rpj", "rw_original"):
        g = relative_error_grid(df, ds)
        assert g.loc[g["in_loss_fit"], "loss_rel_error"].max() < 0.01


def test_grid_rejects_an_unknown_training_set(df):
    with pytest.raises(ValueError, match="pile"):
        relative_error_grid(df, "pile")


# ----------------------------------------------------------------------------- tasks


@pytest.fixture(scope="module")
def tasks_rpj(df):
    return task_predictions(df, "rpj")


def test_task_predictions_cover_every_task_at_both_targets(df, tasks_rpj):
    assert len(tasks_rpj) == 2 * len(task_columns(df)) == 92
    assert set(tasks_rpj["task"]) == set(task_columns(df))
    assert set(tasks_rpj["model"]) == {"open_lm_1b", "open_lm_7b"}


def test_task_prediction_equals_the_default_configuration_with_that_task(df, tasks_rpj):
    fitted = fit_config(df, default_config("rpj", downstream="arc_easy"))
    want = {p.model: p for p in predict_targets(df, fitted)}
    got = tasks_rpj[tasks_rpj["task"] == "arc_easy"].set_index("model")
    for model, p in want.items():
        assert got.loc[model, "err_predicted"] == pytest.approx(p.err_predicted, rel=1e-9)
        assert got.loc[model, "err_rel_error"] == pytest.approx(p.err_rel_error, rel=1e-9)


def test_paper_chance_rule_reproduces_the_17_task_split(tasks_rpj):
    s = task_summary(tasks_rpj)
    assert s["above_chance"].sum() == 17
    assert (s["above_chance"] == s["in_subset"]).all()


def test_task_summary_ranks_by_mean_relative_error_and_labels_verdicts(tasks_rpj):
    s = task_summary(tasks_rpj)
    assert len(s) == 46
    assert s.iloc[0]["mean_rel_error"] == s["mean_rel_error"].min()
    assert s.iloc[0]["rank"] == 1
    assert (s.loc[~s["above_chance"], "verdict"] == "near chance").all()
    pred = s[s["verdict"] == "predictable"]
    assert (pred[["rel_error_overtrained", "rel_error_7b"]].max(axis=1) <= 0.10).all()
    assert "arc_easy" in set(pred["task"])
    # a task is predictable only when the law beats guessing chance at the targets
    assert (pred["mean_rel_error"] < pred["chance_rel_error"]).all()
    close_but_no_better = s[
        s["above_chance"]
        & ~s["beats_chance_guess"]
        & (s[["rel_error_overtrained", "rel_error_7b"]].max(axis=1) <= 0.10)
    ]
    assert (close_but_no_better["verdict"] == "not predictable").all()
    assert "commonsense_qa" in set(close_but_no_better["task"])  # within 10 %, but guessing chance does better


def test_task_summary_names_missing_columns(tasks_rpj):
    with pytest.raises(KeyError, match="chance_margin"):
        task_summary(tasks_rpj.drop(columns="chance_margin"))


def test_task_predictions_reject_an_unknown_task(df):
    with pytest.raises(KeyError, match="no_such_task"):
        task_predictions(df, "rpj", tasks=["no_such_task"])


# ----------------------------------------------------------------------------- eval sets


def test_eval_set_predictions_cover_every_pair_and_target(df):
    e = eval_set_predictions(df)
    assert len(e) == 3 * len(EVAL_SETS) * 2
    assert not e[["loss_rel_error", "err_rel_error"]].isna().any().any()


def test_eval_set_c4_rows_equal_the_headline(df, headline):
    e = eval_set_predictions(df, eval_sets=("c4_val",)).set_index(["dataset", "model"])
    for key in headline.index:
        assert e.loc[key, "loss_rel_error"] == pytest.approx(headline.loc[key, "loss_rel_error"], rel=1e-9)


# ----------------------------------------------------------------------------- compute trade-off


def test_tradeoff_runs_follow_the_documented_rule(df):
    lr, er = tradeoff_runs(df, "rpj", "d=576_l=24_h=8", 160.0)
    assert {r.model for r in lr} == {"d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8"}
    assert {r.M for r in lr} == {20.0, 40.0, 80.0, 160.0}
    assert er == lr
    lr, er = tradeoff_runs(df, "rpj", "open_lm_1b", 40.0)
    assert all(r.model != "open_lm_1b" for r in lr)
    assert set(er) - set(lr) == {type(lr[0])("open_lm_1b", 20.0)}
    lr5, _ = tradeoff_runs(df, "rpj", "d=96_l=8_h=4", 40.0, m_min=5.0)
    assert {r.M for r in lr5} == {5.0, 10.0, 20.0, 40.0}


def test_tradeoff_never_admits_a_target(df):
    for nm in ("d=1024_l=24_h=8", "open_lm_1b"):
        for runs in tradeoff_runs(df, "rpj", nm, 640.0):
            assert ("open_lm_1b", 640.0) not in {(r.model, r.M) for r in runs}
            assert all(r.model != "open_lm_7b" for r in runs)


def test_tradeoff_keeps_every_configuration_with_a_reason(tradeoff_rpj):
    t = tradeoff_rpj
    assert len(t) == 2 * (5 * 6 + 1)  # (5 N_max x 6 M_max >= 20, + default) x 2 targets
    skipped = t[t["status"] == "skipped"]
    assert len(skipped) > 0
    assert (skipped["reason"].str.len() > 0).all()
    assert skipped[["loss_rel_error", "err_rel_error"]].isna().all().all()
    fitted = t[t["status"] == "fitted"]
    assert (fitted["reason"] == "").all()
    assert (fitted["n_loss_runs"] >= 5).all() and (fitted["distinct_M"] >= 2).all()
    assert (fitted["distinct_N"] >= 2).all()
    assert skipped["reason"].str.contains("single model size").any()


def test_tradeoff_default_row_reproduces_the_headline(tradeoff_rpj, headline):
    d = tradeoff_rpj[tradeoff_rpj["is_default"]].set_index("model")
    for model in ("open_lm_1b", "open_lm_7b"):
        h = headline.loc[("rpj", model)]
        assert d.loc[model, "loss_rel_error"] == pytest.approx(h["loss_rel_error"], rel=1e-9)
        assert d.loc[model, "err_rel_error"] == pytest.approx(h["err_rel_error"], rel=1e-9)
    # 5 small runs and the 1.4B M = 20 run
    assert d["fit_compute"].iloc[0] == pytest.approx(h["C"] / h["compute_ratio_err"], rel=1e-9)


def test_tradeoff_frontier_points_are_not_dominated(tradeoff_rpj):
    for _, sub in tradeoff_rpj[tradeoff_rpj["status"] == "fitted"].groupby("model"):
        for col, flag in (("loss_rel_error", "frontier_loss"), ("err_rel_error", "frontier_err")):
            front = sub[sub[flag]]
            assert len(front) >= 1
            for _, p in front.iterrows():
                dom = (
                    (sub["fit_compute"] <= p["fit_compute"])
                    & (sub[col] <= p[col])
                    & ((sub["fit_compute"] < p["fit_compute"]) | (sub[col] < p[col]))
                )
                assert not dom.any()
            # the cheapest fitted configuration is always on the frontier
            assert sub.loc[sub["fit_compute"].idxmin(), flag]


def test_efficient_frontier_on_a_small_example():
    c = [1, 2, 3, 4, 2]
    e = [5, 3, 4, 1, np.nan]
    assert efficient_frontier(c, e).tolist() == [True, True, False, True, False]


def test_efficient_frontier_keeps_exact_ties():
    assert efficient_frontier([1, 1], [2, 2]).tolist() == [True, True]


def test_tradeoff_with_all_multipliers_includes_m5_runs(df):
    t = compute_tradeoff(df, "rpj", m_min=5.0, n_max_models=("d=512_l=8_h=4",), m_max_values=(5, 10, 20))
    grid = t[~t["is_default"]]
    assert grid["m_max"].tolist() == [5.0, 5.0, 10.0, 10.0, 20.0, 20.0]
    assert grid["reason"].iloc[0].startswith("too few runs")
    row = t[(t["m_max"] == 20.0) & ~t["is_default"]].iloc[0]
    assert row["n_loss_runs"] == 6 and row["status"] == "fitted"


def test_grid_summary_counts_only_runs_outside_each_fit(df):
    g = pd.concat([relative_error_grid(df, ds) for ds in ("rpj", "c4_original")], ignore_index=True)
    s = grid_summary(g).set_index(["dataset", "quantity"])
    assert s.loc[("rpj", "loss"), "runs"] == 35 - 5
    assert s.loc[("rpj", "error"), "runs"] == 35 - 6
    held = g[(g["dataset"] == "rpj") & ~g["in_loss_fit"]]
    assert s.loc[("rpj", "loss"), "max"] == pytest.approx(held["loss_rel_error"].max())
    assert s.loc[("rpj", "loss"), "worst_run"] == "0.079B, M = 5"
    assert s.loc[("rpj", "loss"), "median_low_M"] > 5 * s.loc[("rpj", "loss"), "median_other_M"]


def test_task_prediction_from_observed_loss_isolates_the_error_law(df, tasks_rpj):
    row = tasks_rpj[(tasks_rpj["task"] == "arc_easy") & (tasks_rpj["model"] == "open_lm_7b")].iloc[0]
    from scalinglib.laws import ErrorLaw

    law = ErrorLaw(epsilon=row["epsilon"], k=row["k"], gamma=row["gamma"])
    pred = float(law.predict(np.array([row["loss_observed"]]))[0])
    assert row["err_rel_error_from_loss"] == pytest.approx(abs(pred - row["err_observed"]) / row["err_observed"])


def test_tradeoff_summary_averages_targets_and_keeps_skipped_rows(tradeoff_rpj):
    s = tradeoff_summary(tradeoff_rpj)
    assert len(s) == len(tradeoff_rpj) // 2
    d = s[s["is_default"]].iloc[0]
    want = tradeoff_rpj[tradeoff_rpj["is_default"]]["err_rel_error"].mean()
    assert d["err_rel_error"] == pytest.approx(want)
    skipped = s[s["status"] == "skipped"]
    assert skipped["loss_rel_error"].isna().all() and (skipped["reason"] != "").all()
    assert not (skipped["frontier_loss"] | skipped["frontier_err"]).any()
    fitted = s[s["status"] == "fitted"]
    assert fitted.loc[fitted["fit_compute"].idxmin(), "frontier_loss"]
