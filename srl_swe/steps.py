"""Step-wise SRL examples: a trajectory of N steps becomes N-1 (prompt, expert action) examples.

For k = 1 … N-1 (``targets="paper"``, the paper's literal formula; ``"all"`` gives k = 1 … N), the
prompt holds the task and the steps before k, and the target is the canonical text of expert action k.
Choices where the paper is silent (written down in the README):

- SWE prompts are chat turns: the SRL system prompt, the issue, then the last ``history`` steps (default
  2, the paper's setting; ``"all"`` keeps every step) as assistant turns holding the expert's *action
  only* (not its prose) and user turns holding the observation, truncated head + tail to
  ``max_observation_chars``.
- Math prompts are the paper's system prompt and one user turn with the question, the solution
  preamble and the previous steps (``history`` default: all), optionally the next step's title
  (``title_hint``, the paper's footnote 1).

The examples are written to ``DIR/steps.parquet`` in row groups as they are built, so memory stays
bounded at any scale. Given a tokenizer, every prompt is fitted to a budget in tokens (``srl_swe.budget``:
older history, then observations, then the problem statement are trimmed, or the example is dropped), and
the counts go to ``manifest.json``. Only verified runs (``outcome.resolved`` True) become examples unless
``include_unresolved``; the others are counted by reason (``unresolved``, ``resolution_unknown``). The SFT
view goes to ``DIR/sft.parquet`` (see ``srl_swe.sft_view``). The folder
is built beside ``DIR`` and swapped in whole, so a failed run (a full disk) leaves the old one intact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, field_validator

from srl_swe import prompts
from srl_swe.actions import action_text
from srl_swe.audit import FLAGS, audit, exclusion, unknown_flags
from srl_swe.budget import PromptBudget, load_budget
from srl_swe.sft_view import sft_row
from srl_swe.trajectory import (
    MathTask,
    SkipHandler,
    Step,
    Trajectory,
    atomic_folder,
    atomic_output,
    read_trajectories,
)

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
STEP_SCHEMA = pa.schema(
    [
        ("prompt", MESSAGES),
        ("expert_action", pa.string()),
        ("expert_thought", pa.string()),  # what the expert wrote before the action: SFT on steps imitates it
        ("tool", pa.string()),
        ("step", pa.int32()),
        ("num_steps", pa.int32()),
        ("trajectory_id", pa.string()),
        ("instance_id", pa.string()),
        ("track", pa.string()),
        ("answer", pa.string()),
        ("goal", pa.string()),  # "task": the run's own task; "hindsight": the change the run reached at a later step
    ]
)
SFT_SCHEMA = pa.schema(
    [("messages", MESSAGES), ("trajectory_id", pa.string()), ("instance_id", pa.string()), ("track", pa.string()),
     ("answer", pa.string())]
)
_TITLE = re.compile(r"^\s*(\d+\.\s*\*\*[^*\n]+\*\*:?)")


class StepOptions(BaseModel):
    """How trajectories become step examples (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    history: Annotated[int, Field(ge=0)] | Literal["all"] | None = None
    """Previous steps shown in the context; None = the track's default (see ``shown``)."""
    targets: Literal["paper", "all"] = "paper"
    max_observation_chars: int = Field(8000, ge=200)
    title_hint: bool = False
    tokenizer: str | None = None
    """The tokenizer (a model folder or Hub id) that counts prompt tokens for the budget; None: no budget."""
    max_prompt_tokens: int | None = Field(None, gt=0)
    """The prompt budget in tokens (``srl_swe.budget``; needs ``tokenizer``); None: the context of the model
    at ``tokenizer`` minus ``budget.DEFAULT_COMPLETION_TOKENS``."""
    exclude: list[str] = Field(default_factory=list)
    """Audit flags (``srl_swe.audit.FLAGS``) whose steps are not targets or whose trajectories are left out;
    a trajectory with an excluded step is also left out of the SFT view, which trains on every turn."""
    hindsight: bool = False
    """Also relabeled examples (``hindsight_examples``) from every run that recorded its changes, resolved or not."""
    hindsight_goals: int = Field(2, ge=1)
    """Goals per step for hindsight: the first later change, then the run's last (``hindsight_examples``)."""
    include_unresolved: bool = False
    """False: only verified runs (``outcome.resolved`` is True) become targets; the others are left out and counted
    as ``unresolved`` (graded False) or ``resolution_unknown`` (None: the source did not grade them)."""

    @field_validator("max_prompt_tokens")
    @classmethod
    def _counted(cls, value: int | None, info) -> int | None:
        if value is not None and not info.data.get("tokenizer"):
            raise ValueError("max_prompt_tokens: needs a tokenizer to count the tokens with")
        return value

    @field_validator("exclude")
    @classmethod
    def _known_flags(cls, value: list[str]) -> list[str]:
        if unknown_flags(value):
            raise ValueError(f"unknown audit flag(s) {', '.join(unknown_flags(value))}; known: {', '.join(FLAGS)}")
        return sorted(set(value))

    def shown(self, previous: list[Step], track: str) -> list[Step]:
        """The previous steps a prompt shows: the last ``history`` ones (default 2 for SWE, all for math)."""
        window = (2 if track == "swe" else None) if self.history is None else self.history
        if window is None or window == "all":
            return previous
        return previous[max(0, len(previous) - window) :]


def swe_prompt(problem_statement: str, previous: list[Step], options: StepOptions) -> list[dict[str, str]]:
    """Chat messages asking for the next SWE action, given the steps taken so far.

    This is the prompt the policy sees both in training and when the agent runs it, so a trained policy
    is evaluated the way it learned.
    """
    shown = options.shown(previous, "swe")
    messages = [
        {"role": "system", "content": prompts.SWE_SYSTEM},
        {"role": "user", "content": prompts.swe_task_turn(problem_statement, len(previous) - len(shown), len(shown))},
    ]
    for step in shown:
        observation = prompts.observation_turn(step.observation, options.max_observation_chars)
        messages.append({"role": "assistant", "content": action_text(step.action)})
        messages.append({"role": "user", "content": observation})
    return messages


def math_prompt(task: MathTask, preamble: str, previous: list[Step], target: Step | None,
                options: StepOptions) -> list[dict[str, str]]:
    """Chat messages asking for the next math step (the paper's Fig. 3 layout)."""
    shown = [step.action.text for step in options.shown(previous, "math")]
    so_far = ([preamble.strip()] if preamble.strip() else []) + shown
    title = step_title(target.action.text) if options.title_hint and target is not None else None
    return [
        {"role": "system", "content": prompts.MATH_SYSTEM},
        {"role": "user", "content": prompts.math_turn(task.question, so_far, title)},
    ]


def step_title(text: str) -> str | None:
    """``"2. **Coprime Pairs**"`` from a numbered math step, or None."""
    match = _TITLE.match(text)
    return match.group(1).rstrip(":") if match else None


def step_examples(trajectory: Trajectory, options: StepOptions) -> Iterator[dict[str, Any]]:
    """The step examples of one trajectory, as rows of ``STEP_SCHEMA``."""
    steps, task = trajectory.steps, trajectory.task
    last = len(steps) if options.targets == "all" else len(steps) - 1
    for k in range(1, last + 1):
        target = steps[k - 1]
        if task.track == "swe":
            prompt = swe_prompt(task.problem_statement, steps[: k - 1], options)
        else:
            prompt = math_prompt(task, trajectory.preamble, steps[: k - 1], target, options)
        yield {
            "prompt": prompt,
            "expert_action": action_text(target.action),
            "expert_thought": target.thought,
            "tool": target.action.tool,
            "step": k,
            "num_steps": len(steps),
            "trajectory_id": trajectory.id,
            "instance_id": task.instance_id,
            "track": task.track,
            "answer": getattr(task, "answer", None),
            "goal": "task",
        }


def hindsight_examples(trajectory: Trajectory, options: StepOptions) -> Iterator[dict[str, Any]]:
    """Hindsight goal relabeling (SWE runs with recorded ``Step.diff``): for step i and a later step j whose
    action changed the repository (its diff differs from the one before it), an example whose task is "reach
    the diff of step j" (cut like an observation) and whose target is action i — what the run did on its way
    there, whether or not it resolved its own task. Per step i the goals are the first change at or after i
    and the run's last distinct change, up to ``hindsight_goals``. Rows have ``goal`` "hindsight" and a
    ``trajectory_id`` of ``ID@j`` (the relabeled run), the run's ``instance_id`` (held out with it)."""
    steps, task = trajectory.steps, trajectory.task
    if task.track != "swe":
        return
    before = [""] + [step.diff or "" for step in steps]  # before[k]: the changes before step k+1
    changes = [j for j in range(1, len(steps) + 1)
               if steps[j - 1].diff is not None and steps[j - 1].diff.strip() and steps[j - 1].diff != before[j - 1]]
    for i in range(1, len(steps) + 1):
        later = [j for j in changes if j >= i]
        goals = list(dict.fromkeys([*later[:1], *later[-1:]]))[: options.hindsight_goals]
        for j in goals:
            statement = prompts.hindsight_goal(steps[j - 1].diff, options.max_observation_chars)
            target = steps[i - 1]
            yield {
                "prompt": swe_prompt(statement, steps[: i - 1], options),
                "expert_action": action_text(target.action), "expert_thought": target.thought,
                "tool": target.action.tool, "step": i, "num_steps": len(steps),
                "trajectory_id": f"{trajectory.id}@{j}", "instance_id": task.instance_id, "track": task.track,
                "answer": None, "goal": "hindsight",
            }


class ParquetSink:
    """Write rows to a Parquet file in row groups, atomically (temporary file, then rename)."""

    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int = 1024):
        self.path, self.schema, self.rows_per_group = path, schema, rows_per_group
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def __enter__(self) -> ParquetSink:
        self._output = atomic_output(self.path, "wb")
        self._writer = pq.ParquetWriter(self._output.__enter__(), self.schema, compression="zstd")
        return self

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.rows.append(row)
            if len(self.rows) >= self.rows_per_group:
                self._flush()

    def _flush(self) -> None:
        if self.rows:
            self._writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.count += len(self.rows)
            self.rows = []

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self._flush()
            self._writer.close()
        except BaseException as error:  # a full disk: still close and remove the temporary file
            self._output.__exit__(type(error), error, error.__traceback__)
            raise
        self._output.__exit__(kind, value, traceback)


