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
"""

from __future__ import annotations

import csv
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

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

TESTBED_COMMIT = "a003c4913793ac2ae7ef87b28ecb562955d026d5"
TESTBED_URL = f"https://raw.githubusercontent.com/mlfoundations/scaling/{TESTBED_COMMIT}/exp_data/"
EXTERNAL_COMMIT = "92258837425e1b5f2851d624287f0120583a3d0e"
EXTERNAL_URL = (
    f"https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/{EXTERNAL_COMMIT}/"
)

# The testbed's names live in .catalog (no pandas needed); re-exported here.
from .catalog import (  # noqa: E402
    DATASET_LABELS,
    DATASETS,
    DEFAULT_EVAL,
    EVAL_SETS,
    MODEL_LABELS,
    N_TASKS,
    SUBSET_TASKS,
)


class DataError(ValueError):
    """Missing, extra, corrupt or malformed data; the message names the file or field."""


# ----------------------------------------------------------------------------- sources


def _registry(name: str) -> dict[str, str]:
    text = resources.files("scalinglib").joinpath("registry", name).read_text()
    out = {}
    for line in text.splitlines():
        if line.strip():
            path, digest = line.split()
            out[path] = digest
    return out


def _cache_dir(kind: str) -> Path:
    import pooch

    base = os.environ.get("SCALINGLIB_CACHE")
    root = Path(base) if base else Path(pooch.os_cache("scalinglib"))
    return root / kind


def _sha256(file: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _fetch_one(url: str, name: str, digest: str, final: Path, partial_dir: Path, attempts: int = 3) -> None:
    """Download ``url`` to a temporary file in ``partial_dir``, check its sha256, rename it to ``final``.

    The rename is atomic (same file system), so ``final`` is either absent or complete and
    verified; a download cut off midway leaves at most a temporary file outside the data
    directory, removed here or by the next download.
    """
    import tempfile

    import pooch

    download = pooch.HTTPDownloader(progressbar=False)
    last: Exception | None = None
    for _ in range(attempts):
        fd, tmp_name = tempfile.mkstemp(dir=partial_dir, prefix=final.name + ".", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            download(url, str(tmp), None)
            got = _sha256(tmp)
            if got != digest:
                raise DataError(
                    f"hash mismatch for downloaded file {name!r} from {url}: expected {digest}, got {got}"
                )
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            return
        except DataError:
            raise
        except Exception as exc:  # network errors, a connection closed mid-file: try again
            last = exc
        finally:
            tmp.unlink(missing_ok=True)
    raise DataError(f"could not download {name!r} from {url}: {last}")


def _download(kind: str, registry_name: str, default_url: str, url_env: str) -> Path:
    """Fetch every file of a registry, hash-verified, into the cache; return the local root.

    Safe for any number of processes and threads sharing one cache: a per-kind lock
    (``<cache>/<kind>.lock``) serialises the fetching, each file is downloaded into
    ``<cache>/<kind>.partial/`` and renamed into place only once its sha256 matches, so
    the data directory never holds a partial file or anything else not in the registry.
    """
    from filelock import FileLock

    base_url = os.environ.get(url_env, default_url)
    if not base_url.endswith("/"):
        base_url += "/"
    root = _cache_dir(kind)
    root.parent.mkdir(parents=True, exist_ok=True)
    partial_dir = root.parent / f"{kind}.partial"
    with FileLock(str(root.parent / f"{kind}.lock")):
        partial_dir.mkdir(exist_ok=True)
        for stale in partial_dir.iterdir():  # left by a download that was killed
            stale.unlink(missing_ok=True)
        for name, digest in _registry(registry_name).items():
            final = root / name
            if final.is_file() and _sha256(final) == digest:
                continue
            _fetch_one(base_url + name, name, digest, final, partial_dir)
    return root


def testbed_dir(path: str | os.PathLike | None = None) -> Path:
    """Return the directory holding the testbed's ``exp_data`` files.

    Parameters
    ----------
    path
        A directory laid out like the released ``exp_data/``. If ``None``, the
        environment variable ``SCALINGLIB_DATA`` is used; if that is unset too, the
        files are downloaded (hash-verified) from the pinned upstream commit
        ``TESTBED_COMMIT`` into a cache, and the cache directory is returned.
    """
    if path is None:
        path = os.environ.get("SCALINGLIB_DATA") or None
    if path is None:
        return _download("testbed", "testbed.txt", TESTBED_URL, "SCALINGLIB_DATA_URL")
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"testbed directory {str(root)!r} does not exist (set SCALINGLIB_DATA or pass path=)")
    return root


def verify_directory(root: Path, check_hashes: bool = False) -> None:
    """Check that ``root`` holds exactly the released files (and, optionally, their hashes).

    Raises
    ------
    DataError
        Naming the first missing or unexpected file, or a file whose sha256 differs.
    """
    import hashlib

    registry = _registry("testbed.txt")
    for sub in ("models", "evals"):
        if not (root / sub).is_dir():
            raise DataError(f"missing directory {str(root / sub)!r} in the testbed")
        expected = {p for p in registry if p.startswith(sub + "/")}
        present = {f"{sub}/{f.name}" for f in (root / sub).iterdir() if f.is_file()}
        missing = sorted(expected - present)
        extra = sorted(present - expected)
        if missing:
            raise DataError(f"missing file {str(root / missing[0])!r} ({len(missing)} missing in all)")
        if extra:
            raise DataError(f"unexpected extra file {str(root / extra[0])!r} in the testbed directory")
    if check_hashes:
        for rel, digest in registry.items():
            file = root / rel
            if not file.is_file():
                raise DataError(f"missing file {str(file)!r}")
            got = "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()
            if got != digest:
                raise DataError(f"hash mismatch for {str(file)!r}: expected {digest}, got {got}")


# ----------------------------------------------------------------------------- parsing


def _read_json(file: Path) -> dict:
    if not file.is_file():
        raise DataError(f"missing file {str(file)!r}")
    try:
        return json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot parse JSON in {str(file)!r}: {exc}") from exc


def _field(obj: dict, keys: Iterable[str], file: Path, prefix: str = ""):
    cur = obj
    trail = [prefix] if prefix else []
    for key in keys:
        trail.append(key)
        if not isinstance(cur, dict) or key not in cur:
            raise DataError(f"missing field {'.'.join(trail)!r} in {str(file)!r}")
        cur = cur[key]
    return cur


def _number(value, name: str, file: Path, positive: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"field {name!r} in {str(file)!r} is not a number: {value!r}") from None
    if not np.isfinite(x) or (positive and x <= 0):
        raise DataError(f"field {name!r} in {str(file)!r} has invalid value {value!r}")
    return x


def _eval_name(val_path: str) -> str:
    p = Path(val_path)
    if "de-en" in val_path:
        return p.name.split(".")[0]
    return p.parent.name


def _parse_model(file: Path) -> dict:
    doc = _read_json(file)
    hp = _field(doc, ["hyperparameters"], file)
    dataset = _field(doc, ["dataset_name"], file)
    model = Path(str(_field(hp, ["model"], file, "hyperparameters"))).stem
    mult = _number(_field(hp, ["chinchilla_multiplier"], file, "hyperparameters"), "hyperparameters.chinchilla_multiplier", file, True)
    expected_stem = f"{dataset}-{model}-{mult}"
    if file.stem != expected_stem:
        raise DataError(f"file name {file.name!r} does not match its contents ({expected_stem}.json)")
    row: dict = {
        "dataset": dataset,
        "model": model,
        "params": _number(_field(hp, ["params"], file, "hyperparameters"), "hyperparameters.params", file, True),
        "params_no_embed": _number(
            _field(hp, ["params_no_embed"], file, "hyperparameters"), "hyperparameters.params_no_embed", file, True
        ),
        "D": _number(_field(hp, ["tokens"], file, "hyperparameters"), "hyperparameters.tokens", file, True),
        "multiplier": mult,
    }
    results = _field(doc, ["results"], file)
    if not isinstance(results, list):
        raise DataError(f"field 'results' in {str(file)!r} is not a list")
    seen = set()
    for i, res in enumerate(results):
        vd = _field(res, ["val_data"], file, f"results[{i}]")
        if not isinstance(vd, list) or not vd:
            raise DataError(f"field 'results[{i}].val_data' in {str(file)!r} is empty")
        name = _eval_name(str(vd[0]))
        if name not in EVAL_SETS:
            raise DataError(f"unknown evaluation set {name!r} in {str(file)!r}")
        if name in seen:
            raise DataError(f"evaluation set {name!r} appears twice in {str(file)!r}")
        seen.add(name)
        for key, col in (
            ("loss", f"loss_{name}"),
            ("loss_sequences_lower_95", f"loss_{name}_lower95"),
            ("loss_sequences_upper_95", f"loss_{name}_upper95"),
        ):
            row[col] = _number(_field(res, [key], file, f"results[{i}]"), f"results[{i}].{key}", file, True)
    missing = [e for e in EVAL_SETS if e not in seen]
    if missing:
        raise DataError(f"evaluation set {missing[0]!r} missing from 'results' in {str(file)!r}")
    return row


def _parse_eval(file: Path) -> dict[str, float]:
    doc = _read_json(file)
    icl = _field(doc, ["eval_metrics", "icl"], file)
    if not isinstance(icl, dict) or len(icl) != N_TASKS:
        raise DataError(f"'eval_metrics.icl' in {str(file)!r} should hold {N_TASKS} tasks, found {len(icl)}")
    out = {}
    for task, acc in icl.items():
        a = _number(acc, f"eval_metrics.icl.{task}", file)
        if not 0.0 <= a <= 1.0:
            raise DataError(f"accuracy of task {task!r} in {str(file)!r} is outside [0, 1]: {a}")
        out[task] = a
    return out


def load_testbed(
    path: str | os.PathLike | None = None,
    *,
    params: str = "params",
    check_hashes: bool = False,
) -> pd.DataFrame:
    """Load the 104 runs of the testbed as one tidy table, one row per model.

    Parameters
    ----------
    path
        Data directory (see :func:`testbed_dir`).
    params
        Which parameter count is ``N``: ``"params"`` (with embeddings, the paper's
        choice) or ``"params_no_embed"``. Both are kept as columns regardless.
    check_hashes
        Also verify every file against the shipped sha256 registry (downloads are
        always verified).

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset``, ``model``, ``size`` (readable label), ``N``, ``D``,
        ``M`` = 20 x chinchilla multiplier (checked against D / N), ``C`` = 6 N D,
        ``params``, ``params_no_embed``, ``loss_<evalset>`` and its 95% bounds
        ``loss_<evalset>_lower95``/``_upper95`` for the 8 evaluation sets,
        ``err_<task>`` = 1 - accuracy for the 46 tasks, ``err_avg`` (46-task mean)
        and ``err_avg_subset`` (17-task mean). ``df.attrs["N_definition"]`` records
        the choice of ``params``.
    """
    if params not in ("params", "params_no_embed"):
        raise ValueError(f"params must be 'params' or 'params_no_embed', got {params!r}")
    root = testbed_dir(path)
    verify_directory(root, check_hashes=check_hashes)
    rows = []
    tasks_ref: list[str] | None = None
    for file in sorted((root / "models").glob("*.json")):
        row = _parse_model(file)
        eval_file = root / "evals" / f"evaluation_{file.stem}_heavy.json"
        acc = _parse_eval(eval_file)
        if tasks_ref is None:
            tasks_ref = sorted(acc)
        elif sorted(acc) != tasks_ref:
            diff = sorted(set(acc) ^ set(tasks_ref))
            raise DataError(f"task set of {str(eval_file)!r} differs from the others: {diff}")
        for task in tasks_ref:
            row[f"err_{task}"] = 1.0 - acc[task]
        rows.append(row)
    df = pd.DataFrame(rows)
    missing_subset = [t for t in SUBSET_TASKS if f"err_{t}" not in df]
    if missing_subset:
        raise DataError(f"17-task split task {missing_subset[0]!r} not found in the evaluation files")
    err_cols = [f"err_{t}" for t in tasks_ref or []]
    df["err_avg"] = df[err_cols].mean(axis=1)
    df["err_avg_subset"] = df[[f"err_{t}" for t in SUBSET_TASKS]].mean(axis=1)
    df["N"] = df[params]
    df["M"] = 20.0 * df["multiplier"]
    ratio = df["D"] / df["params"]
    bad = ~np.isclose(ratio, df["M"], rtol=1e-3)
    if bad.any():
        r = df[bad].iloc[0]
        raise DataError(f"D / N = {ratio[bad].iloc[0]:.4g} does not match M = {r.M} for {r.dataset}-{r.model}")
    df["C"] = 6.0 * df["N"] * df["D"]
    df["size"] = df["model"].map(MODEL_LABELS).fillna(df["model"])
    front = ["dataset", "model", "size", "N", "D", "M", "C", "params", "params_no_embed", "multiplier"]
    loss_cols = [c for e in EVAL_SETS for c in (f"loss_{e}", f"loss_{e}_lower95", f"loss_{e}_upper95")]
    df = df[front + loss_cols + err_cols + ["err_avg", "err_avg_subset"]]
    df = df.sort_values(["dataset", "params", "M"], kind="stable").reset_index(drop=True)
    df.attrs["N_definition"] = params
    return df


def task_columns(df: pd.DataFrame) -> list[str]:
    """Names of the 46 per-task error columns of a testbed table (without the prefix)."""
    return [c[4:] for c in df.columns if c.startswith("err_") and c not in ("err_avg", "err_avg_subset")]


def load_task_metadata(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Per-task metadata from ``eval_metadata.csv``.

    Returns one row per task with columns ``task``, ``category``, ``type``, ``shots``,
    ``size``, ``random_baseline`` (accuracy, as a fraction), ``chance_error``
    (1 - random_baseline), ``in_subset`` (member of the 17-task split), and
    ``description``.
    """
    root = testbed_dir(path)
    file = root / "eval_metadata.csv"
    if not file.is_file():
        raise DataError(f"missing file {str(file)!r}")
    with file.open(newline="") as fh:
        reader = csv.DictReader(fh)
        need = ["Eval Task", "Task Category", "Task Type", "#shots", "#datapoints", "Random baseline"]
        for col in need:
            if col not in (reader.fieldnames or []):
                raise DataError(f"column {col!r} missing from {str(file)!r}")
        rows = []
        for i, rec in enumerate(reader, start=2):
            try:
                rows.append(
                    {
                        "task": rec["Eval Task"],
                        "category": rec["Task Category"],
                        "type": rec["Task Type"],
                        "shots": int(rec["#shots"]),
                        "size": int(rec["#datapoints"]),
                        "random_baseline": float(rec["Random baseline"]) / 100.0,
                        "description": rec.get("Description", ""),
                    }
                )
            except (TypeError, ValueError) as exc:
                raise DataError(f"bad value on line {i} of {str(file)!r}: {exc}") from exc
    meta = pd.DataFrame(rows)
    meta["chance_error"] = 1.0 - meta["random_baseline"]
    meta["in_subset"] = meta["task"].isin(SUBSET_TASKS)
    return meta


