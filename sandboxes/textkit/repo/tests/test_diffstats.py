from textkit import DiffStats, diff_stats, unified_diff

OLD = "alpha\nbeta\ngamma\ndelta\n"
NEW = "alpha\nBETA\ngamma\ndelta\nepsilon\n"


def test_counts():
    stats = diff_stats(OLD, NEW)
    assert stats == DiffStats(added=2, removed=1, unchanged=3)
    assert stats.changed == 3


def test_identical_texts():
    stats = diff_stats(OLD, OLD)
    assert stats == DiffStats(0, 0, 4)
    assert stats.similarity == 1.0
    assert stats.summary() == "no changes"


def test_similarity():
    assert diff_stats("a\nb\n", "a\nc\n").similarity == 0.5
    assert diff_stats("", "").similarity == 1.0
    assert diff_stats("a\n", "").similarity == 0.0


def test_summary_pluralisation():
    assert DiffStats(1, 0, 5).summary() == "1 insertion(+)"
    assert DiffStats(2, 1, 0).summary() == "2 insertions(+), 1 deletion(-)"
    assert DiffStats(0, 3, 0).summary() == "3 deletions(-)"


def test_ignore_case():
    assert diff_stats(OLD, NEW, ignore_case=True) == DiffStats(1, 0, 4)


def test_ignore_whitespace_at_line_ends():
    old = "def f():\n    return 1\n"
    new = "def f():  \n        return 1\n"
    assert diff_stats(old, new) == DiffStats(2, 2, 0)
    assert diff_stats(old, new, ignore_whitespace=True) == DiffStats(0, 0, 2)


def test_unified_diff():
    diff = unified_diff("a\nb\n", "a\nc\n", fromfile="old.txt", tofile="new.txt")
    assert diff.splitlines() == ["--- old.txt", "+++ new.txt", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    assert unified_diff("same\n", "same\n") == ""
