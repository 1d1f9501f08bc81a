"""The 47 released runs of Sardana et al. (2024), "Beyond Chinchilla-optimal".

``path``, else ``SCALINGLIB_SARDANA``, else a hash-verified download from the pinned
commit (``SCALINGLIB_SARDANA_URL`` overrides the base URL).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .csvfiles import _need, _read_csv
from .fetch import DataError, _lab_dir

SARDANA_COMMIT = "190f70e365dc75037a2b3178609d00243f24b4b9"
SARDANA_URL = f"https://raw.githubusercontent.com/nikhilsardana/beyond-chinchilla/{SARDANA_COMMIT}/"

#: Eval Gauntlet categories of the Sardana et al. runs (scores rescaled so chance is 0).
GAUNTLET_CATEGORIES: tuple[str, ...] = (
    "world_knowledge",
    "reading_comprehension",
    "language_understanding",
    "commonsense_reasoning",
    "symbolic_problem_solving",
    "core_average",
)


def sardana_dir(path: str | os.PathLike | None = None) -> Path:
    """Directory holding ``trainingresults.csv`` of Sardana et al. (2024), verified.

    ``path``, else ``SCALINGLIB_SARDANA``, else a hash-verified download from the pinned
    commit ``SARDANA_COMMIT`` (``SCALINGLIB_SARDANA_URL`` overrides the base URL).
    """
    return _lab_dir(
        path, "SCALINGLIB_SARDANA", "sardana", "sardana.txt", SARDANA_URL, "SCALINGLIB_SARDANA_URL", "Sardana"
    )


def load_sardana(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The 47 runs of Sardana et al. (2024), one row per run (wide form).

    Parameters
    ----------
    path
        Directory holding ``trainingresults.csv`` (see :func:`sardana_dir`).

    Returns
    -------
    pandas.DataFrame
        ``dataset`` (``"sardana"``), ``model`` (the release's size label, e.g. ``"150M"``),
        ``N`` = ``Parameters``, ``D`` = ``Tokens``, ``M`` = D / N (checked against
        ``Tokens/Params``), ``C`` = 6 N D, ``loss`` = ``Smoothed Loss`` (final training
        loss, smoothed; also as ``loss_train``), ``batch_size``, ``gauntlet_<category>``
        for the six Eval Gauntlet scores (accuracies rescaled so that chance is 0 and a
        perfect score 1), ``mmlu`` (raw 5-shot accuracy, chance 0.25), and the
        corresponding errors ``err_gauntlet`` = 1 - core average (chance-level error 1)
        and ``err_mmlu`` = 1 - ``mmlu`` (chance-level error 0.75). Rows in file order
        (by N, then M).
    """
    root = sardana_dir(path)
    file = root / "trainingresults.csv"
    raw = _read_csv(file)
    gcols = [f"eval_gauntlet/{c}" for c in GAUNTLET_CATEGORIES]
    _need(
        raw, ["Parameters", "Tokens/Params", "Tokens", "Batch Size", "Smoothed Loss", *gcols, "mmlu_5_shot_avg"], file
    )
    if "Model Name" not in raw:
        raise DataError(f"column 'Model Name' missing from {str(file)!r}")
    out = pd.DataFrame(
        {
            "dataset": "sardana",
            "model": raw["Model Name"].astype(str),
            "N": raw["Parameters"].astype(float),
            "D": raw["Tokens"].astype(float),
        }
    )
    out["M"] = out["D"] / out["N"]
    bad = ~np.isclose(out["M"], raw["Tokens/Params"].astype(float), rtol=1e-9)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Tokens / Parameters = {out['M'][i]:g} differs from Tokens/Params on data row {i + 1} of {str(file)!r}"
        )
    out["C"] = 6.0 * out["N"] * out["D"]
    out["loss"] = raw["Smoothed Loss"].astype(float)
    out["loss_train"] = out["loss"]
    out["batch_size"] = raw["Batch Size"].astype(float)
    for c in GAUNTLET_CATEGORIES:
        out[f"gauntlet_{c}"] = raw[f"eval_gauntlet/{c}"].astype(float)
    out["mmlu"] = raw["mmlu_5_shot_avg"].astype(float)
    out["err_gauntlet"] = 1.0 - out["gauntlet_core_average"]
    out["err_mmlu"] = 1.0 - out["mmlu"]
    dup = out.duplicated(["model", "M"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(f"run {out['model'][i]} at M = {out['M'][i]:g} appears twice in {str(file)!r}")
    return out
