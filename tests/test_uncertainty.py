"""Bootstrap intervals: reproducible, exact refits, honest coverage, degenerate resamples redrawn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalinglib.fit import FitError, fit_chinchilla, fit_error, fit_overtraining, huber
from scalinglib.laws import ChinchillaLaw, OvertrainingLaw
from scalinglib.paper import default_config, fit_config, select_runs
from scalinglib.uncertainty import _draw_pairs, _draw_residual, _valid_pairs, bootstrap, bootstrap_config

TRUTH = OvertrainingLaw(E=1.8, a=200.0, b=370.0, eta=0.14)


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _synthetic_design():
    N = np.geomspace(1e7, 4e8, 5)
    M = np.array([10.0, 20.0, 80.0, 320.0])
    NN, MM = (g.ravel() for g in np.meshgrid(N, M))
    return 6 * NN * NN * MM, MM


@pytest.fixture(scope="module")
def rpj_fit(testbed):
    return _quiet(fit_config, testbed, default_config("rpj"))


@pytest.mark.parametrize("method", ["pairs", "residual"])
def test_same_seed_gives_identical_replicates_and_other_seed_differs(rpj_fit, method):
    a = bootstrap(rpj_fit.loss_fit, 200, method, seed=7)
    b = bootstrap(rpj_fit.loss_fit, 200, method, seed=7)
    c = bootstrap(rpj_fit.loss_fit, 200, method, seed=8)
    for k in a.samples:
        np.testing.assert_array_equal(a.samples[k], b.samples[k])
    assert not np.array_equal(a.samples["eta"], c.samples["eta"])
    assert a.intervals(0.9) == b.intervals(0.9)


def test_vectorised_pairs_replicates_equal_ordinary_fits_on_the_resampled_runs(rpj_fit):
    fit = rpj_fit.loss_fit
    boot = bootstrap(fit, 25, "pairs", seed=5)
    counts, _ = _draw_pairs("overtraining", fit, 25, np.random.default_rng(5))
    for b in range(25):
        reps = counts[b].astype(int)
        ref = _quiet(
            fit_overtraining, np.repeat(fit.inputs["C"], reps), np.repeat(fit.inputs["M"], reps), np.repeat(fit.y, reps)
        )
        pred_boot = boot.predict(7.96e21, 640.0)[b, 0]
        assert pred_boot == pytest.approx(float(ref.law.predict(7.96e21, 640.0)), rel=1e-6)
        assert boot.samples["eta"][b] == pytest.approx(ref.law.eta, rel=1e-5)


def test_vectorised_residual_replicates_equal_ordinary_error_fits(rpj_fit):
    fit = rpj_fit.error_fit
    boot = bootstrap(fit, 10, "residual", seed=3)
    rng = np.random.default_rng(3)
    n = fit.n_points
    idx = rng.integers(0, n, size=(10, n))
    r = fit.residuals - fit.residuals.mean()
    for b in range(10):
        y = fit.predicted + np.sqrt(n / (n - 3)) * r[idx[b]]
        ref = _quiet(fit_error, fit.inputs["L"], y)
        assert boot.samples["gamma"][b] == pytest.approx(ref.law.gamma, rel=1e-5)
        assert boot.predict([2.5])[b, 0] == pytest.approx(float(ref.law.predict(2.5)), rel=1e-6)


@pytest.mark.parametrize("method", ["pairs", "residual"])
def test_intervals_contain_the_point_estimate_of_the_testbed_fit(rpj_fit, method):
    boot = bootstrap(rpj_fit.loss_fit, 500, method, seed=0)
    for name, (lo, hi) in boot.intervals(0.95).items():
        assert lo <= boot.point[name] <= hi, name
    lo, hi = boot.predict_interval([7.96e21, 5.70e21], [640.0, 20.0], level=0.95)
    pred = rpj_fit.loss_law.predict([7.96e21, 5.70e21], [640.0, 20.0])
    assert np.all(lo <= pred) and np.all(pred <= hi)
    assert np.all(hi - lo > 0)


def test_wider_level_gives_wider_intervals(rpj_fit):
    boot = bootstrap(rpj_fit.loss_fit, 300, "residual", seed=1)
    for name in boot.samples:
        lo50, hi50 = boot.intervals(0.5)[name]
        lo95, hi95 = boot.intervals(0.95)[name]
        assert lo95 <= lo50 and hi50 <= hi95


def test_coverage_on_synthetic_overtraining_data_is_near_nominal():
    """90% residual-bootstrap intervals for a prediction and for eta cover the truth in
    ~80-97% of 80 synthetic data sets (20 runs each, noise sd 0.01).

    A narrower exponent box with the default grid spacings (fit 0.001, bootstrap 0.005)
    keeps this fast.
    """
    box = {"eta": (0.04, 0.4, 361)}
    C, M = _synthetic_design()
    mu = TRUTH.predict(C, M)
    Ct, Mt = 6 * 2e8 * 2e8 * 40, 40.0  # an interpolated run
    truth = float(TRUTH.predict(Ct, Mt))
    rng = np.random.default_rng(2024)
    covered_pred, covered_eta = [], []
    for i in range(80):
        y = mu + rng.normal(0.0, 0.01, mu.size)
        fit = _quiet(fit_overtraining, C, M, y, box=box)
        boot = bootstrap(fit, 120, "residual", seed=i, grid_points=73)
        lo, hi = boot.predict_interval(Ct, Mt, level=0.9)
        covered_pred.append(lo[0] <= truth <= hi[0])
        lo, hi = boot.intervals(0.9)["eta"]
        covered_eta.append(lo <= TRUTH.eta <= hi)
    assert 0.78 <= np.mean(covered_pred) <= 0.97
    assert 0.78 <= np.mean(covered_eta) <= 0.97


def test_pairs_resamples_with_a_single_multiplier_are_redrawn(rpj_fit):
    fit = rpj_fit.loss_fit  # 4 runs at M = 20 and one at M = 320
    boot = bootstrap(fit, 300, "pairs", seed=0)
    assert boot.n_redrawn > 0
    counts, redrawn = _draw_pairs("overtraining", fit, 300, np.random.default_rng(0))
    assert redrawn == boot.n_redrawn
    assert np.all(counts[:, 4] > 0), "every kept resample contains the M = 320 run"
    assert np.all((counts > 0).sum(axis=1) >= 4), "every kept resample has >= 4 distinct runs"
    single_m = np.array([[5.0, 0, 0, 0, 0], [1, 1, 1, 2, 0]])
    assert not _valid_pairs("overtraining", single_m, fit).any()


def test_exactly_determined_fit_pairs_keeps_only_full_resamples_and_residual_refuses():
    C, M = _synthetic_design()
    sel = np.r_[np.flatnonzero(M == 20.0)[:3], np.flatnonzero(M == 320.0)[:1]]
    fit = _quiet(fit_overtraining, C[sel], M[sel], TRUTH.predict(C[sel], M[sel]))
    boot = bootstrap(fit, 50, "pairs", seed=0)
    # only permutations of the 4 runs identify 4 parameters: P = 4!/4^4, so most draws are redrawn
    assert boot.n_redrawn > 50
    np.testing.assert_allclose(boot.samples["eta"], TRUTH.eta, rtol=1e-6)
    with pytest.raises(FitError, match="more points than parameters"):
        bootstrap(fit, 10, "residual")


def test_unidentified_fit_is_refused(testbed):
    # Chinchilla's 5 parameters on the default's 5 loss runs: a rank-deficient Jacobian
    runs = select_runs(testbed, "rpj", default_config("rpj").loss_runs)
    fit = _quiet(fit_chinchilla, runs["N"], runs["D"], runs["loss_c4_val"])
    assert not fit.identified
    with pytest.raises(FitError, match="not identified"):
        bootstrap(fit, 10)


def test_bad_arguments_raise():
    C, M = _synthetic_design()
    fit = _quiet(fit_overtraining, C, M, TRUTH.predict(C, M) + 1e-3 * np.sin(np.arange(C.size)))
    with pytest.raises(ValueError, match="method"):
        bootstrap(fit, 10, "jackknife")
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap(fit, 1)
    with pytest.raises(ValueError, match="level"):
        bootstrap(fit, 10).intervals(1.5)


def test_config_bootstrap_propagates_loss_replicates_into_the_error_law(testbed):
    cb = bootstrap_config(testbed, default_config("rpj"), n_boot=300, seed=0, method="residual")
    t = cb.target_intervals(0.9)
    assert list(t.columns[:3]) == ["dataset", "model", "N"]
    for c in ("loss_low", "loss_high", "err_low", "err_high", "loss_predicted", "err_predicted"):
        assert c in t
    assert np.all(t["loss_low"] <= t["loss_predicted"]) and np.all(t["loss_predicted"] <= t["loss_high"])
    assert np.all(t["err_low"] <= t["err_predicted"]) and np.all(t["err_predicted"] <= t["err_high"])
    loss, err = cb.predict(t["C"], t["M"])
    # two-stage: replicate b's error is error-law replicate b applied to loss replicate b
    b = 17
    law_b = cb.error.laws()[b]
    np.testing.assert_allclose(err[b], law_b.predict(loss[b]), rtol=1e-12)
    # the error interval is wider than that of the error law alone at the point-predicted loss
    lo_fixed, hi_fixed = cb.error.predict_interval(t["loss_predicted"], level=0.9)
    assert np.all((t["err_high"] - t["err_low"]).to_numpy() > hi_fixed - lo_fixed)


def test_chinchilla_bootstrap_of_three_runs_gives_every_parameter_on_the_batch_path(testbed):
    d = testbed[testbed["dataset"] == "rpj"]
    small = d[d["model"].isin(["d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8"])]
    fit = _quiet(fit_chinchilla, small["N"], small["D"], small["loss_c4_val"])
    assert fit.identified
    boot = bootstrap(fit, 5, "residual", seed=0)
    assert boot.law == "ChinchillaLaw" and boot.n_boot == 5
    assert set(boot.samples) == {"E", "A", "B", "alpha", "beta"}


def test_huber_log_pairs_replicates_warm_started_from_the_point_reach_the_multistart_optimum():
    # the warm start (refine_huber_log from the full-data optimum) against the full
    # multi-start fit on the resampled runs
    rng = np.random.default_rng(1)
    truth = ChinchillaLaw(E=1.7, A=400.0, B=400.0, alpha=0.34, beta=0.28)
    N = np.exp(rng.uniform(np.log(1e8), np.log(1e10), 60))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e11), 60))
    L = truth.predict(N, D) * np.exp(0.004 * rng.standard_normal(60))
    fit = _quiet(fit_chinchilla, N, D, L, objective="huber_log")
    boot = bootstrap(fit, 4, "pairs", seed=2)
    assert any("warm-started" in note for note in boot.notes)
    counts, _ = _draw_pairs("chinchilla", fit, 4, np.random.default_rng(2))
    for b, law in enumerate(boot.laws()):
        reps = counts[b].astype(int)
        ref = _quiet(fit_chinchilla, np.repeat(N, reps), np.repeat(D, reps), np.repeat(L, reps), objective="huber_log")
        warm = float(np.sum(reps * huber(np.log(law.predict(N, D)) - np.log(L), 1e-3)))
        assert warm == pytest.approx(ref.objective_value, rel=1e-6)
        assert law.alpha == pytest.approx(ref.law.alpha, rel=1e-3) and law.E == pytest.approx(ref.law.E, rel=1e-4)


def test_huber_log_residual_replicates_of_the_testbed_loss_law_equal_multistart_fits(rpj_fit):
    lsq = rpj_fit.loss_fit
    C, M = lsq.inputs["C"], lsq.inputs["M"]
    fit = _quiet(fit_overtraining, C, M, lsq.y, objective="huber_log")
    boot = bootstrap(fit, 3, "residual", seed=4)
    Y = _draw_residual(fit, 3, np.random.default_rng(4), 4)
    for b, law in enumerate(boot.laws()):
        ref = _quiet(fit_overtraining, C, M, Y[b], objective="huber_log")
        warm = float(np.sum(huber(np.log(law.predict(C, M)) - np.log(Y[b]), 1e-3)))
        assert warm <= ref.objective_value * (1 + 1e-6)
        assert law.predict(7.96e21, 640.0) == pytest.approx(float(ref.law.predict(7.96e21, 640.0)), rel=1e-4)


def test_interval_table_has_one_row_per_method_and_parameter(testbed):
    from scalinglib.uncertainty import interval_table

    cb = bootstrap_config(testbed, default_config("rpj"), n_boot=50, seed=0, method="residual")
    t = interval_table({"residual": cb.loss}, level=0.9)
    assert list(t["parameter"]) == ["E", "a", "b", "eta"]
    assert (t["low"] <= t["high"]).all()


def test_bootstrap_laws_uses_one_scheme_per_law_and_is_reproducible(testbed):
    from scalinglib.recipe import choose_config
    from scalinglib.uncertainty import bootstrap_laws

    cfg = choose_config(testbed, "rpj")
    a = bootstrap_laws(testbed, cfg, n_boot=40, seed=3)
    b = bootstrap_laws(testbed, cfg, n_boot=40, seed=3)
    assert a.loss.method == "pairs" and a.error.method == "residual"
    np.testing.assert_array_equal(a.loss.samples["eta"], b.loss.samples["eta"])
    np.testing.assert_array_equal(a.error.samples["gamma"], b.error.samples["gamma"])
    assert a.fitted.loss_fit.n_points == 32
    assert set(a.target_intervals(0.9)["model"]) == {"open_lm_1b", "open_lm_7b"}
