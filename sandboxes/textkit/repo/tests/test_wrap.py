import pytest

from textkit import fill, truncate, wrap

TEXT = "The quick brown fox jumps over the lazy dog"


def test_wrap_basic():
    assert wrap(TEXT, 15) == ["The quick brown", "fox jumps over", "the lazy dog"]


def test_wrap_collapses_whitespace():
    assert wrap("a   b\n\nc\td", 70) == ["a b c d"]
    assert wrap("   ", 10) == []


def test_wrap_with_indents():
    lines = wrap(TEXT, 16, indent="* ", subsequent_indent="  ")
    assert lines == ["* The quick", "  brown fox", "  jumps over the", "  lazy dog"]
    assert all(len(line) <= 16 for line in lines)


def test_wrap_breaks_long_words():
    assert wrap("abcdefghijklmnopqrstuvwxyz end", 10) == ["abcdefghij", "klmnopqrst", "uvwxyz end"]


def test_wrap_keeps_long_words_when_asked():
    assert wrap("see https://example.org/a/very/long/path now", 12, break_long_words=False) == [
        "see",
        "https://example.org/a/very/long/path",
        "now",
    ]


def test_wrap_rejects_indent_wider_than_width():
    with pytest.raises(ValueError):
        wrap(TEXT, 4, indent="    ")


def test_fill_keeps_paragraphs():
    text = "one two three\nfour\n\n\nfive six"
    assert fill(text, 9) == "one two\nthree\nfour\n\nfive six"


def test_truncate():
    assert truncate("Hello there, general Kenobi", 16) == "Hello there…"
    assert truncate("short", 10) == "short"
    assert truncate("Supercalifragilistic", 8, placeholder="...") == "Super..."


def test_truncate_rejects_tiny_width():
    with pytest.raises(ValueError):
        truncate("a long sentence", 1)
