"""Names in the testbed of Gadre et al. (2024): training sets, evaluation sets, tasks, models.

Plain constants, importable without pandas or scipy (the command line builds its
options from them before it needs any data). :mod:`scalinglib.data` re-exports them.
"""

from __future__ import annotations

__all__ = [
    "DATASETS",
    "DATASET_LABELS",
    "EVAL_SETS",
    "DEFAULT_EVAL",
    "SUBSET_TASKS",
    "MODEL_LABELS",
    "N_TASKS",
]

#: Training sets of the testbed, in the paper's order.
DATASETS: tuple[str, ...] = ("c4_original", "rpj", "rw_original")
DATASET_LABELS = {"c4_original": "C4", "rpj": "RedPajama", "rw_original": "RefinedWeb"}

#: The eight loss evaluation sets, named as in PAPER.md.
EVAL_SETS: tuple[str, ...] = (
    "openlm",
    "c4_val",
    "paloma_c4_en",
    "paloma_dolma_100_programing_languages",
    "paloma_falcon-refinedweb",
    "paloma_ptb",
    "paloma_redpajama",
    "val_de-en_100",
)
DEFAULT_EVAL = "c4_val"

#: The 17 tasks of the paper's "17-task split" (small models beat chance on them).
SUBSET_TASKS: tuple[str, ...] = (
    "bigbench_operators",
    "pubmed_qa_labeled",
    "hellaswag_zeroshot",
    "boolq",
    "arc_easy",
    "coqa",
    "bigbench_dyck_languages",
    "lambada_openai",
    "bigbench_novel_concepts",
    "winograd",
    "bigbench_cs_algorithms",
    "commonsense_qa",
    "bigbench_qa_wikidata",
    "hellaswag",
    "copa",
    "squad",
    "piqa",
)

#: Readable labels for the six model configurations.
MODEL_LABELS = {
    "d=96_l=8_h=4": "0.011B",
    "d=512_l=8_h=4": "0.079B",
    "d=576_l=24_h=8": "0.154B",
    "d=1024_l=24_h=8": "0.411B",
    "open_lm_1b": "1.4B",
    "open_lm_7b": "6.9B",
}

N_TASKS = 46
