"""Held-out step evaluation: a model writes the next action for step examples it was not trained on, and is
scored with SRL's step reward — what ``srl-swe quickstart`` and ``bench/learning.py`` compare models on.

For every example the model gets the example's prompt (task + previous steps) and writes ``samples``
completions (greedy when ``temperature`` is 0, then one). Each completion is scored with the configured
reward (``action_similarity`` by default: the paper's 2M/T on the action, −1 for a broken format). Reported:

- ``reward`` — the mean over all completions;
- ``format_error_rate`` — the share scored −1;
- ``exact_match`` — the share whose action is the expert's, character for character (a similarity of 1.0);
- ``by_tool`` — per expert tool, the mean similarity of the well-formed completions (the training metric
  ``similarity/<tool>``), with how many there were;
- ``samples`` — every completion beside its expert action, for ``samples.md``.

Generation is batched with left padding and bounded by ``max_new_tokens``; nothing a completion says is run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from srl_swe.rewards import FORMAT_PENALTY
from srl_swe.train.metrics import training_reward


@dataclass
class StepScores:
    reward: float
    format_error_rate: float
    exact_match: float
    by_tool: dict[str, dict[str, float]]
    """tool → {"similarity": mean over well-formed completions, "count": how many}."""
    completions: int
    samples: list[dict] = field(default_factory=list, repr=False)
    """One entry per example: instance_id, step, tool, expert_action, completions, rewards."""

    def summary(self) -> dict:
        """Everything but the samples (for JSON reports)."""
        return {key: value for key, value in asdict(self).items() if key != "samples"}


def score_steps(model: str, examples: Sequence[dict], max_new_tokens: int, temperature: float = 0.0,
                samples: int = 1, batch_size: int = 16, seed: int = 0, reward: str = "action_similarity",
                on_batch: Callable[[int], None] | None = None) -> StepScores:
    """Score the model at ``model`` (a folder or Hub id) on ``examples`` (rows with ``prompt``,
    ``expert_action``, ``tool``; ``track`` optional). ``on_batch(n)`` is told after each batch of n
    examples. Raises ValueError on an empty ``examples``."""
    if not examples:
        raise ValueError("no held-out step example to score")
    texts = _generate(model, [row["prompt"] for row in examples], max_new_tokens, temperature,
                      1 if temperature == 0 else samples, batch_size, seed, on_batch)
    score = training_reward(reward)
    entries = []
    for row, completions in zip(examples, texts, strict=True):
        values = score(completions=completions, expert_action=[row["expert_action"]] * len(completions),
                       track=[row.get("track") or "swe"] * len(completions))
        entries.append({"instance_id": row.get("instance_id"), "step": row.get("step"), "tool": row.get("tool"),
                        "expert_action": row["expert_action"], "completions": completions, "rewards": values})
    return _aggregate(entries)


def _aggregate(entries: list[dict]) -> StepScores:
    values = [value for entry in entries for value in entry["rewards"]]
    by_tool: dict[str, list[float]] = defaultdict(list)
    for entry in entries:
        by_tool[entry["tool"] or "action"].extend(v for v in entry["rewards"] if v != FORMAT_PENALTY)
    return StepScores(
        reward=sum(values) / len(values),
        format_error_rate=sum(v == FORMAT_PENALTY for v in values) / len(values),
        exact_match=sum(v == 1.0 for v in values) / len(values),
        by_tool={tool: {"similarity": sum(scores) / len(scores) if scores else None, "count": len(scores)}
                 for tool, scores in sorted(by_tool.items())},
        completions=len(values), samples=entries)


def _generate(model_path: str, prompts: list[list[dict]], max_new_tokens: int, temperature: float, samples: int,
              batch_size: int, seed: int, on_batch) -> list[list[str]]:
    """``samples`` completions per prompt (chat template, generation prompt added), decoded without special
    tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from srl_swe.models.hf import check_source
    from srl_swe.train.generation import generate_from_shared_prefill

    check_source(model_path)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(device).eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    torch.manual_seed(seed)
    results = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        batch = tokenizer.apply_chat_template(chunk, add_generation_prompt=True, return_tensors="pt",
                                              return_dict=True, padding=True).to(device)
        settings = {"max_new_tokens": max_new_tokens, "pad_token_id": pad, **sampling}
        if samples > 1 and batch["input_ids"].shape[1] > 1:  # several samples of one prompt: prefill it once
            output = generate_from_shared_prefill(model, batch["input_ids"], batch["attention_mask"], samples,
                                                  **settings)
        else:
            with torch.no_grad():
                output = model.generate(**batch, num_return_sequences=samples, **settings)
        decoded = tokenizer.batch_decode(output[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        results.extend(decoded[index * samples:(index + 1) * samples] for index in range(len(chunk)))
        if on_batch is not None:
            on_batch(len(chunk))
    return results


def budget_coverage(settings, tokenizer_path: str | Path, max_new_tokens: int) -> dict:
    """How many of the held-out expert completions of ``settings`` (a ``DataSettings``: every assistant turn of
    the held-out trajectories, thinking + action as the expert wrote them) fit in ``max_new_tokens`` of the
    tokenizer: max_new_tokens, coverage, completions, median_tokens, max_tokens. ValueError without any."""
    from srl_swe.train.data import sft_datasets

    validation = sft_datasets(settings)[1]
    completions = [message["content"] for row in (validation or []) for message in row["messages"]
                   if message["role"] == "assistant"]
    lengths = sorted(completion_lengths(tokenizer_path, completions))
    if not lengths:
        raise ValueError("no held-out expert completion: the steps hold no held-out trajectory")
    fits = sum(length <= max_new_tokens for length in lengths) / len(lengths)
    return {"max_new_tokens": max_new_tokens, "coverage": round(fits, 4), "completions": len(lengths),
            "median_tokens": lengths[len(lengths) // 2], "max_tokens": lengths[-1]}


def completion_lengths(tokenizer_path: str | Path, completions: Sequence[str]) -> list[int]:
    """Token counts of ``completions`` in the tokenizer at ``tokenizer_path`` (the budget check)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))
    return [len(ids) for ids in tokenizer(list(completions), add_special_tokens=False)["input_ids"]]
