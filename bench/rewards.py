"""Benchmark: the step reward on one GRPO batch (512 prompts × 8 rollouts = 4,096 completions).

Expert actions of 200–2,000 characters, completions mixing near-duplicates, other calls and broken
formats. Baseline: the same parse with stdlib ``difflib.SequenceMatcher(None, a, b, autojunk=False)``,
what the paper names. Ours: ``srl_swe.rewards.action_similarity`` (cydifflib). Reports both times, the
ratio, and whether all 4,096 values are bit-identical. Target: ≥ 10×, identical. Also ``action_effect`` (the
effect-aware reward) on the same batch, every expert distinct (so its cache of the expert's normal form never
hits, unlike a GRPO group): its time over ``action_similarity``'s, target ≤ 2×. Last line: JSON.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synthetic  # noqa: E402

from srl_swe.actions import FormatError, action_text, parse_completion  # noqa: E402
from srl_swe.rewards import FORMAT_PENALTY, action_effect, action_similarity  # noqa: E402


def stdlib_reward(completions: list[str], experts: list[str]) -> list[float]:
    rewards = []
    for completion, expert in zip(completions, experts, strict=True):
        try:
            predicted = action_text(parse_completion(completion).action)
        except FormatError:
            rewards.append(FORMAT_PENALTY)
            continue
        rewards.append(difflib.SequenceMatcher(None, predicted, expert, autojunk=False).ratio())
    return rewards


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=4096)
    args = parser.parse_args()
    pairs = synthetic.reward_pairs(args.pairs)
    completions, experts = [c for c, _ in pairs], [e for _, e in pairs]
    start = time.perf_counter()
    baseline = stdlib_reward(completions, experts)
    baseline_s = time.perf_counter() - start
    start = time.perf_counter()
    ours = action_similarity(completions=completions, expert_action=experts)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    action_effect(completions=completions, expert_action=experts)
    effect_s = time.perf_counter() - start
    lengths = [len(e) for e in experts]
    print(json.dumps({
        "pairs": len(pairs), "expert_chars_min": min(lengths), "expert_chars_max": max(lengths),
        "stdlib_seconds": round(baseline_s, 3), "ours_seconds": round(ours_s, 3),
        "speedup": round(baseline_s / ours_s, 1), "identical": ours == baseline,
        "format_errors": sum(r == FORMAT_PENALTY for r in ours),
        "action_effect_seconds": round(effect_s, 3), "effect_vs_similarity": round(effect_s / ours_s, 2),
        "effect_target": 2.0,
    }))


if __name__ == "__main__":
    main()
