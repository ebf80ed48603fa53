"""Model clients the agent talks to: ``complete(messages) -> completion text``.

Specs (as on the command line, built by ``srl_swe.rollout.model_factory``): ``oracle`` (the scripted
expert, ``oracle.py``), ``openai:MODEL`` (``openai.py``), ``hf:PATH`` (``hf.py``) and ``replay:FILE``
(completions from a JSON list, for tests).
"""

from __future__ import annotations

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

    def complete(self, messages: list[dict[str, str]]) -> str:
        completion = self.completions[min(self.calls, len(self.completions) - 1)]
        self.calls += 1
        return completion
