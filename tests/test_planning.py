"""Planning: compute-optimal allocation, inference-aware plans, clear errors, plan intervals."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from scalinglib.laws import ChinchillaLaw, ErrorLaw, OvertrainingLaw
from scalinglib.paper import default_config
from scalinglib.planning import (
    Plan,
    PlanError,
    compute_optimal,
    demand_for_multiplier,
    demand_for_saving,
    optimal_multiplier,
    plan_for_error,
    plan_for_loss,
    plan_interval,
)
from scalinglib.uncertainty import bootstrap_config

LAW = OvertrainingLaw(E=1.84, a=212.2, b=366.7, eta=0.1364)  # close to the RedPajama default fit
CHIN = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)  # Hoffmann et al. (2022)
ERR = ErrorLaw(epsilon=0.857, k=2.206, gamma=0.7146)


def _brute_force(law: ChinchillaLaw, target: float, T: float) -> float:
    """Smallest 6ND + 2NT over a fine log grid of N, D(N) from the constraint."""
    N = np.geomspace(1e6, 1e15, 400_001)
    slack = target - law.E - law.A * N ** (-law.alpha)
    ok = slack > 0
    D = (law.B / slack[ok]) ** (1.0 / law.beta)
    return float(np.min(6 * N[ok] * D + 2 * N[ok] * T))


@pytest.mark.parametrize("law", [LAW.to_chinchilla(), CHIN], ids=["shared-exponent", "chinchilla"])
@pytest.mark.parametrize("T", [0.0, 1e11, 1e13])
@pytest.mark.parametrize("target", [2.1, 2.4, 3.0])
def test_plan_matches_brute_force_grid_search_in_total_flops(law, T, target):
    plan = plan_for_loss(law, target, T)
    brute = _brute_force(law, target, T)
    assert plan.total_flops <= brute * (1 + 1e-9)
    assert plan.total_flops == pytest.approx(brute, rel=1e-3)
    # the plan sits on the constraint
    assert float(law.predict(plan.N, plan.D)) == pytest.approx(target, rel=1e-9)


@pytest.mark.parametrize("law", [LAW, CHIN], ids=["overtraining", "chinchilla"])
def test_without_inference_the_plan_is_compute_optimal(law):
    plan = plan_for_loss(law, 2.4, 0.0)
    N, D = compute_optimal(law, plan.train_flops)
    assert plan.N == pytest.approx(float(N), rel=1e-5)
    assert plan.D == pytest.approx(float(D), rel=1e-5)
    assert plan.inference_flops == 0.0 and plan.total_flops == plan.train_flops


def test_compute_optimal_multiplier_of_the_overtraining_law_minimises_loss_at_fixed_compute():
    Mstar = optimal_multiplier(LAW)
    assert Mstar == pytest.approx((LAW.b / LAW.a) ** (1 / (2 * LAW.eta)))
    C = 1e22
    Ms = np.geomspace(Mstar / 3, Mstar * 3, 2001)
    assert Ms[np.argmin(LAW.predict(C, Ms))] == pytest.approx(Mstar, rel=2e-3)
    N, D = compute_optimal(LAW, C)
    assert 6 * N * D == pytest.approx(C) and D / N == pytest.approx(Mstar)


def test_more_inference_tokens_give_a_smaller_model_trained_longer():
    plans = [plan_for_loss(LAW, 2.4, T) for T in (0.0, 1e11, 1e12, 1e13, 1e14)]
    N = [p.N for p in plans]
    M = [p.M for p in plans]
    assert all(a > b for a, b in itertools.pairwise(N))
    assert all(a < b for a, b in itertools.pairwise(M))
    assert all(p.total_flops == pytest.approx(p.train_flops + p.inference_flops) for p in plans)


@pytest.mark.parametrize("M", [100.0, 640.0, 2000.0])
def test_demand_for_multiplier_finds_the_demand_where_the_plan_crosses_M(M):
    T = demand_for_multiplier(LAW, 2.4, M)
    assert plan_for_loss(LAW, 2.4, T).M == pytest.approx(M, rel=1e-6)
    # a crossing, not a touch: below M a little before, above it a little after
    assert plan_for_loss(LAW, 2.4, T / 1.01).M < M < plan_for_loss(LAW, 2.4, T * 1.01).M


def test_demand_for_multiplier_is_finer_than_a_grid_of_demands():
    # a 4-per-decade grid puts the first plan past M = 640 up to a factor 10**0.25 late
    T = demand_for_multiplier(LAW, 2.4, 640.0)
    grid = np.geomspace(1e9, 1e14, 21)
    first = grid[np.argmax([plan_for_loss(LAW, 2.4, t).M > 640 for t in grid])]
    assert T < first < T * 10**0.25


def test_demand_for_multiplier_raises_when_M_is_not_crossed():
    with pytest.raises(PlanError, match="multiplier M does not cross 1 "):
        demand_for_multiplier(LAW, 2.4, 1.0)  # below the compute-optimal multiplier at T = 0
    with pytest.raises(PlanError, match="does not cross"):
        demand_for_multiplier(LAW, 2.4, 640.0, T_range=(1.0, 1e9))


@pytest.mark.parametrize("saving", [0.01, 0.05, 0.3])
def test_demand_for_saving_finds_the_demand_where_the_saving_over_the_compute_optimal_run_crosses(saving):
    T = demand_for_saving(LAW, 2.4, saving)
    base = plan_for_loss(LAW, 2.4, 0.0)

    def share(t):
        return 1 - plan_for_loss(LAW, 2.4, t).total_flops / (base.train_flops + 2 * base.N * t)

    assert share(T) == pytest.approx(saving, rel=1e-6)
    assert share(T / 1.01) < saving < share(T * 1.01)
    with pytest.raises(PlanError, match="share in"):
        demand_for_saving(LAW, 2.4, 1.5)


def test_unreachable_target_raises_with_the_irreducible_loss_in_the_message():
    with pytest.raises(PlanError, match=r"unreachable.*irreducible loss E = 1\.84"):
        plan_for_loss(LAW, 1.84)
    with pytest.raises(PlanError, match="unreachable"):
        plan_for_loss(LAW, 1.5, 1e12)
    with pytest.raises(PlanError, match="inference_tokens"):
        plan_for_loss(LAW, 2.4, -1.0)
    with pytest.raises(PlanError, match="unreachable"):
        plan_for_error(ERR, LAW, 0.9)  # above the error law's ceiling epsilon


def test_plan_for_error_plans_for_the_loss_the_error_law_maps_to():
    plan = plan_for_error(ERR, LAW, 0.45, 1e12)
    assert float(ERR.predict(plan.target_loss)) == pytest.approx(0.45, rel=1e-10)
    assert plan == plan_for_loss(LAW, plan.target_loss, 1e12)


def test_plan_as_dict_has_exactly_the_documented_keys():
    d = plan_for_loss(LAW, 2.4, 1e12).as_dict()
    assert list(d) == ["N", "D", "M", "train_flops", "inference_flops", "total_flops", "target_loss"]
    assert isinstance(plan_for_loss(LAW, 2.4), Plan)


def test_degenerate_law_raises():
    with pytest.raises(PlanError, match="A, B, alpha, beta > 0"):
        plan_for_loss(OvertrainingLaw(E=1.8, a=0.0, b=300.0, eta=0.14), 2.4)
    with pytest.raises(PlanError):
        optimal_multiplier(OvertrainingLaw(E=1.8, a=0.0, b=300.0, eta=0.14))


def test_plan_interval_contains_the_point_plan_and_counts_unreachable_replicates(testbed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cb = bootstrap_config(testbed, default_config("rpj"), n_boot=300, seed=0, method="residual")
    pi = plan_interval(cb, target_err=0.45, inference_tokens=1e12)
    assert pi.n_boot == 300
    iv = pi.intervals(0.9)
    for k in ("N", "D", "total_flops"):
        assert iv[k][0] <= getattr(pi.point, k) <= iv[k][1]
    n_inf = int(np.sum(~np.isfinite(pi.samples["N"])))
    assert n_inf == pi.n_unreachable
    # replicate b's plan equals planning with replicate b's laws
    b = int(np.flatnonzero(np.isfinite(pi.samples["N"]))[3])
    ref = plan_for_error(cb.error.laws()[b], cb.loss.laws()[b], 0.45, 1e12)
    assert pi.samples["total_flops"][b] == pytest.approx(ref.total_flops, rel=1e-8)
    # a loss target below some replicates' E is unreachable for them, and counted
    low = plan_interval(cb.loss, float(np.quantile(cb.loss.samples["E"], 0.5)) + 1e-6)
    assert 0 < low.n_unreachable < 300
    assert np.isinf(low.intervals(0.95)["total_flops"][1])


def test_inference_sweep_saves_compute_and_overtrains_more_as_demand_grows(testbed):
    from scalinglib.planning import inference_sweep

    cb = bootstrap_config(testbed, default_config("rpj"), n_boot=50, seed=0, method="residual")
    s = inference_sweep(cb, [0.0, 1e11, 1e13], target_loss=2.9)
    assert s["saving"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert (np.diff(s["M"]) > 0).all() and (np.diff(s["saving"]) > 0).all()
    assert (s["saving"] < 1).all()
    e = inference_sweep(cb, [1e12], target_err=0.5)
    assert e["M"].iloc[0] > s["M"].iloc[0]


def test_compute_optimal_band_brackets_the_point_allocation(testbed):
    from scalinglib.planning import compute_optimal_band

    cb = bootstrap_config(testbed, default_config("rpj"), n_boot=100, seed=0, method="residual")
    band = compute_optimal_band(cb, [1e20, 1e22], level=0.9)
    assert (band["N_low"] <= band["N"]).all() and (band["N"] <= band["N_high"]).all()
    assert (band["D_low"] <= band["D"]).all() and (band["D"] <= band["D_high"]).all()
    np.testing.assert_allclose(6 * band["N"] * band["D"], band["C"], rtol=1e-12)
    law = cb.fitted.loss_law
    Ms = band["M"].iloc[0]
    # M* minimises the loss at fixed compute
    assert law.predict(1e21, Ms) < min(law.predict(1e21, Ms * 1.1), law.predict(1e21, Ms / 1.1))


def test_optimal_multiplier_by_runs_matches_the_point_fits_and_brackets_them(testbed):
    from scalinglib.fit import FitWarning
    from scalinglib.overtraining import shared_floor
    from scalinglib.planning import optimal_multiplier_by_runs

    t = optimal_multiplier_by_runs(testbed, datasets=("rpj",), n_boot=200, seed=0).set_index("runs")
    assert list(t["n_runs"]) == [5, 24, 32]
    # all small runs: the fit of chapter 2 (overtraining.shared_floor)
    assert t.loc["small models, all M", "M_star"] == pytest.approx(
        shared_floor(testbed, "rpj").law.optimal_multiplier(), rel=1e-9
    )
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
    from scalinglib.planning import compute_optimal_band, optimal_multiplier_by_runs
    from scalinglib.recipe import choose_config
    from scalinglib.uncertainty import bootstrap_laws

    # chapter 12 quotes one interval for M* of the all-runs RedPajama law in its text and its Table 2
    t = optimal_multiplier_by_runs(testbed, datasets=("rpj",), n_boot=200, seed=5).set_index("runs")
    joint = bootstrap_laws(testbed, choose_config(testbed, "rpj"), n_boot=200, seed=5)
    band = compute_optimal_band(joint.loss, [1.0], level=0.9).iloc[0]
    row = t.loc["small models, all M"]
    assert (row["M_low"], row["M_star"], row["M_high"]) == pytest.approx(
        (band["M_low"], band["M"], band["M_high"]), rel=1e-12
    )
    # a different seed draws different replicates
    other = optimal_multiplier_by_runs(testbed, datasets=("rpj",), n_boot=200, seed=6).set_index("runs")
    assert other.loc["small models, all M", "M_low"] != row["M_low"]
