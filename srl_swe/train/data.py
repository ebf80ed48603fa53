"""The training datasets, read from the folder `srl-swe steps` wrote, and the held-out split.

Validation holds out whole tasks — every trajectory of an instance (an issue, a question), so no
validation prompt is also a training prompt: the ``n`` instance ids with the smallest SHA-256 of
``seed:id``, drawn from all trajectories in ``sft.parquet`` (one row per trajectory, every track), so
every method holds out the same tasks and an SRL run and the RLVR run after it validate on the same
questions. ``data.validation_trajectories`` counts these tasks (the paper's 30 SWE trajectories / 60
math questions: one trajectory per task).

- SRL: ``steps.parquet`` rows (prompt, expert_action, tool, track).
- RLVR: one row per math trajectory of ``sft.parquet``: prompt = the evaluation system prompt and the
  question, ``answer`` = the reference final answer; rows without an answer are left out.
- SFT: ``sft.parquet`` rows (messages).

GRPO prompts (SRL, RLVR) are then fitted to the prompt budget in tokens (``fit_prompts``, ``srl_swe.budget``).

Each loader fails with ``DataError`` naming the file when it is missing, unreadable (truncated, corrupt),
lacks a column, or leaves no training example.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.exceptions import DatasetsError

from srl_swe.actions import render_completion
from srl_swe.budget import PromptBudget, fit_messages
from srl_swe.train.config import DataSettings

STEP_COLUMNS = ("prompt", "expert_action", "tool", "track", "trajectory_id", "instance_id")
SFT_COLUMNS = ("messages", "track", "trajectory_id", "instance_id")


class DataError(ValueError):
    """Training data that cannot be used; the message names the file."""


def held_out_ids(ids: set[str], count: int, seed: int) -> set[str]:
    """The ``count`` ids held out for validation (see the module docstring)."""
    def key(trajectory_id: str) -> str:
        return hashlib.sha256(f"{seed}:{trajectory_id}".encode()).hexdigest()

    return set(sorted(ids, key=key)[:count])


def _read(path: Path, columns: tuple[str, ...]) -> datasets.Dataset:
    if not path.exists():
        raise DataError(f"{path}: not found; build it with `srl-swe steps TRAJECTORIES -o {path.parent}`")
    try:
        metadata = pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:  # truncated: no footer
        raise DataError(f"{path}: not a readable Parquet file ({_one_line(exc)}); rebuild it with "
                        f"`srl-swe steps`") from None
    present = set(metadata.schema.to_arrow_schema().names)
    missing = [column for column in columns if column not in present]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (rebuild it with `srl-swe steps`)")
    if metadata.num_rows == 0:
        raise DataError(f"{path}: no examples")
    try:
        return datasets.load_dataset("parquet", data_files=str(path), split="train")
    except (OSError, pa.ArrowException, DatasetsError) as exc:  # corrupt data pages surface only here
        raise DataError(f"{path}: cannot read its rows ({_one_line(exc.__cause__ or exc)}); rebuild it with "
                        f"`srl-swe steps`") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def task_of(row: dict) -> str:
    """What validation holds out as a unit: the instance (task), or the trajectory when it has none."""
    return row["instance_id"] or row["trajectory_id"]


def held_out_tasks(settings: DataSettings) -> set[str]:
    """The tasks every method holds out (see the module docstring)."""
    path = settings.path / "sft.parquet"
    table = _read(path, SFT_COLUMNS).select_columns(["instance_id", "trajectory_id"])
    tasks = {task_of(row) for row in table}
    held = held_out_ids(tasks, settings.validation_trajectories, settings.shuffle_seed)
    if held and len(held) == len(tasks):
        raise DataError(f"{path}: all {len(tasks)} tasks would be held out for validation; lower "
                        f"data.validation_trajectories")
    return held


def _split(table: datasets.Dataset, settings: DataSettings):
    """(train, validation or None): held-out tasks apart, training rows shuffled, both capped. The rows are
    first put in trajectory-id order (stable, so a trajectory's steps keep theirs): the split and the shuffle
    then depend on the seed and the rows, not on the order the trajectories were collected in (a parallel
    collection writes them as they finish)."""
    held = held_out_tasks(settings)
    table = table.sort("trajectory_id")
    train = table.filter(lambda row: task_of(row) not in held).shuffle(seed=settings.shuffle_seed)
    if len(train) == 0:
        raise DataError(f"{settings.path}: no training example is left after holding out {len(held)} tasks")
    if settings.max_train_examples:
        train = train.select(range(min(settings.max_train_examples, len(train))))
    validation = table.filter(lambda row: task_of(row) in held)
    if len(validation) == 0:
        return train, None
    if settings.max_validation_examples:
        validation = validation.shuffle(seed=settings.shuffle_seed)
        validation = validation.select(range(min(settings.max_validation_examples, len(validation))))
    return train, validation


def step_datasets(settings: DataSettings):
    """SRL's (train, validation) step examples; with ``pivots``, only the informative training steps of the
    offline profile (``srl_swe.pivots``)."""
    train, validation = _split(_read(settings.path / "steps.parquet", STEP_COLUMNS), settings)
    if settings.pivots is not None:
        from srl_swe.pivots import keep_pivots

        try:
            train = keep_pivots(train, settings.path, settings.pivots.min_std, settings.pivots.weight)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        if len(train) == 0:
            raise DataError(f"{settings.path}: no training step has a profiled reward std above "
                            f"{settings.pivots.min_std}; lower data.pivots.min_std or profile another model")
    return train, validation


def sft_datasets(settings: DataSettings):
    """SFT's (train, validation) whole trajectories as ``messages``."""
    table = _read(settings.path / "sft.parquet", SFT_COLUMNS)
    return _split(table.select_columns(["messages", "trajectory_id", "instance_id"]), settings)


def sft_step_datasets(settings: DataSettings):
    """SFT on step examples: (train, validation) as prompt–completion pairs — the step's context, exactly
    as SRL and the agent see it, and the expert's thought + action as the completion."""
    columns = ("prompt", "expert_action", "expert_thought", "trajectory_id", "instance_id")
    table = _read(settings.path / "steps.parquet", columns).select_columns(list(columns))
    table = table.map(lambda row: {"completion": [{"role": "assistant", "content": render_completion(
        row["expert_thought"] or "", row["expert_action"])}]}, remove_columns=["expert_action", "expert_thought"])
    return _split(table, settings)


def question_datasets(settings: DataSettings):
    """RLVR's (train, validation) math questions with reference answers."""
    path = settings.path / "sft.parquet"
    table = _read(path, (*SFT_COLUMNS, "answer"))
    table = table.filter(lambda row: row["track"] == "math" and bool(row["answer"]))
    if len(table) == 0:
        raise DataError(f"{path}: no math trajectory with a reference answer; RLVR needs math data")
    table = table.map(lambda row: {"prompt": row["messages"][:2]}, remove_columns=["messages"])
    return _split(table, settings)


def fit_prompts(table: datasets.Dataset | None, budget: PromptBudget) -> datasets.Dataset | None:
    """``table`` with every ``prompt`` fitted to ``budget`` (``srl_swe.budget``: trimmed, or the row dropped),
    counted in ``budget.counts``; None stays None. Nothing is read from the cache: the counts are always made."""
    if table is None:
        return None

    def fit(batch: dict) -> dict:
        fitted = [fit_messages(prompt, budget.count, budget.counts.budget) for prompt in batch["prompt"]]
        return {"prompt": [f.messages or prompt for f, prompt in zip(fitted, batch["prompt"], strict=True)],
                "_budget": [",".join(f.trimmed) for f in fitted]}  # a string: arrow types an empty list as null

    fingerprint = hashlib.sha256(f"{table._fingerprint}:budget:{budget.counts.budget}".encode()).hexdigest()[:16]
    marked = table.map(fit, batched=True, batch_size=64, load_from_cache_file=False, new_fingerprint=fingerprint)
    for kinds in marked["_budget"]:
        budget.counts.add(kinds.split(",") if kinds else [])
    kept = marked.filter(lambda kinds: kinds != "dropped", input_columns="_budget", load_from_cache_file=False)
    return kept.remove_columns("_budget")
