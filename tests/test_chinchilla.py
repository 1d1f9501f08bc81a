"""Tests of scalinglib.chinchilla (the Chinchilla runs and parameter sets) and of the Huber-log objective and bootstrap."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from scalinglib.chinchilla import exclude_highest_losses, parameter_sets
from scalinglib.fit import fit_chinchilla, huber, huber_log_objective, refine_huber_log
from scalinglib.laws import ChinchillaLaw
from scalinglib.uncertainty import Bootstrap, bootstrap, bootstrap_huber

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
    assert huber_log_objective(TRUE, N, D, L) == pytest.approx(expected, rel=1e-12)
    w = np.arange(N.size, dtype=float)
    assert huber_log_objective(TRUE, N, D, L, weights=w) == pytest.approx(
        (w * huber(np.log(L) - np.log(TRUE.predict(N, D)), 1e-3)).sum(), rel=1e-12
    )


def test_bootstrap_huber_returns_reproducible_replicates_around_the_point():
    N, D, L = _synthetic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_chinchilla(N, D, L, objective="huber_log")
    a = bootstrap_huber(fit, n_boot=30, method="pairs", seed=3)
    b = bootstrap_huber(fit, n_boot=30, method="pairs", seed=3)
    assert isinstance(a, Bootstrap) and a.n_boot == 30 and a.law == "ChinchillaLaw"
    np.testing.assert_array_equal(a.samples["alpha"], b.samples["alpha"])
    lo, hi = a.intervals(0.95)["E"]
    assert lo <= fit.law.E <= hi
    r = bootstrap_huber(fit, n_boot=30, method="residual", seed=3)
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
        bootstrap_huber(fit, n_boot=5)


def test_exclude_highest_losses_drops_the_top_losses_and_ties():
    runs = pd.DataFrame({"loss": [3.0, 5.0, 2.0, 4.0, 4.0, 1.0]})
    assert sorted(exclude_highest_losses(runs, 1)["loss"]) == [1.0, 2.0, 3.0, 4.0, 4.0]
    assert sorted(exclude_highest_losses(runs, 2)["loss"]) == [1.0, 2.0, 3.0]  # the tied 4.0 goes too
    assert len(exclude_highest_losses(runs, 0)) == 6


def test_chinchilla_runs_without_the_five_highest_losses_give_the_replication_fit(external_dir):
    from scalinglib.data import load_chinchilla_runs

    runs = exclude_highest_losses(load_chinchilla_runs(external_dir), 5)
    assert len(runs) == 240
    # Besiroglu et al. (2024): E = 1.82, A = 482.01, B = 2085.43, alpha = 0.3478, beta = 0.3658
    start = ChinchillaLaw(E=1.82, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
    law, value = refine_huber_log(start, {"N": runs["N"], "D": runs["D"]}, runs["loss"])
    assert law.E == pytest.approx(1.82, abs=0.01)
    assert law.alpha == pytest.approx(0.348, abs=0.005) and law.beta == pytest.approx(0.366, abs=0.005)
    assert value <= huber_log_objective(start, runs["N"], runs["D"], runs["loss"])


def test_parameter_sets_reports_objective_and_interval_membership():
    N, D, L = _synthetic()
    runs = pd.DataFrame({"N": N, "D": D, "loss": L})
    far = ChinchillaLaw(E=1.0, A=50.0, B=50.0, alpha=0.1, beta=0.1)
    samples = {k: v * np.linspace(0.9, 1.1, 50) for k, v in TRUE.params.items()}
    boot = Bootstrap("ChinchillaLaw", "pairs", 0, TRUE.params, samples)
    t = parameter_sets(runs, {"true": TRUE, "far": far}, boot=boot, subsets={"half": runs.iloc[:30]})
    assert t.loc["true", "n_inside"] == 5 and t.loc["far", "n_inside"] == 0
    assert t.loc["true", "objective"] < t.loc["far", "objective"]
    assert t.loc["true", "objective[half]"] < t.loc["true", "objective"]
