"""Candidate runs for the recommender (:mod:`scalinglib.design`): from a grid spec, a list or a CSV.

A candidate is a run (N, D) one could train next. They come from

* a grid spec, ``"N1,N2,... x M1,M2,..."`` (:func:`parse_grid`; N may be written 150M or
  1.3B), every (N, D = M N) of the product; :func:`candidate_grid` is the same from lists;
* a CSV with a header, columns ``N`` and ``D`` or ``N`` and ``M`` (:func:`load_candidates`).

:func:`check_candidates` validates them against a FLOP budget (C = 6 N D each). Bad
input is a :class:`~scalinglib.design.DesignError` naming the file, line, column or value.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .targetwidth import DesignError

__all__ = ["candidate_grid", "check_candidates", "load_candidates", "parse_grid"]


def check_candidates(N, D, budget: float, source: str = "candidates") -> tuple[np.ndarray, np.ndarray]:
    """Validate candidate runs: positive finite N and D, each within the budget (C = 6ND <= budget)."""
    if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise DesignError(f"budget must be a positive number of FLOPs, got {budget!r}")
    N = np.atleast_1d(np.asarray(N, dtype=float))
    D = np.atleast_1d(np.asarray(D, dtype=float))
    if N.size == 0 or N.size != D.size:
        raise DesignError(f"{source}: need one or more candidates with both N and D")
    for name, x in (("N", N), ("D", D)):
        bad = ~(np.isfinite(x) & (x > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DesignError(
                f"{source}: candidate {i + 1} (data row {i + 1}) has non-positive or non-finite {name} = {x[i]!r}"
            )
    C = 6 * N * D
    if np.any(C > budget):
        i = int(np.argmax(C > budget))
        raise DesignError(
            f"{source}: candidate {i + 1} (data row {i + 1}; N = {N[i]:.4g}, D = {D[i]:.4g}) costs {C[i]:.4g} FLOPs, "
            f"above the budget of {budget:.4g}"
        )
    return N, D


def parse_grid(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``"N1,N2,... x M1,M2,..."`` -> every (N, D = M N) of the product (N may use 1e9 or 150M / 1.3B)."""
    parts = re.split(r"\s*[xX]\s*", text.strip())
    if len(parts) != 2 or not all(parts):
        raise DesignError(f"candidate grid {text!r}: expected 'N1,N2,... x M1,M2,...'")

    def num(tok: str, what: str) -> float:
        t = tok.strip()
        mult = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
        try:
            v = float(t[:-1]) * mult[t[-1]] if t and t[-1] in mult else float(t)
        except ValueError:
            raise DesignError(f"candidate grid: {what} value {t!r} is not a number") from None
        return v

    Ns = [num(t, "N") for t in parts[0].split(",")]
    Ms = [num(t, "M") for t in parts[1].split(",")]
    N = np.repeat(Ns, len(Ms))
    M = np.tile(Ms, len(Ns))
    for name, x in (("N", N), ("M", M)):
        if np.any(~np.isfinite(x) | (x <= 0)):
            raise DesignError(
                f"candidate grid: {name} values must be positive, got {x[~np.isfinite(x) | (x <= 0)][0]:g}"
            )
    return N, M * N


def candidate_grid(N: Sequence[float] | np.ndarray, Ms: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (N, D = M N) of the product of sizes ``N`` and multipliers ``Ms``."""
    return parse_grid(",".join(repr(float(n)) for n in N) + " x " + ",".join(repr(float(m)) for m in Ms))


def load_candidates(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Candidates from a CSV with a header: columns ``N`` and ``D``, or ``N`` and ``M`` (D = M N).

    Errors name the file, line and column.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DesignError(f"{path}: cannot read candidates ({exc.strerror})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(h.strip() for h in rows[0]):
        raise DesignError(f"{path}: empty file, expected a header with N and D (or N and M)")
    header = [h.strip() for h in rows[0]]
    if "N" not in header or not ({"D", "M"} & set(header)):
        raise DesignError(f"{path}: header {header} needs columns N and D (or N and M)")
    second = "D" if "D" in header else "M"
    iN, i2 = header.index("N"), header.index(second)
    N, X = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        vals = []
        for col, i in (("N", iN), (second, i2)):
            if i >= len(row):
                raise DesignError(f"{path}, line {line}: column {col} is missing ({len(row)} fields)")
            try:
                v = float(row[i])
            except ValueError:
                raise DesignError(f"{path}, line {line}: column {col} value {row[i]!r} is not a number") from None
            if not (math.isfinite(v) and v > 0):
                raise DesignError(f"{path}, line {line}: column {col} value {row[i]!r} must be positive")
            vals.append(v)
        N.append(vals[0])
        X.append(vals[1])
    if not N:
        raise DesignError(f"{path}: no candidate rows")
    Na, Xa = np.array(N), np.array(X)
    return Na, (Xa * Na if second == "M" else Xa)
