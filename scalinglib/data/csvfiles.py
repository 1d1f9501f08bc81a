"""Read a released CSV file, with errors that name the file, column and row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .fetch import DataError


def _read_csv(file: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(file)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot parse CSV {str(file)!r}: {exc}") from exc


def _need(raw: pd.DataFrame, cols, file: Path) -> None:
    for col in cols:
        if col not in raw:
            raise DataError(f"column {col!r} missing from {str(file)!r}")
        bad = ~np.isfinite(pd.to_numeric(raw[col], errors="coerce").to_numpy(float))
        if bad.any():
            raise DataError(
                f"column {col!r} of {str(file)!r} has a non-numeric value on data row {int(np.flatnonzero(bad)[0]) + 1}"
            )
