"""Model clients the agent talks to: ``complete(messages) -> completion text``.

Specs (as on the command line, built by ``srl_swe.rollout.model_factory``): ``oracle`` (the scripted
expert, ``oracle.py``), ``openai:MODEL`` (``openai.py``), ``hf:PATH`` (``hf.py``) and ``replay:FILE``
(completions from a JSON list, for tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol


class Model(Protocol):
    name: str

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The assistant's next completion for these chat messages."""


class ReplayModel:
    """Plays back a fixed list of completions, one per call (then keeps repeating the last)."""

    def __init__(self, completions: list[str], name: str = "replay"):
        if not completions:
            raise ValueError("a replay model needs at least one completion")
        self.completions, self.name, self.calls = list(completions), name, 0

    @classmethod
    def from_file(cls, path: str | Path) -> ReplayModel:
        """A replay of the completions in a JSON file holding a list of strings; ValueError naming the
        file (as ``replay:FILE``) when it cannot be read or holds anything else."""
        try:
            completions = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"replay:{path}: cannot read it ({exc.strerror or exc})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"replay:{path}: not valid JSON ({exc})") from None
        if not isinstance(completions, list) or not all(isinstance(item, str) for item in completions):
            got = "a list with non-strings" if isinstance(completions, list) else "a JSON " + {
                dict: "object", str: "string", bool: "boolean", int: "number", float: "number"}.get(
                type(completions), "null")
            raise ValueError(f"replay:{path}: expected a JSON list of completion strings, got {got}")
        if not completions:
            raise ValueError(f"replay:{path}: the list is empty; a replay needs at least one completion")
        return cls(completions)

    def complete(self, messages: list[dict[str, str]]) -> str:
        completion = self.completions[min(self.calls, len(self.completions) - 1)]
        self.calls += 1
        return completion
