"""`import scalinglib` and `scalinglib --help` do not import pandas, scipy or matplotlib;
the public API is unchanged (every name of ``__all__`` resolves, ``dir()`` lists it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import scalinglib
from scalinglib.userdata import LAWS

HEAVY = ("pandas", "scipy", "matplotlib")


def _loaded_after(code: str) -> list[str]:
    probe = (
        code + f"\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_scalinglib_imports_no_pandas_or_scipy():
    assert _loaded_after("import scalinglib") == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["fit", "--help"],
        ["plan", "--help"],
        ["reproduce", "--help"],
        ["predict", "--help"],
        ["design", "--help"],
    ],
)
def test_cli_help_imports_no_pandas_or_scipy(argv):
    code = (
        "import contextlib, io\nfrom scalinglib.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    assert main({argv!r}) == 0\n"
    )
    assert _loaded_after(code) == []


def test_cli_least_squares_fit_imports_no_pandas_or_scipy(tmp_path):
    csv = tmp_path / "runs.csv"
    csv.write_text("loss,err\n2.5,0.7\n3.0,0.74\n3.5,0.8\n4.0,0.85\n")
    code = (
        "import contextlib, io\nfrom scalinglib.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    assert main(['fit', {str(csv)!r}, '--law', 'error']) == 0\n"
    )
    assert _loaded_after(code) == []


def test_every_public_name_resolves_and_is_listed():
    for name in scalinglib.__all__:
        assert getattr(scalinglib, name) is not None
    assert set(scalinglib.__all__) <= set(dir(scalinglib))
    assert scalinglib.fit_overtraining is scalinglib.fit.fit_overtraining
    assert scalinglib.load_testbed is scalinglib.data.load_testbed
    from scalinglib import DataError, FitResult, bootstrap  # noqa: F401


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        scalinglib.no_such_name  # noqa: B018


def test_cli_law_choices_are_the_readers_laws():
    from scalinglib.cli import FORMULAS

    assert tuple(FORMULAS) == LAWS
