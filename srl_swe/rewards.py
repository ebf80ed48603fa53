"""Rewards, each callable as a TRL reward function: ``f(completions=…, <dataset columns>…, **kwargs)``
returning one float per completion.

- ``action_similarity`` — the paper's step reward R = 2M/T: ``SequenceMatcher(None, predicted, expert,
  autojunk=False).ratio()`` on the action only (the thought is excluded), -1.0 when the completion breaks
  the format. Computed with cydifflib, a C++ reimplementation of difflib that returns the same float bit
  for bit, 10-30x faster. ``make_action_similarity(autojunk=True)`` gives difflib's default heuristic,
  which for an expert action of 200+ characters ignores every character occurring in more than 1% of it
  as a match anchor and so collapses the ratio of long but nearly identical actions (see README).
- ``tool_call_similarity`` — a tool-aware variant (after NeMo-Gym's PivotRL verifier): different tool →
  0; same tool → selector arguments (``path``; the editor's ``command``) must match exactly, every other
  argument is compared with the same ratio after whitespace normalisation, and the lowest score is kept.
- ``action_effect`` — effect-aware (``srl_swe.effects``): calls that do the same thing in other words score
  1.0 (an edit with more or less context, ``grep -rn`` vs ``grep -nr``, ``python`` vs ``python3``, an
  overlapping ``view``); a different tool 0; what cannot be parsed falls back to the paper's ratio. Math rows
  keep the paper's ratio.
- ``math_answer`` — 1.0 when the completion's final ``\\boxed{}`` answer equals the reference by
  math-verify, else 0.0; math-verify runs in worker processes with a timeout, so it is thread-safe.

For tool calls the predicted action is the canonical rendering of the parsed call (so the reward judges
the call, not incidental whitespace between its tags); for math it is the text after ``</think>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from cydifflib import SequenceMatcher

from srl_swe.actions import FormatError, action_text, canonical_tool, parse_call, parse_completion
from srl_swe.math_check import answers_match

FORMAT_PENALTY = -1.0
_SELECTORS = {"path"}


def similarity(predicted: str, expert: str, autojunk: bool = False) -> float:
    """difflib's ``SequenceMatcher(None, predicted, expert, autojunk).ratio()``, exactly."""
    return SequenceMatcher(None, predicted, expert, autojunk=autojunk).ratio()


def completion_text(completion: Any) -> str:
    """The generated text of a TRL completion: a string, or the last assistant message. When TRL's
    response parser has moved the thinking into ``reasoning_content``, it is put back in its
    ``<think>`` block; content given as a list of text parts is joined."""
    if isinstance(completion, str):
        return completion
    for message in reversed(completion):
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content") or ""
            if isinstance(content, list):
                content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            return f"<think>\n{reasoning}\n</think>\n{content}" if reasoning else str(content)
    return ""


def _track_of(kwargs: dict, index: int) -> str:
    tracks = kwargs.get("track")
    return tracks[index] if tracks else "swe"


def _score_each(completions: Sequence[Any], expert_action: Sequence[str], kwargs: dict, think_prefilled: bool,
                score: Callable[[Any, str, str], float]) -> list[float]:
    """``score(action, expert, track)`` for every well-formed completion, FORMAT_PENALTY for the others."""
    rewards = []
    for index, (completion, expert) in enumerate(zip(completions, expert_action, strict=True)):
        track = _track_of(kwargs, index)
        try:
            parsed = parse_completion(completion_text(completion), track, think_prefilled)
        except FormatError:
            rewards.append(FORMAT_PENALTY)
            continue
        rewards.append(score(parsed.action, expert, track))
    return rewards


def make_action_similarity(autojunk: bool = False, think_prefilled: bool = False) -> Callable[..., list[float]]:
    """Build the paper's step reward with the given difflib ``autojunk`` setting (``think_prefilled``:
    see :func:`srl_swe.actions.parse_completion`)."""

    def action_similarity(completions: Sequence[Any], expert_action: Sequence[str], **kwargs) -> list[float]:
        return _score_each(completions, expert_action, kwargs, think_prefilled,
                           lambda action, expert, track: similarity(action_text(action), expert, autojunk))

    return action_similarity


def make_tool_call_similarity(think_prefilled: bool = False) -> Callable[..., list[float]]:
    """Build the tool-aware step reward; math rows fall back to the plain action similarity."""

    def score(action, expert: str, track: str) -> float:
        if track == "math":
            return similarity(action.text, expert)
        return call_similarity(action.tool, action.arguments, *parse_call(expert))

    def tool_call_similarity(completions: Sequence[Any], expert_action: Sequence[str], **kwargs) -> list[float]:
        return _score_each(completions, expert_action, kwargs, think_prefilled, score)

    return tool_call_similarity


def make_action_effect(think_prefilled: bool = False) -> Callable[..., list[float]]:
    """Build the effect-aware step reward; math rows keep the paper's ratio."""
    from srl_swe.effects import effect_similarity

    def score(action, expert: str, track: str) -> float:
        if track == "math" or not action.is_tool_call:
            return similarity(action.text if track == "math" else action_text(action), expert)
        return effect_similarity(action.tool, action.arguments, expert)

    def action_effect(completions: Sequence[Any], expert_action: Sequence[str], **kwargs) -> list[float]:
        return _score_each(completions, expert_action, kwargs, think_prefilled, score)

    return action_effect


action_similarity = make_action_similarity()
tool_call_similarity = make_tool_call_similarity()
action_effect = make_action_effect()


def call_similarity(tool: str, arguments: dict[str, str], expert_tool: str, expert_args: dict[str, str]) -> float:
    """Score one predicted call against the expert's (see the module docstring for the rule)."""
    if canonical_tool(tool) != canonical_tool(expert_tool):
        return 0.0
    selectors = _SELECTORS | ({"command"} if canonical_tool(expert_tool) != "bash" else set())
    scores = [1.0]
    for key in expert_args.keys() | arguments.keys():
        mine, theirs = arguments.get(key), expert_args.get(key)
        if mine is None or theirs is None:
            scores.append(0.0)
        elif key in selectors:
            scores.append(1.0 if _normalise_selector(key, mine) == _normalise_selector(key, theirs) else 0.0)
        else:
            scores.append(similarity(_squash(mine), _squash(theirs)))
    return min(scores)


def _normalise_selector(key: str, value: str) -> str:
    value = value.strip()
    return re.sub(r"/+", "/", value).rstrip("/") if key == "path" else value


def _squash(text: str) -> str:
    return " ".join(text.split())


def math_answer(completions: Sequence[Any], answer: Sequence[str] | None = None, **kwargs) -> list[float]:
    """Outcome reward for RLVR: 1.0 if the final boxed answer matches the reference, else 0.0.

    The reference comes from the ``answer`` column, or TRL's conventional ``solution`` column.
    """
    references = answer if answer is not None else kwargs.get("solution")
    if references is None:
        raise ValueError("math_answer needs an 'answer' (or 'solution') column with the reference answers")
    texts = [completion_text(completion) for completion in completions]
    return [1.0 if ok else 0.0 for ok in answers_match(texts, list(references))]
