"""The recipe: the runs that predict a target and the runs that choose N and D."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglib.paper import SMALL_MODELS, default_config, fit_config
from scalinglib.recipe import choose_config, predict_config


def test_predict_config_is_the_papers_default_configuration():
    assert predict_config("c4_original") == default_config("c4_original")
    assert {r.M for r in predict_config("rpj").loss_runs} == {20.0, 320.0}


@pytest.mark.parametrize("dataset", ["c4_original", "rpj", "rw_original"])
def test_choose_config_fits_every_small_run_on_both_sides_of_its_optimum(testbed, dataset):
    cfg = choose_config(testbed, dataset)
    d = testbed[(testbed["dataset"] == dataset) & testbed["model"].isin(SMALL_MODELS)]
    assert len(cfg.loss_runs) == len(d)
    assert cfg.error_runs == default_config(dataset).error_runs and cfg.targets == default_config(dataset).targets
    Ms = np.array([r.M for r in cfg.loss_runs])
    m_star = fit_config(testbed, cfg).loss_law.optimal_multiplier()
    assert Ms.min() < m_star < Ms.max()


def test_choose_config_names_the_training_set_when_no_run_qualifies(testbed):
    with pytest.raises(ValueError, match="'rpj' with M >= 10000"):
        choose_config(testbed, "rpj", m_min=1e4)
