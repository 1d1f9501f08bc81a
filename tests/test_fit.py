"""Tests of scalinglib.fit: recovery of known laws, global optimality against
multi-start Levenberg-Marquardt, flags (edge of box, active constraint,
identification), input errors, the Huber objective and determinism."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize

from scalinglib.fit import (
    SEARCH_BOXES,
    FitError,
    FitWarning,
    fit_chinchilla,
    fit_compute,
    fit_error,
    fit_law,
    fit_overtraining,
    huber,
    refine_huber_log,
)
from scalinglib.laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw

# the testbed's small-model grid: four sizes x eight token multipliers
SIZES = np.array([1.1e7, 7.9e7, 1.54e8, 4.11e8])
MULTS = np.array([5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0])
N_GRID, M_GRID = (a.ravel() for a in np.meshgrid(SIZES, MULTS, indexing="ij"))
D_GRID = N_GRID * M_GRID
C_GRID = 6 * N_GRID * D_GRID

OT_TRUE = OvertrainingLaw(E=1.84, a=212.0, b=367.0, eta=0.136)
CH_TRUE = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
CMP_TRUE = ComputeLaw(E=2.1, lam=60.0, eta=0.09)
ERR_TRUE = ErrorLaw(epsilon=0.857, k=2.206, gamma=0.7146)
L_ERR = np.linspace(2.6, 5.2, 12)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fn(*args, **kw)


def assert_params(result, truth, rel):
    for name, value in truth.params.items():
        assert result.params[name] == pytest.approx(value, rel=rel), name


# ----------------------------------------------------------------------------- recovery without noise


def test_overtraining_recovers_known_law_without_noise():
    r = fit_overtraining(C_GRID, M_GRID, OT_TRUE.predict(C_GRID, M_GRID))
    assert_params(r, OT_TRUE, 1e-6)
    assert r.sse < 1e-20 and r.identified and not r.on_edge and not r.active_constraints


def test_overtraining_from_n_and_d_equals_from_c_and_m():
    L = OT_TRUE.predict(C_GRID, M_GRID)
    a, b = fit_overtraining(C_GRID, M_GRID, L), fit_overtraining(N=N_GRID, D=D_GRID, L=L)
    assert_params(a, b.law, 1e-9)


def test_chinchilla_recovers_known_law_without_noise():
    r = fit_chinchilla(N_GRID, D_GRID, CH_TRUE.predict(N_GRID, D_GRID))
    assert_params(r, CH_TRUE, 1e-6)
    assert r.sse < 1e-20


def test_compute_recovers_known_law_without_noise():
    C = np.geomspace(1e16, 1e21, 9)
    r = fit_compute(C, CMP_TRUE.predict(C))
    assert_params(r, CMP_TRUE, 1e-6)


def test_error_recovers_known_law_without_noise():
    r = fit_error(L_ERR, ERR_TRUE.predict(L_ERR))
    assert_params(r, ERR_TRUE, 1e-6)


# ----------------------------------------------------------------------------- recovery with small noise


def test_overtraining_recovers_known_law_with_small_noise():
    rng = np.random.default_rng(0)
    L = OT_TRUE.predict(C_GRID, M_GRID) * np.exp(rng.normal(0, 0.002, C_GRID.size))
    r = fit_overtraining(C_GRID, M_GRID, L)
    assert r.params["eta"] == pytest.approx(OT_TRUE.eta, rel=0.1)
    assert r.params["E"] == pytest.approx(OT_TRUE.E, rel=0.05)
    pred = r.law.predict(C_GRID, M_GRID)
    assert np.max(np.abs(pred / OT_TRUE.predict(C_GRID, M_GRID) - 1)) < 0.004


def test_chinchilla_recovers_known_law_with_small_noise():
    rng = np.random.default_rng(1)
    L = CH_TRUE.predict(N_GRID, D_GRID) * np.exp(rng.normal(0, 0.002, N_GRID.size))
    r = fit_chinchilla(N_GRID, D_GRID, L)
    assert r.params["alpha"] == pytest.approx(CH_TRUE.alpha, abs=0.05)
    assert r.params["beta"] == pytest.approx(CH_TRUE.beta, abs=0.05)
    assert r.params["E"] == pytest.approx(CH_TRUE.E, rel=0.05)


def test_compute_recovers_known_law_with_small_noise():
    rng = np.random.default_rng(2)
    C = np.geomspace(1e16, 1e21, 12)
    r = fit_compute(C, CMP_TRUE.predict(C) + rng.normal(0, 0.002, C.size))
    assert r.params["eta"] == pytest.approx(CMP_TRUE.eta, rel=0.15)
    assert r.params["E"] == pytest.approx(CMP_TRUE.E, rel=0.05)


def test_error_recovers_known_law_with_small_noise():
    rng = np.random.default_rng(3)
    r = fit_error(L_ERR, ERR_TRUE.predict(L_ERR) + rng.normal(0, 0.001, L_ERR.size))
    assert r.params["gamma"] == pytest.approx(ERR_TRUE.gamma, rel=0.15)
    assert r.params["epsilon"] == pytest.approx(ERR_TRUE.epsilon, rel=0.05)


# ----------------------------------------------------------------------------- global optimality vs curve_fit


def lm_best_sse(f, x, y, starts, feasible):
    """Smallest SSE over Levenberg-Marquardt runs from ``starts`` whose solution is feasible."""
    best = np.inf
    for p0 in starts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = optimize.curve_fit(f, x, y, p0=p0, method="lm", maxfev=5000)
                r = y - f(x, *p)
        except (RuntimeError, ValueError, FloatingPointError, OverflowError):
            continue
        sse = float(r @ r)
        if np.all(np.isfinite(p)) and np.isfinite(sse) and feasible(p):
            best = min(best, sse)
    return best


def never_worse(ours: float, baseline: float):
    assert ours <= baseline * (1 + 1e-9) + 1e-15, (ours, baseline)


ETA_LO, ETA_HI = SEARCH_BOXES["overtraining"]["eta"][:2]
settings_fast = settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@settings_fast
@given(
    E=st.floats(1.0, 3.0),
    log_a=st.floats(1.0, 3.0),
    log_b=st.floats(1.0, 3.0),
    eta=st.floats(0.05, 0.5),
    noise=st.floats(0.0, 0.02),
    seed=st.integers(0, 2**16),
    n=st.integers(6, 32),
)
def test_overtraining_lsq_never_worse_than_multistart_curve_fit(E, log_a, log_b, eta, noise, seed, n):
    rng = np.random.default_rng(seed)
    idx = rng.choice(C_GRID.size, size=n, replace=False)
    C, M = C_GRID[idx], M_GRID[idx]
    if np.unique(M).size < 2:
        M = M.copy()
        M[0] = 20.0 if M[0] != 20.0 else 40.0
    law = OvertrainingLaw(E=E, a=10**log_a, b=10**log_b, eta=eta)
    L = law.predict(C, M) + rng.normal(0, noise, n)
    ours = quiet(fit_overtraining, C, M, L).sse

    def f(X, E, a, b, eta):
        return E + (a * X[1] ** eta + b * X[1] ** -eta) * X[0] ** -eta

    starts = itertools.product([1.5], [10.0, 100.0, 1000.0], [10.0, 100.0, 1000.0], [0.05, 0.15, 0.4])
    base = lm_best_sse(f, np.vstack([C, M]), L, starts, lambda p: p[1] >= 0 and p[2] >= 0 and ETA_LO <= p[3] <= ETA_HI)
    never_worse(ours, base)


@settings_fast
@given(
    eps=st.floats(0.6, 1.0),
    k=st.floats(0.5, 20.0),
    gamma=st.floats(0.2, 3.0),
    noise=st.floats(0.0, 0.01),
    seed=st.integers(0, 2**16),
    n=st.integers(4, 20),
)
def test_error_lsq_never_worse_than_multistart_curve_fit(eps, k, gamma, noise, seed, n):
    rng = np.random.default_rng(seed)
    L = np.sort(rng.uniform(2.3, 5.5, n))
    err = ErrorLaw(eps, k, gamma).predict(L) + rng.normal(0, noise, n)
    ours = quiet(fit_error, L, err).sse

    def f(x, eps, k, gamma):
        return eps - k * np.exp(-gamma * x)

    lo, hi = SEARCH_BOXES["error"]["gamma"][:2]
    starts = itertools.product([0.5, 0.75, 1.0], [0.1, 1.0, 10.0], [0.5, 1.0, 2.0, 4.0])
    base = lm_best_sse(f, L, err, starts, lambda p: p[1] >= 0 and lo <= p[2] <= hi)
    never_worse(ours, base)


@settings_fast
@given(
    E=st.floats(0.5, 3.0),
    log_lam=st.floats(0.5, 3.5),
    eta=st.floats(0.02, 0.5),
    noise=st.floats(0.0, 0.02),
    seed=st.integers(0, 2**16),
    n=st.integers(3, 12),
)
def test_compute_lsq_never_worse_than_multistart_curve_fit(E, log_lam, eta, noise, seed, n):
    rng = np.random.default_rng(seed)
    C = np.sort(10 ** rng.uniform(16, 21, n))
    L = ComputeLaw(E, 10**log_lam, eta).predict(C) + rng.normal(0, noise, n)
    ours = quiet(fit_compute, C, L).sse

    def f(x, E, lam, eta):
        return E + lam * x**-eta

    starts = itertools.product([1.5], [1.0, 10.0, 100.0, 1000.0], [0.05, 0.15, 0.4])
    base = lm_best_sse(f, C, L, starts, lambda p: p[1] >= 0 and ETA_LO <= p[2] <= ETA_HI)
    never_worse(ours, base)


@settings(max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    alpha=st.floats(0.1, 0.8),
    beta=st.floats(0.1, 0.8),
    noise=st.floats(0.0, 0.02),
    seed=st.integers(0, 2**16),
)
def test_chinchilla_lsq_never_worse_than_multistart_curve_fit(alpha, beta, noise, seed):
    rng = np.random.default_rng(seed)
    law = ChinchillaLaw(
        E=1.7, A=float(10 ** rng.uniform(2, 3.5)), B=float(10 ** rng.uniform(2, 3.5)), alpha=alpha, beta=beta
    )
    L = law.predict(N_GRID, D_GRID) + rng.normal(0, noise, N_GRID.size)
    ours = quiet(fit_chinchilla, N_GRID, D_GRID, L).sse

    def f(X, E, A, B, a, b):
        return E + A * X[0] ** -a + B * X[1] ** -b

    lo, hi = SEARCH_BOXES["chinchilla"]["alpha"][:2]
    starts = itertools.product([1.5], [100.0, 1000.0], [100.0, 1000.0], [0.25, 0.6], [0.25, 0.6])
    ok = lambda p: p[1] >= 0 and p[2] >= 0 and lo <= p[3] <= hi and lo <= p[4] <= hi
    never_worse(ours, lm_best_sse(f, np.vstack([N_GRID, D_GRID]), L, starts, ok))


def test_chinchilla_lsq_on_epoch_data_never_worse_than_multistart_curve_fit(external_dir):
    from scalinglib.data import load_chinchilla_runs

    ch = load_chinchilla_runs(external_dir)
    N, D, L = ch["N"].to_numpy(), ch["D"].to_numpy(), ch["loss"].to_numpy()
    ours = fit_chinchilla(N, D, L)

    def f(X, E, A, B, a, b):
        return E + A * X[0] ** -a + B * X[1] ** -b

    starts = [list(ours.law.params.values())] + list(
        itertools.product([1.5, 2.0], [1e2, 1e3], [1e3, 1e5], [0.3, 0.5], [0.3, 0.6])
    )
    base = lm_best_sse(f, np.vstack([N, D]), L, starts, lambda p: p[1] >= 0 and p[2] >= 0)
    never_worse(ours.sse, base)


# ----------------------------------------------------------------------------- flags


def test_exponent_beyond_the_box_is_flagged_on_edge():
    C = C_GRID / 1e15  # compute in units where eta = 1.8 leaves a visible signal
    law = OvertrainingLaw(E=1.0, a=3.0, b=20.0, eta=1.8)  # eta beyond the box (upper 1.5)
    with pytest.warns(FitWarning, match="edge of the search box"):
        r = fit_overtraining(C, M_GRID, law.predict(C, M_GRID))
    assert r.on_edge == ("eta",)
    assert r.params["eta"] == pytest.approx(ETA_HI, abs=1e-12)
    assert any("widen it" in note for note in r.notes)


def test_user_box_excluding_the_truth_is_flagged_on_edge():
    with pytest.warns(FitWarning, match="edge"):
        r = fit_overtraining(C_GRID, M_GRID, OT_TRUE.predict(C_GRID, M_GRID), box={"eta": (0.2, 0.6, 201)})
    assert r.on_edge == ("eta",)
    assert r.search_box == {"eta": (0.2, 0.6)}


def test_chinchilla_exponent_beyond_the_box_is_flagged():
    law = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.005)
    with pytest.warns(FitWarning, match="edge"):
        r = fit_chinchilla(N_GRID, D_GRID, law.predict(N_GRID, D_GRID))
    assert "beta" in r.on_edge


def test_active_non_negativity_constraint_is_flagged():
    # the unconstrained optimum has a negative coefficient on the M^-eta C^-eta term
    L = 1.8 + (200.0 * M_GRID**0.15 - 30.0 * M_GRID**-0.15) * C_GRID**-0.15
    with pytest.warns(FitWarning, match="constraint active: b = 0"):
        r = fit_overtraining(C_GRID, M_GRID, L)
    assert r.active_constraints == ("b",)
    assert r.params["b"] == 0.0
    assert r.params["a"] > 0


def test_single_multiplier_over_training_fit_raises_identification_error():
    sel = M_GRID == 20.0
    with pytest.raises(FitError, match="not identified"):
        fit_overtraining(C_GRID[sel], M_GRID[sel], OT_TRUE.predict(C_GRID[sel], M_GRID[sel]))


def test_clean_fit_has_no_notes_and_emits_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        r = fit_overtraining(C_GRID, M_GRID, OT_TRUE.predict(C_GRID, M_GRID))
    assert r.notes == () and r.identified


# ----------------------------------------------------------------------------- bad input


def test_too_few_points_raise_fit_error_with_the_count():
    with pytest.raises(FitError, match="needs at least 4 points; got 3"):
        fit_overtraining(C_GRID[:3], np.array([5.0, 10.0, 20.0]), np.array([4.0, 3.9, 3.8]))
    with pytest.raises(FitError, match="at least 5 points; got 4"):
        fit_chinchilla(N_GRID[:4], D_GRID[:4], np.ones(4) * 3)
    with pytest.raises(FitError, match="at least 3 points; got 2"):
        fit_error([3.0, 3.5], [0.7, 0.75])


def test_nan_raises_fit_error_naming_the_input_and_index():
    L = OT_TRUE.predict(C_GRID, M_GRID)
    L[2] = np.nan
    with pytest.raises(FitError, match="L has a NaN or infinite value at index 2"):
        fit_overtraining(C_GRID, M_GRID, L)
    with pytest.raises(FitError, match="err has a NaN or infinite value at index 1"):
        fit_error(L_ERR[:4], [0.7, np.inf, 0.75, 0.8])


def test_non_positive_input_raises_fit_error_naming_the_input_and_index():
    C = C_GRID.copy()
    C[1] = 0.0
    with pytest.raises(FitError, match="C must be positive; index 1"):
        fit_overtraining(C, M_GRID, OT_TRUE.predict(C_GRID, M_GRID))
    N = N_GRID.copy()
    N[5] = -1.0
    with pytest.raises(FitError, match="N must be positive; index 5"):
        fit_chinchilla(N, D_GRID, CH_TRUE.predict(N_GRID, D_GRID))


def test_mismatched_lengths_and_unknown_objective_raise():
    with pytest.raises(FitError, match="different lengths"):
        fit_compute(C_GRID[:5], np.ones(6))
    with pytest.raises(ValueError, match="objective"):
        fit_compute(C_GRID[:5], np.ones(5) * 3, objective="l1")
    with pytest.raises(ValueError, match="unknown law"):
        fit_law("kaplan", C=C_GRID)


# ----------------------------------------------------------------------------- Huber objective


def test_huber_log_recovers_chinchilla_law_without_noise():
    r = fit_chinchilla(N_GRID, D_GRID, CH_TRUE.predict(N_GRID, D_GRID), objective="huber_log")
    assert r.objective == "huber_log" and r.delta == 1e-3
    assert_params(r, CH_TRUE, 1e-4)


def test_huber_log_recovers_chinchilla_law_with_small_noise_and_an_outlier():
    rng = np.random.default_rng(4)
    L = CH_TRUE.predict(N_GRID, D_GRID) * np.exp(rng.normal(0, 0.0005, N_GRID.size))
    L[7] *= 1.2  # one gross outlier; the Huber loss caps its pull
    r = fit_chinchilla(N_GRID, D_GRID, L, objective="huber_log")
    assert r.params["alpha"] == pytest.approx(CH_TRUE.alpha, abs=0.03)
    assert r.params["beta"] == pytest.approx(CH_TRUE.beta, abs=0.03)
    assert r.params["E"] == pytest.approx(CH_TRUE.E, rel=0.02)


def test_huber_objective_value_is_the_sum_of_huber_losses_of_log_residuals():
    rng = np.random.default_rng(5)
    L = OT_TRUE.predict(C_GRID, M_GRID) * np.exp(rng.normal(0, 0.003, C_GRID.size))
    r = fit_overtraining(C_GRID, M_GRID, L, objective="huber_log")
    expected = np.sum(huber(np.log(L) - np.log(r.law.predict(C_GRID, M_GRID)), 1e-3))
    assert r.objective_value == pytest.approx(expected, rel=1e-9)


def test_huber_log_is_never_worse_than_at_the_least_squares_solution():
    rng = np.random.default_rng(6)
    L = OT_TRUE.predict(C_GRID, M_GRID) * np.exp(rng.normal(0, 0.003, C_GRID.size))
    lsq = fit_overtraining(C_GRID, M_GRID, L)
    hub = fit_overtraining(C_GRID, M_GRID, L, objective="huber_log")
    at_lsq = np.sum(huber(np.log(L) - np.log(lsq.predicted), 1e-3))
    assert hub.objective_value <= at_lsq


def _huber_value(law, inputs, y, w=None):
    pred = {
        ChinchillaLaw: lambda: law.predict(inputs["N"], inputs["D"]),
        OvertrainingLaw: lambda: law.predict(inputs["C"], inputs["M"]),
        ComputeLaw: lambda: law.predict(inputs["C"]),
        ErrorLaw: lambda: law.predict(inputs["L"]),
    }[type(law)]()
    h = huber(np.log(pred) - np.log(y), 1e-3)
    return float(np.sum(h if w is None else w * h))


def test_refine_huber_log_from_a_nearby_start_reaches_the_multistart_chinchilla_optimum():
    rng = np.random.default_rng(11)
    L = CH_TRUE.predict(N_GRID, D_GRID) * np.exp(rng.normal(0, 0.004, N_GRID.size))
    full = quiet(fit_chinchilla, N_GRID, D_GRID, L, objective="huber_log")
    start = ChinchillaLaw(E=1.6, A=300.0, B=500.0, alpha=0.3, beta=0.3)
    law, value = refine_huber_log(start, {"N": N_GRID, "D": D_GRID}, L)
    assert value == pytest.approx(full.objective_value, rel=1e-6)
    assert value == pytest.approx(_huber_value(law, {"N": N_GRID, "D": D_GRID}, L), rel=1e-9)


@pytest.mark.parametrize("kind", ["overtraining", "compute", "error"])
def test_refine_huber_log_from_the_least_squares_fit_matches_the_multistart_fit_for_every_law(kind):
    rng = np.random.default_rng(12)
    noise = np.exp(rng.normal(0, 0.003, C_GRID.size))
    if kind == "overtraining":
        inputs, y, fit = {"C": C_GRID, "M": M_GRID}, OT_TRUE.predict(C_GRID, M_GRID) * noise, fit_overtraining
    elif kind == "compute":
        sel = M_GRID == 20.0
        inputs, y, fit = {"C": C_GRID[sel]}, CMP_TRUE.predict(C_GRID[sel]) * noise[sel], fit_compute
    else:
        inputs, y, fit = {"L": L_ERR}, ERR_TRUE.predict(L_ERR) * noise[: L_ERR.size], fit_error
    lsq = quiet(fit, *inputs.values(), y)
    full = quiet(fit, *inputs.values(), y, objective="huber_log")
    law, value = refine_huber_log(lsq.law, inputs, y)
    assert type(law) is type(full.law)
    assert value <= full.objective_value * (1 + 1e-6)
    assert value == pytest.approx(_huber_value(law, inputs, y), rel=1e-9)


def test_refine_huber_log_with_integer_weights_is_the_fit_on_the_repeated_points():
    rng = np.random.default_rng(13)
    L = CH_TRUE.predict(N_GRID, D_GRID) * np.exp(rng.normal(0, 0.004, N_GRID.size))
    counts = rng.multinomial(N_GRID.size, np.full(N_GRID.size, 1.0 / N_GRID.size))
    start = quiet(fit_chinchilla, N_GRID, D_GRID, L, objective="huber_log").law
    weighted, v_w = refine_huber_log(start, {"N": N_GRID, "D": D_GRID}, L, weights=counts)
    rep = {"N": np.repeat(N_GRID, counts), "D": np.repeat(D_GRID, counts)}
    repeated, v_r = refine_huber_log(start, rep, np.repeat(L, counts))
    assert v_w == pytest.approx(v_r, rel=1e-6)
    assert weighted.alpha == pytest.approx(repeated.alpha, rel=1e-4)
    assert weighted.beta == pytest.approx(repeated.beta, rel=1e-4)


def test_refine_huber_log_is_never_worse_than_its_start():
    rng = np.random.default_rng(14)
    L = CH_TRUE.predict(N_GRID, D_GRID) * np.exp(rng.normal(0, 0.004, N_GRID.size))
    inputs = {"N": N_GRID, "D": D_GRID}
    law, value = refine_huber_log(CH_TRUE, inputs, L)
    assert value <= _huber_value(CH_TRUE, inputs, L)
    # started at its own optimum it stays there
    again, value2 = refine_huber_log(law, inputs, L)
    assert value2 <= value and again.alpha == pytest.approx(law.alpha, rel=1e-6)


def test_refine_huber_log_rejects_missing_inputs_negative_weights_and_negative_coefficients():
    L = CH_TRUE.predict(N_GRID, D_GRID)
    with pytest.raises(FitError, match="needs the input"):
        refine_huber_log(CH_TRUE, {"N": N_GRID}, L)
    with pytest.raises(FitError, match="weights must be non-negative"):
        refine_huber_log(CH_TRUE, {"N": N_GRID, "D": D_GRID}, L, weights=-np.ones(L.size))
    with pytest.raises(FitError, match="different lengths"):
        refine_huber_log(CH_TRUE, {"N": N_GRID, "D": D_GRID}, L[:-1])
    with pytest.raises(FitError, match="non-negative scale"):
        refine_huber_log(ChinchillaLaw(E=1.7, A=-1.0, B=400.0, alpha=0.3, beta=0.3), {"N": N_GRID, "D": D_GRID}, L)


# ----------------------------------------------------------------------------- result contents, determinism


def test_lsq_result_is_consistent():
    rng = np.random.default_rng(7)
    L = OT_TRUE.predict(C_GRID, M_GRID) + rng.normal(0, 0.01, C_GRID.size)
    r = fit_overtraining(C_GRID, M_GRID, L)
    assert np.allclose(r.predicted, r.law.predict(C_GRID, M_GRID))
    assert np.allclose(r.residuals, L - r.predicted)
    assert r.sse == pytest.approx(float(r.residuals @ r.residuals), rel=1e-12)
    assert r.objective_value == pytest.approx(r.sse, rel=1e-9)
    assert r.n_points == C_GRID.size and r.objective == "lsq"
    assert r.search_box == {"eta": SEARCH_BOXES["overtraining"]["eta"][:2]}


def test_fit_law_dispatches_by_name():
    L = OT_TRUE.predict(C_GRID, M_GRID)
    assert fit_law("overtraining", C=C_GRID, M=M_GRID, L=L).params == fit_overtraining(C_GRID, M_GRID, L).params


@pytest.mark.parametrize("objective", ["lsq", "huber_log"])
def test_fits_are_deterministic(objective):
    rng = np.random.default_rng(8)
    L = CH_TRUE.predict(N_GRID, D_GRID) * np.exp(rng.normal(0, 0.005, N_GRID.size))
    a = quiet(fit_chinchilla, N_GRID, D_GRID, L, objective=objective)
    b = quiet(fit_chinchilla, N_GRID, D_GRID, L, objective=objective)
    assert a.params == b.params and a.objective_value == b.objective_value


def test_an_exponent_whose_only_coefficient_is_held_at_zero_is_reported_not_identified():
    # a loss that rises with compute: the best non-negative fit is flat (lambda = 0),
    # so eta has no effect on the fit and cannot be identified
    with pytest.warns(FitWarning):
        r = fit_compute(C=[1e18, 1e19, 1e20, 1e21], L=[3.0, 3.1, 3.2, 3.3])
    assert r.active_constraints == ("lambda",)
    assert r.identified is False


def test_a_power_term_collapsed_onto_the_intercept_is_reported_not_identified():
    with pytest.warns(FitWarning):
        r = fit_compute(C=[1e18, 1e19, 1e20, 1e21], L=[3.0, 3.01, 2.99, 3.0])
    assert r.on_edge == ("eta",)
    assert r.identified is False


def test_an_irreducible_loss_above_the_smallest_observed_loss_is_noted():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fit_compute(C=[1e18, 1e19, 1e20, 1e21], L=[3.0, 3.1, 3.2, 3.3])
    assert any("above the smallest observed loss" in n for n in r.notes)
    assert any("above the smallest observed loss" in str(w.message) for w in caught if w.category is FitWarning)


def test_a_well_posed_fit_carries_no_notes_and_is_identified():
    C = np.logspace(17, 21, 6)
    r = fit_compute(C, 1.8 + 300.0 * C**-0.15)
    assert r.identified and r.notes == ()


# ----------------------------------------------------------------------------- the one-exponent fast path


def _problems(seed: int):
    """Noisy over-training, compute and error problems on the testbed's grid."""
    from scalinglib.fit.problem import problem

    rng = np.random.default_rng(seed)
    keep = rng.random(N_GRID.size) < 0.6
    keep[:2] = keep[-2:] = True  # at least two multipliers
    ot = OT_TRUE.predict(C_GRID[keep], M_GRID[keep]) * (1 + 0.01 * rng.standard_normal(keep.sum()))
    at20 = np.flatnonzero(M_GRID == 20.0)
    cm = CMP_TRUE.predict(C_GRID[at20]) * (1 + 0.01 * rng.standard_normal(at20.size))
    er = ERR_TRUE.predict(L_ERR) + 0.01 * rng.standard_normal(L_ERR.size)
    return [
        problem("overtraining", {"C": C_GRID[keep], "M": M_GRID[keep]}, ot),
        problem("compute", {"C": C_GRID[at20]}, cm),
        problem("error", {"L": L_ERR}, er),
    ]


