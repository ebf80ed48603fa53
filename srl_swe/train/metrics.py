"""Training rewards with their diagnostics: the configured reward, plus the format-error rate and the
mean similarity per expert tool, logged through TRL's ``log_metric`` (train and eval alike)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from srl_swe.rewards import FORMAT_PENALTY, action_effect, make_action_similarity, math_answer, tool_call_similarity


def training_reward(name: str, autojunk: bool = False) -> Callable[..., list[float]]:
    """The reward ``name`` (action_similarity | tool_call_similarity | action_effect | math_answer) with its
    metrics."""
    if name == "action_similarity":
        base = make_action_similarity(autojunk=autojunk)
    elif name == "tool_call_similarity":
        base = tool_call_similarity
    elif name == "action_effect":
        base = action_effect
    elif name == "math_answer":
        base = math_answer
    else:
        raise ValueError(f"unknown reward {name!r}")

    def reward(completions, **kwargs) -> list[float]:
        values = base(completions=completions, **kwargs)
        log = kwargs.get("log_metric")
        if log is not None and name != "math_answer":
            log_step_metrics(values, kwargs.get("tool"), log)
        return values

    reward.__name__ = name
    return reward


def log_step_metrics(values: list[float], tools: list[str] | None, log: Callable[[str, float], None]) -> None:
    """``format_error_rate`` and ``similarity/<tool>`` (mean reward of well-formed completions)."""
    log("format_error_rate", sum(v == FORMAT_PENALTY for v in values) / len(values))
    by_tool: dict[str, list[float]] = defaultdict(list)
    for value, tool in zip(values, tools or ["action"] * len(values), strict=True):
        if value != FORMAT_PENALTY:
            by_tool[tool or "action"].append(value)
    for tool, scores in by_tool.items():
        log(f"similarity/{tool}", sum(scores) / len(scores))
