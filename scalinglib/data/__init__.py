"""Load the over-training testbed of Gadre et al. (2024) into tidy pandas tables.

Also two other labs' released runs, under the same rules (:func:`load_sardana`,
:func:`load_ladder`; environment variables ``SCALINGLIB_SARDANA`` and
``SCALINGLIB_LADDER``, URL overrides ``SCALINGLIB_SARDANA_URL`` and
``SCALINGLIB_LADDER_URL``).

Where the files come from, in order of precedence:

1. the ``path`` argument of a loader;
2. the environment variable ``SCALINGLIB_DATA`` (a directory laid out like the
   released ``exp_data/`` folder);
3. a download from the pinned upstream commit into a cache (pooch's default cache
   directory; ``SCALINGLIB_CACHE`` overrides it, ``SCALINGLIB_DATA_URL`` the base URL).
   Every downloaded file is checked against the sha256 registry shipped with the
   package (a mismatch raises :class:`DataError`) before it is renamed into place, under
   a lock, so concurrent first loads into one cache are safe.

A local directory is checked as strictly as a download: a missing, extra or corrupt
file raises :class:`DataError` naming it. Nothing is skipped silently.

One module per source (:mod:`.testbed`, :mod:`.external` for the Chinchilla points,
:mod:`.sardana`, :mod:`.ladder`) on top of one fetch-verify-cache module
(:mod:`.fetch`); this package re-exports their public names.
"""

from __future__ import annotations

# The testbed's names live in ..catalog (no pandas needed); re-exported here. Names not in
# __all__ (DATASET_LABELS, N_TASKS, LADDER_URL, verify_directory, _registry, ...) were
# importable from the old data.py and stay importable.
from ..catalog import (  # noqa: F401
    DATASET_LABELS,
    DATASETS,
    DEFAULT_EVAL,
    EVAL_SETS,
    MODEL_LABELS,
    N_TASKS,
    SUBSET_TASKS,
)
from .external import EXTERNAL_COMMIT, EXTERNAL_URL, load_chinchilla_runs
from .fetch import DataError, _download, _registry  # noqa: F401
from .ladder import (  # noqa: F401
    LADDER_BPB,
    LADDER_CHANCE,
    LADDER_COMMIT,
    LADDER_LOSS,
    LADDER_MMLU_WEIGHTS,
    LADDER_PARAMS,
    LADDER_TARGETS,
    LADDER_TASKS,
    LADDER_URL,
    ladder_dir,
    load_ladder,
)
from .sardana import GAUNTLET_CATEGORIES, SARDANA_COMMIT, SARDANA_URL, load_sardana, sardana_dir  # noqa: F401
from .testbed import (  # noqa: F401
    TESTBED_COMMIT,
    TESTBED_URL,
    load_hyperparameter_search,
    load_task_metadata,
    load_testbed,
    long_form,
    task_columns,
    testbed_dir,
    verify_directory,
)

__all__ = [
    "DataError",
    "TESTBED_COMMIT",
    "TESTBED_URL",
    "EXTERNAL_COMMIT",
    "EXTERNAL_URL",
    "DATASETS",
    "EVAL_SETS",
    "DEFAULT_EVAL",
    "SUBSET_TASKS",
    "MODEL_LABELS",
    "testbed_dir",
    "load_testbed",
    "load_task_metadata",
    "load_hyperparameter_search",
    "load_chinchilla_runs",
    "SARDANA_COMMIT",
    "LADDER_COMMIT",
    "LADDER_PARAMS",
    "LADDER_BPB",
    "LADDER_CHANCE",
    "LADDER_MMLU_WEIGHTS",
    "LADDER_TASKS",
    "LADDER_TARGETS",
    "GAUNTLET_CATEGORIES",
    "sardana_dir",
    "ladder_dir",
    "load_sardana",
    "load_ladder",
    "long_form",
    "task_columns",
]
