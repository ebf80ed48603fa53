"""Split text into tokens, words and sentences."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable

_TOKEN_RE = re.compile(
    r"""
    (?P<url>https?://[^\s<>"']+[^\s<>"'.,;:!?)\]])
  | (?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)
  | (?P<number>\d+(?:\.\d+)?(?:%|(?!\w)))
  | (?P<word>\w*[^\W\d_]\w*(?:['’]\w+)*|\w+)
  | (?P<punct>[^\w\s])
    """,
    re.VERBOSE,
)

# Abbreviations after which a full stop does not end a sentence (compared in lower case).
ABBREVIATIONS = frozenset({"dr", "e.g", "etc", "i.e", "mr", "mrs", "ms", "no", "prof", "st", "vs"})

_SENTENCE_END_RE = re.compile(r"([.!?]+)(['\")\]]*)\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclasses.dataclass(frozen=True)
class Token:
    """A piece of text with its kind (``url``, ``email``, ``number``, ``word`` or ``punct``) and offsets."""

    text: str
    kind: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; whitespace is dropped, offsets index into ``text``."""
    return [
        Token(match.group(), match.lastgroup or "", match.start(), match.end()) for match in _TOKEN_RE.finditer(text)
    ]


def words(text: str, *, lowercase: bool = True) -> list[str]:
    """The word tokens of ``text`` (numbers, punctuation, URLs and e-mail addresses excluded)."""
    found = [token.text for token in tokenize(text) if token.kind == "word"]
    return [word.lower() for word in found] if lowercase else found


def word_frequencies(text: str, *, stopwords: Iterable[str] = ()) -> Counter[str]:
    """Count the lower-cased words of ``text``, leaving out ``stopwords``."""
    skip = {word.lower() for word in stopwords}
    return Counter(word for word in words(text) if word not in skip)


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences at ``.``, ``!`` or ``?`` followed by a capital letter or digit.

    A full stop after a known abbreviation (``Dr.``, ``e.g.``) or a single capital letter (an initial)
    does not end a sentence.
    """
    text = " ".join(text.split())
    found = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        before = text[start : match.start()].split(" ")[-1]
        if match.group(1) == "." and (before.lower() in ABBREVIATIONS or re.fullmatch(r"[A-Z]", before)):
            continue
        found.append(text[start : match.end()].strip())
        start = match.end()
    rest = text[start:].strip()
    if rest:
        found.append(rest)
    return found