STEP_FILES = ("steps.parquet", "sft.parquet", "manifest.json")
"""Everything a step folder holds: an existing folder with anything else is never replaced."""


class StepFolderError(ValueError):
    """An output folder that must not be written or replaced; the message names it."""


def check_output_folder(out_dir: Path) -> None:
    """StepFolderError unless ``out_dir`` is new, empty, or a step folder (nothing but ``STEP_FILES``), so that
    replacing it never deletes a user's other files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise StepFolderError(f"{out_dir} is a file, not a folder")
    others = sorted(p.name for p in out_dir.iterdir() if p.name not in STEP_FILES) if out_dir.is_dir() else []
    if others:
        more = f" and {len(others) - 1} more" if len(others) > 1 else ""
        raise StepFolderError(f"{out_dir} is not a step folder (it holds {others[0]}{more}); choose a new or "
                              f"empty folder")


def build_step_dataset(
    inputs: list[Path], out_dir: Path, options: StepOptions, on_skip: SkipHandler | None = None,
    on_trajectory: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Write ``out_dir/steps.parquet``, ``out_dir/sft.parquet`` and ``out_dir/manifest.json`` from
    canonical JSONL files, streaming. Bad lines go to ``on_skip``; returns the counts.

    The folder is written as one unit (``atomic_folder``): on any error (a full disk) an existing
    ``out_dir`` is left as it was. StepFolderError before anything is written when ``out_dir`` may not be
    replaced (see ``check_output_folder``), and instead of replacing a non-empty one by a dataset of no
    trajectory."""
    budget = prompt_budget(options)
    check_output_folder(out_dir)
    replacing = out_dir.is_dir() and any(out_dir.iterdir())
    with atomic_folder(out_dir) as folder:
        counts = _write_step_folder(inputs, folder, options, on_skip, on_trajectory, budget)
        if replacing and not counts["trajectories"]:
            raise StepFolderError(f"{_nothing_kept(counts)}; {out_dir} was left as it was")
    return counts


