"""Loaders of the other labs' runs: Sardana et al. (2024) and the OLMo ladder (Bhagia et al., 2024).

``SCALINGLIB_SARDANA`` (default ``<repo>/../shared/sardana``) and ``SCALINGLIB_LADDER``
(default ``<repo>/../shared/olmo-ladder/ladder-runs``) name the released folders. The
download tests serve copies of them from a ``python -m http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglib.data import (
    LADDER_PARAMS,
    LADDER_TASKS,
    DataError,
    _registry,
    load_ladder,
    load_sardana,
)

REPO = Path(__file__).resolve().parents[1]
LOSS = "eval/c4_en-validation/CrossEntropyLoss"


@pytest.fixture(scope="module")
def sardana(sardana_dir):
    return load_sardana(sardana_dir)


@pytest.fixture(scope="module")
def ladder(ladder_dir):
    return load_ladder(ladder_dir)


# ----------------------------------------------------------------------------- Sardana


def test_sardana_has_47_runs_one_per_size_and_multiplier(sardana):
    assert len(sardana) == 47
    assert not sardana.duplicated(["model", "M"]).any()
    assert sardana.groupby("model").size().to_dict() == {
        "150M": 12,
        "370M": 10,
        "750M": 9,
        "1.3B": 8,
        "2.5B": 7,
        "6B": 1,
    }
    assert sardana["M"].max() == 10000 and sardana["M"].min() == 10


def test_sardana_matches_the_released_csv_value_for_value(sardana, sardana_dir):
    raw = pd.read_csv(sardana_dir / "trainingresults.csv")
    assert np.array_equal(sardana["N"], raw["Parameters"])
    assert np.array_equal(sardana["D"], raw["Tokens"])
    assert np.array_equal(sardana["loss"], raw["Smoothed Loss"])
    assert np.array_equal(sardana["gauntlet_core_average"], raw["eval_gauntlet/core_average"])
    assert np.array_equal(sardana["mmlu"], raw["mmlu_5_shot_avg"])
    # one run spelled out: the 150M model at 10,000 tokens per parameter
    r = sardana[(sardana["model"] == "150M") & (sardana["M"] == 10000)].iloc[0]
    assert (r.N, r.D, r.loss) == (151e6, 1.51e12, 3.05995643138886)


def test_sardana_M_is_D_over_N_C_is_6ND_and_errors_are_one_minus_scores(sardana):
    assert np.allclose(sardana["M"], sardana["D"] / sardana["N"], rtol=0)
    assert np.allclose(sardana["C"], 6 * sardana["N"] * sardana["D"], rtol=0)
    assert np.allclose(sardana["err_gauntlet"], 1 - sardana["gauntlet_core_average"])
    assert np.allclose(sardana["err_mmlu"], 1 - sardana["mmlu"])


# ----------------------------------------------------------------------------- ladder


def test_ladder_has_30_runs_and_two_targets(ladder):
    runs = ladder[~ladder["target"]]
    assert len(runs) == 30 and len(ladder) == 32
    assert set(ladder.loc[ladder["target"], "run"]) == {"peteish7", "peteish13"}
    assert runs.groupby("model").size().to_dict() == {s: 6 for s in ("190M", "370M", "760M", "1B", "3B")}
    assert sorted(runs["multiple"].unique()) == [0.5, 1, 2, 5, 10]


def test_ladder_reruns_are_identifiable(ladder):
    reruns = ladder[ladder["replicate"] == 1]
    assert len(reruns) == 5
    assert set(reruns["multiple"]) == {1.0}
    assert all(r.endswith("-rerun") for r in reruns["run"])
    # every (size, multiple) appears once among the originals
    assert not ladder[ladder["replicate"] == 0].duplicated(["model", "multiple", "target"]).any()


def test_ladder_N_comes_from_the_parameter_table(ladder):
    assert ladder.set_index("run").loc["3B-5xC", "N"] == 3_169_537_280
    assert ladder.set_index("run").loc["peteish13", "N"] == 13_202_396_160
    assert np.array_equal(ladder["N"], ladder["model"].map(LADDER_PARAMS).astype(float))


def test_ladder_M_is_D_over_N_near_20_times_the_multiple(ladder):
    assert np.allclose(ladder["M"], ladder["D"] / ladder["N"], rtol=0)
    assert np.allclose(ladder["C"], 6 * ladder["N"] * ladder["D"], rtol=0)
    runs = ladder[~ladder["target"]]
    assert np.allclose(runs["M"], 20 * runs["multiple"], rtol=3e-3)


@pytest.mark.parametrize("run", ["190M-0.5xC", "760M-1xC-rerun", "3B-10xC"])
def test_ladder_run_is_the_last_checkpoint_value_for_value(ladder, ladder_dir, run):
    raw = pd.read_csv(ladder_dir / f"{run}.csv")
    row = ladder.set_index("run").loc[run]
    last = raw.iloc[-1]
    assert row["step"] == last["_step"] == raw["_step"].max()
    assert row["D"] == last["throughput/total_tokens"]
    assert row["loss"] == last[LOSS]
    assert row["acc_hellaswag"] == last["eval/downstream/hellaswag_val_rc_5shot_len_norm"]
    assert row["acc_mmlu"] == np.mean([last[c] for c in LADDER_TASKS["mmlu"]])
    # the final checkpoint is the one at the end of the learning-rate decay
    assert np.isclose(last["optim/learning_rate_group0"], 0.1 * last["learning_rate_peak"], rtol=1e-3)
    assert row["loss"] != raw[LOSS].iloc[-2]


def test_ladder_targets_are_the_final_7b_and_13b_models(ladder, ladder_dir):
    t = ladder.set_index("run")
    anneal = pd.read_csv(ladder_dir / "peteish7_eval_anneal.csv")
    assert len(anneal) == 1
    assert t.loc["peteish7", "D"] == anneal["throughput/total_tokens"].iloc[0] == 3_945_065_873_408
    assert t.loc["peteish7", "loss"] == anneal[LOSS].iloc[0]
    final = pd.read_csv(ladder_dir / "peteish13_eval_final.csv")
    assert t.loc["peteish13", "step"] == final["_step"].iloc[-1] == 596_057
    assert t.loc["peteish13", "D"] == 596_057 * 8_388_608 == 5_000_088_518_656
    assert t.loc["peteish13", "loss"] == final[LOSS].iloc[-1]
    assert 570 < t.loc["peteish7", "M"] < 575 and 375 < t.loc["peteish13", "M"] < 380


def test_ladder_average_error_is_one_minus_the_mean_of_ten_tasks(ladder):
    acc = ladder[[f"acc_{t}" for t in LADDER_TASKS]]
    assert acc.shape[1] == 10
    assert np.allclose(ladder["err_avg"], 1 - acc.mean(axis=1))


# ----------------------------------------------------------------------------- refusals


def _writable_copy(src: Path, dst: Path) -> Path:
    """Copy a released folder (read-only in CI) so that a test may tamper with it."""
    shutil.copytree(src, dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    dst.chmod(0o755)
    return dst


@pytest.fixture
def sardana_copy(sardana_dir, tmp_path) -> Path:
    return _writable_copy(sardana_dir, tmp_path / "sardana")


@pytest.fixture
def ladder_copy(ladder_dir, tmp_path) -> Path:
    return _writable_copy(ladder_dir, tmp_path / "ladder-runs")


def test_untouched_copies_load(sardana_copy, ladder_copy, sardana, ladder):
    assert load_sardana(sardana_copy).equals(sardana)
    assert load_ladder(ladder_copy).equals(ladder)


def test_tampered_sardana_file_is_refused_naming_it(sardana_copy):
    f = sardana_copy / "trainingresults.csv"
    f.write_text(f.read_text().replace("3.059956431388860", "3.059956431388861"))
    with pytest.raises(DataError, match="hash mismatch") as exc:
        load_sardana(sardana_copy)
    assert "trainingresults.csv" in str(exc.value)


def test_tampered_ladder_file_is_refused_naming_it(ladder_copy):
    f = ladder_copy / "3B-5xC.csv"
    f.write_bytes(f.read_bytes()[:-10])  # truncated: a corrupt download
    with pytest.raises(DataError, match="hash mismatch") as exc:
        load_ladder(ladder_copy)
    assert "3B-5xC.csv" in str(exc.value)


def test_missing_ladder_file_is_refused_naming_it(ladder_copy):
    (ladder_copy / "peteish13_eval_final.csv").unlink()
    with pytest.raises(DataError, match="missing file") as exc:
        load_ladder(ladder_copy)
    assert "peteish13_eval_final.csv" in str(exc.value)


def test_missing_sardana_file_is_refused_naming_it(sardana_copy):
    (sardana_copy / "trainingresults.csv").unlink()
    with pytest.raises(DataError, match="missing file.*trainingresults.csv"):
        load_sardana(sardana_copy)


def test_extra_csv_is_refused_naming_it_but_documentation_is_allowed(ladder_copy, sardana_copy):
    shutil.copy(ladder_copy / "3B-5xC.csv", ladder_copy / "3B-20xC.csv")
    with pytest.raises(DataError, match="unexpected extra file") as exc:
        load_ladder(ladder_copy)
    assert "3B-20xC.csv" in str(exc.value)
    assert (sardana_copy / "SOURCE.md").is_file()  # documentation beside the data is fine
    assert len(load_sardana(sardana_copy)) == 47


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(DataError, match="does not exist") as exc:
        load_ladder(tmp_path / "absent")
    assert "absent" in str(exc.value)


def test_environment_variables_name_the_directories(monkeypatch, sardana_copy, ladder_copy, tmp_path):
    monkeypatch.setenv("SCALINGLIB_SARDANA", str(sardana_copy))
    monkeypatch.setenv("SCALINGLIB_LADDER", str(ladder_copy))
    assert len(load_sardana()) == 47 and len(load_ladder()) == 32
    monkeypatch.setenv("SCALINGLIB_LADDER", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere"):
        load_ladder()


# ----------------------------------------------------------------------------- downloads


@pytest.fixture
def no_local(monkeypatch, tmp_path):
    monkeypatch.delenv("SCALINGLIB_SARDANA", raising=False)
    monkeypatch.delenv("SCALINGLIB_LADDER", raising=False)
    monkeypatch.setenv("SCALINGLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_sardana_is_downloaded_verified_and_cached(serve, no_local, sardana_copy, sardana, monkeypatch):
    s = serve(sardana_copy)
    monkeypatch.setenv("SCALINGLIB_SARDANA_URL", s.url)
    assert load_sardana().equals(sardana)
    assert (no_local / "sardana" / "trainingresults.csv").is_file()
    assert s.requests() == 1
    load_sardana()
    assert s.requests() == 1  # read from the cache the second time


def test_ladder_is_downloaded_verified_and_cached(serve, no_local, ladder_copy, ladder, monkeypatch):
    s = serve(ladder_copy.parent)
    monkeypatch.setenv("SCALINGLIB_LADDER_URL", s.url + "ladder-runs")
    assert load_ladder().equals(ladder)
    assert s.requests() == len(_registry("ladder.txt")) == 41
    assert sorted(p.name for p in (no_local / "ladder").iterdir()) == sorted(_registry("ladder.txt"))


def test_tampered_download_is_refused_and_not_cached(serve, no_local, ladder_copy, monkeypatch):
    import types

    import pooch.core

    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=lambda seconds: None))
    f = ladder_copy / "1B-2xC.csv"
    f.write_text(f.read_text().replace("2.97", "2.98", 1))
    s = serve(ladder_copy)
    monkeypatch.setenv("SCALINGLIB_LADDER_URL", s.url)
    with pytest.raises(DataError, match="hash mismatch") as exc:
        load_ladder()
    assert "1B-2xC.csv" in str(exc.value)
    assert not (no_local / "ladder" / "1B-2xC.csv").exists()
