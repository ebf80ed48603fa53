"""Offline pivot profiling (after NVIDIA's PivotRL): find the informative steps before training instead of
paying for every step's generations every epoch.

``srl-swe profile --model M --steps DIR -k K`` samples K completions for every step of ``DIR/steps.parquet``
with the model SRL starts from, scores them with the step reward, and writes ``DIR/profile.parquet`` (one row
per step: ``trajectory_id``, ``step``, ``reward_mean``, ``reward_std``, ``samples``) and ``DIR/profile.json``
(the model, K, temperature, reward, counts). It is resumable: finished steps are appended to
``DIR/profile.partial.jsonl`` as they are scored, and a second run skips them. Training with
``data.pivots`` keeps only the training steps whose reward spread exceeds ``min_std`` — the steps where the
K samples disagree, so GRPO's group advantage is not zero — and, with ``weight``, repeats each kept step in
proportion to its spread (``round(std / mean std of the kept)``, 1 to ``MAX_WEIGHT`` times).

Limits: the profile describes the model it was made with; as SRL trains, steps move in and out of the
informative set (online dynamic sampling still runs on top and drops groups that became constant). A step
the profile does not cover (data rebuilt since) is kept.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path

PROFILE = "profile.parquet"
PARTIAL = "profile.partial.jsonl"
SUMMARY = "profile.json"
MAX_WEIGHT = 4
CHUNK_ROWS = 128


def _key(row: dict) -> str:
    return f"{row['trajectory_id']}#{row['step']}"


def profile_steps(model: str, folder: Path, k: int, temperature: float, max_new_tokens: int,
                  reward: str = "action_similarity", epsilon: float = 1e-4, batch_size: int = 16,
                  on_batch: Callable[[int], None] | None = None) -> dict:
    """Profile every step of ``folder`` (see the module docstring); returns the summary written to
    ``profile.json``. Steps are scored ``CHUNK_ROWS`` at a time (the model is loaded once per chunk; a kill
    loses at most one chunk). ValueError for k < 2 (a spread needs two samples) or a folder without steps."""
    import pyarrow.parquet as pq

    from srl_swe.eval.steps import score_steps

    if k < 2:
        raise ValueError(f"-k {k}: the reward spread of a step needs at least 2 samples")
    steps_file = folder / "steps.parquet"
    if not steps_file.exists():
        raise ValueError(f"{steps_file} does not exist: build it with `srl-swe steps`")
    rows = pq.read_table(steps_file, columns=["prompt", "expert_action", "tool", "track", "trajectory_id",
                                              "step"]).to_pylist()
    done = _partial(folder)
    todo = [row for row in rows if _key(row) not in done]
    if on_batch is not None and len(rows) > len(todo):
        on_batch(len(rows) - len(todo))
    for start in range(0, len(todo), CHUNK_ROWS):
        chunk = todo[start:start + CHUNK_ROWS]
        scores = score_steps(model, chunk, max_new_tokens, temperature=temperature, samples=k,
                             batch_size=batch_size, seed=start, reward=reward)
        with (folder / PARTIAL).open("a", encoding="utf-8") as handle:
            for row, entry in zip(chunk, scores.samples, strict=True):
                record = {"trajectory_id": row["trajectory_id"], "step": row["step"], **_spread(entry["rewards"])}
                done[_key(row)] = record
                handle.write(json.dumps(record) + "\n")
        if on_batch is not None:
            on_batch(len(chunk))
    return _write(folder, [done[_key(row)] for row in rows],
                  {"model": model, "k": k, "temperature": temperature, "reward": reward,
                   "max_new_tokens": max_new_tokens, "epsilon": epsilon})


def _spread(rewards: list[float]) -> dict:
    return {"reward_mean": statistics.fmean(rewards), "reward_std": statistics.pstdev(rewards),
            "samples": len(rewards)}


def _partial(folder: Path) -> dict[str, dict]:
    """The steps a previous run finished (a torn last line, from a kill mid-write, is ignored)."""
    path, done = folder / PARTIAL, {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                done[_key(record)] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return done


def _write(folder: Path, records: list[dict], settings: dict) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from srl_swe.trajectory import atomic_output

    informative = sum(record["reward_std"] > settings["epsilon"] for record in records)
    summary = {**settings, "steps": len(records), "informative": informative,
               "generations": len(records) * settings["k"]}
    temporary = folder / f".{PROFILE}.tmp"
    pq.write_table(pa.Table.from_pylist(records), temporary)
    temporary.replace(folder / PROFILE)
    with atomic_output(folder / SUMMARY) as handle:
        handle.write(json.dumps(summary, indent=2))
    (folder / PARTIAL).unlink(missing_ok=True)
    return summary


def keep_pivots(table, folder: Path, min_std: float, weight: bool):
    """The rows of ``table`` (a ``datasets.Dataset`` of steps) whose profiled spread exceeds ``min_std``, each
    repeated by its weight when ``weight``; rows the profile does not cover are kept once. ValueError naming
    the command when the folder has no profile."""
    import pyarrow.parquet as pq

    path = folder / PROFILE
    if not path.exists():
        raise ValueError(f"{path}: not found; data.pivots needs a profile: `srl-swe profile --model M "
                         f"--steps {folder} -k 8`")
    if "step" not in table.column_names:
        raise ValueError(f"{folder / 'steps.parquet'}: no step column; rebuild it with `srl-swe steps`")
    spread = {_key(record): record["reward_std"] for record in pq.read_table(path).to_pylist()}
    kept = [std for std in spread.values() if std > min_std]
    mean = statistics.fmean(kept) if kept else 1.0
    copies = []
    for index, row in enumerate(table.select_columns(["trajectory_id", "step"])):
        std = spread.get(_key(row))
        if std is None:
            copies.append(index)
        elif std > min_std:
            copies.extend([index] * (min(MAX_WEIGHT, max(1, round(std / mean))) if weight else 1))
    return table.select(copies)


def savings(summary: dict, num_generations: int, epochs: float) -> dict:
    """Generations for ``epochs`` over the training steps with groups of ``num_generations``: online dynamic
    sampling generates every step's group every epoch (and more for refills); with the profile, only the
    informative steps' groups, after the one-time profile."""
    online = summary["steps"] * num_generations * epochs
    offline = summary["generations"] + summary["informative"] * num_generations * epochs
    return {"online": round(online), "offline": round(offline), "saved": round(1 - offline / online, 3)}
