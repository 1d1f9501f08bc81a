"""The OLMo model ladder of Bhagia et al. (2024) and its two targets, OLMo 2 7B and 13B.

``path``, else ``SCALINGLIB_LADDER``, else a hash-verified download from the pinned
commit (``SCALINGLIB_LADDER_URL`` overrides the base URL).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .csvfiles import _need, _read_csv
from .fetch import DataError, _lab_dir, _registry

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
#: Task loss of each downstream task, as (label, bits-per-byte column(s) averaged into it):
#: the bits per byte of the correct answer's continuation, the ladder paper's "task loss"
#: (Bhagia et al., 2024, step 1 of their two-step prediction). The same split as the
#: accuracy of :data:`LADDER_TASKS`; MMLU is again the unweighted mean of its four test
#: categories.
LADDER_BPB: dict[str, tuple[str, ...]] = {
    "mmlu": tuple(
        f"eval/downstream_bpb/mmlu_{c}_test_rc_5shot_bpb" for c in ("stem", "humanities", "social_sciences", "other")
    ),
    "hellaswag": ("eval/downstream_bpb/hellaswag_val_rc_5shot_bpb",),
    "arc_easy": ("eval/downstream_bpb/arc_easy_test_rc_5shot_bpb",),
    "arc_challenge": ("eval/downstream_bpb/arc_challenge_test_rc_5shot_bpb",),
    "boolq": ("eval/downstream_bpb/boolq_val_rc_5shot_bpb",),
    "csqa": ("eval/downstream_bpb/csqa_val_rc_5shot_bpb",),
    "openbookqa": ("eval/downstream_bpb/openbookqa_test_rc_5shot_bpb",),
    "piqa": ("eval/downstream_bpb/piqa_val_rc_5shot_bpb",),
    "socialiqa": ("eval/downstream_bpb/socialiqa_val_rc_5shot_bpb",),
    "winogrande": ("eval/downstream_bpb/winogrande_val_rc_5shot_bpb",),
}

#: Weights of MMLU's four categories (stem, humanities, social sciences, other) in the
#: ladder paper's MMLU average: their shares of the test questions (``WEIGHT_BY_KEY`` in
#: ``src/scaling/utils.py`` of allenai/OLMo-ladder). ``acc_mmlu_weighted`` and
#: ``bpb_mmlu_weighted`` use them; ``acc_mmlu`` and ``bpb_mmlu`` are unweighted means.
LADDER_MMLU_WEIGHTS: tuple[float, float, float, float] = (0.215, 0.335, 0.219, 0.231)

#: Accuracy of a random guess on each task (the ladder repository's ``task_minimum``):
#: 0.5 for the two-choice tasks, 1/3 for SocialIQA, 0.2 for CSQA, 0.25 otherwise.
LADDER_CHANCE: dict[str, float] = {
    "mmlu": 0.25,
    "hellaswag": 0.25,
    "arc_easy": 0.25,
    "arc_challenge": 0.25,
    "boolq": 0.5,
    "csqa": 0.2,
    "openbookqa": 0.25,
    "piqa": 0.5,
    "socialiqa": 1.0 / 3.0,
    "winogrande": 0.5,
}
LADDER_LOSS = "eval/c4_en-validation/CrossEntropyLoss"


def ladder_dir(path: str | os.PathLike | None = None) -> Path:
    """Directory holding the 41 ``ladder-runs`` CSV files of Bhagia et al. (2024), verified.

    ``path``, else ``SCALINGLIB_LADDER``, else a hash-verified download from the pinned
    commit ``LADDER_COMMIT`` (``SCALINGLIB_LADDER_URL`` overrides the base URL).
    """
    return _lab_dir(
        path, "SCALINGLIB_LADDER", "ladder", "ladder.txt", LADDER_URL, "SCALINGLIB_LADDER_URL", "OLMo ladder"
    )


_LADDER_RUN = re.compile(r"^(?P<size>190M|370M|760M|1B|3B)-(?P<mult>[0-9.]+)xC(?P<rerun>-rerun)?\.csv$")


def _ladder_rows(raw: pd.DataFrame, file: Path, rows: list[int]) -> dict[str, np.ndarray]:
    """Loss, accuracies and task losses of the checkpoints ``rows`` (row indices of ``raw``), by column."""
    cols = [LADDER_LOSS, *[c for cs in (*LADDER_TASKS.values(), *LADDER_BPB.values()) for c in cs]]
    sub = raw.iloc[rows]
    _need(sub, cols, file)
    out = {"loss": sub[LADDER_LOSS].to_numpy(float)}
    for task, cs in LADDER_TASKS.items():
        accs = sub[list(cs)].to_numpy(float)
        bad = ~((accs >= 0.0) & (accs <= 1.0))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataError(
                f"accuracy {cs[j]!r} of {str(file)!r} is outside [0, 1] on data row {rows[i] + 1}: {accs[i, j]}"
            )
        out[f"acc_{task}"] = accs.mean(axis=1)
    for task, cs in LADDER_BPB.items():
        bpbs = sub[list(cs)].to_numpy(float)
        bad = ~(bpbs > 0.0)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataError(
                f"bits per byte {cs[j]!r} of {str(file)!r} is not positive on data row {rows[i] + 1}: {bpbs[i, j]}"
            )
        out[f"bpb_{task}"] = bpbs.mean(axis=1)
    w = np.asarray(LADDER_MMLU_WEIGHTS)
    out["acc_mmlu_weighted"] = sub[list(LADDER_TASKS["mmlu"])].to_numpy(float) @ w / w.sum()
    out["bpb_mmlu_weighted"] = sub[list(LADDER_BPB["mmlu"])].to_numpy(float) @ w / w.sum()
    return out


def load_ladder(path: str | os.PathLike | None = None, checkpoints: str = "final") -> pd.DataFrame:
    """The OLMo model ladder of Bhagia et al. (2024) and its two targets, one row per run or checkpoint.

    Parameters
    ----------
    path
        Directory holding the 41 files of ``ladder-runs/`` (see :func:`ladder_dir`).
    checkpoints
        ``"final"`` (default): one row per run, its final model. ``"all"``: one row per
        evaluated checkpoint of every ladder run (each file's rows in step order) and of
        the two targets' final files (the 7B has one, the 13B twelve, from step 557,000
        to 596,057), with ``fraction`` = step / final step of the run.

    Returns
    -------
    pandas.DataFrame
        With ``checkpoints="final"``, one row per run's final model (wide form): 30 ladder
        runs (five sizes x five multiples, plus one rerun at 1x per size) and the targets
        OLMo 2 7B and 13B. Columns: ``dataset`` (``"ladder"``), ``run`` (file stem, or
        ``peteish7`` / ``peteish13``), ``model`` (size label), ``multiple`` (x Chinchilla:
        0.5 to 10; NaN for the targets), ``replicate`` (0 for the original run, 1 for the
        rerun), ``target`` (True for 7B and 13B), ``step``, ``fraction`` (share of the
        run's steps done at this checkpoint; 1 for a final model), ``N`` (from
        :data:`LADDER_PARAMS`), ``D`` (tokens at this checkpoint), ``M`` = D / N, ``C`` =
        6 N D, ``loss`` = C4 validation loss (also ``loss_c4``), ``acc_<task>`` raw
        accuracy of the ten tasks of :data:`LADDER_TASKS` (chance differs by task, see
        :data:`LADDER_CHANCE`), ``bpb_<task>`` the task loss of the same task and split
        (:data:`LADDER_BPB`), ``acc_avg`` (mean of the ten accuracies), ``err_avg`` =
        1 - ``acc_avg``, and ``acc_mmlu_weighted`` and ``bpb_mmlu_weighted``, MMLU averaged
        with the ladder paper's weights (:data:`LADDER_MMLU_WEIGHTS`). With ``checkpoints="all"`` the same columns, one row per checkpoint.

    Notes
    -----
    The metric of each task follows the ladder paper's configuration (``v2_main`` task set
    of ``src/scaling/utils.py`` in allenai/OLMo-ladder): ranked classification (RC) with
    five shots, accuracy normalised by the answer's length (``_len_norm``) for every task
    but BoolQ (plain ``_acc``); the task loss is the bits per byte of the correct answer
    (``downstream_bpb/..._rc_5shot_bpb``). Two differences: MMLU is the unweighted mean of
    its four categories here, where the ladder weights them by their share of questions
    (0.215, 0.335, 0.219, 0.231; the ``_weighted`` columns follow the ladder); and BoolQ and Winogrande, which the ladder paper does not
    predict, are kept.

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
    if checkpoints not in ("final", "all"):
        raise ValueError(f"checkpoints must be 'final' or 'all', got {checkpoints!r}")
    every = checkpoints == "all"
    root = ladder_dir(path)
    rows = []
    for name in sorted(_registry("ladder.txt")):
        m = _LADDER_RUN.match(name)
        if m is None:
            continue
        file = root / name
        raw = _read_csv(file)
        _need(
            raw,
            [
                "_step",
                "throughput/total_tokens",
                "batch_size_in_tokens",
                "optim/learning_rate_group0",
                "learning_rate_peak",
            ],
            file,
        )
        if not raw["_step"].is_monotonic_increasing:
            raise DataError(f"checkpoints of {str(file)!r} are not in step order")
        last = len(raw) - 1
        idx = list(range(last + 1)) if every else [last]
        sub = raw.iloc[idx]
        D = sub["throughput/total_tokens"].to_numpy(float)
        step = sub["_step"].to_numpy(float)
        bad = ~np.isclose(D, step * sub["batch_size_in_tokens"].to_numpy(float), rtol=1e-6)
        if bad.any():
            raise DataError(
                f"throughput/total_tokens differs from _step x batch_size_in_tokens on data row "
                f"{idx[int(np.flatnonzero(bad)[0])] + 1} of {str(file)!r}"
            )
        size = m["size"]
        block = {
            "dataset": "ladder",
            "run": file.stem,
            "model": size,
            "multiple": float(m["mult"]),
            "replicate": int(m["rerun"] is not None),
            "target": False,
            "step": step,
            "fraction": step / float(raw["_step"].iloc[last]),
            "N": float(LADDER_PARAMS[size]),
            "D": D,
        }
        block.update(_ladder_rows(raw, file, idx))
        rows.append(pd.DataFrame(block, index=range(len(idx))))
    for size, name in LADDER_TARGETS.items():
        file = root / name
        raw = _read_csv(file)
        last = len(raw) - 1
        if "throughput/total_tokens" in raw:
            _need(raw, ["throughput/total_tokens"], file)
            Ds = raw["throughput/total_tokens"].astype(float).to_numpy()
            steps = raw["_step"].astype(float).to_numpy() if "_step" in raw else np.full(len(raw), np.nan)
        else:
            _need(raw, ["_step", "batch_size_in_tokens"], file)
            if not raw["_step"].is_monotonic_increasing:
                raise DataError(f"checkpoints of {str(file)!r} are not in step order")
            steps = raw["_step"].astype(float).to_numpy()
            Ds = steps * raw["batch_size_in_tokens"].astype(float).to_numpy()
        idx = list(range(last + 1)) if every else [last]
        block = {
            "dataset": "ladder",
            "run": "peteish" + size[:-1],
            "model": size,
            "multiple": float("nan"),
            "replicate": 0,
            "target": True,
            "step": steps[idx],
            # the 7B file has one row and no step counter: its only row is the final model
            "fraction": steps[idx] / steps[last] if np.isfinite(steps[last]) else 1.0,
            "N": float(LADDER_PARAMS[size]),
            "D": Ds[idx],
        }
        block.update(_ladder_rows(raw, file, idx))
        rows.append(pd.DataFrame(block, index=range(len(idx))))
    df = pd.concat(rows, ignore_index=True)
    expected = len(LADDER_PARAMS) - 2
    n_ladder = int(df.loc[~df["target"], "run"].nunique())
    if n_ladder != 6 * expected:
        raise DataError(f"expected {6 * expected} ladder runs in {str(root)!r}, found {n_ladder}")
    df["M"] = df["D"] / df["N"]
    df["C"] = 6.0 * df["N"] * df["D"]
    df["loss_c4"] = df["loss"]
    acc = [f"acc_{t}" for t in LADDER_TASKS]
    bpb = [f"bpb_{t}" for t in LADDER_BPB]
    df["acc_avg"] = df[acc].mean(axis=1)
    df["err_avg"] = 1.0 - df["acc_avg"]
    order = {s: i for i, s in enumerate(LADDER_PARAMS)}
    df = df.assign(_o=df["model"].map(order)).sort_values(["_o", "multiple", "replicate", "step"], kind="stable")
    front = [
        "dataset",
        "run",
        "model",
        "multiple",
        "replicate",
        "target",
        "step",
        "fraction",
        "N",
        "D",
        "M",
        "C",
        "loss",
        "loss_c4",
    ]
    extra = ["acc_mmlu_weighted", "bpb_mmlu_weighted"]
    return df[front + acc + ["acc_avg", "err_avg"] + bpb + extra].reset_index(drop=True)
