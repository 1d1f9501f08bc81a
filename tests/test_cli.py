"""The command line (`scalinglib reproduce`, `scalinglib fit`) and the user-CSV loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from scalinglib.cli import REPRODUCE_KEYS, main
from scalinglib.fit import fit_chinchilla, fit_compute, fit_error, fit_overtraining
from scalinglib.paper import default_config, select_runs
from scalinglib.userdata import UserDataError, load_runs, read_runs


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def reproduce_json(data_dir):
    """`reproduce --json`, run once (in-process) for the module."""
    import contextlib
    import io

    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        code = main(["reproduce", "--json", "--data", str(data_dir)])
    assert code == 0, err.getvalue()
    return json.loads(buf.getvalue())


@pytest.fixture
def rpj_loss_csv(testbed, tmp_path):
    """The RedPajama default-configuration loss runs as a user CSV (N, D, loss)."""
    cfg = default_config("rpj")
    rows = select_runs(testbed, "rpj", cfg.loss_runs)
    file = tmp_path / "rpj_loss_runs.csv"
    rows[["N", "D", "loss_c4_val"]].rename(columns={"loss_c4_val": "loss"}).to_csv(file, index=False)
    return file, rows


# ----------------------------------------------------------------------------- reproduce


def test_reproduce_json_has_exactly_the_documented_keys(reproduce_json):
    assert len(reproduce_json) == 12  # 3 training sets x 2 splits x 2 targets
    for rec in reproduce_json:
        assert list(rec) == list(REPRODUCE_KEYS)
        assert set(rec) == {
            "dataset",
            "downstream",
            "model",
            "N",
            "M",
            "loss_observed",
            "loss_predicted",
            "loss_rel_error",
            "err_observed",
            "err_predicted",
            "err_rel_error",
            "compute_ratio_loss",
            "compute_ratio_err",
        }
    assert {(r["dataset"], r["downstream"]) for r in reproduce_json} == {
        (d, s) for d in ("c4_original", "rpj", "rw_original") for s in ("avg", "avg_subset")
    }


def test_reproduce_json_gives_the_redpajama_headline(reproduce_json):
    rpj = {(r["model"], r["downstream"]): r for r in reproduce_json if r["dataset"] == "rpj"}
    one, seven = rpj["open_lm_1b", "avg_subset"], rpj["open_lm_7b", "avg_subset"]
    assert one["M"] == 640 and seven["M"] == 20
    assert one["loss_rel_error"] == pytest.approx(0.0071, abs=1e-4)
    assert seven["loss_rel_error"] == pytest.approx(0.0073, abs=1e-4)
    assert one["err_rel_error"] == pytest.approx(0.0364, abs=1e-4)
    assert seven["err_rel_error"] == pytest.approx(0.0005, abs=1e-4)
    # relative errors are fractions, consistent with the observed/predicted values
    assert one["loss_rel_error"] == pytest.approx(
        abs(one["loss_predicted"] - one["loss_observed"]) / one["loss_observed"], rel=1e-12
    )
    assert one["compute_ratio_loss"] == pytest.approx(330, abs=1)


def test_reproduce_prints_an_aligned_table_with_percent(capsys, data_dir):
    code, out, err = _run(capsys, "reproduce", "--data", str(data_dir))
    assert code == 0, err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("training set"))
    body = [line for line in lines[header + 2 :] if line.strip()]
    assert len(body) == 12
    rpj_17 = [line for line in body if line.startswith("RedPajama") and "17-task" in line]
    assert "0.71%" in rpj_17[0] and "3.64%" in rpj_17[0]
    assert "0.73%" in rpj_17[1] and "0.05%" in rpj_17[1]
    assert len({len(line) for line in lines[header : header + 2]}) == 1  # header and rule aligned
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_reproduce_other_eval_set_changes_the_losses(capsys, data_dir, reproduce_json):
    code, out, _ = _run(capsys, "reproduce", "--json", "--data", str(data_dir), "--eval-set", "paloma_c4_en")
    assert code == 0
    other = json.loads(out)
    assert other[0]["loss_observed"] != reproduce_json[0]["loss_observed"]


def test_reproduce_missing_data_dir_exits_nonzero_with_message(capsys, tmp_path):
    code, out, err = _run(capsys, "reproduce", "--data", str(tmp_path / "nowhere"))
    assert code == 1
    assert out == ""
    assert "nowhere" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_console_script_reproduce_json_in_a_subprocess(data_dir):
    env = dict(os.environ, SCALINGLIB_DATA=str(data_dir))
    proc = subprocess.run(
        [sys.executable, "-m", "scalinglib", "reproduce", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)  # stdout is JSON and nothing else
    assert len(records) == 12 and list(records[0]) == list(REPRODUCE_KEYS)


# ----------------------------------------------------------------------------- fit


def test_fit_recovers_fit_overtraining_on_the_testbed_runs(capsys, rpj_loss_csv):
    file, rows = rpj_loss_csv
    code, out, err = _run(capsys, "fit", str(file), "--law", "overtraining", "--json")
    assert code == 0, err
    got = json.loads(out)
    ref = fit_overtraining(N=rows["N"].to_numpy(), D=rows["D"].to_numpy(), L=rows["loss_c4_val"].to_numpy())
    assert got["law"] == "overtraining" and got["objective"] == "lsq"
    assert list(got["params"]) == ["E", "a", "b", "eta"]
    for k, v in ref.params.items():
        assert got["params"][k] == pytest.approx(v, rel=1e-9), k
    assert got["n_points"] == 5
    assert got["sse"] == pytest.approx(ref.sse, rel=1e-9)
    assert got["objective_value"] == pytest.approx(ref.objective_value, rel=1e-9)
    assert got["search_box"] == {"eta": list(ref.search_box["eta"])}
    assert got["identified"] is True and got["notes"] == list(ref.notes)


def test_fit_text_output_shows_formula_params_and_box(capsys, rpj_loss_csv):
    file, _ = rpj_loss_csv
    code, out, _ = _run(capsys, "fit", str(file), "--law", "overtraining")
    assert code == 0
    assert "L(C, M) = E + (a M^eta + b M^-eta) C^-eta" in out
    for label in (
        "E ",
        "a ",
        "b ",
        "eta ",
        "points:      5",
        "SSE:",
        "objective value:",
        "search box:  eta in [0.001, 1.5]",
    ):
        assert label in out, label
    assert "identified:  yes" in out


def test_fit_chinchilla_on_the_external_csv_with_named_columns(capsys, external_dir):
    csv = external_dir / "chinchilla_svg_extracted_data.csv"
    code, out, err = _run(
        capsys, "fit", str(csv), "--law", "chinchilla", "--n-col", "Model Size", "--c-col", "Training FLOP", "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    raw = pd.read_csv(csv)
    N, C, L = raw["Model Size"].to_numpy(), raw["Training FLOP"].to_numpy(), raw["loss"].to_numpy()
    ref = fit_chinchilla(N, C / (6 * N), L)
    assert got["n_points"] == 245
    assert list(got["params"]) == ["E", "A", "B", "alpha", "beta"]
    for k, v in ref.params.items():
        assert got["params"][k] == pytest.approx(v, rel=1e-9), k
    assert got["data"]["derived"] == "D = C / (6 N)"


def test_fit_huber_objective_is_reported(capsys, testbed, tmp_path):
    rpj = testbed[(testbed.dataset == "rpj") & (testbed.M == 20)]
    file = tmp_path / "runs.csv"
    rpj.rename(columns={"loss_c4_val": "loss"})[["C", "loss"]].to_csv(file, index=False)
    code, out, _ = _run(capsys, "fit", str(file), "--law", "compute", "--objective", "huber_log", "--json")
    assert code == 0
    got = json.loads(out)
    ref = fit_compute(rpj["C"], rpj["loss_c4_val"], objective="huber_log")
    assert got["objective"] == "huber_log" and got["delta"] == 1e-3
    assert got["objective_value"] == pytest.approx(ref.objective_value, rel=1e-6)
    assert got["objective_value"] != pytest.approx(got["sse"])


def test_fit_compute_and_error_laws(capsys, testbed, tmp_path):
    rpj = testbed[(testbed.dataset == "rpj") & (testbed.M == 20)]
    file = tmp_path / "runs.csv"
    rpj.rename(columns={"loss_c4_val": "loss", "err_avg_subset": "err"})[["N", "D", "C", "M", "loss", "err"]].to_csv(
        file, index=False
    )
    code, out, _ = _run(capsys, "fit", str(file), "--law", "compute", "--json")
    assert code == 0
    got = json.loads(out)
    assert list(got["params"]) == ["E", "lambda", "eta"]
    assert got["params"]["eta"] == pytest.approx(fit_compute(rpj["C"], rpj["loss_c4_val"]).params["eta"], rel=1e-9)
    code, out, _ = _run(capsys, "fit", str(file), "--law", "error", "--json")
    assert code == 0
    got = json.loads(out)
    assert list(got["params"]) == ["epsilon", "k", "gamma"]
    ref = fit_error(rpj["loss_c4_val"], rpj["err_avg_subset"])
    assert got["params"]["gamma"] == pytest.approx(ref.params["gamma"], rel=1e-9)


def test_fit_notes_reach_the_output(capsys, tmp_path):
    # a flat loss makes lambda = 0: the non-negativity constraint is active
    file = tmp_path / "flat.csv"
    pd.DataFrame({"C": [1e18, 1e19, 1e20, 1e21], "loss": [3.0, 3.0, 3.0, 3.0]}).to_csv(file, index=False)
    code, out, err = _run(capsys, "fit", str(file), "--law", "compute", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert any("lambda" in n for n in got["notes"])
    code, out, _ = _run(capsys, "fit", str(file), "--law", "compute")
    assert "notes:" in out and "lambda" in out


# ----------------------------------------------------------------------------- bad CSVs: exit 2


GOOD = "N,D,loss\n1e7,2e8,4.0\n2e7,4e8,3.8\n4e7,8e8,3.6\n8e7,1.6e9,3.5\n1.6e8,3.2e9,3.4\n3.2e7,6.4e9,3.45\n"


def _bad(tmp_path, text: str):
    file = tmp_path / "runs.csv"
    file.write_text(text)
    return file


@pytest.mark.parametrize(
    "text, law, must_contain",
    [
        (GOOD.replace("N,D,loss", "N,tokens,loss"), "chinchilla", ["column 'D' not found", "'tokens'"]),
        (GOOD.replace("N,D,loss", "N,D,val_loss"), "overtraining", ["column 'loss'", "'val_loss'"]),
        (GOOD.replace("4e7,8e8,3.6", "4e7,8e8,abc"), "chinchilla", ["column 'loss'", "line 4", "'abc'"]),
        (GOOD.replace("4e7,8e8,3.6", "4e7,,3.6"), "chinchilla", ["column 'D'", "line 4", "empty"]),
        (GOOD.replace("4e7,8e8,3.6", "4e7,nan,3.6"), "chinchilla", ["column 'D'", "line 4", "NaN"]),
        (GOOD.replace("2e7,4e8,3.8", "-2e7,4e8,3.8"), "chinchilla", ["column 'N'", "line 3", "positive"]),
        (GOOD.replace("2e7,4e8,3.8", "2e7,4e8,0"), "chinchilla", ["column 'loss'", "line 3", "positive"]),
        (GOOD.replace("2e7,4e8,3.8", "2e7,4e8,inf"), "chinchilla", ["column 'loss'", "line 3", "finite"]),
        (
            "N,D,loss\n1e7,2e8,4.0\n2e7,4e8,3.8\n4e7,8e8,3.6\n8e7,1.6e9,3.5\n",
            "chinchilla",
            ["4 data row", "at least 5"],
        ),
        ("N,D,loss\n1e7,2e8,4.0\n2e7,4e8,3.8\n", "overtraining", ["2 data row", "at least 4"]),
        ("N,D,loss\n", "compute", ["no data rows", "at least 3"]),
        ("", "compute", ["empty"]),
        (GOOD.replace("4e7,8e8,3.6", "4e7,8e8"), "chinchilla", ["line 4", "2 fields"]),
        (GOOD.replace("4e7,8e8,3.6", '4e7,"8e8,3.6'), "chinchilla", ["cannot parse CSV"]),
        ("N,N,loss\n1,2,3\n", "chinchilla", ["column 'N' appears twice"]),
    ],
)
def test_bad_csv_exits_2_with_one_line_naming_column_and_line(capsys, tmp_path, text, law, must_contain):
    file = _bad(tmp_path, text)
    code, out, err = _run(capsys, "fit", str(file), "--law", law)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(file) in err
    for s in must_contain:
        assert s in err, (s, err)


def test_missing_csv_exits_2_naming_the_file(capsys, tmp_path):
    code, _, err = _run(capsys, "fit", str(tmp_path / "absent.csv"), "--law", "error")
    assert code == 2 and "absent.csv" in err and "not found" in err


def test_binary_file_is_an_unparseable_csv(capsys, tmp_path):
    file = tmp_path / "runs.csv"
    file.write_bytes(b"N,D,loss\n\xff\xfe\x00\x01\n")
    code, _, err = _run(capsys, "fit", str(file), "--law", "chinchilla")
    assert code == 2 and "cannot parse CSV" in err and "runs.csv" in err


def test_unfittable_runs_exit_2_with_the_fit_error(capsys, tmp_path):
    # one token multiplier only: a and b of the over-training law are not identified
    text = "N,M,loss\n1e7,20,4.0\n2e7,20,3.8\n4e7,20,3.6\n8e7,20,3.5\n"
    code, _, err = _run(capsys, "fit", str(_bad(tmp_path, text)), "--law", "overtraining")
    assert code == 2 and "same token multiplier" in err and "runs.csv" in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys, tmp_path):
    file = _bad(tmp_path, GOOD)
    assert main(["fit", str(file)]) == 2  # --law is required
    assert main(["fit", str(file), "--law", "kaplan"]) == 2
    assert main([]) == 2
    capsys.readouterr()


# ----------------------------------------------------------------------------- the loader itself


def test_read_runs_layouts_give_the_same_fit_inputs(tmp_path):
    N = np.array([1e7, 2e7, 4e7, 8e7, 1.6e8])
    M = np.array([20.0, 40.0, 20.0, 80.0, 20.0])
    D, C, L = N * M, 6 * N * N * M, np.array([4.0, 3.8, 3.6, 3.5, 3.4])
    full = pd.DataFrame({"N": N, "D": D, "M": M, "C": C, "loss": L})
    results = {}
    for cols in (["N", "D"], ["N", "M"], ["N", "C"], ["C", "M"]):
        file = tmp_path / f"{'_'.join(cols)}.csv"
        full[cols + ["loss"]].to_csv(file, index=False)
        results[tuple(cols)] = (
            read_runs(file, "chinchilla"),
            read_runs(file, "overtraining"),
            read_runs(file, "compute"),
        )
    for chin, over, comp in results.values():
        assert set(chin) == {"N", "D", "L"} and set(over) == {"C", "M", "L"} and set(comp) == {"C", "L"}
        np.testing.assert_allclose(chin["N"], N, rtol=1e-12)
        np.testing.assert_allclose(chin["D"], D, rtol=1e-12)
        np.testing.assert_allclose(over["C"], C, rtol=1e-12)
        np.testing.assert_allclose(over["M"], M, rtol=1e-12)
        np.testing.assert_allclose(comp["C"], C, rtol=1e-12)
        np.testing.assert_array_equal(chin["L"], L)


def test_compute_law_reads_C_alone(tmp_path):
    file = tmp_path / "c.csv"
    file.write_text("C,loss\n1e18,3.5\n1e19,3.2\n1e20,3.0\n")
    runs = load_runs(file, "compute")
    assert runs.columns == {"C": "C", "loss": "loss"} and runs.derivation == ""
    assert runs.lines == (2, 3, 4)
    with pytest.raises(UserDataError, match="column 'N' not found"):
        load_runs(file, "chinchilla")


def test_error_law_reads_loss_and_err_and_allows_zero_error(tmp_path):
    file = tmp_path / "e.csv"
    file.write_text("loss,err\n3.0,0.7\n2.8,0.6\n2.6,0.0\n")
    data = read_runs(file, "error")
    assert set(data) == {"L", "err"}
    np.testing.assert_array_equal(data["err"], [0.7, 0.6, 0.0])
    file.write_text("loss,accuracy\n3.0,0.3\n2.8,0.4\n2.6,0.5\n")
    with pytest.raises(UserDataError, match="column 'err'.*'accuracy'"):
        read_runs(file, "error")


def test_line_numbers_count_skipped_blank_lines_and_no_row_is_dropped(tmp_path):
    file = tmp_path / "b.csv"
    file.write_text("C,loss\n1e18,3.5\n\n1e19,3.2\n1e20,x\n\n")
    with pytest.raises(UserDataError, match="line 5"):
        read_runs(file, "compute")
    file.write_text("C,loss\n1e18,3.5\n\n1e19,3.2\n1e20,3.0\n\n")
    runs = load_runs(file, "compute")
    assert runs.lines == (2, 4, 5) and runs.n_rows == 3


def test_custom_column_names_and_whitespace(tmp_path):
    file = tmp_path / "w.csv"
    file.write_text(
        " params , tokens ,final loss\n1e7, 2e8 ,4.0\n2e7,4e8,3.8\n4e7,8e8,3.6\n8e7,1.6e9,3.5\n1.6e8,3.2e9,3.4\n"
    )
    runs = load_runs(file, "chinchilla", n_col="params", d_col="tokens", loss_col="final loss")
    assert runs.columns == {"N": "params", "D": "tokens", "loss": "final loss"}
    assert runs.data["D"][0] == 2e8


def test_unknown_law_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="unknown law"):
        read_runs(_bad(tmp_path, GOOD), "kaplan")
