"""scalinglib: the scaling laws of Gadre et al. (2024), fitted exactly and fast.

Modules, each owning one idea:

- :mod:`~scalinglib.data`: the testbed and the external Chinchilla runs, hash-verified;
- :mod:`~scalinglib.laws`: the laws as immutable objects;
- :mod:`~scalinglib.fit`: exact fits (variable projection) and the Huber-log objective;
- :mod:`~scalinglib.paper`: the paper's configurations and headline predictions;
- :mod:`~scalinglib.overtraining`: per-M compute laws and testbed summaries (chapters 1-4);
- :mod:`~scalinglib.evaluation`: prediction errors across runs, tasks, evaluation sets
  and fitting budgets (chapters 5-8);
- :mod:`~scalinglib.uncertainty`: bootstrap intervals, propagated through both laws;
- :mod:`~scalinglib.backtest`: calibration and law comparison across the testbed;
- :mod:`~scalinglib.planning`: compute-optimal and inference-aware plans;
- :mod:`~scalinglib.recipe`: the runs that predict a target and the runs that choose N and D;
- :mod:`~scalinglib.userdata`: a user's own runs from a CSV;
- :mod:`~scalinglib.plotting`: the book's figure style;
- :mod:`~scalinglib.cli`: the ``scalinglib`` command.
"""

from .data import DataError, load_hyperparameter_search, load_task_metadata, load_testbed, long_form
from .fit import (
    FitError,
    FitResult,
    FitWarning,
    fit_chinchilla,
    fit_compute,
    fit_error,
    fit_law,
    fit_overtraining,
    refine_huber_log,
)
from .laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw
from .paper import default_config, fit_config, headline_table, predict_targets, reproduce
from .planning import PlanError, compute_optimal, plan_for_error, plan_for_loss
from .recipe import choose_config, predict_config
from .uncertainty import bootstrap, bootstrap_config
from .userdata import UserDataError, load_runs, read_runs

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "FitError",
    "FitResult",
    "FitWarning",
    "ChinchillaLaw",
    "ComputeLaw",
    "ErrorLaw",
    "OvertrainingLaw",
    "load_testbed",
    "load_task_metadata",
    "load_hyperparameter_search",
    "long_form",
    "fit_overtraining",
    "fit_chinchilla",
    "fit_compute",
    "fit_error",
    "fit_law",
    "refine_huber_log",
    "default_config",
    "fit_config",
    "predict_targets",
    "reproduce",
    "headline_table",
    "PlanError",
    "compute_optimal",
    "plan_for_loss",
    "plan_for_error",
    "predict_config",
    "choose_config",
    "bootstrap",
    "bootstrap_config",
    "UserDataError",
    "load_runs",
    "read_runs",
]
