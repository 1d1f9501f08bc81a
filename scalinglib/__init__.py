"""scalinglib: the scaling laws of Gadre et al. (2024), fitted exactly and fast.

Modules, each owning one idea:

- :mod:`~scalinglib.catalog`: the testbed's names (no pandas needed);
- :mod:`~scalinglib.data`: the testbed, the external Chinchilla runs and two other labs'
  released runs (Sardana et al.; the OLMo ladder), hash-verified;
- :mod:`~scalinglib.laws`: the laws as immutable objects;
- :mod:`~scalinglib.fit`: exact fits (variable projection) and the Huber-log objective;
- :mod:`~scalinglib.paper`: the paper's configurations and headline predictions;
- :mod:`~scalinglib.overtraining`: per-M compute laws and testbed summaries (chapters 1-4);
- :mod:`~scalinglib.evaluation`: prediction errors across runs, tasks, evaluation sets
  and fitting budgets (chapters 5-8);
- :mod:`~scalinglib.uncertainty`: bootstrap intervals, propagated through both laws;
- :mod:`~scalinglib.chinchilla`: the Chinchilla runs and published parameter sets judged on them;
- :mod:`~scalinglib.backtest`: calibration and law comparison across the testbed;
- :mod:`~scalinglib.forecast`: predictions of new runs from saved fits, with intervals and extrapolation reports;
- :mod:`~scalinglib.planning`: compute-optimal and inference-aware plans;
- :mod:`~scalinglib.otherlabs`: the paper's recipe applied to the other labs' runs;
- :mod:`~scalinglib.recipe`: the runs that predict a target and the runs that choose N and D;
- :mod:`~scalinglib.userdata`: a user's own runs from a CSV;
- :mod:`~scalinglib.plotting`: the book's figure style;
- :mod:`~scalinglib.transcript`: the command line as a chapter shows it (typed, run, output);
- :mod:`~scalinglib.cli`: the ``scalinglib`` command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__  # a constant: imports nothing

# The public names are imported on first use (PEP 562), so that `import scalinglib`
# and the command line start without pandas and scipy. Name -> defining submodule.
_LAZY: dict[str, str] = {
    "DataError": "data",
    "load_hyperparameter_search": "data",
    "load_ladder": "data",
    "load_sardana": "data",
    "load_task_metadata": "data",
    "load_testbed": "data",
    "long_form": "data",
    "FitError": "fit",
    "FitResult": "fit",
    "FitWarning": "fit",
    "fit_chinchilla": "fit",
    "fit_compute": "fit",
    "fit_error": "fit",
    "fit_sigmoid": "fit",
    "fit_law": "fit",
    "fit_overtraining": "fit",
    "refine_huber_log": "fit",
    "load_fit": "fit",
    "SavedFit": "fit",
    "SavedFitError": "fit",
    "forecast": "forecast",
    "ChinchillaLaw": "laws",
    "ComputeLaw": "laws",
    "ErrorLaw": "laws",
    "SigmoidLaw": "laws",
    "OvertrainingLaw": "laws",
    "default_config": "paper",
    "fit_config": "paper",
    "headline_table": "paper",
    "predict_targets": "paper",
    "reproduce": "paper",
    "PlanError": "planning",
    "compute_optimal": "planning",
    "plan_for_error": "planning",
    "plan_for_loss": "planning",
    "choose_config": "recipe",
    "predict_config": "recipe",
    "bootstrap": "uncertainty",
    "bootstrap_config": "uncertainty",
    "UserDataError": "userdata",
    "load_runs": "userdata",
    "read_runs": "userdata",
}

#: Submodules reachable as attributes (``scalinglib.fit``), as when they were imported eagerly.
_SUBMODULES = frozenset(
    {
        "backtest",
        "catalog",
        "chinchilla",
        "cli",
        "data",
        "evaluation",
        "figures",
        "fit",
        "forecast",
        "laws",
        "otherlabs",
        "overtraining",
        "paper",
        "planning",
        "plotting",
        "recipe",
        "uncertainty",
        "userdata",
    }
)

if TYPE_CHECKING:  # for type checkers and IDEs: the eager imports
    from .data import (
        DataError,
        load_hyperparameter_search,
        load_ladder,
        load_sardana,
        load_task_metadata,
        load_testbed,
        long_form,
    )
    from .fit import (
        FitError,
        FitResult,
        FitWarning,
        SavedFit,
        SavedFitError,
        fit_chinchilla,
        fit_compute,
        fit_error,
        fit_law,
        fit_overtraining,
        fit_sigmoid,
        load_fit,
        refine_huber_log,
    )
    from .forecast import forecast
    from .laws import ChinchillaLaw, ComputeLaw, ErrorLaw, OvertrainingLaw, SigmoidLaw
    from .paper import default_config, fit_config, headline_table, predict_targets, reproduce
    from .planning import PlanError, compute_optimal, plan_for_error, plan_for_loss
    from .recipe import choose_config, predict_config
    from .uncertainty import bootstrap, bootstrap_config
    from .userdata import UserDataError, load_runs, read_runs


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    "__version__",
    "DataError",
    "FitError",
    "FitResult",
    "FitWarning",
    "ChinchillaLaw",
    "ComputeLaw",
    "ErrorLaw",
    "SigmoidLaw",
    "OvertrainingLaw",
    "load_testbed",
    "load_task_metadata",
    "load_hyperparameter_search",
    "long_form",
    "load_sardana",
    "load_ladder",
    "fit_overtraining",
    "fit_chinchilla",
    "fit_compute",
    "fit_error",
    "fit_sigmoid",
    "fit_law",
    "refine_huber_log",
    "load_fit",
    "SavedFit",
    "SavedFitError",
    "forecast",
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
