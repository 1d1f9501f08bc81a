"""The paper's fitting configurations and its headline predictions.

The default configuration (Gadre et al. 2024, Table 2), one training set at a time:

* loss law L(C, M): the four small models (0.011B, 0.079B, 0.154B, 0.411B) at M = 20
  and 0.011B at M = 320, on one loss evaluation set (C4 eval by default);
* error law Err(L): those five runs plus 1.4B at M = 20, each run's loss paired with
  its downstream error (17-task mean, 46-task mean or one task);
* targets: 1.4B at the training set's over-trained M and 6.9B at M = 20.

A downstream prediction chains the laws: the predicted loss of a target goes into
the error law.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import DATASET_LABELS, DATASETS, DEFAULT_EVAL, EVAL_SETS, load_testbed
from .fit import FitResult, FitWarning, fit_error, fit_overtraining
from .laws import ErrorLaw, OvertrainingLaw

__all__ = [
    "SMALL_MODELS",
    "OVERTRAINED_M",
    "Run",
    "Config",
    "default_config",
    "Prediction",
    "fit_config",
    "predict_targets",
    "reproduce",
    "headline_table",
]

SMALL_MODELS: tuple[str, ...] = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8", "d=1024_l=24_h=8")
#: The M of each training set's over-trained 1.4B run.
OVERTRAINED_M: dict[str, float] = {"c4_original": 80.0, "rpj": 640.0, "rw_original": 320.0}


@dataclass(frozen=True)
class Run:
    """One run of the testbed, by model name and token multiplier."""

    model: str
    M: float


@dataclass(frozen=True)
class Config:
    """Which runs fit which law, on which loss and which downstream target."""

    dataset: str
    loss_runs: tuple[Run, ...]
    error_runs: tuple[Run, ...]
    targets: tuple[Run, ...]
    eval_set: str = DEFAULT_EVAL
    downstream: str = "avg_subset"

    @property
    def loss_col(self) -> str:
        return f"loss_{self.eval_set}"

    @property
    def err_col(self) -> str:
        return f"err_{self.downstream}"


def default_config(dataset: str, eval_set: str = DEFAULT_EVAL, downstream: str = "avg_subset") -> Config:
    """The paper's default configuration (Table 2) for one training set.

    Parameters
    ----------
    dataset
        ``"c4_original"``, ``"rpj"`` or ``"rw_original"``.
    eval_set
        One of the 8 loss evaluation sets (:data:`scalinglib.data.EVAL_SETS`).
    downstream
        ``"avg_subset"`` (17-task mean), ``"avg"`` (46-task mean) or a task name.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
    if eval_set not in EVAL_SETS:
        raise ValueError(f"unknown evaluation set {eval_set!r}; choose one of {EVAL_SETS}")
    loss_runs = tuple(Run(m, 20.0) for m in SMALL_MODELS) + (Run("d=96_l=8_h=4", 320.0),)
    return Config(
        dataset=dataset,
        loss_runs=loss_runs,
        error_runs=loss_runs + (Run("open_lm_1b", 20.0),),
        targets=(Run("open_lm_1b", OVERTRAINED_M[dataset]), Run("open_lm_7b", 20.0)),
        eval_set=eval_set,
        downstream=downstream,
    )


def select_runs(df: pd.DataFrame, dataset: str, runs: Sequence[Run]) -> pd.DataFrame:
    """Rows of ``df`` for the given runs of one training set, in the given order.

    Raises ``KeyError`` naming the run when one is absent from the table.
    """
    d = df[df["dataset"] == dataset]
    rows = []
    for run in runs:
        hit = d[(d["model"] == run.model) & np.isclose(d["M"], run.M)]
        if len(hit) != 1:
            raise KeyError(f"run {dataset}/{run.model}/M={run.M:g} not found in the testbed table")
        rows.append(hit.index[0])
    return df.loc[rows]


@dataclass(frozen=True)
class ConfigFit:
    """The two fits of a configuration."""

    config: Config
    loss_fit: FitResult[OvertrainingLaw]
    error_fit: FitResult[ErrorLaw]
    loss_compute: float  # total training FLOPs of the loss-fit runs
    error_compute: float  # total training FLOPs of the error-fit runs

    @property
    def loss_law(self) -> OvertrainingLaw:
        return self.loss_fit.law

    @property
    def error_law(self) -> ErrorLaw:
        return self.error_fit.law


def fit_config(df: pd.DataFrame, config: Config) -> ConfigFit:
    """Fit the loss law and the error law of a configuration on a testbed table."""
    lr = select_runs(df, config.dataset, config.loss_runs)
    er = select_runs(df, config.dataset, config.error_runs)
    if config.err_col not in df:
        raise KeyError(f"downstream target {config.downstream!r} has no column {config.err_col!r}")
    loss_fit = fit_overtraining(lr["C"].to_numpy(), lr["M"].to_numpy(), lr[config.loss_col].to_numpy())
    error_fit = fit_error(er[config.loss_col].to_numpy(), er[config.err_col].to_numpy())
    return ConfigFit(config, loss_fit, error_fit, float(lr["C"].sum()), float(er["C"].sum()))


