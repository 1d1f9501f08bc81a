"""Read a user's own training runs from a CSV file, ready for :mod:`scalinglib.fit`.

A CSV holds one training run per row. Which columns are needed depends on the law:

==============  ===========================================  =====================
law             columns (by their default names)             fit arguments
==============  ===========================================  =====================
overtraining    N and D, or N and M, or N and C, or C and M;  ``C``, ``M``, ``L``
                and loss
chinchilla      N and D, or N and M, or N and C, or C and M;  ``N``, ``D``, ``L``
                and loss
compute         C, or N and D, or N and M; and loss           ``C``, ``L``
error           loss and err                                  ``L``, ``err``
sigmoid         loss and err                                  ``L``, ``err``
==============  ===========================================  =====================

Missing quantities are derived from the paper's identities, M = D / N and
C = 6 N D, hence D = N M, D = C / (6 N), N = sqrt(C / (6 M)), D = sqrt(C M / 6).
When several layouts are present the first one in the order above is used; the
other size columns are not read (see :attr:`UserRuns.columns`).

Every problem raises :class:`UserDataError` naming the file, the column and the
1-based line number of the CSV (the header is line 1): a missing file, a CSV that
cannot be parsed, a missing column (listing the columns found), a non-numeric,
empty or NaN cell, a non-positive N, D, M, C or loss, an N, D, M, C or loss outside
:data:`MAGNITUDE_RANGE`, an error rate outside [0, 1] (with a hint when the column
looks like percentages), and fewer rows than the law has parameters. No row is ever dropped; only lines that are entirely blank are
skipped.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["UserDataError", "UserRuns", "LAWS", "MIN_ROWS", "load_runs", "load_error_runs", "load_targets", "read_runs"]

#: The laws a CSV can be read for.
LAWS: tuple[str, ...] = ("overtraining", "chinchilla", "compute", "error", "sigmoid")

#: Fewest rows each law accepts: its number of parameters.
MIN_ROWS: dict[str, int] = {"overtraining": 4, "chinchilla": 5, "compute": 3, "error": 3, "sigmoid": 4}

# Size layouts, in order of preference, by role (N, D, M, C).
_SIZE_LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "overtraining": (("N", "D"), ("N", "M"), ("N", "C"), ("C", "M")),
    "chinchilla": (("N", "D"), ("N", "M"), ("N", "C"), ("C", "M")),
    "compute": (("C",), ("N", "D"), ("N", "M")),
    "error": ((),),
    "sigmoid": ((),),
}

_DERIVATIONS: dict[tuple[str, tuple[str, ...]], str] = {
    ("overtraining", ("N", "D")): "C = 6 N D, M = D / N",
    ("overtraining", ("N", "M")): "C = 6 N^2 M",
    ("overtraining", ("N", "C")): "M = C / (6 N^2)",
    ("overtraining", ("C", "M")): "",
    ("chinchilla", ("N", "D")): "",
    ("chinchilla", ("N", "M")): "D = N M",
    ("chinchilla", ("N", "C")): "D = C / (6 N)",
    ("chinchilla", ("C", "M")): "N = sqrt(C / (6 M)), D = sqrt(C M / 6)",
    ("compute", ("C",)): "",
    ("compute", ("N", "D")): "C = 6 N D",
    ("compute", ("N", "M")): "C = 6 N^2 M",
    ("error", ()): "",
    ("sigmoid", ()): "",
}


class UserDataError(ValueError):
    """A user's CSV that cannot be fitted; the message names the file, column and line."""


@dataclass(frozen=True)
class UserRuns:
    """Runs read from a CSV for one law.

    Attributes
    ----------
    file
        The CSV read.
    law
        The law the runs are meant for.
    data
        Keyword arguments for the law's fit function (see the module table), e.g.
        ``fit_overtraining(**runs.data)``.
    columns
        Role -> CSV column actually read (roles ``N``, ``D``, ``M``, ``C``, ``loss``,
        ``err``).
    derivation
        How the fit's inputs were derived from the columns read (empty if read
        directly), e.g. ``"D = C / (6 N)"``.
    lines
        The 1-based CSV line number of each run, in order.
    """

    file: Path
    law: str
    data: dict[str, np.ndarray]
    columns: dict[str, str]
    derivation: str
    lines: tuple[int, ...] = field(default=())

    @property
    def n_rows(self) -> int:
        return len(self.lines)


