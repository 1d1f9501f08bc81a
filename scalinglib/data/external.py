"""The Chinchilla runs of Hoffmann et al. (2022), as extracted by Epoch AI (Besiroglu et al., 2024)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .fetch import DataError, _download

EXTERNAL_COMMIT = "92258837425e1b5f2851d624287f0120583a3d0e"
EXTERNAL_URL = f"https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/{EXTERNAL_COMMIT}/"


def load_chinchilla_runs(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The 245 Chinchilla runs extracted by Epoch AI (Besiroglu et al., 2024).

    ``path`` is the CSV file or its directory; else ``SCALINGLIB_EXTERNAL`` (a directory
    holding ``chinchilla_svg_extracted_data.csv``); else a hash-verified download from
    the pinned commit ``EXTERNAL_COMMIT`` (``SCALINGLIB_EXTERNAL_URL`` overrides the base).

    Returns columns ``N`` (model size), ``C`` (training FLOP), ``D`` = C / (6 N) and
    ``loss``.
    """
    if path is None:
        path = os.environ.get("SCALINGLIB_EXTERNAL") or None
    if path is None:
        file = (
            _download("external", "external.txt", EXTERNAL_URL, "SCALINGLIB_EXTERNAL_URL")
            / "data"
            / "svg_extracted_data.csv"
        )
    else:
        file = Path(path)
        if file.is_dir():
            file = file / "chinchilla_svg_extracted_data.csv"
    if not file.is_file():
        raise DataError(f"missing file {str(file)!r}")
    raw = pd.read_csv(file)
    for col in ("Model Size", "Training FLOP", "loss"):
        if col not in raw:
            raise DataError(f"column {col!r} missing from {str(file)!r}")
    out = pd.DataFrame({"N": raw["Model Size"], "C": raw["Training FLOP"], "loss": raw["loss"]})
    for col in out:
        bad = ~np.isfinite(out[col]) | (out[col] <= 0)
        if bad.any():
            raise DataError(f"column {col!r} of {str(file)!r} has invalid value on row {int(np.flatnonzero(bad)[0])}")
    out["D"] = out["C"] / (6.0 * out["N"])
    return out[["N", "D", "C", "loss"]]