@dataclass(frozen=True)
class Prediction:
    """A chained prediction for one target run."""

    dataset: str
    downstream: str
    model: str
    N: float
    M: float
    C: float
    loss_observed: float
    loss_predicted: float
    err_observed: float
    err_predicted: float
    compute_ratio_loss: float
    compute_ratio_err: float

    @property
    def loss_rel_error(self) -> float:
        return abs(self.loss_predicted - self.loss_observed) / self.loss_observed

    @property
    def err_rel_error(self) -> float:
        return abs(self.err_predicted - self.err_observed) / self.err_observed

    @property
    def err_outside_unit(self) -> bool:
        """True when the predicted error is not a possible error (outside [0, 1]); also warned."""
        return not 0.0 <= self.err_predicted <= 1.0

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["loss_rel_error"] = self.loss_rel_error
        out["err_rel_error"] = self.err_rel_error
        return out


def predict_targets(df: pd.DataFrame, fitted: ConfigFit, targets: Sequence[Run] | None = None) -> list[Prediction]:
    """Predict target runs: loss from L(C, M), error from Err(predicted loss).

    ``compute_ratio_loss`` is the target's compute over the total compute of the
    loss-fit runs (the paper's "300x less compute"); ``compute_ratio_err`` the same
    for the error-fit runs.
    """
    cfg = fitted.config
    rows = select_runs(df, cfg.dataset, targets or cfg.targets)
    loss_pred = fitted.loss_law.predict(rows["C"].to_numpy(), rows["M"].to_numpy())
    err_pred = fitted.error_law.predict(loss_pred)
    out = []
    for (_, r), lp, ep in zip(rows.iterrows(), loss_pred, err_pred):
        out.append(
            Prediction(
                dataset=cfg.dataset,
                downstream=cfg.downstream,
                model=r["model"],
                N=float(r["N"]),
                M=float(r["M"]),
                C=float(r["C"]),
                loss_observed=float(r[cfg.loss_col]),
                loss_predicted=float(lp),
                err_observed=float(r[cfg.err_col]),
                err_predicted=float(ep),
                compute_ratio_loss=float(r["C"]) / fitted.loss_compute,
                compute_ratio_err=float(r["C"]) / fitted.error_compute,
            )
        )
        if out[-1].err_outside_unit:
            warnings.warn(
                f"Err(L) predicts an error of {float(ep):.4g} for {r['model']} ({cfg.dataset}), outside [0, 1]",
                FitWarning,
                stacklevel=2,
            )
    return out


def reproduce(
    df: pd.DataFrame | None = None,
    datasets: Sequence[str] = DATASETS,
    downstreams: Sequence[str] = ("avg", "avg_subset"),
    eval_set: str = DEFAULT_EVAL,
) -> pd.DataFrame:
    """The headline table: every training set x downstream split x both targets.

    One row per prediction with the keys of :class:`Prediction` plus
    ``loss_rel_error`` and ``err_rel_error`` (fractions).
    """
    if df is None:
        df = load_testbed()
    rows: list[dict[str, object]] = []
    for ds in datasets:
        for down in downstreams:
            fitted = fit_config(df, default_config(ds, eval_set, down))
            rows.extend(p.as_dict() for p in predict_targets(df, fitted))
    return pd.DataFrame(rows)


def headline_table(df: pd.DataFrame | None = None, styled: bool = False):
    """The paper's Figure-1 numbers (RedPajama, C4 eval, 17-task split), formatted for display.

    One row per target (index ``target``); two-level columns: ``loss`` and
    ``17-task error`` (each ``observed``, ``predicted``, ``rel. error (%)``), and
    ``compute ratio`` (``loss law``, ``error law``: the target's training FLOPs over
    the total of the runs each law was fitted on). With ``styled=True`` a pandas
    ``Styler`` with one number format per column is returned instead, for notebooks.
    """
    t = reproduce(df, datasets=("rpj",), downstreams=("avg_subset",))
    from .data import MODEL_LABELS

    columns = {
        ("", "training set"): [DATASET_LABELS[d] for d in t["dataset"]],
        ("loss", "observed"): t["loss_observed"].round(4),
        ("loss", "predicted"): t["loss_predicted"].round(4),
        ("loss", "rel. error (%)"): (100 * t["loss_rel_error"]).round(2),
        ("17-task error", "observed"): t["err_observed"].round(4),
        ("17-task error", "predicted"): t["err_predicted"].round(4),
        ("17-task error", "rel. error (%)"): (100 * t["err_rel_error"]).round(2),
        ("compute ratio", "loss law"): t["compute_ratio_loss"].round(0),
        ("compute ratio", "error law"): t["compute_ratio_err"].round(0),
    }
    table = pd.DataFrame(columns)  # tuple keys: two-level columns
    table.index = pd.Index([f"{MODEL_LABELS[m]}, M = {M:g}" for m, M in zip(t["model"], t["M"])], name="target")
    if not styled:
        return table
    formats = {
        c: "{:.2f}" if "rel. error" in c[1] else "{:.0f}×" if c[0] == "compute ratio" else "{:.4f}"
        for c in columns
        if c[0]
    }
    return (
        table.style.format(formats)
        .set_properties(**{"white-space": "nowrap"})
        .set_table_styles([{"selector": "th.row_heading", "props": [("white-space", "nowrap")]}])
        .hide(axis="index", names=True)
    )
