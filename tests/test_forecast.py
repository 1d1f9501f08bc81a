"""Forecasts: chained intervals equal the uncertainty module's, and the extrapolation report."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_saved_fit import synthetic_runs

import scalinglib as sl
from scalinglib.fit import FitError
from scalinglib.forecast import fitted_ranges, forecast, outside_ratio, target_sizes
from scalinglib.uncertainty import bootstrap, percentile_interval


@pytest.fixture(scope="module")
def fits():
    r = synthetic_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = sl.fit_overtraining(N=r["N"], D=r["D"], L=r["L"])
        err = sl.fit_error(r["L"], r["err"])
    return loss, err, bootstrap(loss, 300, "residual", seed=0), bootstrap(err, 300, "residual", seed=1)


TARGETS = {"N": [6.9e9, 1.5e8, 1.1e7], "D": [1.38e11, 1.5e8 * 20, 1.1e7 * 1000]}


def test_chained_intervals_equal_the_uncertainty_modules_for_the_same_replicates(fits, tmp_path):
    loss, err, lb, eb = fits
    loss.save(tmp_path / "l.json", lb)
    err.save(tmp_path / "e.json", eb)
    fc = forecast(sl.load_fit(tmp_path / "l.json"), TARGETS, error_fit=sl.load_fit(tmp_path / "e.json"), level=0.9)
    t = target_sizes(**TARGETS)
    L_b = lb.predict(t["C"], t["M"])
    E_b = eb.law_batch().predict(L_b)
    for name, reps in (("loss", L_b), ("err", E_b)):
        lo, hi = percentile_interval(reps, 0.9)
        assert np.array_equal(fc.intervals[name][0], lo) and np.array_equal(fc.intervals[name][1], hi), name
    assert np.array_equal(fc.loss, loss.law.predict(t["C"], t["M"]))
    assert np.array_equal(fc.err, err.law.predict(fc.loss))


def test_new_run_interval_contains_the_law_interval_and_is_reproducible(fits):
    loss, err, lb, eb = fits
    a = forecast(loss, TARGETS, error_fit=err, bootstrap=lb, error_bootstrap=eb, new_run=True)
    b = forecast(loss, TARGETS, error_fit=err, bootstrap=lb, error_bootstrap=eb, new_run=True)
    for name in ("loss", "err"):
        lo, hi = a.intervals[name]
        nlo, nhi = a.intervals[f"{name}_new_run"]
        assert np.all(nlo < lo) and np.all(nhi > hi), name
        assert np.array_equal(nlo, b.intervals[f"{name}_new_run"][0])


def test_new_run_without_replicates_is_refused(fits):
    with pytest.raises(FitError, match="needs bootstrap replicates"):
        forecast(fits[0], TARGETS, new_run=True)


def test_extrapolation_report_inside_and_outside_the_fitted_ranges(fits):
    loss, err, _, _ = fits
    fc = forecast(loss, TARGETS, error_fit=err)
    ex = fc.extrapolation
    r = fitted_ranges(loss)
    # target 0: the 7B model at M = 20, far above the fitted C and N; D inside; M inside
    assert ex.ratios["C"][0] == pytest.approx(6 * 6.9e9 * 1.38e11 / r["C"][1])
    assert ex.ratios["N"][0] == pytest.approx(6.9e9 / r["N"][1]) and ex.ratios["M"][0] == 1.0
    # target 1: a fitted size at a fitted M: inside everywhere
    assert all(ex.ratios[k][1] == 1.0 for k in ("C", "N", "D", "M"))
    assert not any("M =" in w for w in ex.warnings[1])
    # target 2: M = 1000 beyond the fitted 160: a ratio and a warning
    assert ex.ratios["M"][2] == pytest.approx(1000 / 160)
    assert any("outside the fitted M range" in w for w in ex.warnings[2])
    # the 7B loss lies below the losses the error law was fitted on: reported and warned
    assert ex.loss_outside[0] < 0 and ex.loss_outside[1] == 0
    assert any("error law is extrapolated" in w for w in ex.warnings[0])
    rec = fc.records()[2]
    assert rec["extrapolation"]["M"] == pytest.approx(1000 / 160) and rec["warnings"] == list(ex.warnings[2])


def test_an_error_outside_0_1_is_warned(fits):
    loss, err, _, _ = fits
    bad = sl.ErrorLaw(epsilon=0.9, k=50.0, gamma=0.5)  # predicts a negative error at low loss
    fit = type(err)(**{**err.__dict__, "law": bad})
    fc = forecast(loss, {"N": [1e12], "D": [1e14]}, error_fit=fit)
    assert fc.err[0] < 0
    assert any("outside [0, 1]" in w for w in fc.extrapolation.warnings[0])


def test_outside_ratio_and_target_layouts():
    assert list(outside_ratio([1, 5, 40], 2, 10)) == [0.5, 1.0, 4.0]
    a, b = target_sizes(N=[1e8], M=[20]), target_sizes(C=[6 * 1e8 * 2e9], M=[20])
    assert a["D"][0] == pytest.approx(2e9) and b["N"][0] == pytest.approx(1e8)
    with pytest.raises(FitError, match="give targets as"):
        target_sizes(N=[1e8])
    with pytest.raises(FitError, match="finite and positive"):
        target_sizes(N=[-1.0], D=[1e9])