@pytest.mark.parametrize("seed", range(8))
def test_one_exponent_fast_path_matches_the_general_engine(seed):
    from scalinglib.fit import core as F

    for prob in _problems(seed):
        with np.errstate(all="ignore"):
            x_fast, c_fast, f_fast, edge_fast = F._solve_vp1(prob, prob.box)
            x_gen, c_gen, f_gen, edge_gen = F._solve_vp_generic(prob, prob.box)
        assert f_fast <= f_gen * (1 + 1e-10) + 1e-300, prob.name
        assert x_fast[0] == pytest.approx(x_gen[0], rel=1e-5), prob.name
        assert np.allclose(c_fast, c_gen, rtol=1e-4, atol=1e-12), prob.name
        assert edge_fast == edge_gen


def test_one_exponent_fast_path_holds_an_infeasible_coefficient_at_zero_like_the_general_engine():
    from scalinglib.fit import core as F
    from scalinglib.fit.problem import problem

    # loss rising with compute: lambda >= 0 cannot fit it, the optimum is lambda = 0 (a flat line)
    C = np.geomspace(1e17, 1e20, 6)
    prob = problem("compute", {"C": C}, np.linspace(3.0, 3.5, 6))
    with np.errstate(all="ignore"):
        fast, gen = F._solve_vp1(prob, prob.box), F._solve_vp_generic(prob, prob.box)
    assert fast[1][1] == 0.0 and gen[1][1] == 0.0
    assert fast[2] == pytest.approx(gen[2], rel=1e-12)


