"""The SWE agent: model → completion → one action → tool → observation, until it submits or a limit hits.

Each turn the model sees ``srl_swe.steps.swe_prompt`` of the steps so far — the prompt the step-wise
datasets train on — so a trained policy is evaluated the way it learned. A completion that breaks the
format is not a step: the model is told why (one extra user turn) and asked again; three in a row end
the episode. The trajectory (canonical schema) is handed to ``on_step`` after every step, so a caller can
save it and a crash loses at most one step. At the end the patch is ``git diff`` against the base commit
(none, with exit status ``patch_too_large``, when it is over ``MAX_PATCH_BYTES``).

``max_seconds`` bounds the whole episode, not only the gaps between steps: a command is cut at the
episode's deadline, and a model call still running then is given up on (it finishes in a daemon thread,
bounded by its own client's limits); the exit status is ``time_limit``.

Grading (``grade_patch``) runs in a *fresh* sandbox with only that patch applied, then the task's eval
script (test files reverted, test patch applied, tests run) — nothing the agent left in its own sandbox
can influence the verdict.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from srl_swe.actions import FormatError, parse_completion
from srl_swe.grading import Grade, eval_script, grade, new_nonce
from srl_swe.models import Model
from srl_swe.sandbox.base import SAFE_GIT_FUNCTION, PatchTooLarge, Sandbox, SandboxError, working_changes
from srl_swe.steps import StepOptions, swe_prompt
from srl_swe.tools import ToolBox
from srl_swe.trajectory import Outcome, Provenance, Step, SweTask, Trajectory

MAX_FORMAT_ERRORS = 3


@dataclass(frozen=True)
class AgentLimits:
    max_steps: int = 50
    max_seconds: float = 1800.0
    max_prompt_chars: int = 400_000
    command_timeout: float = 120.0
    prompt: StepOptions = field(default_factory=StepOptions)
    record_diffs: bool = True
    """Record the repository's changes after every step (``Step.diff``: hindsight goals)."""


class EpisodeTimeout(Exception):
    """The episode's deadline passed during a model call."""


def run_agent(task: SweTask, sandbox: Sandbox, model: Model, limits: AgentLimits = AgentLimits(),
              on_step: Callable[[Trajectory], None] | None = None) -> Trajectory:
    """Roll the model out on ``task`` in ``sandbox``; the returned trajectory has patch and exit status."""
    deadline = time.monotonic() + limits.max_seconds
    tools = ToolBox(sandbox, limits.command_timeout, deadline)
    trajectory = Trajectory(id=f"{task.instance_id}.{model.name}", task=task, steps=[],
                            provenance=Provenance(source_format="srl-swe-agent", teacher=model.name))
    steps = trajectory.steps  # the model's own list: appending grows the trajectory
    status = "step_limit"
    for _ in range(limits.max_steps):
        if time.monotonic() >= deadline:
            status = "time_limit"
            break
        messages = swe_prompt(task.problem_statement, steps, limits.prompt)
        if sum(len(m["content"]) for m in messages) > limits.max_prompt_chars:
            status = "context_limit"
            break
        try:
            step = _next_step(model, messages, deadline)
        except EpisodeTimeout:
            status = "time_limit"
            break
        if step is None:
            status = "format_errors"
            break
        result = tools.execute(step.action)
        diff = _changes(sandbox) if limits.record_diffs and not result.submitted else None
        steps.append(step.model_copy(update={"observation": result.observation, "diff": diff}))
        if on_step is not None:
            on_step(trajectory)
        if result.submitted:
            status = "submitted"
            break
    trajectory.outcome = final_outcome(sandbox, status)
    return trajectory


def _changes(sandbox: Sandbox) -> str | None:
    """The repository's changes so far, or None when git cannot say (the step is kept without them)."""
    try:
        return working_changes(sandbox, getattr(sandbox, "base_commit", None))
    except SandboxError:
        return None


def final_outcome(sandbox: Sandbox, status: str) -> Outcome:
    """The episode's outcome: the sandbox's patch, or none with status ``patch_too_large``."""
    try:
        return Outcome(patch=sandbox.diff(), exit_status=status)
    except PatchTooLarge:
        return Outcome(patch="", exit_status="patch_too_large")


def complete_within(model: Model, messages: list[dict[str, str]], deadline: float) -> str:
    """``model.complete(messages)``, or EpisodeTimeout once ``deadline`` (``time.monotonic()``) passes: the
    call runs in a daemon thread, which is left to end on its own (any Model works, none needs a timeout)."""
    result: dict[str, object] = {}
    done = threading.Event()

    def call() -> None:
        try:
            result["completion"] = model.complete(messages)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = error
        finally:
            done.set()

    threading.Thread(target=call, daemon=True, name=f"model call of {model.name}").start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise EpisodeTimeout
    if "error" in result:
        raise result["error"]
    return result["completion"]


def _next_step(model: Model, messages: list[dict[str, str]], deadline: float) -> Step | None:
    """The model's next well-formed step, retrying a broken format; None after MAX_FORMAT_ERRORS."""
    for _ in range(MAX_FORMAT_ERRORS):
        completion = complete_within(model, messages, deadline)
        try:
            parsed = parse_completion(completion)
        except FormatError as error:
            messages = [*messages, {"role": "assistant", "content": completion},
                        {"role": "user", "content": f"Your reply broke the required format: {error}. Reply with "
                                                    "<think>…</think> followed by exactly one tool call."}]
            continue
        return Step(thought=parsed.thought, action=parsed.action)
    return None


def grade_outcome(task: SweTask, outcome: Outcome, open_sandbox: Callable[[], Sandbox]) -> Grade:
    """The verdict on an episode's outcome: a refused (too large) patch is unresolved with that reason,
    anything else is :func:`grade_patch` of its patch."""
    if outcome.exit_status == "patch_too_large":
        return Grade(resolved=False, reason=str(PatchTooLarge()))
    return grade_patch(task, outcome.patch, open_sandbox)


def grade_patch(task: SweTask, patch: str, open_sandbox: Callable[[], Sandbox]) -> Grade:
    """Apply ``patch`` in a fresh sandbox of the task and grade it with the task's tests."""
    nonce = new_nonce()
    with open_sandbox() as sandbox:
        if patch.strip():
            patch_file = f"{sandbox.scratch}/model.patch"
            sandbox.write_file(patch_file, patch if patch.endswith("\n") else patch + "\n")
            applied = sandbox.run(f"{SAFE_GIT_FUNCTION}\ncd {shlex.quote(sandbox.workdir)} && "
                                  f"g apply --whitespace=nowarn {shlex.quote(patch_file)}", timeout=120)
            if applied.exit_code != 0:
                return Grade(resolved=False, reason=f"the model's patch did not apply: {applied.output[-300:]}")
        script = f"{sandbox.scratch}/eval.sh"
        sandbox.write_file(script, eval_script(task, nonce, sandbox.workdir, sandbox.python,
                                               scratch=sandbox.scratch))
        log = sandbox.run(f"bash {shlex.quote(script)}", timeout=1800, max_output=5_000_000).output
    return grade(task, log, nonce)
