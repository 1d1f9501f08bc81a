"""The over-training testbed of Gadre et al. (2024): 104 runs as one tidy table.

Files come from, in order of precedence: the ``path`` argument of a loader; the
environment variable ``SCALINGLIB_DATA`` (a directory laid out like the released
``exp_data/`` folder); a hash-verified download from the pinned upstream commit
``TESTBED_COMMIT`` into the cache (``SCALINGLIB_DATA_URL`` overrides the base URL).
A local directory is checked as strictly as a download: a missing, extra or corrupt
file raises :class:`~scalinglib.data.DataError` naming it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import EVAL_SETS, MODEL_LABELS, N_TASKS, SUBSET_TASKS
from .fetch import DataError, _download, _registry

TESTBED_COMMIT = "a003c4913793ac2ae7ef87b28ecb562955d026d5"
TESTBED_URL = f"https://raw.githubusercontent.com/mlfoundations/scaling/{TESTBED_COMMIT}/exp_data/"


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
    mult = _number(
        _field(hp, ["chinchilla_multiplier"], file, "hyperparameters"),
        "hyperparameters.chinchilla_multiplier",
        file,
        True,
    )
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
