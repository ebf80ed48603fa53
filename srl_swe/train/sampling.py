"""Dynamic sampling (SRL paper §3.3, DAPO-style), as a TRL ``rollout_func``.

TRL 1.16's GRPOTrainer only *logs* groups whose rewards do not vary (their advantage is 0: they carry no
learning signal but still cost a batch slot). The paper drops them and keeps sampling until the batch is
full. ``DynamicSampling`` does exactly that inside TRL's rollout hook:

1. generate G rollouts for each prompt of this process's slice with the trainer's configured backend:
   vLLM colocate / server through TRL, transformers ``generate`` with each prompt prefilled once
   (``srl_swe.train.generation``);
2. score them with the training reward; a group is kept when the population std of its G rewards
   exceeds ``epsilon`` (with 0/1 rewards and ``epsilon`` 0 this is DAPO's 0 < #correct < G);
3. replace the dropped groups with prompts drawn at random from the training set, generate and score
   again, for at most ``max_rounds`` rounds; if the batch is still short it is topped up with dropped
   groups and the shortfall is logged. A topped-up group carries no signal: ``trainer_reward`` (the reward
   to give TRL) scores each of its rollouts with the group's mean, so its advantage is 0.
   Without that TRL would divide the group's differences, however small (std up to ``epsilon``), by their
   std and train on them as on any other group.

The kept groups go back to TRL as token ids, with each one's dataset columns (``expert_action`` …) as
extra fields, which TRL hands to the reward functions in place of the original rows'. TRL still lists
the original prompt text in its completions table. Processes run the same number of rounds (the largest
shortfall, gathered), so vLLM server mode and multi-GPU launches stay in lockstep. In evaluation, and
with ``enabled=False`` (the ablation), it only generates.

Logged per step: ``dynamic_sampling/kept_fraction`` (groups of the first round kept),
``dynamic_sampling/generation_ratio`` (groups generated / groups trained on), ``dynamic_sampling/topped_up``
(groups filled with dropped ones). Each process also logs (``logging``, INFO, logger
``srl_swe.train.sampling``) one line per batch: ``dynamic sampling, process P: R round(s), K of N groups
informative in the first round, T topped up`` — R is the same on every process by construction; K differs.
The draw of replacement prompts is seeded but not checkpointed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from srl_swe.train.generation import shared_prefill_rollouts

RewardFn = Callable[..., list[float]]
FLAT = "dynamic_sampling_flat_reward"
"""The extra rollout field holding a topped-up group's mean reward (None for a kept group's rollouts)."""
_log = logging.getLogger(__name__)


def prompt_key(prompt: Any) -> str:
    """A stable key for a prompt (a string or a list of chat messages)."""
    return hashlib.sha256(json.dumps(prompt, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def group_is_informative(rewards: Sequence[float], epsilon: float) -> bool:
    """The paper's rule: population std of the group's rewards > ``epsilon``."""
    return statistics.pstdev(rewards) > epsilon


class DynamicSampling:
    """A TRL ``rollout_func`` (see the module docstring). ``rows`` is the training dataset."""

    def __init__(self, rows, reward: RewardFn, epsilon: float, max_rounds: int, enabled: bool = True,
                 seed: int = 0):
        self.rows = rows
        self.reward = reward
        self.epsilon = epsilon
        self.max_rounds = max_rounds
        self.enabled = enabled
        self.seed = seed
        self._rng: random.Random | None = None
        self._index: dict[str, list[int]] = {}
        for i, prompt in enumerate(_prompts(rows)):
            self._index.setdefault(prompt_key(prompt), []).append(i)

    def trainer_reward(self) -> RewardFn:
        """The reward to give TRL with this sampler: the sampler's, except that a topped-up group's rollouts
        (``FLAT`` set) all score the group's mean."""
        reward = self.reward

        def scored(completions, **kwargs) -> list[float]:
            values = reward(completions=completions, **kwargs)
            flat = kwargs.get(FLAT) or [None] * len(values)
            return [value if mean is None else mean for value, mean in zip(values, flat, strict=True)]

        scored.__name__ = getattr(reward, "__name__", "reward")
        return scored

    def __call__(self, prompts: list, trainer) -> dict[str, list]:
        training = trainer.model.training
        size = trainer.num_generations if training else trainer.num_generations_eval
        if not (training and self.enabled):
            prompt_ids, completion_ids, logprobs, _ = self.generate(trainer, prompts[::size], size)
            return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs}
        return self._fill(trainer, [self._row_of(trainer, prompt) for prompt in prompts[::size]], size)

    def _row_of(self, trainer, prompt) -> dict:
        """The training row of ``prompt``; among rows sharing one prompt (several expert trajectories of
        one task reach the same context), one at random — as if the sampler had drawn that row."""
        indices = self._index.get(prompt_key(prompt))
        if indices is None:
            raise KeyError("rollout_func got a prompt that is not in the training set")
        return self.rows[indices[0] if len(indices) == 1 else self._random(trainer).choice(indices)]

    def _fill(self, trainer, rows: list[dict], size: int) -> dict[str, list]:
        wanted, kept, dropped = len(rows), [], []
        generated, first_round_kept, rounds = 0, None, 0
        for rounds in range(1, self.max_rounds + 1):
            for group in self._groups(trainer, rows, size):
                (kept if group_is_informative(group["rewards"], self.epsilon) else dropped).append(group)
            generated += len(rows)
            if first_round_kept is None:
                first_round_kept = len(kept)
            shortfall = _global_max(trainer, max(0, wanted - len(kept)))
            if shortfall == 0 or rounds == self.max_rounds:
                break
            rows = [self.rows[i] for i in self._draw(trainer, shortfall)]
        topped_up = max(0, wanted - len(kept))
        for group in dropped[:topped_up]:
            group["flat"] = statistics.fmean(group["rewards"])
        groups = (kept + dropped[:topped_up])[:wanted]
        _log.info("dynamic sampling, process %d: %d round(s), %d of %d groups informative in the first round, "
                  "%d topped up", trainer.accelerator.process_index, rounds, first_round_kept, wanted, topped_up)
        trainer._log_metric("dynamic_sampling/kept_fraction", first_round_kept / wanted)
        trainer._log_metric("dynamic_sampling/generation_ratio", generated / wanted)
        trainer._log_metric("dynamic_sampling/topped_up", float(topped_up))
        return _as_rollout(groups)

    def _random(self, trainer) -> random.Random:
        if self._rng is None:  # one stream per process, so processes draw different prompts
            self._rng = random.Random(self.seed * 1_000_003 + trainer.accelerator.process_index)
        return self._rng

    def _draw(self, trainer, count: int) -> list[int]:
        rng = self._random(trainer)
        return [rng.randrange(len(self.rows)) for _ in range(count)]

    def _groups(self, trainer, rows: list[dict], size: int) -> list[dict]:
        """Generate and score ``size`` rollouts per row: one dict per group."""
        prompt_ids, completion_ids, logprobs, texts = self.generate(trainer, [row["prompt"] for row in rows], size)
        columns = {key: [row[key] for row in rows for _ in range(size)] for key in rows[0] if key != "prompt"}
        rewards = self.reward(completions=texts, **columns)
        groups = []
        for g, row in enumerate(rows):
            span = slice(g * size, (g + 1) * size)
            groups.append({"row": row, "rewards": rewards[span], "prompt_ids": prompt_ids[span],
                           "completion_ids": completion_ids[span],
                           "logprobs": logprobs[span] if logprobs is not None else None})
        return groups

    @staticmethod
    def generate(trainer, prompts: list, size: int):
        """``size`` rollouts per prompt through the trainer's configured generation backend:
        (prompt_ids, completion_ids, logprobs or None, decoded texts), one entry per rollout."""
        distinct, _, _ = trainer._tokenize_prompts(prompts)
        prompt_ids = [ids for ids in distinct for _ in range(size)]
        completion_ids, logprobs = shared_prefill_rollouts(trainer, distinct, size), None
        if completion_ids is None:
            completion_ids, logprobs = trainer._generate_single_turn(prompt_ids, None, {}, size)
        texts = trainer.processing_class.batch_decode(completion_ids, skip_special_tokens=True)
        return prompt_ids, completion_ids, logprobs, texts


