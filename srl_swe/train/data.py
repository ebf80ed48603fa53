"""The training datasets, read from the folder `srl-swe steps` wrote, and the held-out split.

Validation holds out whole trajectories (never single steps of a trajectory that is also trained on):
the ``n`` trajectory ids with the smallest SHA-256 of ``seed:id``, the same ids for every method, so an
SRL run and the RLVR run that follows it validate on the same questions.

- SRL: ``steps.parquet`` rows (prompt, expert_action, tool, track).
- RLVR: one row per math trajectory of ``sft.parquet``: prompt = the evaluation system prompt and the
  question, ``answer`` = the reference final answer; rows without an answer are left out.
- SFT: ``sft.parquet`` rows (messages).

Each loader fails with ``DataError`` naming the file when it is missing, lacks a column, or leaves no
training example.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import datasets
import pyarrow.parquet as pq

from srl_swe.train.config import DataSettings

STEP_COLUMNS = ("prompt", "expert_action", "tool", "track", "trajectory_id")
SFT_COLUMNS = ("messages", "track", "trajectory_id")


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
    metadata = pq.read_metadata(path)
    present = set(metadata.schema.to_arrow_schema().names)
    missing = [column for column in columns if column not in present]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (rebuild it with `srl-swe steps`)")
    if metadata.num_rows == 0:
        raise DataError(f"{path}: no examples")
    return datasets.load_dataset("parquet", data_files=str(path), split="train")


def _split(table: datasets.Dataset, path: Path, settings: DataSettings):
    """(train, validation or None): validation trajectories held out, then shuffled and capped."""
    ids = set(table.unique("trajectory_id"))
    held = held_out_ids(ids, settings.validation_trajectories, settings.shuffle_seed)
    if held and len(held) == len(ids):
        raise DataError(f"{path}: all {len(ids)} trajectories would be held out for validation; lower "
                        f"data.validation_trajectories")
    train = table.filter(lambda row: row["trajectory_id"] not in held).shuffle(seed=settings.shuffle_seed)
    if settings.max_train_examples:
        train = train.select(range(min(settings.max_train_examples, len(train))))
    if not held:
        return train, None
    validation = table.filter(lambda row: row["trajectory_id"] in held)
    if settings.max_validation_examples:
        validation = validation.shuffle(seed=settings.shuffle_seed)
        validation = validation.select(range(min(settings.max_validation_examples, len(validation))))
    return train, validation


def step_datasets(settings: DataSettings):
    """SRL's (train, validation) step examples."""
    path = settings.path / "steps.parquet"
    return _split(_read(path, STEP_COLUMNS), path, settings)


def sft_datasets(settings: DataSettings):
    """SFT's (train, validation) whole trajectories as ``messages``."""
    path = settings.path / "sft.parquet"
    table = _read(path, SFT_COLUMNS)
    return _split(table.select_columns(["messages", "trajectory_id"]), path, settings)


def question_datasets(settings: DataSettings):
    """RLVR's (train, validation) math questions with reference answers."""
    path = settings.path / "sft.parquet"
    table = _read(path, (*SFT_COLUMNS, "answer"))
    table = table.filter(lambda row: row["track"] == "math" and bool(row["answer"]))
    if len(table) == 0:
        raise DataError(f"{path}: no math trajectory with a reference answer; RLVR needs math data")
    table = table.map(lambda row: {"prompt": row["messages"][:2]}, remove_columns=["messages", "instance_id"])
    return _split(table, path, settings)