def _read_csv(file: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of each non-blank record."""
    if not file.exists():
        raise UserDataError(f"{file}: file not found")
    if not file.is_file():
        raise UserDataError(f"{file}: not a regular file")
    try:
        with file.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            records: list[tuple[int, list[str]]] = []
            start = 1
            for cells in reader:
                if len(cells) > 1 or any(c.strip() for c in cells):
                    records.append((start, cells))
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise UserDataError(f"{file}: cannot parse CSV: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        line = reader.line_num or 1
        raise UserDataError(f"{file}: cannot parse CSV at line {line}: {exc}") from None
    if not records:
        raise UserDataError(f"{file}: cannot parse CSV: the file is empty (no header line)")
    header_line, header = records[0]
    header = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name == "":
            raise UserDataError(f"{file}: column {i + 1} of the header (line {header_line}) has no name")
        if name in seen:
            raise UserDataError(f"{file}: column {name!r} appears twice in the header (line {header_line})")
        seen[name] = i
    rows = records[1:]
    for line, cells in rows:
        if len(cells) != len(header):
            raise UserDataError(
                f"{file}: cannot parse CSV at line {line}: {len(cells)} fields, but the header has {len(header)}"
            )
    return header, rows


def _column(file: Path, header: list[str], rows: list[tuple[int, list[str]]], name: str, positive: bool) -> np.ndarray:
    j = header.index(name)
    out = np.empty(len(rows))
    for i, (line, cells) in enumerate(rows):
        text = cells[j].strip()
        if text == "":
            raise UserDataError(f"{file}: column {name!r}, line {line}: empty cell")
        try:
            x = float(text)
        except ValueError:
            raise UserDataError(f"{file}: column {name!r}, line {line}: not a number: {text!r}") from None
        if math.isnan(x):
            raise UserDataError(f"{file}: column {name!r}, line {line}: NaN")
        if math.isinf(x):
            raise UserDataError(f"{file}: column {name!r}, line {line}: not finite: {text!r}")
        if positive and x <= 0:
            raise UserDataError(f"{file}: column {name!r}, line {line}: must be positive, got {text!r}")
        out[i] = x
    return out


#: Largest and smallest magnitudes accepted for N, D, M, C and the loss. Wide enough for
#: any real run (today's largest C is near 1e26 FLOPs), narrow enough that every
#: quantity the laws compute (C = 6 N D, C^-eta, exp(-gamma L), their derivatives)
#: stays a finite double.
MAGNITUDE_RANGE: tuple[float, float] = (1e-12, 1e40)


def _check_magnitude(file: Path, rows: list[tuple[int, list[str]]], name: str, x: np.ndarray) -> None:
    lo, hi = MAGNITUDE_RANGE
    bad = np.flatnonzero((x < lo) | (x > hi))
    if bad.size:
        i = int(bad[0])
        raise UserDataError(
            f"{file}: column {name!r}, line {rows[i][0]}: {x[i]:g} is outside the accepted range [{lo:g}, {hi:g}]"
        )


def _check_error_rates(file: Path, rows: list[tuple[int, list[str]]], name: str, err: np.ndarray) -> None:
    """Error rates are fractions in [0, 1]; percentages are named as such."""
    bad = np.flatnonzero((err < 0) | (err > 1))
    if not bad.size:
        return
    i = int(bad[0])
    hint = (
        "; every value lies in (1, 100]: it looks like a percentage, divide by 100"
        if np.all((err > 1) & (err <= 100))
        else ""
    )
    raise UserDataError(f"{file}: column {name!r}, line {rows[i][0]}: error rate {err[i]:g} is outside [0, 1]{hint}")


def load_runs(
    path: str | os.PathLike,
    law: str,
    *,
    n_col: str = "N",
    d_col: str = "D",
    m_col: str = "M",
    c_col: str = "C",
    loss_col: str = "loss",
    err_col: str = "err",
) -> UserRuns:
    """Read a CSV of training runs for fitting ``law``; see the module docstring.

    Parameters
    ----------
    path
        The CSV file (comma-separated, header on the first line).
    law
        ``"overtraining"``, ``"chinchilla"``, ``"compute"`` or ``"error"``.
    n_col, d_col, m_col, c_col, loss_col, err_col
        Names of the columns holding N (parameters), D (tokens), M = D / N, C (FLOPs),
        the loss and the downstream error.

    Returns
    -------
    UserRuns
        ``.data`` holds the fit's keyword arguments; ``.columns`` the columns read.

    Raises
    ------
    UserDataError
        Naming the file and, where it applies, the column and CSV line.
    ValueError
        For an unknown ``law``.
    """
    if law not in LAWS:
        raise ValueError(f"unknown law {law!r}; choose one of {LAWS}")
    file = Path(path)
    header, rows = _read_csv(file)
    names = {"N": n_col, "D": d_col, "M": m_col, "C": c_col}
    target = ("loss", "err") if law in ("error", "sigmoid") else ("loss",)
    target_names = {"loss": loss_col, "err": err_col}

    found = ", ".join(repr(h) for h in header)
    for role in target:
        if target_names[role] not in header:
            raise UserDataError(f"{file}: column {target_names[role]!r} ({role}) not found; columns found: {found}")
    layout = next(
        (lay for lay in _SIZE_LAYOUTS[law] if all(names[r] in header for r in lay)),
        None,
    )
    if layout is None:
        options = " or ".join(" and ".join(repr(names[r]) for r in lay) for lay in _SIZE_LAYOUTS[law])
        missing = next(names[r] for r in _SIZE_LAYOUTS[law][0] if names[r] not in header)
        raise UserDataError(
            f"{file}: column {missing!r} not found; the {law} law needs columns {options}; columns found: {found}"
        )

    need = MIN_ROWS[law]
    if len(rows) < need:
        raise UserDataError(
            f"{file}: {len(rows)} data row(s) (lines {rows[0][0]}-{rows[-1][0]}), but the {law} law has {need} "
            f"parameters and needs at least {need} rows"
            if rows
            else f"{file}: no data rows after the header, but the {law} law needs at least {need} rows"
        )

    columns = {r: names[r] for r in layout}
    columns.update({r: target_names[r] for r in target})
    v = {r: _column(file, header, rows, columns[r], positive=(r != "err")) for r in columns}
    if "err" in v:
        _check_error_rates(file, rows, columns["err"], v["err"])
    for r, values in v.items():
        if r != "err":
            _check_magnitude(file, rows, columns[r], values)

    if law in ("error", "sigmoid"):
        data = {"L": v["loss"], "err": v["err"]}
    elif law == "compute":
        if "C" in v:
            C = v["C"]
        elif "D" in v:
            C = 6.0 * v["N"] * v["D"]
        else:
            C = 6.0 * v["N"] ** 2 * v["M"]
        data = {"C": C, "L": v["loss"]}
    elif law == "chinchilla":
        if layout == ("N", "D"):
            N, D = v["N"], v["D"]
        elif layout == ("N", "M"):
            N, D = v["N"], v["N"] * v["M"]
        elif layout == ("N", "C"):
            N, D = v["N"], v["C"] / (6.0 * v["N"])
        else:
            N, D = np.sqrt(v["C"] / (6.0 * v["M"])), np.sqrt(v["C"] * v["M"] / 6.0)
        data = {"N": N, "D": D, "L": v["loss"]}
    else:
        if layout == ("N", "D"):
            C, M = 6.0 * v["N"] * v["D"], v["D"] / v["N"]
        elif layout == ("N", "M"):
            C, M = 6.0 * v["N"] ** 2 * v["M"], v["M"]
        elif layout == ("N", "C"):
            C, M = v["C"], v["C"] / (6.0 * v["N"] ** 2)
        else:
            C, M = v["C"], v["M"]
        data = {"C": C, "M": M, "L": v["loss"]}
    return UserRuns(
        file=file,
        law=law,
        data=data,
        columns=columns,
        derivation=_DERIVATIONS[(law, layout)],
        lines=tuple(line for line, _ in rows),
    )


def load_error_runs(
    path: str | os.PathLike,
    err_path: str | os.PathLike | None = None,
    *,
    loss_col: str = "loss",
    err_col: str = "err",
) -> UserRuns:
    r"""Read the runs of the loss-to-error law :math:`Err(L) = \epsilon - k e^{-\gamma L}`.

    A plan for an error target needs both laws: the loss law from the runs of ``path`` and
    the error law from runs with a loss *and* a downstream error. Those are the rows of
    ``err_path`` when given (e.g. the loss runs plus a larger run evaluated downstream, as
    in the paper's default configuration), otherwise the rows of ``path`` itself, which then
    needs an error column besides its loss column.

    Parameters
    ----------
    path
        The CSV of the loss runs.
    err_path
        A separate CSV of loss-and-error runs, or ``None`` to read ``path``.
    loss_col, err_col
        Names of the loss column and the downstream-error column.

    Raises
    ------
    UserDataError
        As :func:`load_runs`; a missing error column says both ways to supply one.
    """
    file = Path(err_path if err_path is not None else path)
    try:
        return load_runs(file, "error", loss_col=loss_col, err_col=err_col)
    except UserDataError as exc:
        if f"column {err_col!r} (err) not found" not in str(exc):
            raise
        raise UserDataError(
            f"{exc}. An error target needs a downstream-error law: add a column {err_col!r} of top-1 error "
            f"(a fraction in [0, 1]) to {file.name}, name your column with err_col (--err-col), or give "
            "runs with loss and error columns in a second CSV (--err-csv)"
        ) from None


def read_runs(path: str | os.PathLike, law: str, **columns: str) -> dict[str, np.ndarray]:
    """Read a CSV of training runs; return the keyword arguments of the law's fit.

    ``scalinglib.fit.fit_law(law, **read_runs(path, law))`` fits the file. See
    :func:`load_runs` for the column names (``n_col``, ``d_col``, ``m_col``, ``c_col``,
    ``loss_col``, ``err_col``) and errors, and the module docstring for the accepted
    layouts.
    """
    return load_runs(path, law, **columns).data


#: Layouts of a targets CSV, in order of preference (C alone serves the compute law).
_TARGET_LAYOUTS: tuple[tuple[str, ...], ...] = (("N", "D"), ("N", "M"), ("C", "M"), ("C",))


def load_targets(
    path: str | os.PathLike,
    *,
    n_col: str = "N",
    d_col: str = "D",
    m_col: str = "M",
    c_col: str = "C",
) -> dict[str, np.ndarray]:
    """Read the targets of a forecast (runs not trained) from a CSV: N and D, N and M,
    C and M, or C alone (for the compute law), one target per row.

    Returns the given columns by role (e.g. ``{"N": ..., "D": ...}``), ready for
    :func:`scalinglib.forecast.target_sizes`. Other columns are ignored; every problem
    raises :class:`UserDataError` naming the file, column and line, as :func:`load_runs`.
    """
    file = Path(path)
    header, rows = _read_csv(file)
    names = {"N": n_col, "D": d_col, "M": m_col, "C": c_col}
    layout = next((lay for lay in _TARGET_LAYOUTS if all(names[r] in header for r in lay)), None)
    if layout is None:
        options = " or ".join(" and ".join(repr(names[r]) for r in lay) for lay in _TARGET_LAYOUTS)
        found = ", ".join(repr(h) for h in header)
        raise UserDataError(f"{file}: targets need columns {options}; columns found: {found}")
    if not rows:
        raise UserDataError(f"{file}: no targets after the header")
    out = {}
    for role in layout:
        v = _column(file, header, rows, names[role], positive=True)
        _check_magnitude(file, rows, names[role], v)
        out[role] = v
    return out
