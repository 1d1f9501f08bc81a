"""Tests of scalinglib.casestudy (analyses of chapters 9-12)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from scalinglib import casestudy as cs
from scalinglib.fit import FitWarning, fit_chinchilla, huber, refine_huber_log
from scalinglib.laws import ChinchillaLaw
from scalinglib.paper import default_config
from scalinglib.uncertainty import Bootstrap, bootstrap, bootstrap_config

TRUE = ChinchillaLaw(E=1.7, A=400.0, B=400.0, alpha=0.34, beta=0.28)


def _synthetic(n=60, noise=0.004, seed=1):
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e8), np.log(1e10), n))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e11), n))
    L = TRUE.predict(N, D) * np.exp(noise * rng.standard_normal(n))
    return N, D, L


def test_huber_log_objective_is_the_sum_of_huber_losses_of_log_residuals():
    N, D, L = _synthetic()
    expected = huber(np.log(L) - np.log(TRUE.predict(N, D)), 1e-3).sum()
    assert cs.huber_log_objective(TRUE, N, D, L) == pytest.approx(expected, rel=1e-12)
    w = np.arange(N.size, dtype=float)
    assert cs.huber_log_objective(TRUE, N, D, L, weights=w) == pytest.approx(
        (w * huber(np.log(L) - np.log(TRUE.predict(N, D)), 1e-3)).sum(), rel=1e-12
    )


def test_bootstrap_huber_returns_reproducible_replicates_around_the_point():
    N, D, L = _synthetic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_chinchilla(N, D, L, objective="huber_log")
    a = cs.bootstrap_huber(fit, n_boot=30, method="pairs", seed=3)
    b = cs.bootstrap_huber(fit, n_boot=30, method="pairs", seed=3)
    assert isinstance(a, Bootstrap) and a.n_boot == 30 and a.law == "ChinchillaLaw"
    np.testing.assert_array_equal(a.samples["alpha"], b.samples["alpha"])
    lo, hi = a.intervals(0.95)["E"]
    assert lo <= fit.law.E <= hi
    r = cs.bootstrap_huber(fit, n_boot=30, method="residual", seed=3)
    assert r.method == "residual" and np.all(np.isfinite(r.samples["beta"]))
    # it is the library's bootstrap of a huber_log fit (warm-started refits)
    u = bootstrap(fit, 30, "pairs", seed=3)
    for k in a.samples:
        np.testing.assert_array_equal(a.samples[k], u.samples[k])
    assert any("warm-started" in note for note in a.notes)


def test_bootstrap_huber_rejects_a_least_squares_fit():
    N, D, L = _synthetic()
    fit = fit_chinchilla(N, D, L)
    with pytest.raises(ValueError, match="huber_log"):
        cs.bootstrap_huber(fit, n_boot=5)


def test_exclude_highest_losses_drops_the_top_losses_and_ties():
    runs = pd.DataFrame({"loss": [3.0, 5.0, 2.0, 4.0, 4.0, 1.0]})
    assert sorted(cs.exclude_highest_losses(runs, 1)["loss"]) == [1.0, 2.0, 3.0, 4.0, 4.0]
    assert sorted(cs.exclude_highest_losses(runs, 2)["loss"]) == [1.0, 2.0, 3.0]  # the tied 4.0 goes too
    assert len(cs.exclude_highest_losses(runs, 0)) == 6


def test_chinchilla_runs_without_the_five_highest_losses_give_the_replication_fit(external_dir):
    from scalinglib.data import load_chinchilla_runs

    runs = cs.exclude_highest_losses(load_chinchilla_runs(external_dir), 5)
    assert len(runs) == 240
    # Besiroglu et al. (2024): E = 1.82, A = 482.01, B = 2085.43, alpha = 0.3478, beta = 0.3658
    start = ChinchillaLaw(E=1.82, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
    law, value = refine_huber_log(start, {"N": runs["N"], "D": runs["D"]}, runs["loss"])
    assert law.E == pytest.approx(1.82, abs=0.01)
    assert law.alpha == pytest.approx(0.348, abs=0.005) and law.beta == pytest.approx(0.366, abs=0.005)
    assert value <= cs.huber_log_objective(start, runs["N"], runs["D"], runs["loss"])


def test_parameter_sets_reports_objective_and_interval_membership():
    N, D, L = _synthetic()
    runs = pd.DataFrame({"N": N, "D": D, "loss": L})
    far = ChinchillaLaw(E=1.0, A=50.0, B=50.0, alpha=0.1, beta=0.1)
    samples = {k: v * np.linspace(0.9, 1.1, 50) for k, v in TRUE.params.items()}
    boot = Bootstrap("ChinchillaLaw", "pairs", 0, TRUE.params, samples)
    t = cs.parameter_sets(runs, {"true": TRUE, "far": far}, boot=boot, subsets={"half": runs.iloc[:30]})
    assert t.loc["true", "n_inside"] == 5 and t.loc["far", "n_inside"] == 0
    assert t.loc["true", "objective"] < t.loc["far", "objective"]
    assert t.loc["true", "objective[half]"] < t.loc["true", "objective"]


def test_huber_backtest_rows_concatenate_with_compare_laws(testbed):
    from scalinglib.backtest import compare_laws

    h = cs.huber_backtest(testbed, datasets=("rpj",))
    c = compare_laws(testbed, datasets=("rpj",), laws=(("overtraining", "lsq"),))
    assert list(h.columns) == list(c.columns)
    assert len(h) == len(c) and (h["objective"] == "huber_log").all()
    assert np.all(np.isfinite(h["loss_predicted"]))
    ch = cs.huber_backtest(testbed, datasets=("rpj",), law="chinchilla")
    assert (ch["law"] == "chinchilla").all() and np.all(np.isfinite(ch["loss_predicted"]))
    with pytest.raises(ValueError, match="law"):
        cs.huber_backtest(testbed, law="compute")


def test_interval_table_has_one_row_per_method_and_parameter(testbed):
    cb = bootstrap_config(testbed, default_config("rpj"), n_boot=50, seed=0, method="residual")
    t = cs.interval_table({"residual": cb.loss}, level=0.9)
    assert list(t["parameter"]) == ["E", "a", "b", "eta"]
    assert (t["low"] <= t["high"]).all()


def test_inference_sweep_saves_compute_and_overtrains_more_as_demand_grows(testbed):
    cb = bootstrap_config(testbed, default_config("rpj"), n_boot=50, seed=0, method="residual")
    s = cs.inference_sweep(cb, [0.0, 1e11, 1e13], target_loss=2.9)
    assert s["saving"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert (np.diff(s["M"]) > 0).all() and (np.diff(s["saving"]) > 0).all()
    assert (s["saving"] < 1).all()
    e = cs.inference_sweep(cb, [1e12], target_err=0.5)
    assert e["M"].iloc[0] > s["M"].iloc[0]


def test_compute_optimal_band_brackets_the_point_allocation(testbed):
    cb = bootstrap_config(testbed, default_config("rpj"), n_boot=100, seed=0, method="residual")
    band = cs.compute_optimal_band(cb, [1e20, 1e22], level=0.9)
    assert (band["N_low"] <= band["N"]).all() and (band["N"] <= band["N_high"]).all()
    assert (band["D_low"] <= band["D"]).all() and (band["D"] <= band["D_high"]).all()
    np.testing.assert_allclose(6 * band["N"] * band["D"], band["C"], rtol=1e-12)
    law = cb.fitted.loss_law
    Ms = band["M"].iloc[0]
    # M* minimises the loss at fixed compute
    assert law.predict(1e21, Ms) < min(law.predict(1e21, Ms * 1.1), law.predict(1e21, Ms / 1.1))


def test_small_run_config_takes_every_small_model_run_at_or_above_m_min(testbed):
    from scalinglib.paper import SMALL_MODELS

    full = cs.small_run_config(testbed, "rpj")
    ge20 = cs.small_run_config(testbed, "rpj", 20.0)
    d = testbed[(testbed["dataset"] == "rpj") & testbed["model"].isin(SMALL_MODELS)]
    assert len(full.loss_runs) == len(d) == 32
    assert len(ge20.loss_runs) == int((d["M"] >= 20).sum()) and min(r.M for r in ge20.loss_runs) == 20.0
    assert full.error_runs == default_config("rpj").error_runs and full.targets == default_config("rpj").targets
    with pytest.raises(ValueError, match="M >= 1e"):
        cs.small_run_config(testbed, "rpj", 1e6)


def test_bootstrap_laws_uses_one_scheme_per_law_and_is_reproducible(testbed):
    cfg = cs.small_run_config(testbed, "rpj")
    a = cs.bootstrap_laws(testbed, cfg, n_boot=40, seed=3)
    b = cs.bootstrap_laws(testbed, cfg, n_boot=40, seed=3)
    assert a.loss.method == "pairs" and a.error.method == "residual"
    np.testing.assert_array_equal(a.loss.samples["eta"], b.loss.samples["eta"])
    np.testing.assert_array_equal(a.error.samples["gamma"], b.error.samples["gamma"])
    assert a.fitted.loss_fit.n_points == 32
    assert set(a.target_intervals(0.9)["model"]) == {"open_lm_1b", "open_lm_7b"}


def test_optimal_multiplier_by_runs_matches_the_point_fits_and_brackets_them(testbed):
    from scalinglib.overtraining import shared_floor

    t = cs.optimal_multiplier_by_runs(testbed, datasets=("rpj",), n_boot=200, seed=0).set_index("runs")
    assert list(t["n_runs"]) == [5, 24, 32]
    # all small runs: the fit of chapter 2 (overtraining.shared_floor)
    assert t.loc["small models, all M", "M_star"] == pytest.approx(shared_floor(testbed, "rpj").law.optimal_multiplier(), rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        from scalinglib.paper import fit_config

        assert t.loc["default configuration", "M_star"] == pytest.approx(
            fit_config(testbed, default_config("rpj")).loss_law.optimal_multiplier(), rel=1e-9
        )
    assert (t["M_low"] <= t["M_star"]).all() and (t["M_star"] <= t["M_high"]).all()
    # the M >= 20 fit puts its optimum below every run it was fitted on
    assert t.loc["small models, M >= 20", "M_star"] < t.loc["small models, M >= 20", "M_min"]


def test_optimal_multiplier_by_runs_reproduces_the_interval_of_the_joint_bootstrap_of_the_same_fit(testbed):
    # chapter 12 quotes one interval for M* of the all-runs RedPajama law in its text and its Table 2
    t = cs.optimal_multiplier_by_runs(testbed, datasets=("rpj",), n_boot=200, seed=5).set_index("runs")
    joint = cs.bootstrap_laws(testbed, cs.small_run_config(testbed, "rpj"), n_boot=200, seed=5)
    band = cs.compute_optimal_band(joint.loss, [1.0], level=0.9).iloc[0]
    row = t.loc["small models, all M"]
    assert (row["M_low"], row["M_star"], row["M_high"]) == pytest.approx((band["M_low"], band["M"], band["M_high"]), rel=1e-12)
    # a different seed draws different replicates
    other = cs.optimal_multiplier_by_runs(testbed, datasets=("rpj",), n_boot=200, seed=6).set_index("runs")
    assert other.loc["small models, all M", "M_low"] != row["M_low"]
