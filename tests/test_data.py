"""The testbed loader: shape, values traced to the raw JSON, and every error path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglib.data import (
    DATASETS,
    EVAL_SETS,
    SUBSET_TASKS,
    DataError,
    load_hyperparameter_search,
    load_task_metadata,
    load_testbed,
    long_form,
    task_columns,
)

SMALL = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")
GRID_M = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)
OVERTRAINED_1B = {"c4_original": 80.0, "rpj": 640.0, "rw_original": 320.0}
RPJ_1B_640 = "rpj-open_lm_1b-32.0"


def _row(df: pd.DataFrame, dataset: str, model: str, M: float) -> pd.Series:
    hit = df[(df["dataset"] == dataset) & (df["model"] == model) & (df["M"] == M)]
    assert len(hit) == 1
    return hit.iloc[0]


# ----------------------------------------------------------------------------- table shape


def test_testbed_has_104_runs_with_unique_dataset_model_M(testbed):
    assert len(testbed) == 104
    assert not testbed.duplicated(["dataset", "model", "M"]).any()


def test_testbed_columns_sizes_losses_with_bounds_tasks_and_averages(testbed):
    for col in ("dataset", "model", "size", "N", "D", "M", "C", "params", "params_no_embed"):
        assert col in testbed
    for e in EVAL_SETS:
        for suffix in ("", "_lower95", "_upper95"):
            assert f"loss_{e}{suffix}" in testbed
    assert len(EVAL_SETS) == 8
    tasks = task_columns(testbed)
    assert len(tasks) == 46
    assert set(SUBSET_TASKS) <= set(tasks)
    assert "err_avg" in testbed and "err_avg_subset" in testbed
    assert testbed.drop(columns=["dataset", "model", "size"]).notna().all().all()


def test_loss_bounds_bracket_the_loss(testbed):
    for e in EVAL_SETS:
        assert (testbed[f"loss_{e}_lower95"] <= testbed[f"loss_{e}"]).all()
        assert (testbed[f"loss_{e}"] <= testbed[f"loss_{e}_upper95"]).all()


def test_known_run_matches_raw_json(testbed, data_dir):
    raw = json.loads((data_dir / "models" / f"{RPJ_1B_640}.json").read_text())
    ev = json.loads((data_dir / "evals" / f"evaluation_{RPJ_1B_640}_heavy.json").read_text())
    r = _row(testbed, "rpj", "open_lm_1b", 640.0)
    assert r["N"] == 1439795200 == raw["hyperparameters"]["params"]
    assert r["D"] == 921468928000 == raw["hyperparameters"]["tokens"]
    assert r["params_no_embed"] == raw["hyperparameters"]["params_no_embed"]
    assert r["size"] == "1.4B"
    assert r["loss_c4_val"] == pytest.approx(2.50205356, abs=1e-8)
    by_set = {res["val_data"][0]: res for res in raw["results"]}
    c4 = next(v for k, v in by_set.items() if "/c4_val/" in k)
    assert r["loss_c4_val"] == c4["loss"]
    assert r["loss_c4_val_lower95"] == c4["loss_sequences_lower_95"]
    assert r["loss_c4_val_upper95"] == c4["loss_sequences_upper_95"]
    de = next(v for k, v in by_set.items() if "de-en" in k)
    assert r["loss_val_de-en_100"] == de["loss"]
    icl = ev["eval_metrics"]["icl"]
    assert r["err_arc_easy"] == pytest.approx(1.0 - icl["arc_easy"], abs=1e-15)
    assert r["err_avg"] == pytest.approx(np.mean([1.0 - a for a in icl.values()]), abs=1e-12)
    assert r["err_avg_subset"] == pytest.approx(np.mean([1.0 - icl[t] for t in SUBSET_TASKS]), abs=1e-12)


def test_M_is_D_over_N_and_C_is_6ND(testbed):
    np.testing.assert_allclose(testbed["D"] / testbed["N"], testbed["M"], rtol=1e-3)
    np.testing.assert_allclose(testbed["C"], 6.0 * testbed["N"] * testbed["D"], rtol=1e-12)


def test_grid_matches_the_paper(testbed):
    counts = testbed.groupby(["dataset", "model"]).size()
    for ds in DATASETS:
        for model in SMALL:
            Ms = sorted(testbed[(testbed.dataset == ds) & (testbed.model == model)]["M"])
            expected = [m for m in GRID_M if not (ds == "c4_original" and model == "d=1024_l=24_h=8" and m == 640.0)]
            assert Ms == expected, (ds, model)
        assert sorted(testbed[(testbed.dataset == ds) & (testbed.model == "open_lm_1b")]["M"]) == [
            20.0,
            OVERTRAINED_1B[ds],
        ]
        assert sorted(testbed[(testbed.dataset == ds) & (testbed.model == "open_lm_7b")]["M"]) == [20.0]
    assert counts["c4_original", "d=1024_l=24_h=8"] == 7
    assert testbed.groupby("dataset").size().to_dict() == {"c4_original": 34, "rpj": 35, "rw_original": 35}


def test_params_no_embed_is_selectable(data_dir, testbed):
    df = load_testbed(data_dir, params="params_no_embed")
    assert df.attrs["N_definition"] == "params_no_embed"
    assert testbed.attrs["N_definition"] == "params"
    np.testing.assert_array_equal(df["N"], df["params_no_embed"])
    assert (df["N"] < df["params"]).all()
    np.testing.assert_allclose(df["C"], 6.0 * df["params_no_embed"] * df["D"])
    np.testing.assert_array_equal(df["M"], testbed["M"])  # M stays the paper's D / params


def test_params_choice_is_validated(data_dir):
    with pytest.raises(ValueError, match="params"):
        load_testbed(data_dir, params="embeddings")


def test_task_metadata_covers_the_46_tasks_and_marks_the_17(data_dir, testbed):
    meta = load_task_metadata(data_dir)
    assert {"task", "category", "type", "shots", "size", "random_baseline", "chance_error", "in_subset"} <= set(meta)
    assert set(task_columns(testbed)) <= set(meta["task"])
    assert set(meta.loc[meta["in_subset"], "task"]) == set(SUBSET_TASKS)
    assert meta["random_baseline"].between(0, 1).all()
    np.testing.assert_allclose(meta["chance_error"], 1.0 - meta["random_baseline"])
    hs = meta.set_index("task").loc["hellaswag_zeroshot"]
    assert hs["random_baseline"] == 0.25 and hs["shots"] == 0


def test_hyperparameter_search_parses_every_run(data_dir):
    grid = load_hyperparameter_search(data_dir)
    raw = json.loads((data_dir / "grid.json").read_text())
    assert len(grid) == len(raw) == 435
    first = grid.iloc[0]
    assert raw[first["run"]] == first["loss"]
    assert first["run"].startswith(first["model"] + f"-{first['global_bs']}-")
    assert (grid["loss"] > 0).all() and (grid["lr"] > 0).all()


def test_long_form_has_one_row_per_run_and_eval_set_or_task(testbed):
    loss = long_form(testbed, "loss")
    assert len(loss) == 104 * 8
    assert set(loss["eval_set"]) == set(EVAL_SETS)
    r = loss[(loss.dataset == "rpj") & (loss.model == "open_lm_1b") & (loss.M == 640) & (loss.eval_set == "c4_val")]
    assert r["loss"].item() == pytest.approx(2.50205356, abs=1e-8)
    err = long_form(testbed, "err")
    assert len(err) == 104 * 46
    assert "avg" not in set(err["task"]) and "avg_subset" not in set(err["task"])
    with pytest.raises(ValueError, match="kind"):
        long_form(testbed, "accuracy")


# ----------------------------------------------------------------------------- error paths


@pytest.fixture
def copy_dir(data_dir, tmp_path) -> Path:
    """A private copy of the testbed to corrupt."""
    dst = tmp_path / "exp_data"
    shutil.copytree(data_dir, dst)
    return dst


def test_missing_directory_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="does not exist") as exc:
        load_testbed(missing)
    assert str(missing) in str(exc.value)


def test_missing_model_file_is_named(copy_dir):
    (copy_dir / "models" / f"{RPJ_1B_640}.json").unlink()
    with pytest.raises(DataError, match="missing file") as exc:
        load_testbed(copy_dir)
    assert f"{RPJ_1B_640}.json" in str(exc.value)


def test_missing_eval_file_is_named(copy_dir):
    (copy_dir / "evals" / f"evaluation_{RPJ_1B_640}_heavy.json").unlink()
    with pytest.raises(DataError, match="missing file") as exc:
        load_testbed(copy_dir)
    assert f"evaluation_{RPJ_1B_640}_heavy.json" in str(exc.value)


def test_missing_models_folder_is_named(copy_dir):
    shutil.rmtree(copy_dir / "models")
    with pytest.raises(DataError, match="missing directory") as exc:
        load_testbed(copy_dir)
    assert "models" in str(exc.value)


def test_unexpected_extra_file_is_named(copy_dir):
    shutil.copy(copy_dir / "models" / f"{RPJ_1B_640}.json", copy_dir / "models" / "rpj-open_lm_1b-64.0.json")
    with pytest.raises(DataError, match="unexpected extra file") as exc:
        load_testbed(copy_dir)
    assert "rpj-open_lm_1b-64.0.json" in str(exc.value)


def test_unparseable_json_is_named(copy_dir):
    (copy_dir / "models" / f"{RPJ_1B_640}.json").write_text('{"hyperparameters": ')
    with pytest.raises(DataError, match="cannot parse JSON") as exc:
        load_testbed(copy_dir)
    assert f"{RPJ_1B_640}.json" in str(exc.value)


def test_missing_field_names_field_and_file(copy_dir):
    file = copy_dir / "models" / f"{RPJ_1B_640}.json"
    doc = json.loads(file.read_text())
    del doc["hyperparameters"]["tokens"]
    file.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="missing field 'hyperparameters.tokens'") as exc:
        load_testbed(copy_dir)
    assert f"{RPJ_1B_640}.json" in str(exc.value)


def test_non_numeric_field_names_field_and_file(copy_dir):
    file = copy_dir / "models" / f"{RPJ_1B_640}.json"
    doc = json.loads(file.read_text())
    doc["hyperparameters"]["params"] = "1.4B"
    file.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="hyperparameters.params") as exc:
        load_testbed(copy_dir)
    assert f"{RPJ_1B_640}.json" in str(exc.value)


def test_missing_task_in_eval_file_is_named(copy_dir):
    file = copy_dir / "evals" / f"evaluation_{RPJ_1B_640}_heavy.json"
    doc = json.loads(file.read_text())
    del doc["eval_metrics"]["icl"]["arc_easy"]
    file.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="46 tasks") as exc:
        load_testbed(copy_dir)
    assert f"evaluation_{RPJ_1B_640}_heavy.json" in str(exc.value)


def test_hash_mismatch_is_caught_only_when_checking_hashes(copy_dir):
    file = copy_dir / "models" / f"{RPJ_1B_640}.json"
    file.write_text(file.read_text() + "\n")  # same content, different bytes
    assert len(load_testbed(copy_dir)) == 104
    with pytest.raises(DataError, match="hash mismatch") as exc:
        load_testbed(copy_dir, check_hashes=True)
    assert f"{RPJ_1B_640}.json" in str(exc.value)


def test_untouched_copy_passes_the_hash_check(copy_dir):
    assert len(load_testbed(copy_dir, check_hashes=True)) == 104


def test_environment_variable_names_the_directory(monkeypatch, data_dir, tmp_path):
    monkeypatch.setenv("SCALINGLIB_DATA", str(data_dir))
    assert len(load_testbed()) == 104
    monkeypatch.setenv("SCALINGLIB_DATA", str(tmp_path / "absent"))
    with pytest.raises(DataError, match="absent"):
        load_testbed()
