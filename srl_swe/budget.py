"""The prompt budget: fit a chat prompt to a number of tokens before any generation sees it.

TRL 1.16 never truncates prompts, and a prompt beyond the model's context makes generation explode in
memory (real step data: 67 of 1,139 prompts over 8,192 tokens, up to 12.6k, killed a CPU run at 24 GB).
``fit_messages`` trims a prompt in this order, each stage only as far as needed, and stops as soon as the
prompt fits:

1. **history**: the oldest (action, observation) turn pairs are dropped, always keeping the last step; the
   task turn's "N earlier step(s) are not shown" sentence is rewritten to match;
2. **observation**: the middle of the observation turns is cut (head + tail kept, with a visible marker),
   the longest first — one character cap for all of them, the largest that fits, never under
   ``MIN_KEPT_CHARS``;
3. **problem**: the middle of the problem statement (the text inside ``<issue>``; in a prompt without one,
   such as a math prompt, the whole first user turn), down to ``MIN_KEPT_CHARS``;
4. otherwise the example is **dropped**.

Tokens are counted by a function of the messages — ``chat_token_counter(tokenizer)`` counts them as TRL
does, through the tokenizer's chat template with the generation prompt. Each stage binary-searches its
setting, so a prompt costs O(log n) counts. The default budget is the model's context minus the completion
budget (``default_budget``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from srl_swe import prompts

Messages = list[dict[str, str]]
TokenCounter = Callable[[Messages], int]
KINDS = ("trimmed_history", "trimmed_observation", "trimmed_problem", "dropped")
MIN_KEPT_CHARS = 200
"""The fewest characters an observation or a problem statement is cut to (the ``max_observation_chars`` floor)."""
_ISSUE = re.compile(r"\A<issue>\n(?P<problem>.*)\n</issue>\n\nResolve the issue in /testbed\.(?P<rest>.*)\Z", re.S)
_EARLIER = re.compile(r" (\d+) (?:earlier step\(s\) are not shown|step\(s\) have been taken)")
DEFAULT_COMPLETION_TOKENS = 2048
"""The completion budget when none is given: SRL's default ``max_completion_length``."""
_SANE_CONTEXT = 10_000_000  # tokenizers without a limit report model_max_length ≈ 1e30


class BudgetError(ValueError):
    """A budget that cannot be set up (no tokenizer, no chat template, no context); the message says why."""


@dataclass
class Fitted:
    """A prompt after ``fit_messages``: ``messages`` None when dropped; ``trimmed`` the stages applied."""

    messages: Messages | None
    trimmed: tuple[str, ...] = ()


@dataclass
class BudgetCounts:
    """How many prompts each stage touched (a prompt trimmed twice counts in both; a dropped one only there)."""

    budget: int
    examples: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def add(self, kinds: Iterable[str]) -> None:
        self.examples += 1
        for kind in kinds:
            self.counts[kind] += 1

    def summary(self) -> dict[str, int]:
        return {"max_prompt_tokens": self.budget, "examples": self.examples, **self.counts}


def chat_token_counter(tokenizer) -> TokenCounter:
    """Tokens of a prompt as TRL's GRPO trainer makes them: the chat template with the generation prompt."""
    def count(messages: Messages) -> int:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        return len(ids)

    return count


