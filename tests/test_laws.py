"""Tests of scalinglib.laws: formulas, exact conversions, inverses, compute-optimal allocation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalinglib.laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw, tokens_params_from_compute

OT = OvertrainingLaw(E=1.8366, a=212.24, b=366.69, eta=0.13643)
CH = ChinchillaLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
ERR = ErrorLaw(epsilon=0.857, k=2.206, gamma=0.7146)


# ----------------------------------------------------------------------------- formulas by hand


def test_chinchilla_predict_matches_hand_computation():
    N, D = 1.4e9, 2.8e10
    hand = 1.69 + 406.4 * N**-0.34 + 410.7 * D**-0.28
    assert CH.predict(N, D) == pytest.approx(hand, rel=1e-14)


def test_overtraining_predict_matches_hand_computation():
    C, M = 6 * 1.4e9 * 896e9, 640.0
    hand = 1.8366 + (212.24 * M**0.13643 + 366.69 * M**-0.13643) * C**-0.13643
    assert OT.predict(C, M) == pytest.approx(hand, rel=1e-14)


def test_overtraining_offset_is_lambda_of_m():
    M = np.array([5.0, 20.0, 640.0])
    assert np.allclose(OT.offset(M), 212.24 * M**0.13643 + 366.69 * M**-0.13643, rtol=1e-14)


def test_compute_predict_matches_hand_computation():
    law = ComputeLaw(E=1.5, lam=70.0, eta=0.066)
    assert law.predict(1e20) == pytest.approx(1.5 + 70.0 * 1e20**-0.066, rel=1e-14)
    assert law.params == {"E": 1.5, "lambda": 70.0, "eta": 0.066}


def test_error_predict_matches_hand_computation():
    assert ERR.predict(3.2) == pytest.approx(0.857 - 2.206 * math.exp(-0.7146 * 3.2), rel=1e-14)


def test_predict_is_vectorised_and_keeps_shape():
    C = np.full((2, 3), 1e20)
    M = np.array([5.0, 20.0, 640.0])
    out = OT.predict(C, M)
    assert out.shape == (2, 3)
    assert np.allclose(out[0], [OT.predict(1e20, m) for m in M], rtol=1e-14)


def test_params_use_the_paper_names_in_order():
    assert list(OT.params) == ["E", "a", "b", "eta"]
    assert list(CH.params) == ["E", "A", "B", "alpha", "beta"]
    assert list(ERR.params) == ["epsilon", "k", "gamma"]


# ----------------------------------------------------------------------------- exact conversions


def test_overtraining_to_chinchilla_uses_alpha_beta_2eta_and_6_to_minus_eta():
    ch = OT.to_chinchilla()
    assert ch.alpha == ch.beta == 2 * OT.eta
    assert ch.A == pytest.approx(OT.a * 6.0**-OT.eta, rel=1e-15)
    assert ch.B == pytest.approx(OT.b * 6.0**-OT.eta, rel=1e-15)
    assert ch.E == OT.E


def test_round_trip_overtraining_chinchilla_is_exact():
    back = OvertrainingLaw.from_chinchilla(OT.to_chinchilla())
    for name, value in OT.params.items():
        assert back.params[name] == pytest.approx(value, rel=1e-14), name


def test_round_trip_chinchilla_overtraining_is_exact():
    ch = ChinchillaLaw(E=1.7, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    back = ch.to_overtraining().to_chinchilla()
    for name, value in ch.params.items():
        assert back.params[name] == pytest.approx(value, rel=1e-14), name


def test_overtraining_predict_equals_predict_nd_and_chinchilla_predict():
    N = np.array([1.1e7, 7.9e7, 1.4e9, 6.9e9])
    D = N * np.array([20.0, 320.0, 640.0, 20.0])
    C, M = 6 * N * D, D / N
    assert np.allclose(OT.predict(C, M), OT.predict_ND(N, D), rtol=1e-13, atol=0)
    assert np.allclose(OT.predict_ND(N, D), OT.to_chinchilla().predict(N, D), rtol=1e-13, atol=0)


def test_chinchilla_with_unequal_exponents_has_no_overtraining_form():
    with pytest.raises(ValueError, match="alpha == beta"):
        CH.to_overtraining()


def test_tokens_params_from_compute_inverts_c_6nd_and_m_d_over_n():
    N, D = tokens_params_from_compute(6 * 1.4e9 * 896e9, 640.0)
    assert N == pytest.approx(1.4e9, rel=1e-12)
    assert D == pytest.approx(896e9, rel=1e-12)


# ----------------------------------------------------------------------------- per-M laws and inverses


def test_at_multiplier_gives_the_per_m_compute_law():
    for M in (5.0, 20.0, 640.0):
        law = OT.at_multiplier(M)
        assert isinstance(law, ComputeLaw)
        assert law.E == OT.E and law.eta == OT.eta
        assert law.lam == pytest.approx(float(OT.offset(M)), rel=1e-15)
        C = np.array([1e17, 1e19, 1e22])
        assert np.allclose(law.predict(C), OT.predict(C, M), rtol=1e-14)


def test_optimal_multiplier_minimises_loss_at_fixed_compute():
    M_star = OT.optimal_multiplier()
    # a M^eta = b M^-eta at the minimum of lambda(M): M* = (b / a)^(1 / (2 eta))
    assert M_star == pytest.approx((OT.b / OT.a) ** (1 / (2 * OT.eta)), rel=1e-14)
    M = np.geomspace(M_star / 50, M_star * 50, 20001)
    assert M[np.argmin(OT.offset(M))] == pytest.approx(M_star, rel=1e-3)


def test_error_loss_for_inverts_predict():
    L = np.array([2.5, 3.0, 3.5, 4.5])
    assert np.allclose(ERR.loss_for(ERR.predict(L)), L, rtol=1e-12)


def test_error_loss_for_unreachable_error_raises():
    with pytest.raises(ValueError, match="not reachable"):
        ERR.loss_for(ERR.epsilon + 0.01)


# ----------------------------------------------------------------------------- compute-optimal allocation


@pytest.mark.parametrize("C", [1e18, 5.8e23, 1e26])
def test_compute_optimal_satisfies_budget_and_is_the_brute_force_minimiser(C):
    N_opt, D_opt = CH.compute_optimal(C)
    assert 6 * N_opt * D_opt == pytest.approx(C, rel=1e-12)
    # brute force along the budget: N on a fine log grid, D = C / (6N)
    N = np.geomspace(N_opt / 100, N_opt * 100, 400001)
    L = CH.predict(N, C / (6 * N))
    assert N[np.argmin(L)] == pytest.approx(float(N_opt), rel=1e-4)
    assert float(CH.predict(N_opt, D_opt)) <= L.min() + 1e-12


def test_compute_optimal_with_equal_exponents_gives_optimal_multiplier():
    ch = OT.to_chinchilla()
    N, D = ch.compute_optimal(1e22)
    assert float(D / N) == pytest.approx(OT.optimal_multiplier(), rel=1e-10)


def test_compute_optimal_needs_positive_coefficients():
    with pytest.raises(ValueError, match="positive"):
        ChinchillaLaw(E=1.0, A=0.0, B=1.0, alpha=0.3, beta=0.3).compute_optimal(1e20)


# ----------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_non_positive_or_non_finite_sizes_raise(bad):
    with pytest.raises(ValueError, match="C must be finite and positive"):
        OT.predict(bad, 20.0)
    with pytest.raises(ValueError, match="M must be finite and positive"):
        OT.predict(1e20, bad)
    with pytest.raises(ValueError, match="N must be finite and positive"):
        CH.predict(bad, 1e9)
    with pytest.raises(ValueError, match="D must be finite and positive"):
        OT.predict_ND(1e9, bad)


def test_error_law_rejects_nan_loss():
    with pytest.raises(ValueError, match="finite"):
        ERR.predict([3.0, np.nan])


def test_optimal_multiplier_needs_both_coefficients():
    with pytest.raises(ValueError, match="a > 0, b > 0"):
        OvertrainingLaw(E=1.0, a=0.0, b=1.0, eta=0.1).optimal_multiplier()


def test_laws_are_immutable():
    with pytest.raises(AttributeError):
        OT.E = 2.0  # type: ignore[misc]


def test_optimal_multiplier_of_a_batch_of_laws_is_that_of_each_law_with_nan_where_undefined():
    a = np.array([[212.0], [0.0], [150.0]])
    b = np.array([[367.0], [1.0], [400.0]])
    eta = np.array([[0.136], [0.1], [0.2]])
    batch = OvertrainingLaw(E=1.84, a=a, b=b, eta=eta).optimal_multiplier(strict=False)
    assert batch.shape == (3, 1)
    assert batch[0, 0] == OvertrainingLaw(E=1.84, a=212.0, b=367.0, eta=0.136).optimal_multiplier()
    assert np.isnan(batch[1, 0])
    assert batch[2, 0] == OvertrainingLaw(E=1.84, a=150.0, b=400.0, eta=0.2).optimal_multiplier()
    with pytest.raises(ValueError, match="a > 0"):
        OvertrainingLaw(E=1.84, a=a, b=b, eta=eta).optimal_multiplier()
