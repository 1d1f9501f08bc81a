"""scalinglib: the scaling laws of Gadre et al. (2024), fitted exactly and fast.

Modules: :mod:`~scalinglib.data` (the testbed), :mod:`~scalinglib.laws` (the laws),
:mod:`~scalinglib.fit` (exact fits), :mod:`~scalinglib.paper` (the paper's
configurations and predictions), :mod:`~scalinglib.plotting` (the book's style).
"""

from .data import DataError, load_hyperparameter_search, load_task_metadata, load_testbed, long_form
from .fit import FitError, FitResult, FitWarning, fit_chinchilla, fit_compute, fit_error, fit_law, fit_overtraining
from .laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw
from .paper import default_config, fit_config, headline_table, predict_targets, reproduce

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
    "default_config",
    "fit_config",
    "predict_targets",
    "reproduce",
    "headline_table",
]
