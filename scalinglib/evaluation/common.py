"""What the evaluation modules share: the chance rule's constants, target labels, quiet fits, run lookup."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data import DATASETS, MODEL_LABELS
from ..fit import FitResult, FitWarning
from ..paper import OVERTRAINED_M, Run, default_config, fit_config

#: The model whose best run decides whether a task is "above chance" (the paper's 0.154B).
CHANCE_MODEL = "d=576_l=24_h=8"
#: Accuracy margin over chance (a fraction) that the paper's 17-task split requires.
CHANCE_MARGIN = 0.10


def target_label(model: str, M: float) -> str:
    """Readable name of a target run, e.g. ``"1.4B, M = 640"``."""
    return f"{MODEL_LABELS.get(model, model)}, M = {M:g}"


#: The two targets of each training set, by readable name.
TARGET_LABELS = {
    ds: (target_label("open_lm_1b", OVERTRAINED_M[ds]), target_label("open_lm_7b", 20.0)) for ds in DATASETS
}


# ----------------------------------------------------------------------------- helpers


def _check_dataset(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
    d = df[df["dataset"] == dataset]
    if d.empty:
        raise ValueError(f"the testbed table has no rows for dataset {dataset!r}")
    return d


def _quiet(fn, *args, **kwargs) -> FitResult:
    """Run a fit with its FitWarnings recorded in ``result.notes`` instead of raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fn(*args, **kwargs)


def _notes(fit: FitResult) -> str:
    return "; ".join(fit.notes)


def _r2(fit: FitResult) -> float:
    """Coefficient of determination 1 - SSE / SST of a fit on its own points."""
    sst = float(np.sum((fit.y - fit.y.mean()) ** 2))
    return float(1.0 - fit.sse / sst) if sst > 0 else float("nan")


def _fit_default_quiet(df: pd.DataFrame, dataset: str, eval_set: str, downstream: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_config(df, default_config(dataset, eval_set, downstream))


class _RunIndex:
    """Fast lookup of the rows of one training set by (model, M); same result as ``select_runs``."""

    def __init__(self, d: pd.DataFrame, dataset: str):
        self.d = d
        self.dataset = dataset
        self.pos = {(m, round(float(M), 9)): i for i, (m, M) in enumerate(zip(d["model"], d["M"]))}

    def select(self, runs: Sequence[Run]) -> pd.DataFrame:
        idx = []
        for run in runs:
            i = self.pos.get((run.model, round(float(run.M), 9)))
            if i is None:
                raise KeyError(f"run {self.dataset}/{run.model}/M={run.M:g} not found in the testbed table")
            idx.append(i)
        return self.d.iloc[idx]


def _run_mask(d: pd.DataFrame, runs: Sequence[Run]) -> np.ndarray:
    mask = np.zeros(len(d), dtype=bool)
    for run in runs:
        mask |= (d["model"].to_numpy() == run.model) & np.isclose(d["M"].to_numpy(), run.M)
    return mask