def _prompts(rows):
    """The prompt column, streamed in batches (the whole column of a large step set would not fit)."""
    for batch in rows.select_columns(["prompt"]).iter(batch_size=1024):
        yield from batch["prompt"]


def _global_max(trainer, value: int) -> int:
    """The largest ``value`` over all processes (every process must call this the same number of times)."""
    import torch

    if trainer.accelerator.num_processes == 1:
        return value
    gathered = trainer.accelerator.gather(torch.tensor([value], device=trainer.accelerator.device))
    return int(gathered.max().item())


def _as_rollout(groups: list[dict]) -> dict[str, list]:
    """The rollout_func result: ids per completion plus every dataset column as an extra field."""
    out: dict[str, list] = {"prompt_ids": [], "completion_ids": [], "logprobs": [], FLAT: []}
    columns = [key for key in groups[0]["row"] if key != "prompt"]
    out.update({key: [] for key in columns})
    for group in groups:
        out["prompt_ids"] += group["prompt_ids"]
        out["completion_ids"] += group["completion_ids"]
        out["logprobs"] += group["logprobs"] or [None] * len(group["completion_ids"])
        out[FLAT] += [group.get("flat")] * len(group["completion_ids"])
        for key in columns:
            out[key] += [group["row"][key]] * len(group["completion_ids"])
    if all(lp is None for lp in out["logprobs"]):
        out["logprobs"] = None
    return out
