"""`scalinglib fit` on hostile numbers: every CSV either fits (exit 0, a result) or is
refused with one error line (exit 2) naming the file; never a traceback or numpy warning."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalinglib.cli import main

COLUMNS = {
    "overtraining": ("N", "D", "loss"),
    "chinchilla": ("N", "D", "loss"),
    "compute": ("C", "loss"),
    "error": ("loss", "err"),
}

EXTREME = st.sampled_from([1e300, 1e-300, 5e-324, 1.7e308, -1e300, 1e40, 1e-12, 0.0, -0.2, 1.5, 100.0])
FINITE = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e308, max_value=1e308)
PLAUSIBLE = st.floats(min_value=1e-3, max_value=1e12)
# Anywhere in the accepted range, log-uniformly: these pass validation and reach the fit.
IN_RANGE = st.floats(min_value=-12, max_value=40).map(lambda e: 10.0**e)
RATE = st.floats(min_value=0.0, max_value=1.0)
VALUE = st.one_of(EXTREME, FINITE, PLAUSIBLE, IN_RANGE, IN_RANGE, RATE)


def _run(capsys, tmp_path, law: str, table: list[list[float]]) -> tuple[int, str, str]:
    csv = tmp_path / f"{law}.csv"
    csv.write_text(",".join(COLUMNS[law]) + "\n" + "".join(",".join(repr(x) for x in row) + "\n" for row in table))
    capsys.readouterr()
    with warnings.catch_warnings():
        # Anything numpy would print (with its default error state) becomes an exception
        # here, so it cannot pass unseen.
        warnings.simplefilter("error", RuntimeWarning)
        code = main(["fit", str(csv), "--law", law])
    out, err = capsys.readouterr()
    return code, out, err


def _check(code: int, out: str, err: str, file_name: str) -> None:
    assert "Traceback" not in err and "Warning" not in err, err
    if code == 0:
        assert "parameters:" in out
    else:
        assert code == 2, (code, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("scalinglib: error: ") and file_name in lines[0], err


@pytest.mark.parametrize("law", sorted(COLUMNS))
def test_hostile_csv_fits_or_is_refused_with_one_line(law, capsys, tmp_path):
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.data())
    def check(data):
        n_rows = data.draw(st.integers(min_value=3, max_value=7))
        table = [[data.draw(VALUE) for _ in COLUMNS[law]] for _ in range(n_rows)]
        code, out, err = _run(capsys, tmp_path, law, table)
        _check(code, out, err, f"{law}.csv")

    check()


@pytest.mark.parametrize(
    ("law", "table", "message"),
    [
        ("error", [[1e300, 0.5], [1e300, 0.6], [1e300, 0.7], [1e300, 0.4]], "column 'loss', line 2: 1e+300"),
        (
            "overtraining",
            [[1e300, 1e9, 3.0], [1e8, 1e10, 2.9], [1e9, 1e11, 2.5], [3e9, 1e11, 2.4]],
            "column 'N', line 2: 1e+300",
        ),
        (
            "chinchilla",
            [[1e8, 1e-300, 3.0], [1e8, 1e10, 2.9], [1e9, 1e11, 2.5], [3e9, 1e11, 2.4], [1e9, 1e12, 2.3]],
            "column 'D', line 2: 1e-300",
        ),
        ("error", [[3.0, 0.5], [2.5, 1.5], [2.0, 0.3]], "column 'err', line 3: error rate 1.5 is outside [0, 1]"),
        ("error", [[3.0, 0.5], [2.5, -0.2], [2.0, 0.3]], "column 'err', line 3: error rate -0.2 is outside [0, 1]"),
        ("error", [[3.0, 50.0], [2.5, 40.0], [2.0, 30.0]], "looks like a percentage"),
    ],
)
def test_named_hostile_inputs_are_refused(law, table, message, capsys, tmp_path):
    code, out, err = _run(capsys, tmp_path, law, table)
    _check(code, out, err, f"{law}.csv")
    assert code == 2 and message in err, err


def test_error_rates_at_the_bounds_are_accepted(capsys, tmp_path):
    code, out, err = _run(capsys, tmp_path, "error", [[4.0, 1.0], [3.0, 0.8], [2.5, 0.5], [2.0, 0.0]])
    assert "outside" not in err
    _check(code, out, err, "error.csv")


@pytest.mark.parametrize("law", sorted(COLUMNS))
def test_any_csv_inside_the_accepted_ranges_fits_or_fails_cleanly(law, capsys, tmp_path):
    """Values that pass validation reach the fit: extreme but accepted magnitudes must not
    leak a numpy warning or a traceback either."""
    outcomes = []

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.data())
    def check(data):
        n_rows = data.draw(st.integers(min_value=5, max_value=8))
        table = [[data.draw(RATE if c == "err" else IN_RANGE) for c in COLUMNS[law]] for _ in range(n_rows)]
        code, out, err = _run(capsys, tmp_path, law, table)
        _check(code, out, err, f"{law}.csv")
        outcomes.append(code)

    check()
    assert 0 in outcomes  # the fit itself was exercised, not only the validation
