"""Tests of scalinglib.paper: the paper's headline numbers, compute ratios, the default
configuration, and other evaluation sets and downstream targets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalinglib.data import EVAL_SETS
from scalinglib.fit import FitResult
from scalinglib.laws import ErrorLaw, OvertrainingLaw
from scalinglib.paper import (
    OVERTRAINED_M,
    SMALL_MODELS,
    Run,
    default_config,
    fit_config,
    headline_table,
    predict_targets,
    reproduce,
    select_runs,
)

#: Gadre et al. (2024), Figure 1: RedPajama, C4 eval, 17-task split; relative errors in percent
PAPER_HEADLINE = {
    "open_lm_1b": {"M": 640.0, "loss": 0.71, "err": 3.64},
    "open_lm_7b": {"M": 20.0, "loss": 0.73, "err": 0.05},
}


@pytest.fixture(scope="module")
def headline(testbed):
    preds = predict_targets(testbed, fit_config(testbed, default_config("rpj")))
    return {p.model: p for p in preds}


# ----------------------------------------------------------------------------- headline numbers


@pytest.mark.parametrize("model", sorted(PAPER_HEADLINE))
def test_redpajama_loss_relative_error_matches_the_paper(headline, model):
    p = headline[model]
    assert p.M == PAPER_HEADLINE[model]["M"]
    assert abs(100 * p.loss_rel_error - PAPER_HEADLINE[model]["loss"]) <= 0.01


@pytest.mark.parametrize("model", sorted(PAPER_HEADLINE))
def test_redpajama_17_task_error_relative_error_matches_the_paper(headline, model):
    assert abs(100 * headline[model].err_rel_error - PAPER_HEADLINE[model]["err"]) <= 0.01


def test_redpajama_default_loss_fit_parameters(testbed):
    law = fit_config(testbed, default_config("rpj")).loss_law
    assert law.E == pytest.approx(1.8366, abs=5e-4)
    assert law.a == pytest.approx(212.24, rel=1e-3)
    assert law.b == pytest.approx(366.69, rel=1e-3)
    assert law.eta == pytest.approx(0.13643, abs=5e-5)


def test_prediction_chains_loss_law_into_error_law(testbed):
    fitted = fit_config(testbed, default_config("rpj"))
    for p in predict_targets(testbed, fitted):
        assert p.loss_predicted == pytest.approx(float(fitted.loss_law.predict(p.C, p.M)), rel=1e-14)
        assert p.err_predicted == pytest.approx(float(fitted.error_law.predict(p.loss_predicted)), rel=1e-14)
        assert p.loss_rel_error == pytest.approx(abs(p.loss_predicted - p.loss_observed) / p.loss_observed)


# ----------------------------------------------------------------------------- compute ratios


def test_loss_fit_uses_about_300x_less_compute_than_the_overtrained_target(headline):
    # the paper: "300x less compute" for the 1.4B model at M = 640
    assert 250 <= headline["open_lm_1b"].compute_ratio_loss <= 400


def test_error_fit_uses_about_20x_less_compute_than_the_7b_target(headline):
    # the paper: "20x less compute" for the 6.9B model
    assert 15 <= headline["open_lm_7b"].compute_ratio_err <= 35


def test_compute_ratio_is_target_compute_over_the_fitting_runs_total(testbed):
    fitted = fit_config(testbed, default_config("rpj"))
    runs = select_runs(testbed, "rpj", fitted.config.loss_runs)
    assert fitted.loss_compute == pytest.approx(float(runs["C"].sum()), rel=1e-12)
    target = select_runs(testbed, "rpj", [Run("open_lm_1b", 640.0)])
    pred = predict_targets(testbed, fitted, [Run("open_lm_1b", 640.0)])[0]
    assert pred.compute_ratio_loss == pytest.approx(float(target["C"].iloc[0]) / fitted.loss_compute, rel=1e-12)


# ----------------------------------------------------------------------------- default configuration


def test_default_config_matches_table_2():
    cfg = default_config("rpj")
    assert cfg.loss_runs == tuple(Run(m, 20.0) for m in SMALL_MODELS) + (Run("d=96_l=8_h=4", 320.0),)
    assert cfg.error_runs == cfg.loss_runs + (Run("open_lm_1b", 20.0),)
    assert cfg.targets == (Run("open_lm_1b", 640.0), Run("open_lm_7b", 20.0))
    assert (cfg.eval_set, cfg.downstream) == ("c4_val", "avg_subset")
    assert (cfg.loss_col, cfg.err_col) == ("loss_c4_val", "err_avg_subset")


@pytest.mark.parametrize("dataset, M", sorted(OVERTRAINED_M.items()))
def test_default_config_targets_each_datasets_overtrained_run(dataset, M):
    assert default_config(dataset).targets[0] == Run("open_lm_1b", M)


def test_default_config_rejects_unknown_dataset_and_eval_set():
    with pytest.raises(ValueError, match="unknown dataset"):
        default_config("pile")
    with pytest.raises(ValueError, match="unknown evaluation set"):
        default_config("rpj", eval_set="wikitext")


def test_unknown_downstream_target_raises_naming_the_column(testbed):
    with pytest.raises(KeyError, match="err_not_a_task"):
        fit_config(testbed, default_config("rpj", downstream="not_a_task"))


def test_missing_run_raises_naming_it(testbed):
    with pytest.raises(KeyError, match="c4_original/d=1024_l=24_h=8/M=640"):
        select_runs(testbed, "c4_original", [Run("d=1024_l=24_h=8", 640.0)])


# ----------------------------------------------------------------------------- other eval sets and tasks


@pytest.mark.parametrize("eval_set", EVAL_SETS)
def test_every_eval_set_fits_and_predicts(testbed, eval_set):
    fitted = fit_config(testbed, default_config("rpj", eval_set=eval_set))
    assert isinstance(fitted.loss_fit, FitResult) and isinstance(fitted.loss_law, OvertrainingLaw)
    assert fitted.loss_fit.n_points == 5 and fitted.error_fit.n_points == 6
    preds = predict_targets(testbed, fitted)
    assert [p.model for p in preds] == ["open_lm_1b", "open_lm_7b"]
    for p in preds:
        assert p.loss_observed == pytest.approx(
            float(select_runs(testbed, "rpj", [Run(p.model, p.M)])[f"loss_{eval_set}"].iloc[0])
        )
        assert math.isfinite(p.loss_predicted) and p.loss_predicted > 0
        assert p.loss_rel_error < 0.25  # the code set (paloma_dolma_100_programing_languages) is worst, ~20%


def test_single_task_as_downstream_target(testbed):
    fitted = fit_config(testbed, default_config("rpj", downstream="arc_easy"))
    assert isinstance(fitted.error_law, ErrorLaw)
    runs = select_runs(testbed, "rpj", fitted.config.error_runs)
    assert np.allclose(fitted.error_fit.y, runs["err_arc_easy"].to_numpy())
    for p in predict_targets(testbed, fitted):
        assert p.downstream == "arc_easy"
        assert 0 < p.err_predicted < 1


def test_reproduce_has_every_dataset_split_and_target(testbed):
    t = reproduce(testbed)
    assert len(t) == 12
    assert set(t["dataset"]) == set(OVERTRAINED_M)
    assert set(t["downstream"]) == {"avg", "avg_subset"}
    row = t[(t["dataset"] == "rpj") & (t["downstream"] == "avg_subset") & (t["model"] == "open_lm_1b")].iloc[0]
    assert abs(100 * row["loss_rel_error"] - 0.71) <= 0.01


def test_headline_table_shows_the_figure_1_numbers(testbed):
    t = headline_table(testbed)
    assert list(t[("loss", "rel. error (%)")]) == [0.71, 0.73]
    assert list(t[("17-task error", "rel. error (%)")]) == [3.64, 0.05]
    assert list(t.index) == ["1.4B, M = 640", "6.9B, M = 20"]
    html = headline_table(testbed, styled=True).to_html()
    assert "330×" in html and "3.64" in html


def test_choose_config_takes_every_small_model_run_at_or_above_m_min(testbed):
    from scalinglib.paper import SMALL_MODELS
    from scalinglib.recipe import choose_config

    full = choose_config(testbed, "rpj")
    ge20 = choose_config(testbed, "rpj", m_min=20.0)
    d = testbed[(testbed["dataset"] == "rpj") & testbed["model"].isin(SMALL_MODELS)]
    assert len(full.loss_runs) == len(d) == 32
    assert len(ge20.loss_runs) == int((d["M"] >= 20).sum()) and min(r.M for r in ge20.loss_runs) == 20.0
    assert full.error_runs == default_config("rpj").error_runs and full.targets == default_config("rpj").targets
    with pytest.raises(ValueError, match="M >= 1e"):
        choose_config(testbed, "rpj", m_min=1e6)