def load_hyperparameter_search(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The small-model hyperparameter search from ``grid.json``.

    Each run name encodes ``<model>-<batch>-<lr>-<wd>-<batch>-<tokens>-<warmup>-<cooldown>``
    (the batch size appears twice); the table has the parsed fields (``model``,
    ``global_bs``, ``lr``, ``wd``, ``tokens``, ``warmup``, ``cd``), the raw ``run``
    name and the final ``loss``.
    """
    import re

    root = testbed_dir(path)
    file = root / "grid.json"
    doc = _read_json(file)
    pattern = re.compile(
        r"^(?P<model>.+?)-(?P<global_bs>\d+)-(?P<lr>[0-9.e+-]+?)-(?P<wd>[0-9.e+-]+?)-(?P<bs2>\d+)"
        r"-(?P<tokens>\d+)-(?P<warmup>\d+)-(?P<cd>[0-9.e+-]+)$"
    )
    rows = []
    for run, loss in doc.items():
        m = pattern.match(run)
        if m is None:
            raise DataError(f"cannot parse run name {run!r} in {str(file)!r}")
        if m["global_bs"] != m["bs2"]:
            raise DataError(f"run name {run!r} in {str(file)!r} has two different batch sizes")
        rows.append(
            {
                "run": run,
                "model": m["model"],
                "global_bs": int(m["global_bs"]),
                "lr": float(m["lr"]),
                "wd": float(m["wd"]),
                "tokens": float(m["tokens"]),
                "warmup": int(m["warmup"]),
                "cd": float(m["cd"]),
                "loss": _number(loss, run, file, positive=True),
            }
        )
    return pd.DataFrame(rows)


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
        file = _download("external", "external.txt", EXTERNAL_URL, "SCALINGLIB_EXTERNAL_URL") / "data" / "svg_extracted_data.csv"
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


def long_form(df: pd.DataFrame, kind: str = "loss") -> pd.DataFrame:
    """Melt a testbed table into long form for seaborn.

    ``kind="loss"`` gives one row per (run, evaluation set) with ``eval_set`` and
    ``loss``; ``kind="err"`` one row per (run, task) with ``task`` and ``err``.
    """
    ids = ["dataset", "model", "size", "N", "D", "M", "C"]
    if kind == "loss":
        cols = [f"loss_{e}" for e in EVAL_SETS]
        out = df.melt(id_vars=ids, value_vars=cols, var_name="eval_set", value_name="loss")
        out["eval_set"] = out["eval_set"].str[5:]
    elif kind == "err":
        cols = [f"err_{t}" for t in task_columns(df)]
        out = df.melt(id_vars=ids, value_vars=cols, var_name="task", value_name="err")
        out["task"] = out["task"].str[4:]
    else:
        raise ValueError(f"kind must be 'loss' or 'err', got {kind!r}")
    return out


# ----------------------------------------------------------------------------- other labs
#
# Two released sets of runs from other labs, loaded with the same rules as the testbed:
# a local folder (argument, then environment variable), else a hash-verified download
# from the pinned upstream commit. Every data file is checked against the shipped sha256
# registry, so a missing, extra, corrupt or tampered file is refused, by name.

SARDANA_COMMIT = "190f70e365dc75037a2b3178609d00243f24b4b9"
SARDANA_URL = f"https://raw.githubusercontent.com/nikhilsardana/beyond-chinchilla/{SARDANA_COMMIT}/"
LADDER_COMMIT = "67a3f440f787d020da35e3ca8eeae475fae754f5"
LADDER_URL = (
    f"https://raw.githubusercontent.com/allenai/OLMo-ladder/{LADDER_COMMIT}/src/scripts/paper/data/ladder-runs/"
)

#: Parameter counts N of the OLMo ladder and its two targets. They are not in the CSVs;
#: these are ``MODEL_PARAMS`` of ``src/ladder/ladder.py`` in allenai/OLMo-ladder at the
#: pinned commit ``LADDER_COMMIT`` (Bhagia et al., 2024).
LADDER_PARAMS: dict[str, int] = {
    "190M": 190_354_176,
    "370M": 371_262_464,
    "760M": 758_220_288,
    "1B": 1_279_395_840,
    "3B": 3_169_537_280,
    "7B": 6_887_575_552,
    "13B": 13_202_396_160,
}

#: The final evaluation of each ladder target: (file, how the row is chosen). The upstream
#: paper configuration (``src/scripts/paper/configs/final.json``) evaluates "7B-4T" on
#: ``peteish7_eval_anneal.csv`` and "13B-5T" on ``peteish13_eval_final.csv``.
LADDER_TARGETS: dict[str, str] = {"7B": "peteish7_eval_anneal.csv", "13B": "peteish13_eval_final.csv"}

#: Downstream tasks of the ladder, as (label, accuracy column(s) averaged into it). MMLU is
#: the unweighted mean of its four test-set categories; otherwise the test split where the
#: files have one, else validation (the splits the ladder paper reports).
LADDER_TASKS: dict[str, tuple[str, ...]] = {
    "mmlu": tuple(
        f"eval/downstream/mmlu_{c}_test_rc_5shot_len_norm" for c in ("stem", "humanities", "social_sciences", "other")
    ),
    "hellaswag": ("eval/downstream/hellaswag_val_rc_5shot_len_norm",),
    "arc_easy": ("eval/downstream/arc_easy_test_rc_5shot_len_norm",),
    "arc_challenge": ("eval/downstream/arc_challenge_test_rc_5shot_len_norm",),
    "boolq": ("eval/downstream/boolq_val_rc_5shot_acc",),
    "csqa": ("eval/downstream/csqa_val_rc_5shot_len_norm",),
    "openbookqa": ("eval/downstream/openbookqa_test_rc_5shot_len_norm",),
    "piqa": ("eval/downstream/piqa_val_rc_5shot_len_norm",),
    "socialiqa": ("eval/downstream/socialiqa_val_rc_5shot_len_norm",),
    "winogrande": ("eval/downstream/winogrande_val_rc_5shot_len_norm",),
}
LADDER_LOSS = "eval/c4_en-validation/CrossEntropyLoss"

#: Eval Gauntlet categories of the Sardana et al. runs (scores rescaled so chance is 0).
GAUNTLET_CATEGORIES: tuple[str, ...] = (
    "world_knowledge",
    "reading_comprehension",
    "language_understanding",
    "commonsense_reasoning",
    "symbolic_problem_solving",
    "core_average",
)


def _sha256(file: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()


def _verified_csv_dir(root: Path, registry_name: str, what: str) -> Path:
    """Check that ``root`` holds exactly the registry's CSV files, each with its sha256.

    Only ``*.csv`` files count as data: documentation beside them (``SOURCE.md``,
    ``LICENSE.txt``) is allowed. Raises :class:`DataError` naming the first missing,
    extra or altered file.
    """
    if not root.is_dir():
        raise DataError(f"{what} directory {str(root)!r} does not exist")
    registry = _registry(registry_name)
    present = {f.name for f in root.iterdir() if f.is_file() and f.suffix.lower() == ".csv"}
    missing = sorted(set(registry) - present)
    extra = sorted(present - set(registry))
    if missing:
        raise DataError(f"missing file {str(root / missing[0])!r} in the {what} directory ({len(missing)} missing in all)")
    if extra:
        raise DataError(f"unexpected extra file {str(root / extra[0])!r} in the {what} directory")
    for name, digest in registry.items():
        got = _sha256(root / name)
        if got != digest:
            raise DataError(
                f"hash mismatch for {str(root / name)!r}: expected {digest}, got {got} "
                f"(the file differs from the release at the pinned commit)"
            )
    return root


def _lab_dir(path, env: str, kind: str, registry_name: str, url: str, url_env: str, what: str) -> Path:
    if path is None:
        path = os.environ.get(env) or None
    if path is None:
        root = _download(kind, registry_name, url, url_env)
    else:
        root = Path(path)
    return _verified_csv_dir(root, registry_name, what)


def sardana_dir(path: str | os.PathLike | None = None) -> Path:
    """Directory holding ``trainingresults.csv`` of Sardana et al. (2024), verified.

    ``path``, else ``SCALINGLIB_SARDANA``, else a hash-verified download from the pinned
    commit ``SARDANA_COMMIT`` (``SCALINGLIB_SARDANA_URL`` overrides the base URL).
    """
    return _lab_dir(path, "SCALINGLIB_SARDANA", "sardana", "sardana.txt", SARDANA_URL, "SCALINGLIB_SARDANA_URL", "Sardana")


def ladder_dir(path: str | os.PathLike | None = None) -> Path:
    """Directory holding the 41 ``ladder-runs`` CSV files of Bhagia et al. (2024), verified.

    ``path``, else ``SCALINGLIB_LADDER``, else a hash-verified download from the pinned
    commit ``LADDER_COMMIT`` (``SCALINGLIB_LADDER_URL`` overrides the base URL).
    """
    return _lab_dir(path, "SCALINGLIB_LADDER", "ladder", "ladder.txt", LADDER_URL, "SCALINGLIB_LADDER_URL", "OLMo ladder")


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
            raise DataError(f"column {col!r} of {str(file)!r} has a non-numeric value on data row {int(np.flatnonzero(bad)[0]) + 1}")


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
    _need(raw, ["Parameters", "Tokens/Params", "Tokens", "Batch Size", "Smoothed Loss", *gcols, "mmlu_5_shot_avg"], file)
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
        raise DataError(f"Tokens / Parameters = {out['M'][i]:g} differs from Tokens/Params on data row {i + 1} of {str(file)!r}")
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


_LADDER_RUN = re.compile(r"^(?P<size>190M|370M|760M|1B|3B)-(?P<mult>[0-9.]+)xC(?P<rerun>-rerun)?\.csv$")


def _ladder_row(raw: pd.DataFrame, file: Path, row: int) -> dict:
    """Loss and accuracies of one checkpoint (row index ``row`` of ``raw``)."""
    cols = [LADDER_LOSS, *[c for cs in LADDER_TASKS.values() for c in cs]]
    _need(raw.iloc[[row]], cols, file)
    r = raw.iloc[row]
    out = {"loss": float(r[LADDER_LOSS])}
    for task, cs in LADDER_TASKS.items():
        accs = [float(r[c]) for c in cs]
        for c, a in zip(cs, accs):
            if not 0.0 <= a <= 1.0:
                raise DataError(f"accuracy {c!r} of {str(file)!r} is outside [0, 1] on data row {row + 1}: {a}")
        out[f"acc_{task}"] = float(np.mean(accs))
    return out


def load_ladder(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The OLMo model ladder of Bhagia et al. (2024) and its two targets, one row per run.

    Parameters
    ----------
    path
        Directory holding the 41 files of ``ladder-runs/`` (see :func:`ladder_dir`).

    Returns
    -------
    pandas.DataFrame
        One row per run's final model (wide form): 30 ladder runs (five sizes x five
        multiples, plus one rerun at 1x per size) and the targets OLMo 2 7B and 13B.
        Columns: ``dataset`` (``"ladder"``), ``run`` (file stem, or ``peteish7`` /
        ``peteish13``), ``model`` (size label), ``multiple`` (x Chinchilla: 0.5 to 10;
        NaN for the targets), ``replicate`` (0 for the original run, 1 for the rerun),
        ``target`` (True for 7B and 13B), ``step``, ``N`` (from :data:`LADDER_PARAMS`),
        ``D`` (tokens), ``M`` = D / N, ``C`` = 6 N D, ``loss`` = C4 validation loss
        (also ``loss_c4``), ``acc_<task>`` raw accuracy of the ten tasks of
        :data:`LADDER_TASKS` (chance differs by task: 0.25 for four-choice tasks, 0.5 for
        BoolQ, PIQA and Winogrande, 0.2 for CSQA, 1/3 for SocialIQA), ``acc_avg`` (mean of
        the ten) and ``err_avg`` = 1 - ``acc_avg``.

    Notes
    -----
    Which checkpoint is "final":

    * ladder runs: the **last row** of the file. Each ladder run decays its learning rate
      to the end of its own schedule (the last row's ``optim/learning_rate_group0`` is a
      tenth of ``learning_rate_peak`` in every file), so the last checkpoint is the
      finished model; earlier rows are mid-schedule and would over-state the loss of a
      run of that length. ``D`` is ``throughput/total_tokens`` of that row, checked
      against ``_step`` x ``batch_size_in_tokens``.
    * 7B: the one row of ``peteish7_eval_anneal.csv``, OLMo 2 7B after its final
      learning-rate anneal ("7B-4T" in the upstream paper configuration); ``D`` is its
      ``throughput/total_tokens``, 3.95e12.
    * 13B: the last row of ``peteish13_eval_final.csv`` (step 596,057, the end of
      pre-training; "13B-5T" upstream); the file has no token counter, so ``D`` =
      ``_step`` x ``batch_size_in_tokens`` = 5.0e12, the ``-d`` of the upstream
      prediction command.

    The other nine ``peteish*`` files are verified but not tabulated: they are
    intermediate checkpoints of the same 7B and 13B runs (``_full``, step windows) and of
    a 7B variant with a higher peak learning rate (``medlr``) that was not released.
    """
    root = ladder_dir(path)
    rows = []
    for name in sorted(_registry("ladder.txt")):
        m = _LADDER_RUN.match(name)
        if m is None:
            continue
        file = root / name
        raw = _read_csv(file)
        _need(raw, ["_step", "throughput/total_tokens", "batch_size_in_tokens", "optim/learning_rate_group0", "learning_rate_peak"], file)
        if not raw["_step"].is_monotonic_increasing:
            raise DataError(f"checkpoints of {str(file)!r} are not in step order")
        last = len(raw) - 1
        r = raw.iloc[last]
        D = float(r["throughput/total_tokens"])
        if not np.isclose(D, float(r["_step"]) * float(r["batch_size_in_tokens"]), rtol=1e-6):
            raise DataError(f"throughput/total_tokens differs from _step x batch_size_in_tokens in the last row of {str(file)!r}")
        size = m["size"]
        row = {
            "dataset": "ladder",
            "run": file.stem,
            "model": size,
            "multiple": float(m["mult"]),
            "replicate": int(m["rerun"] is not None),
            "target": False,
            "step": float(r["_step"]),
            "N": float(LADDER_PARAMS[size]),
            "D": D,
        }
        row.update(_ladder_row(raw, file, last))
        rows.append(row)
    for size, name in LADDER_TARGETS.items():
        file = root / name
        raw = _read_csv(file)
        last = len(raw) - 1
        if "throughput/total_tokens" in raw:
            _need(raw, ["throughput/total_tokens"], file)
            D = float(raw["throughput/total_tokens"].iloc[last])
            step = float(raw["_step"].iloc[last]) if "_step" in raw else float("nan")
        else:
            _need(raw, ["_step", "batch_size_in_tokens"], file)
            if not raw["_step"].is_monotonic_increasing:
                raise DataError(f"checkpoints of {str(file)!r} are not in step order")
            step = float(raw["_step"].iloc[last])
            D = step * float(raw["batch_size_in_tokens"].iloc[last])
        row = {
            "dataset": "ladder",
            "run": "peteish" + size[:-1],
            "model": size,
            "multiple": float("nan"),
            "replicate": 0,
            "target": True,
            "step": step,
            "N": float(LADDER_PARAMS[size]),
            "D": D,
        }
        row.update(_ladder_row(raw, file, last))
        rows.append(row)
    df = pd.DataFrame(rows)
    expected = len(LADDER_PARAMS) - 2
    n_ladder = int((~df["target"]).sum())
    if n_ladder != 6 * expected:
        raise DataError(f"expected {6 * expected} ladder runs in {str(root)!r}, found {n_ladder}")
    df["M"] = df["D"] / df["N"]
    df["C"] = 6.0 * df["N"] * df["D"]
    df["loss_c4"] = df["loss"]
    acc = [f"acc_{t}" for t in LADDER_TASKS]
    df["acc_avg"] = df[acc].mean(axis=1)
    df["err_avg"] = 1.0 - df["acc_avg"]
    order = {s: i for i, s in enumerate(LADDER_PARAMS)}
    df = df.assign(_o=df["model"].map(order)).sort_values(["_o", "multiple", "replicate"], kind="stable")
    front = ["dataset", "run", "model", "multiple", "replicate", "target", "step", "N", "D", "M", "C", "loss", "loss_c4"]
    return df[front + acc + ["acc_avg", "err_avg"]].reset_index(drop=True)
