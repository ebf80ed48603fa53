import pytest

from textkit import slugify, unique_slug


def test_basic_slug():
    assert slugify("Hello, World!") == "hello-world"


def test_accents_and_special_letters():
    assert slugify("Crème brûlée à la Straße") == "creme-brulee-a-la-strasse"
    assert slugify("Ærø Łódź") == "aero-lodz"


def test_separator_and_case():
    assert slugify("Release Notes 2.1", separator="_", lowercase=False) == "Release_Notes_2_1"


def test_stopwords():
    assert slugify("The Art of the Deal", stopwords={"the", "of"}) == "art-deal"
    assert slugify("The The", stopwords={"the"}) == "the-the"


def test_max_length_on_a_word_boundary():
    assert slugify("hello world", max_length=5) == "hello"
    assert slugify("short", max_length=50) == "short"


def test_only_symbols_gives_empty_slug():
    assert slugify("!!! ???") == ""


@pytest.mark.parametrize("options", [{"separator": ""}, {"max_length": 0}], ids=["empty-separator", "zero-length"])
def test_bad_options(options):
    with pytest.raises(ValueError):
        slugify("x", **options)


def test_unique_slug():
    assert unique_slug("My Post", set()) == "my-post"
    assert unique_slug("My Post", {"my-post", "my-post-2"}) == "my-post-3"
    assert unique_slug("My Post", {"my_post"}, separator="_") == "my_post_2"
