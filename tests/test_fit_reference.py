"""The fits give the numbers they gave before the fitting core became a package.

tests/data/fit_reference.json holds the results of the fitter as it was at commit
e824741 (one module, scalinglib/fit.py), computed with that code by
``benchmarks/compare_versions.py`` (``reference_results``): the loss and error laws of
the paper's default configuration for every training set and loss evaluation set,
the Chinchilla law on the external runs (least squares and the Huber-log objective),
and two bootstraps with fixed seeds. Every number must agree to 1e-10 relative, and
every diagnostic (edge of the box, active constraints, identified, notes) exactly.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from scalinglib.data import DATASETS, EVAL_SETS, load_chinchilla_runs
from scalinglib.fit import fit_chinchilla
from scalinglib.paper import default_config, fit_config
from scalinglib.uncertainty import bootstrap

REFERENCE = json.loads((Path(__file__).parent / "data" / "fit_reference.json").read_text())
RTOL = 1e-10


def _same_fit(res, ref: dict) -> None:
    np.testing.assert_allclose(list(res.law.params.values()), ref["params"], rtol=RTOL, atol=0)
    assert res.sse == pytest.approx(ref["sse"], rel=RTOL, abs=1e-300)
    assert res.objective_value == pytest.approx(ref["objective_value"], rel=RTOL, abs=1e-300)
    assert list(res.on_edge) == ref["on_edge"]
    assert list(res.active_constraints) == ref["active"]
    assert res.identified == ref["identified"]
    assert list(res.notes) == ref["notes"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_default_configuration_fits_match_the_reference_on_every_evaluation_set(testbed, dataset):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ev in EVAL_SETS:
            cf = fit_config(testbed, default_config(dataset, ev))
            _same_fit(cf.loss_fit, REFERENCE[f"config/{dataset}/{ev}/loss"])
            _same_fit(cf.error_fit, REFERENCE[f"config/{dataset}/{ev}/error"])


def test_chinchilla_fits_of_the_external_runs_match_the_reference(external_dir):
    runs = load_chinchilla_runs(external_dir)
    N, D, L = (runs[c].to_numpy(float) for c in ("N", "D", "loss"))
    cut = np.sort(L)[-5]  # Besiroglu et al.'s selection: below the fifth-highest loss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same_fit(fit_chinchilla(N, D, L), REFERENCE["chinchilla/all/lsq"])
        _same_fit(fit_chinchilla(N, D, L, objective="huber_log"), REFERENCE["chinchilla/all/huber_log"])
        keep = L < cut
        _same_fit(fit_chinchilla(N[keep], D[keep], L[keep], objective="huber_log"),
                  REFERENCE["chinchilla/besiroglu/huber_log"])


def test_seeded_bootstraps_of_the_default_fits_match_the_reference(testbed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cf = fit_config(testbed, default_config("rpj"))
    for key, b in (
        ("bootstrap/rpj/loss/pairs", bootstrap(cf.loss_fit, 200, "pairs", seed=0)),
        ("bootstrap/rpj/error/residual", bootstrap(cf.error_fit, 200, "residual", seed=1)),
    ):
        ref = REFERENCE[key]
        got = np.concatenate([b.samples[k] for k in b.samples])
        np.testing.assert_allclose(got, ref["samples"], rtol=RTOL, atol=0)
        assert (b.n_redrawn, b.n_on_edge, b.n_active) == (ref["n_redrawn"], ref["n_on_edge"], ref["n_active"])
