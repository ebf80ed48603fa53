"""The SFT view of trajectories: whole trajectories as chat messages, trainable only on the expert's turns.

SWE: the SRL system prompt, the issue, then for every step an assistant turn ``<think>thought</think>``
+ the action (the format the SRL policy writes) and a user turn with the observation. Math: the paper's
evaluation prompt, the question, and one assistant turn with the whole solution.

``assistant_mask`` tokenizes such a conversation with the tokenizer's chat template and marks which
tokens are trainable: exactly the tokens of assistant turns (their content and the end-of-turn token),
never system, user or observation text. It works from character offsets of the rendered text, so it
needs a fast tokenizer and a prefix-preserving template (rendering the first i messages is a prefix of
rendering i+1, as for Qwen/ChatML templates); it raises ValueError otherwise.
"""

from __future__ import annotations

from typing import Any

from srl_swe import prompts
from srl_swe.actions import render_completion
from srl_swe.trajectory import Trajectory


def sft_messages(trajectory: Trajectory, max_observation_chars: int) -> list[dict[str, str]]:
    """The whole trajectory as chat messages (see the module docstring)."""
    task = trajectory.task
    if task.track == "math":
        solution = "\n\n".join([trajectory.preamble, *(step.action.text for step in trajectory.steps)]).strip()
        return [
            {"role": "system", "content": prompts.MATH_EVAL_SYSTEM},
            {"role": "user", "content": task.question},
            {"role": "assistant", "content": solution},
        ]
    messages = [
        {"role": "system", "content": prompts.SWE_SYSTEM},
        {"role": "user", "content": prompts.swe_task_turn(task.problem_statement, 0, 0)},
    ]
    for step in trajectory.steps:
        messages.append({"role": "assistant", "content": render_completion(step.thought, step.action)})
        if step.observation is not None:
            observation = prompts.observation_turn(step.observation, max_observation_chars)
            messages.append({"role": "user", "content": observation})
    return messages


def sft_row(trajectory: Trajectory, max_observation_chars: int) -> dict[str, Any]:
    return {
        "messages": sft_messages(trajectory, max_observation_chars),
        "trajectory_id": trajectory.id,
        "instance_id": trajectory.task.instance_id,
        "track": trajectory.task.track,
        "answer": trajectory.task.answer if trajectory.task.track == "math" else None,
    }


def assistant_mask(messages: list[dict[str, str]], tokenizer, **template_kwargs) -> tuple[list[int], list[int]]:
    """``(input_ids, mask)`` with mask 1 exactly on the tokens of assistant turns (see module docstring)."""
    text, spans = _assistant_spans(messages, tokenizer, **template_kwargs)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = [int(any(start < end_ and end > start_ for start_, end_ in spans)) if end > start else 0
            for start, end in encoded["offset_mapping"]]
    return encoded["input_ids"], mask


def _assistant_spans(messages, tokenizer, **kwargs) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant turns."""
    def render(upto: int, generation_prompt: bool) -> str:
        return tokenizer.apply_chat_template(messages[:upto], tokenize=False,
                                             add_generation_prompt=generation_prompt, **kwargs)

    full = render(len(messages), False)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before, through = render(index, True), render(index + 1, False)
        if not (full.startswith(before) and full.startswith(through) and through.startswith(before)):
            raise ValueError("the chat template is not prefix-preserving; cannot locate assistant turns")
        spans.append((len(before), len(through.rstrip())))
    return full, spans