def test_a_fit_through_as_many_points_as_parameters_reaches_rounding_level_sse():
    # three points of a compute law: the least-squares optimum interpolates them
    C = np.array([1e17, 1e18, 1e19])
    L = CMP_TRUE.predict(C)
    res = quiet(fit_compute, C, L)
    assert res.sse < 1e-26 * np.sum((L - L.mean()) ** 2)
    assert res.params["eta"] == pytest.approx(CMP_TRUE.eta, rel=1e-9)


@pytest.mark.parametrize("kind", ["overtraining", "compute", "error", "chinchilla"])
def test_each_law_declares_the_linear_basis_that_reproduces_its_prediction(kind):
    # f = c0 + sum_j c_j s_j exp(e_{k_j} u_j): the spec's columns and the law object agree
    from scalinglib.fit import SPECS
    from scalinglib.fit.problem import problem

    spec = SPECS[kind]
    law = {"overtraining": OT_TRUE, "compute": CMP_TRUE, "error": ERR_TRUE, "chinchilla": CH_TRUE}[kind]
    inputs = {"C": C_GRID, "M": M_GRID, "N": N_GRID, "D": D_GRID, "L": np.linspace(2.5, 4.0, C_GRID.size)}
    inputs = {k: inputs[k] for k in spec.inputs}
    theta = list(law.params.values())
    n_lin = 1 + len(spec.linear)
    prob = problem(kind, inputs, np.ones(C_GRID.size))
    F = prob.features(np.array([theta[n_lin:]]))[0]
    assert spec.n_params == len(type(law).names) == len(theta)
    np.testing.assert_allclose(theta[0] + F @ np.array(theta[1:n_lin]), spec.predict(law, inputs), rtol=1e-12)
    assert spec.law_from(theta[n_lin:], theta[:n_lin]) == law
