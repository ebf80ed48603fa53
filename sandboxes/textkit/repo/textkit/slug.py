"""URL slugs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

# Letters that Unicode decomposition does not reduce to ASCII.
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D"})


def slugify(
    text: str,
    *,
    separator: str = "-",
    max_length: int | None = None,
    lowercase: bool = True,
    stopwords: Iterable[str] = (),
) -> str:
    """Turn ``text`` into a URL slug: ASCII letters and digits joined by ``separator``.

    Accented letters lose their accents, everything else that is not a letter or digit separates
    words. ``stopwords`` (compared case-insensitively) are dropped unless that would leave nothing.
    With ``max_length`` the slug is cut at a word boundary so that it is at most ``max_length``
    characters long and never ends with the separator; a first word longer than that is cut.
    """
    if not separator:
        raise ValueError("separator must not be empty")
    if max_length is not None and max_length < 1:
        raise ValueError("max_length must be positive")
    ascii_text = unicodedata.normalize("NFKD", text.translate(_SPECIAL)).encode("ascii", "ignore").decode("ascii")
    found = re.findall(r"[A-Za-z0-9]+", ascii_text)
    skip = {word.lower() for word in stopwords}
    kept = [word for word in found if word.lower() not in skip] or found
    slug = separator.join(kept)
    if lowercase:
        slug = slug.lower()
    if max_length is not None and len(slug) > max_length:
        slug = slug[:max_length]
    return slug


def unique_slug(text: str, existing: Collection[str], **options: object) -> str:
    """A slug of ``text`` that is not in ``existing``, adding ``-2``, ``-3``… when needed."""
    base = slugify(text, **options)  # type: ignore[arg-type]
    separator = str(options.get("separator", "-"))
    candidate = base
    number = 2
    while candidate in existing:
        candidate = f"{base}{separator}{number}"
        number += 1
    return candidate
