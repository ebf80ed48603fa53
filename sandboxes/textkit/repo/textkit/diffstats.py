"""Line-based statistics about the difference between two texts."""

from __future__ import annotations

import dataclasses
import difflib


@dataclasses.dataclass(frozen=True)
class DiffStats:
    added: int
    removed: int
    unchanged: int

    @property
    def changed(self) -> int:
        return self.added + self.removed

    @property
    def similarity(self) -> float:
        """Share of lines the two texts have in common, from 0.0 to 1.0 (1.0 for two empty texts)."""
        total = self.added + self.removed + 2 * self.unchanged
        return 1.0 if total == 0 else 2 * self.unchanged / total

    def summary(self) -> str:
        """Like ``git diff --shortstat``: ``"2 insertions(+), 1 deletion(-)"``; ``"no changes"`` when equal."""
        parts = []
        if self.added:
            parts.append(f"{self.added} insertion{'s' if self.added != 1 else ''}(+)")
        if self.removed:
            parts.append(f"{self.removed} deletion{'s' if self.removed != 1 else ''}(-)")
        return ", ".join(parts) or "no changes"


def _normalise(lines: list[str], *, ignore_whitespace: bool, ignore_case: bool) -> list[str]:
    out = []
    for line in lines:
        if ignore_whitespace:
            line = line.strip()
        if ignore_case:
            line = line.casefold()
        out.append(line)
    return out


def diff_stats(old: str, new: str, *, ignore_whitespace: bool = False, ignore_case: bool = False) -> DiffStats:
    """Count the lines added, removed and kept going from ``old`` to ``new``.

    With ``ignore_whitespace``, lines that differ only in whitespace count as equal: leading and
    trailing whitespace is ignored and every run of whitespace inside a line counts as one space.
    With ``ignore_case``, lines that differ only in case count as equal.
    """
    a = _normalise(old.splitlines(), ignore_whitespace=ignore_whitespace, ignore_case=ignore_case)
    b = _normalise(new.splitlines(), ignore_whitespace=ignore_whitespace, ignore_case=ignore_case)
    added = removed = unchanged = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            unchanged += i2 - i1
        else:
            removed += i2 - i1
            added += j2 - j1
    return DiffStats(added, removed, unchanged)


def unified_diff(old: str, new: str, *, fromfile: str = "a", tofile: str = "b", context: int = 3) -> str:
    """A unified diff of two texts, as one string ending with a newline (empty when they are equal)."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=fromfile, tofile=tofile, n=context, lineterm=""
    )
    text = "\n".join(lines)
    return text + "\n" if text else ""
