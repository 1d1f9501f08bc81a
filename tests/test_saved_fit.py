"""Saved fits: the round trip is exact, and every damaged or foreign file is refused in one line."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import scalinglib as sl
from scalinglib.fit import FitError, SavedFitError, load_fit
from scalinglib.fit.saved import FORMAT_VERSION, _checksum
from scalinglib.uncertainty import bootstrap


def synthetic_runs(seed: int = 0) -> dict[str, np.ndarray]:
    """24 runs of L = 1.46 + (88 M^0.111 + 174 M^-0.111) C^-0.111 (noise 1%) and an error law of their loss."""
    rng = np.random.default_rng(seed)
    N = np.repeat([1.1e7, 7.9e7, 1.5e8, 4.1e8], 6)
    M = np.tile([5.0, 10, 20, 40, 80, 160], 4)
    D = N * M
    C = 6 * N * D
    L = (1.46 + (88 * M**0.111 + 174 * M**-0.111) * C**-0.111) * np.exp(rng.normal(0, 0.01, N.size))
    err = 0.85 - 2.2 * np.exp(-0.7 * L) + rng.normal(0, 0.005, N.size)
    return {"N": N, "D": D, "L": L, "err": err}


@pytest.fixture(scope="module")
def fits():
    r = synthetic_runs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = sl.fit_overtraining(N=r["N"], D=r["D"], L=r["L"])
        err = sl.fit_error(r["L"], r["err"])
    return loss, err, bootstrap(loss, 200, "residual", seed=0), bootstrap(err, 200, "residual", seed=1)


@pytest.fixture
def saved(fits, tmp_path):
    loss, _, lb, _ = fits
    path = tmp_path / "fit.json"
    loss.save(path, lb, level=0.9, source={"file": "runs.csv"})
    return path


def test_round_trip_predicts_bit_for_bit_and_keeps_replicates(fits, saved):
    loss, _, lb, _ = fits
    back = load_fit(saved)
    C, M = np.geomspace(1e17, 1e24, 50), np.geomspace(1, 1000, 50)
    assert np.array_equal(back.result.law.predict(C, M), loss.law.predict(C, M))
    assert back.result.law == loss.law
    for name in ("y", "predicted", "residuals"):
        assert np.array_equal(getattr(back.result, name), getattr(loss, name))
    assert all(np.array_equal(back.result.inputs[k], loss.inputs[k]) for k in loss.inputs)
    assert back.bootstrap.method == "residual" and back.bootstrap.seed == 0 and back.level == 0.9
    assert np.array_equal(back.bootstrap.predict(C, M), lb.predict(C, M))
    assert back.kind == "overtraining" and back.source == {"file": "runs.csv"}
    assert back.result.search_box == loss.search_box and back.result.identified == loss.identified


@pytest.mark.parametrize("law", ["chinchilla", "compute", "error", "sigmoid"])
def test_round_trip_of_every_law(law, tmp_path):
    r = synthetic_runs(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if law == "chinchilla":
            fit, x = sl.fit_chinchilla(r["N"], r["D"], r["L"]), (r["N"] * 10, r["D"] * 10)
        elif law == "compute":
            fit, x = sl.fit_compute(6 * r["N"] * r["D"], r["L"]), (6 * r["N"] * r["D"] * 100,)
        elif law == "error":
            fit, x = sl.fit_error(r["L"], r["err"]), (r["L"] - 0.5,)
        else:
            fit, x = sl.fit_sigmoid(r["L"], r["err"]), (r["L"] - 0.5,)
    fit.save(tmp_path / "f.json")
    back = load_fit(tmp_path / "f.json")
    assert back.bootstrap is None and back.kind == law
    assert np.array_equal(back.result.law.predict(*x), fit.law.predict(*x))


def test_fit_result_repr_is_a_short_summary(fits):
    loss = fits[0]
    text = repr(loss)
    assert text.startswith("FitResult(OvertrainingLaw: E=") and "n=24" in text and "lsq" in text
    assert "array" not in text and len(text) < 200


def _rewrite(path, edit, fix_checksum=True):
    doc = json.loads(path.read_text())
    edit(doc)
    if fix_checksum:
        doc["checksum"] = _checksum(doc)
    path.write_text(json.dumps(doc))


REFUSALS = {
    "invalid JSON": (lambda p: p.write_text('{"format": '), "invalid JSON at line 1"),
    "not an object": (lambda p: p.write_text("[1, 2]"), "not a saved fit"),
    "another format": (lambda p: _rewrite(p, lambda d: d.update(format="other")), "not a saved fit"),
    "missing field": (lambda p: _rewrite(p, lambda d: d.pop("params")), "missing field 'params'"),
    "missing run field": (lambda p: _rewrite(p, lambda d: d["runs"].pop("y")), "missing field runs.'y'"),
    "unknown law": (lambda p: _rewrite(p, lambda d: d.update(law="quadratic")), "unknown law 'quadratic'"),
    "newer version": (
        lambda p: _rewrite(p, lambda d: d.update(format_version=FORMAT_VERSION + 1)),
        "newer than this scalinglib",
    ),
    "edited": (lambda p: _rewrite(p, lambda d: d["params"].update(E=1.5), fix_checksum=False), "checksum mismatch"),
    "NaN": (lambda p: p.write_text(p.read_text().replace('"E": ', '"E": NaN, "x": ', 1)), "non-finite"),
    "Infinity": (lambda p: p.write_text(p.read_text().replace('"sse": ', '"sse": Infinity, "x": ', 1)), "non-finite"),
    "huge number": (lambda p: _rewrite(p, lambda d: d["params"].update(E=10**400)), "non-finite"),
    "1e400": (lambda p: p.write_text(p.read_text().replace('"E": ', '"E": 1e400, "x": ', 1)), "non-finite"),
    "string parameter": (lambda p: _rewrite(p, lambda d: d["params"].update(E="1.8")), "not a number"),
    "lengths differ": (lambda p: _rewrite(p, lambda d: d["runs"]["y"].pop()), "different lengths"),
    "bad replicates": (lambda p: _rewrite(p, lambda d: d["bootstrap"]["samples"].pop("eta")), "bootstrap.samples"),
    "empty file": (lambda p: p.write_text(""), "invalid JSON"),
    "binary": (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "not UTF-8"),
    "deep nesting": (lambda p: p.write_text("[" * 100000 + "]" * 100000), "invalid JSON"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_load_refuses_naming_the_file_and_the_problem(case, saved):
    damage, expected = REFUSALS[case]
    damage(saved)
    with pytest.raises(SavedFitError) as info:
        load_fit(saved)
    msg = str(info.value)
    assert msg.startswith(str(saved)) and expected in msg and "\n" not in msg


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(SavedFitError, match="file not found"):
        load_fit(tmp_path / "nope.json")
    assert issubclass(SavedFitError, FitError)


# ----------------------------------------------------------------------------- input guards of the API


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: sl.fit_overtraining([1e300] * 4, [10, 20, 40, 80], [3, 3, 3, 3]), "C"),
        (lambda: sl.fit_overtraining(N=[1e7, 1e8, 1e9, 1e300], D=[1e9] * 4, L=[3, 3, 3, 3]), "N"),
        (lambda: sl.fit_chinchilla([1e7, 1e8, 1e9, 1e10, 1e11], [1e9] * 4 + [1e300], [3] * 5), "D"),
        (lambda: sl.fit_compute([1e17, 1e18, 1e19], [3, 3, 1e300]), "L"),
        (lambda: sl.fit_error([2, 3, 4], [0.5, 0.6, 1e300]), "err"),
        (lambda: sl.fit_compute([1e-300, 1e18, 1e19], [3, 3, 2]), "C"),
    ],
)
def test_api_refuses_magnitudes_that_would_overflow_naming_the_argument(call, name):
    with pytest.raises(FitError, match=rf"^{name}\[\d+\] = .* outside the accepted range"):
        call()


def test_extreme_but_accepted_inputs_give_finite_parameters_and_predictions():
    from scalinglib.fit.result import _input_range

    rng = np.random.default_rng(0)

    def draw(name, k=6):
        lo, hi = _input_range(name)
        return 10 ** rng.uniform(np.log10(lo), np.log10(hi), k)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(40):
            f = [
                lambda: sl.fit_overtraining(draw("C"), draw("M"), draw("L")),
                lambda: sl.fit_chinchilla(draw("N"), draw("D"), draw("L")),
                lambda: sl.fit_compute(draw("C"), draw("L")),
                lambda: sl.fit_overtraining(N=draw("N"), D=draw("D"), L=draw("L")),
            ][i % 4]()
            values = [*f.params.values(), *np.ravel(f.law.predict(*f.inputs.values()))]
            assert np.all(np.isfinite(values)), f
