"""The paper's recipe on other labs' runs (scalinglib.otherlabs) and chapter 13's key numbers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from scalinglib import otherlabs as ol
from scalinglib.data import load_ladder, load_sardana
from scalinglib.paper import Run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sardana():
    return load_sardana(os.environ.get("SCALINGLIB_SARDANA") or REPO.parent / "shared" / "sardana")


@pytest.fixture(scope="module")
def ladder():
    return load_ladder(os.environ.get("SCALINGLIB_LADDER") or REPO.parent / "shared" / "olmo-ladder" / "ladder-runs")


@pytest.fixture(scope="module")
def tables(sardana, ladder):
    return {
        lab: ol.recipe_table(df, ol.recipe(df), n_boot=300, seed=0, level=0.9)[0]
        for lab, df in (("sardana", sardana), ("ladder", ladder))
    }


def test_sardana_recipe_is_the_default_configuration_transposed(sardana):
    cfg = ol.recipe(sardana)
    assert cfg.loss_runs == (
        Run("150M", 20.0),
        Run("370M", 20.0),
        Run("750M", 20.0),
        Run("1.3B", 20.0),
        Run("150M", 250.0),
    )
    assert cfg.error_runs == cfg.loss_runs
    assert len(cfg.targets) == 10 and Run("6B", 20.0) in cfg.targets and Run("150M", 10000.0) in cfg.targets
    assert (cfg.loss_col, cfg.err_col) == ("loss_train", "err_gauntlet")


def test_ladder_recipe_uses_original_runs_at_exact_multipliers(ladder):
    cfg = ol.recipe(ladder)
    assert [r.model for r in cfg.loss_runs] == ["190M", "370M", "760M", "1B", "190M"]
    assert np.allclose([r.M for r in cfg.loss_runs], [20, 20, 20, 20, 200], rtol=3e-3)
    assert [r.model for r in cfg.targets] == ["3B"] * 5 + ["7B", "13B"]
    fitted = ol.fit_recipe(ladder, cfg)
    table = ol.lab_table(ladder)
    assert not (table["replicate"] == 1).any()
    # the compute of the five fitted runs
    fit_rows = table[table["run"].isin(["190M-1xC", "370M-1xC", "760M-1xC", "1B-1xC", "190M-10xC"])]
    assert np.isclose(fitted.loss_compute, fit_rows["C"].sum())


def test_small_variant_never_fits_on_a_target(sardana, ladder):
    for df in (sardana, ladder):
        cfg = ol.recipe(df, error_runs="small", loss_runs="small")
        assert not set(cfg.loss_runs) & set(cfg.targets)
        assert len(cfg.loss_runs) == {"sardana": 37, "ladder": 20}[str(df["dataset"].iloc[0])]


def test_find_run_names_a_missing_run(sardana):
    with pytest.raises(KeyError, match="6B at M = 500"):
        ol.find_run(sardana, "6B", 500.0)


def test_predict_all_marks_fit_and_target_runs(ladder):
    cfg = ol.recipe(ladder)
    pe = ol.predict_all(ladder, ol.fit_recipe(ladder, cfg))
    assert (pe["role"] == "fit").sum() == 5 and (pe["role"] == "target").sum() == 7
    assert (pe.loc[pe["replicate"] == 1, "role"] == "other").all()
    fit = pe[pe["role"] == "fit"]
    assert fit["loss_rel"].abs().max() < 0.005  # five runs, four parameters: near-interpolation


# ----------------------------------------------------------------------------- chapter 13's numbers


def test_ladder_loss_of_7b_and_13b_is_predicted_within_3_percent_from_five_runs(tables):
    t = tables["ladder"].set_index("model")
    assert abs(t.loc["7B", "loss_rel"]) < 0.01
    assert abs(t.loc["13B", "loss_rel"]) < 0.03
    assert t.loc["7B", "compute_ratio_loss"] > 400 and t.loc["13B", "compute_ratio_loss"] > 1000
    assert tables["ladder"]["loss_rel"].abs().max() < 0.03


def test_sardana_loss_is_over_predicted_for_the_large_runs_and_worst_when_over_trained(tables):
    t = tables["sardana"].set_index(["model", "M"])
    big = t.xs("2.5B", level="model")
    assert (big.loc[big.index >= 20, "loss_rel"] > 0).all()
    assert big["loss_rel"].abs().max() > 0.08
    assert t.loc[("6B", 20.0), "loss_rel"] > 0.05
    assert not t["loss_covered"].all()


def test_law_under_predicts_the_150m_model_at_5000_and_10000_tokens_per_parameter(tables):
    t = tables["sardana"].set_index(["model", "M"])
    assert t.loc[("150M", 5000.0), "loss_rel"] < -0.03
    assert t.loc[("150M", 10000.0), "loss_rel"] < -0.02


def test_ladder_error_law_predicts_negative_error_for_the_targets(tables, ladder):
    t = tables["ladder"].set_index("model")
    assert t.loc["7B", "err_predicted"] < 0 and t.loc["13B", "err_predicted"] < 0
    assert t.loc["7B", "err_low"] < 0  # the interval says the law knows nothing there
    fitted = ol.fit_recipe(ladder, ol.recipe(ladder))
    obs = ladder.set_index("run").loc[["peteish7", "peteish13"], "loss"].to_numpy()
    assert (fitted.error_law.predict(obs) < 0).all()  # wrong even at the observed loss


def test_sardana_error_law_has_epsilon_near_the_chance_error_of_rescaled_scores(sardana):
    fitted = ol.fit_recipe(sardana, ol.recipe(sardana))
    assert 0.9 < fitted.error_law.epsilon < 1.2