def model_context(model_path: str, tokenizer=None) -> int | None:
    """The model's context in tokens: its config's ``max_position_embeddings`` (or ``n_positions``), else the
    tokenizer's ``model_max_length`` when it is a real limit; None when neither says."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model_path)
    except (OSError, ValueError):
        config = None
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if isinstance(limit, int) and 0 < limit < _SANE_CONTEXT else None


def default_budget(context: int | None, completion_tokens: int) -> int | None:
    """The model's context minus the completion budget; None when the context is unknown. BudgetError when
    the completions alone fill the context."""
    if context is None:
        return None
    if completion_tokens >= context:
        raise BudgetError(f"the completion budget ({completion_tokens} tokens) leaves no room for a prompt in the "
                         f"model's context ({context} tokens)")
    return context - completion_tokens


def fit_messages(messages: Messages, count: TokenCounter, budget: int) -> Fitted:
    """``messages`` fitted to ``budget`` tokens (see the module docstring); the input is not modified.

    The layout expected: an optional system turn, the task user turn, then (assistant action, user
    observation) pairs — what ``srl_swe.steps`` writes. Any other turns are kept whole."""
    if count(messages) <= budget:
        return Fitted(messages)
    prompt, trimmed = _Prompt.parse(messages), []
    for kind, stage in (("trimmed_history", _fewer_pairs), ("trimmed_observation", _shorter_observations),
                        ("trimmed_problem", _shorter_problem)):
        changed = stage(prompt, count, budget)
        trimmed += [kind] if changed else []
        if count(prompt.render()) <= budget:
            return Fitted(prompt.render(), tuple(trimmed))
    return Fitted(None, ("dropped",))


@dataclass
class _Prompt:
    """A prompt split into the parts the stages trim; ``render`` puts them back together."""

    head: Messages  # the system turn(s) before the task turn
    task: dict[str, Any]
    problem: str | None  # the issue text inside the task turn (None: the task turn is trimmed whole)
    earlier: int  # steps taken before the first pair shown
    pairs: list[tuple[dict[str, Any], dict[str, Any]]]
    tail: Messages  # anything after the pairs (kept whole)
    dropped_pairs: int = 0
    observation_cap: int | None = None
    problem_cap: int | None = None

    @classmethod
    def parse(cls, messages: Messages) -> _Prompt:
        first_user = next((i for i, m in enumerate(messages) if m["role"] == "user"), len(messages) - 1)
        task, rest = messages[first_user], messages[first_user + 1 :]
        pairs = []
        while len(rest) >= 2 and rest[0]["role"] == "assistant" and rest[1]["role"] == "user":
            pairs.append((rest[0], rest[1]))
            rest = rest[2:]
        match = _ISSUE.match(task["content"])
        earlier = _EARLIER.search(match.group("rest")) if match else None
        return cls(messages[:first_user], task, match.group("problem") if match else None,
                   int(earlier.group(1)) if earlier else 0, pairs, rest)

    def render(self) -> Messages:
        shown = self.pairs[self.dropped_pairs :]
        return [*self.head, {**self.task, "content": self._task_text(len(shown))},
                *(m for action, observation in shown for m in (action, self._observation(observation))), *self.tail]

    def _task_text(self, shown: int) -> str:
        if self.problem is None:
            return _cut(self.task["content"], self.problem_cap)
        if not self.dropped_pairs and self.problem_cap is None:
            return self.task["content"]
        return prompts.swe_task_turn(_cut(self.problem, self.problem_cap), self.earlier + self.dropped_pairs, shown)

    def _observation(self, message: dict[str, Any]) -> dict[str, Any]:
        if self.observation_cap is None:
            return message
        text = message["content"]
        prefix = prompts.OBSERVATION_PREFIX if text.startswith(prompts.OBSERVATION_PREFIX) else ""
        return {**message, "content": prefix + _cut(text[len(prefix) :], self.observation_cap)}

    def longest_observation(self) -> int:
        return max((len(obs["content"]) for _, obs in self.pairs[self.dropped_pairs :]), default=0)


def _cut(text: str, cap: int | None) -> str:
    return text if cap is None else prompts.truncate_middle(text, cap)


def _largest_fitting(low: int, high: int, fits: Callable[[int], bool]) -> int:
    """The largest value in [low, high] that fits, assuming fitting is monotone; ``low`` when none does."""
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def _fewer_pairs(prompt: _Prompt, count: TokenCounter, budget: int) -> bool:
    """Drop the oldest pairs, keeping at least the last one; True when any was dropped."""
    most = max(0, len(prompt.pairs) - 1)

    def fits(kept: int) -> bool:
        prompt.dropped_pairs = len(prompt.pairs) - kept
        return count(prompt.render()) <= budget

    keep = _largest_fitting(len(prompt.pairs) - most, len(prompt.pairs), fits)
    prompt.dropped_pairs = len(prompt.pairs) - keep
    return prompt.dropped_pairs > 0


def _shorter_observations(prompt: _Prompt, count: TokenCounter, budget: int) -> bool:
    return _shrink(prompt, "observation_cap", prompt.longest_observation(), count, budget)


def _shorter_problem(prompt: _Prompt, count: TokenCounter, budget: int) -> bool:
    length = len(prompt.problem if prompt.problem is not None else prompt.task["content"])
    return _shrink(prompt, "problem_cap", length, count, budget)


def _shrink(prompt: _Prompt, cap: str, length: int, count: TokenCounter, budget: int) -> bool:
    """Set ``prompt.<cap>`` to the largest character cap (≥ MIN_KEPT_CHARS) that fits; True when it cuts."""
    if length <= MIN_KEPT_CHARS:
        return False

    def fits(chars: int) -> bool:
        setattr(prompt, cap, chars)
        return count(prompt.render()) <= budget

    setattr(prompt, cap, _largest_fitting(MIN_KEPT_CHARS, length - 1, fits))
    return True


@dataclass
class PromptBudget:
    """A budget with its token counter and the counts of what it did to the prompts it saw."""

    count: TokenCounter
    counts: BudgetCounts

    @classmethod
    def for_tokenizer(cls, tokenizer, budget: int) -> PromptBudget:
        return cls(chat_token_counter(tokenizer), BudgetCounts(budget))

    def fit(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The rows whose ``prompt`` fits, trimmed where needed; every row is counted, dropped ones left out."""
        for row in rows:
            fitted = fit_messages(row["prompt"], self.count, self.counts.budget)
            self.counts.add(fitted.trimmed)
            if fitted.messages is not None:
                yield {**row, "prompt": fitted.messages}


def resolve_budget(model_path: str, tokenizer, max_prompt_tokens: int | None, completion_tokens: int) -> int:
    """``max_prompt_tokens`` when given, else the default (``default_budget`` of ``model_context``).
    BudgetError naming the reason when there is none: an unknown context, or completions filling it."""
    if max_prompt_tokens is not None:
        return max_prompt_tokens
    budget = default_budget(model_context(model_path, tokenizer), completion_tokens)
    if budget is None:
        raise BudgetError(f"{model_path}: the model's context is unknown (no max_position_embeddings, no "
                         f"model_max_length); set the prompt budget in tokens")
    return budget


def load_budget(tokenizer_path: str, max_prompt_tokens: int | None = None,
                completion_tokens: int = DEFAULT_COMPLETION_TOKENS) -> PromptBudget:
    """The budget for the tokenizer (and model) at ``tokenizer_path``: a local folder or a Hub id.
    BudgetError when it cannot be loaded or counts no chat prompt."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    except (OSError, ValueError) as exc:
        raise BudgetError(f"{tokenizer_path}: cannot load a tokenizer ({' '.join(str(exc).split())[:200]})") from None
    if not tokenizer.chat_template:
        raise BudgetError(f"{tokenizer_path}: the tokenizer has no chat template to count prompts with")
    return PromptBudget.for_tokenizer(tokenizer, resolve_budget(tokenizer_path, tokenizer, max_prompt_tokens,
                                                                completion_tokens))
