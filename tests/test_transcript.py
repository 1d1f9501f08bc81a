"""Commands shown in the chapters: typed as a reader types them, with the reader's paths."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from scalinglib import transcript
from scalinglib.transcript import DATA_ENV_VARS, reader_path


def test_format_command_keeps_an_option_with_its_value_and_wraps_with_backslashes():
    text = transcript.format_command(
        ["fit", "runs.csv", "--law", "chinchilla", "--n-col", "Model Size", "--c-col", "Training FLOP"],
        width=40,
    )
    lines = text.splitlines()
    assert lines[0].startswith("$ scalinglib fit runs.csv")
    assert all(line.endswith(" \\") for line in lines[:-1])
    assert all(line.startswith("    ") for line in lines[1:])
    assert any("--n-col 'Model Size'" in line for line in lines)
    # pasted into a shell, the words are the arguments again
    joined = " ".join(l.rstrip(" \\") for l in lines)
    assert shlex.split(joined)[1:] == [
        "scalinglib",
        "fit",
        "runs.csv",
        "--law",
        "chinchilla",
        "--n-col",
        "Model Size",
        "--c-col",
        "Training FLOP",
    ]


def test_format_command_leaves_a_readers_variable_or_home_for_the_shell_to_expand():
    text = transcript.format_command(
        ["fit", "$SCALINGLIB_SARDANA/training results.csv", "~/runs.csv", "$5"],
        width=100,
        paths={"$SCALINGLIB_SARDANA/training results.csv", "~/runs.csv"},
    )
    assert text == "$ scalinglib fit $SCALINGLIB_SARDANA/'training results.csv' ~/runs.csv '$5'"


def test_show_prints_the_reader_path_in_the_command_and_in_its_output(tmp_path, capsys):
    csv = tmp_path / "deep" / "runs.csv"
    csv.parent.mkdir()
    csv.write_text(
        "N,D,loss\n"
        + "\n".join(
            f"{n:g},{m * n:g},{1.7 + 400 * n**-0.34 + 400 * (m * n) ** -0.28:.6f}"
            for n in (1e7, 3e7, 1e8, 3e8)
            for m in (10, 20, 80)
        )
        + "\n"
    )
    out = transcript.show(["fit", str(csv), "--law", "overtraining"], shown_as={str(csv): "runs.csv"})
    printed = capsys.readouterr().out
    assert str(tmp_path) not in printed and str(tmp_path) not in out
    assert printed.startswith("$ scalinglib fit runs.csv --law overtraining")
    assert "eta" in out


def test_reader_path_is_relative_to_the_repository_inside_it_or_beside_it(tmp_path):
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    assert reader_path(root / "data" / "x.csv", root) == "data/x.csv"
    assert reader_path(tmp_path / "shared" / "sardana" / "t.csv", root) == "../shared/sardana/t.csv"
    # the same, from the chapters' folder as the root's child
    assert reader_path(tmp_path / "shared" / "t.csv", root / "notebooks" / "..") == "../shared/t.csv"


def test_reader_path_never_climbs_two_levels_out_of_the_repository(tmp_path, monkeypatch):
    root = tmp_path / "a" / "b" / "repo"
    root.mkdir(parents=True)
    data = tmp_path / "elsewhere" / "sardana"
    for var in DATA_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SCALINGLIB_SARDANA", str(data))
    assert reader_path(data / "trainingresults.csv", root) == "$SCALINGLIB_SARDANA/trainingresults.csv"
    monkeypatch.delenv("SCALINGLIB_SARDANA")
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    assert reader_path(data / "trainingresults.csv", root) == "~/sardana/trainingresults.csv"
    monkeypatch.setenv("HOME", str(root))
    shown = reader_path(data / "trainingresults.csv", root)
    assert "../.." not in shown and shown == (data / "trainingresults.csv").as_posix()


def test_run_raises_when_the_command_fails(tmp_path):
    with pytest.raises(subprocess.CalledProcessError) as err:
        transcript.run(["fit", str(tmp_path / "missing.csv"), "--law", "overtraining"])
    assert "missing.csv" in err.value.stderr
