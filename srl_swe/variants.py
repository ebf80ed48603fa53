"""Renamed variants of SWE expert trajectories: the same run, with the repository's own package and module
names replaced everywhere — task, thoughts, actions, observations, patches — by invented ones.

A model that memorised a few expert runs writes their actions from memory; on a variant it has to read the
names from the context, as on a task it has never seen. ``srl-swe quickstart --srl-variants N`` trains SRL and
its more-SFT row on variants of the tasks the warm start memorised, where SRL's rollouts differ and its groups
carry signal (what that did to the held-out tasks: ``QuickstartOptions.srl_variants``).

Names renamed (``repository_names``): the package and module stems of Python files the run mentions
(``pkg/module.py``, ``tests/test_module.py``), at least 3 characters, except Python's own module names,
keywords and builtins (renaming ``json`` would break ``import json``). A name is replaced only as a whole
identifier. Each variant keeps the task's ``instance_id`` (so it stays in or out of the held-out split with its
task) and gets the id ``ID~vN``; its names are drawn from a generator seeded with that id. Math runs have no
variants; a SWE run without such names is copied unchanged.
"""

from __future__ import annotations

import builtins
import keyword
import random
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from srl_swe.trajectory import Trajectory, read_trajectories, write_trajectories

_PATH = re.compile(r"(?<![\w.-])(?:[\w.-]+/)*(\w+)/(\w+)\.py\b")
_TEST = re.compile(r"\btest_(\w+)\.py\b")
_KEPT = {"tests", "test", "testbed", "src", "lib", "setup", "conftest", "main"}
_RESERVED = set(sys.stdlib_module_names) | set(keyword.kwlist) | set(dir(builtins))
_KEYS = {"id", "instance_id", "repo", "image", "base_commit", "source_format", "source", "teacher"}
"""Fields that identify the run or its environment: never renamed."""
_CONSONANTS, _VOWELS = "bdfgklmnprstvz", "aeiou"


def repository_names(trajectory: Trajectory) -> set[str]:
    """The package and module names a variant replaces (see the module docstring)."""
    texts: list[str] = []
    _replace(trajectory.model_dump(by_alias=True), lambda text: texts.append(text) or text)  # reads, renames nothing
    found = {name for text in texts for match in _PATH.finditer(text) for name in match.groups()}
    found |= {name for text in texts for name in _TEST.findall(text)}
    return {name for name in found if len(name) >= 3 and name not in _KEPT and name not in _RESERVED
            and not name.startswith("test_") and not name.startswith("__")}


def renamed(trajectory: Trajectory, number: int) -> Trajectory | None:
    """Variant ``number`` of ``trajectory``: None for a math run; an unchanged copy (with the variant's id) for a
    SWE run without names to replace, so every task of the source has its variants."""
    if trajectory.task.track != "swe":
        return None
    return _variant(trajectory, number, _longest_first(repository_names(trajectory)))


def renamed_variants(trajectories: Iterable[Trajectory], count: int) -> Iterator[Trajectory]:
    """``count`` variants of every SWE run (the originals are not repeated)."""
    for trajectory in trajectories:
        if trajectory.task.track != "swe":
            continue
        names = _longest_first(repository_names(trajectory))  # once for all its variants
        for number in range(1, count + 1):
            yield _variant(trajectory, number, names)


def _variant(trajectory: Trajectory, number: int, names: list[str]) -> Trajectory:
    """Variant ``number``: ``names`` (longest first) replaced by invented ones drawn from the variant's id."""
    variant_id = f"{trajectory.id}~v{number}"
    if not names:
        return trajectory.model_copy(update={"id": variant_id})
    rng = random.Random(variant_id)
    fresh: dict[str, str] = {}
    for name in names:
        while (new := _invented(rng)) in fresh.values() or new in names:
            pass
        fresh[name] = new
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9])")
    record = _replace(trajectory.model_dump(by_alias=True), lambda text: pattern.sub(lambda m: fresh[m[0]], text))
    return Trajectory.model_validate({**record, "id": variant_id})


def write_renamed_variants(source: Path, out: Path, count: int) -> int:
    """``count`` variants of every run in ``source`` written to ``out`` (atomically); returns how many."""
    return write_trajectories(out, renamed_variants(read_trajectories(source), count))


def _longest_first(names: set[str]) -> list[str]:
    """Longest first (a name inside a longer one is replaced after it), ties by name: a set's order changes
    with each process's string hashing, and the invented names are drawn in this order."""
    return sorted(names, key=lambda name: (-len(name), name))


def _invented(rng: random.Random) -> str:
    return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.choice((2, 3))))


def _replace(value, rename):
    """``value`` (a dumped record) with ``rename`` applied to every string but those of ``_KEYS``."""
    if isinstance(value, str):
        return rename(value)
    if isinstance(value, list):
        return [_replace(item, rename) for item in value]
    if isinstance(value, dict):
        return {key: item if key in _KEYS else _replace(item, rename) for key, item in value.items()}
    return value
