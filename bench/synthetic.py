"""Deterministic synthetic SWE trajectories and reward pairs for the benchmarks.

Text is drawn from the Python standard library's own source (always present, realistic code and prose),
so sizes and character statistics look like real agent data: issues of ~1.5k characters, actions of
80–2,000 characters (shell commands, heredoc file writes, editor calls), observations of 0–6k characters.
"""

from __future__ import annotations

import difflib
import inspect
import json
import random
import shlex
import textwrap
from pathlib import Path

from srl_swe.actions import render_completion, tool_action
from srl_swe.trajectory import Outcome, Provenance, Step, SweTask, Trajectory

CORPUS = "\n".join(inspect.getsource(module) for module in (difflib, shlex, textwrap, random))
LINES = [line for line in CORPUS.splitlines() if line.strip()]
WORDS = sorted({word for word in CORPUS.split() if word.isidentifier()})


def snippet(rng: random.Random, low: int, high: int) -> str:
    """Consecutive source lines totalling between ``low`` and ``high`` characters."""
    target = rng.randint(low, high)
    start = rng.randrange(len(LINES))
    out, size = [], 0
    for line in LINES[start:] + LINES[:start]:
        if size >= target:
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)[:high]


def action(rng: random.Random, low: int = 80, high: int = 2000):
    kind = rng.random()
    path = f"/testbed/pkg/module_{rng.randrange(40)}.py"
    if kind < 0.45:
        command = rng.choice([f"grep -rn '{rng.choice(WORDS)}' /testbed --include=*.py | head -40",
                              f"cd /testbed && python -m pytest tests/test_{rng.randrange(30)}.py -x -q",
                              f"sed -n '{rng.randrange(400)},+60p' {path}"])
        if rng.random() < 0.5:
            body = snippet(rng, low, high - 60)
            command = f"cat > /testbed/reproduce.py <<'EOF'\n{body}\nEOF\npython /testbed/reproduce.py"
        return tool_action("bash", {"command": command})
    if kind < 0.85:
        old = snippet(rng, low // 2, high // 2)
        new = old.replace("return", "return  # fixed", 1) if rng.random() < 0.7 else snippet(rng, 40, high // 2)
        return tool_action("str_replace_editor", {"command": "str_replace", "path": path, "old_str": old,
                                                  "new_str": new})
    return tool_action("str_replace_editor", {"command": "view", "path": path, "view_range": [1, rng.randint(20, 200)]})


def trajectory(rng: random.Random, index: int, steps: int) -> Trajectory:
    return Trajectory(
        id=f"synthetic-{index}",
        task=SweTask(instance_id=f"acme__pkg-{index}", problem_statement=snippet(rng, 800, 2500)),
        steps=[Step(thought=snippet(rng, 100, 600), action=action(rng),
                    observation=snippet(rng, 0, 6000)) for _ in range(steps)],
        outcome=Outcome(resolved=True),
        provenance=Provenance(source_format="synthetic", source=f"bench:{index}"),
    )


def write_trajectories(path: Path, count: int, steps: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(count):
            handle.write(trajectory(rng, index, steps).model_dump_json(by_alias=True) + "\n")
    return path


def reward_pairs(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """(completion, expert action text) pairs; actions 200–2,000 characters; a mix of near-duplicates,
    partial matches, unrelated calls and a few broken completions."""
    from srl_swe.actions import action_text

    rng = random.Random(seed)
    pairs = []
    while len(pairs) < count:
        expert = action(rng, 200, 1900)
        text = action_text(expert)
        if not 200 <= len(text) <= 2000:
            continue
        roll = rng.random()
        if roll < 0.5:
            lines = text.splitlines()
            del lines[rng.randrange(1, max(2, len(lines) - 1))]
            predicted = "\n".join(lines)
        elif roll < 0.9:
            predicted = action_text(action(rng, 200, 1900))
        else:
            predicted = "prose without a tool call"
        thought = snippet(rng, 50, 400)
        pairs.append((render_completion(thought, expert).replace(text, predicted), text))
    return pairs


if __name__ == "__main__":
    print(json.dumps(len(reward_pairs(10))))
