"""The bounded sigmoid law, the two-step predictor and the ladder's task losses (issue 19)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from scalinglib import twostep
from scalinglib.data import LADDER_BPB, LADDER_MMLU_WEIGHTS, load_ladder
from scalinglib.fit import FitError, FitWarning, fit_law, fit_sigmoid
from scalinglib.fit.bounded import _bounded_lsq
from scalinglib.laws import SigmoidLaw


@pytest.fixture(scope="module")
def ladder_all(ladder_dir):
    return load_ladder(ladder_dir, checkpoints="all")


@pytest.mark.parametrize(
    "true", [SigmoidLaw(0.1, 0.6, 4.0, 1.3), SigmoidLaw(0.0, 0.75, 9.0, 0.8), SigmoidLaw(0.3, 0.2, 1.5, 2.5)]
)
def test_sigmoid_fit_recovers_known_parameters_from_noise_free_points(true):
    L = np.linspace(0.6, 2.2, 40)
    r = fit_sigmoid(L, true.predict(L))
    got = np.array(list(r.params.values()))
    np.testing.assert_allclose(got, np.array(list(true.params.values())), rtol=1e-6, atol=1e-7)
    assert r.sse < 1e-14 and r.identified and r.band == (0.0, 1.0)


def test_sigmoid_fit_by_name_and_huber_log_recover_the_same_law():
    true = SigmoidLaw(0.05, 0.6, 5.0, 1.0)
    L = np.linspace(0.5, 2.0, 30)
    a = fit_law("sigmoid", L=L, err=true.predict(L))
    b = fit_sigmoid(L, true.predict(L), objective="huber_log")
    for r in (a, b):
        np.testing.assert_allclose(list(r.params.values()), list(true.params.values()), rtol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_sigmoid_predictions_stay_inside_the_asymptotes_for_any_input(seed):
    rng = np.random.default_rng(seed)
    L = np.sort(rng.uniform(0.5, 2.5, 25))
    err = np.clip(0.9 * rng.random() + rng.normal(0, 0.3, L.size) * L, -0.5, 1.5)  # data that ask to leave [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        r = fit_sigmoid(L, err, chance=0.25)
    lo, hi = r.law.asymptotes
    assert 0.0 <= lo <= hi <= 0.75
    x = np.concatenate([np.linspace(-1e6, 1e6, 1001), [-1e300, 1e300, 0.0]])
    p = r.law.predict(x)
    assert np.all((p >= lo) & (p <= hi)) and np.all(np.isfinite(p))


def test_bounded_linear_step_is_the_constrained_optimum_on_a_dense_grid():
    rng = np.random.default_rng(1)
    F = rng.random((1, 20))
    y = 1.3 * F[0] - 0.2 + 0.05 * rng.standard_normal(20)  # unconstrained: floor -0.2, ceiling 1.1
    sse, u, v = _bounded_lsq(F, np.ones((1, 20)), y[None, :], 0.0, 1.0)
    uu, vv = np.meshgrid(np.linspace(0, 1, 801), np.linspace(0, 1, 801), indexing="ij")
    ok = uu <= vv
    dense = ((y[None, None, :] - uu[..., None] * (1 - F[0]) - vv[..., None] * F[0]) ** 2).sum(-1)
    assert sse[0, 0] <= dense[ok].min() + 1e-12
    assert u[0, 0] == 0.0 and v[0, 0] <= 1.0  # the floor is active: the data ask for a negative error floor


def test_sigmoid_rejects_an_empty_band_and_constant_losses():
    with pytest.raises(FitError, match="band"):
        fit_sigmoid([1.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.3, 0.4], floor=0.5, ceiling=0.5)
    with pytest.raises(FitError, match="same loss"):
        fit_sigmoid([1.0] * 5, [0.1, 0.2, 0.3, 0.4, 0.5])


def test_ladder_bpb_columns_match_the_raw_files_value_for_value(ladder_dir, ladder_all):
    for stem in ("190M-1xC", "1B-10xC", "3B-0.5xC"):
        raw = pd.read_csv(os.path.join(ladder_dir, f"{stem}.csv"))
        got = ladder_all[ladder_all["run"] == stem].sort_values("step")
        assert len(got) == len(raw)
        np.testing.assert_array_equal(got["step"].to_numpy(), raw["_step"].to_numpy(float))
        for task, cols in LADDER_BPB.items():
            np.testing.assert_array_equal(got[f"bpb_{task}"].to_numpy(), raw[list(cols)].to_numpy(float).mean(axis=1))
        w = np.asarray(LADDER_MMLU_WEIGHTS)
        np.testing.assert_array_equal(
            got["bpb_mmlu_weighted"].to_numpy(), raw[list(LADDER_BPB["mmlu"])].to_numpy(float) @ w / w.sum()
        )
        assert got["fraction"].iloc[-1] == 1.0 and got["fraction"].is_monotonic_increasing


def test_ladder_final_rows_are_the_last_checkpoint_of_every_run(ladder_dir, ladder_all):
    final = load_ladder(ladder_dir)
    last = ladder_all.groupby("run", sort=False).tail(1).set_index("run")
    pd.testing.assert_frame_equal(final.set_index("run").sort_index(), last.loc[final["run"]].sort_index())
    with pytest.raises(ValueError, match="checkpoints"):
        load_ladder(ladder_dir, checkpoints="some")


def test_two_step_intervals_hold_the_point_prediction_and_the_paper_law_is_flagged_below_zero(ladder_all):
    t = ladder_all[ladder_all["target"] & (ladder_all["model"] == "13B")].iloc[-1]
    data = twostep.ladder_data(ladder_all, "hellaswag")
    p = twostep.predict_two_step(data, {"13B": (t.N, t.D)}, n_boot=20)["13B"]
    assert p.accuracy_interval[0] <= p.accuracy <= p.accuracy_interval[1]
    assert p.loss_interval[0] <= p.loss <= p.loss_interval[1] and not p.outside_unit
    # the paper's Err(x) on the task loss of the same points, asked far below the data
    far = twostep.TwoStepData(data.N, data.D * 1e8, data.x, data.run, data.x2[:-1], data.err2[:-1], data.run2[:-1])
    with pytest.warns(FitWarning, match="outside"):
        q = twostep.predict_two_step(far, {"far": (t.N * 1e3, t.D * 1e6)}, acc_law="error", n_boot=5)["far"]
    assert q.outside_unit