def _nothing_kept(counts: dict) -> str:
    """Why a build kept no trajectory: none could be read, or all were left out as unverified."""
    left_out = counts["unresolved"] + counts["resolution_unknown"]
    if not left_out:
        return "no trajectory could be read"
    return (f"no resolved trajectory ({counts['unresolved']} unresolved, {counts['resolution_unknown']} of unknown "
            f"resolution left out; --include-unresolved keeps them)")


def prompt_budget(options: StepOptions) -> PromptBudget | None:
    """The prompt budget ``options`` ask for (None without a tokenizer); BudgetError when it cannot be set up."""
    return load_budget(options.tokenizer, options.max_prompt_tokens) if options.tokenizer else None


def _write_step_folder(inputs: list[Path], out_dir: Path, options: StepOptions, on_skip: SkipHandler | None,
                       on_trajectory: Callable[[], None] | None, budget: PromptBudget | None = None) -> dict:
    counts = {"trajectories": 0, "examples": 0, "too_short": 0, "unresolved": 0, "resolution_unknown": 0}
    if options.exclude:  # the exclusion counts appear only when asked for, like the budget's
        counts.update(excluded_trajectories=0, excluded_steps=0)
    if options.hindsight:
        counts["hindsight_examples"] = 0
    with ParquetSink(out_dir / "steps.parquet", STEP_SCHEMA) as steps, \
            ParquetSink(out_dir / "sft.parquet", SFT_SCHEMA, rows_per_group=64) as sft:
        for path in inputs:
            for trajectory in read_trajectories(path, on_skip):
                dropped = excluded_steps(trajectory, options.exclude)
                if options.hindsight and dropped is not None:  # any run that changed the repository
                    relabeled = [row for row in hindsight_examples(trajectory, options) if row["step"] not in dropped]
                    steps.add(budget.fit(relabeled) if budget else relabeled)
                    counts["hindsight_examples"] += len(relabeled)
                left_out = unverified(trajectory, options)
                if left_out:
                    counts[left_out] += 1
                    continue
                if dropped is None:
                    counts["excluded_trajectories"] += 1
                    continue
                rows = list(step_examples(trajectory, options))
                kept = [row for row in rows if row["step"] not in dropped]
                steps.add(budget.fit(kept) if budget else kept)
                if not dropped:
                    sft.add([sft_row(trajectory, options.max_observation_chars)])
                counts["trajectories"] += 1
                counts["too_short"] += not rows
                if options.exclude:
                    counts["excluded_steps"] += len(rows) - len(kept)
                if on_trajectory is not None:
                    on_trajectory()
    counts["examples"] = steps.count
    if budget:
        counts["prompt_budget"] = budget.counts.summary()
    with atomic_output(out_dir / "manifest.json") as handle:
        json.dump({"options": options.model_dump(), "inputs": [str(p) for p in inputs], **counts}, handle, indent=2)
    return counts


def unverified(trajectory: Trajectory, options: StepOptions) -> str | None:
    """Why ``trajectory`` is left out as unverified (``"unresolved"``, ``"resolution_unknown"``), or None when it is
    kept: it is resolved, or ``options.include_unresolved`` keeps every trajectory."""
    if options.include_unresolved or trajectory.outcome.resolved is True:
        return None
    return "unresolved" if trajectory.outcome.resolved is False else "resolution_unknown"


def excluded_steps(trajectory: Trajectory, exclude: list[str]) -> set[int] | None:
    """The 1-based steps that ``exclude`` (audit flag names) removes as targets; None: the whole trajectory."""
    return exclusion(audit(trajectory), exclude) if exclude else set()
