import pytest

from textkit import to_camel, to_kebab, to_pascal, to_snake, to_title
from textkit.case import split_words


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camelCase", "camel_case"),
        ("PascalCase", "pascal_case"),
        ("already_snake", "already_snake"),
        ("kebab-case-name", "kebab_case_name"),
        ("Some words here", "some_words_here"),
        ("version2Update", "version2_update"),
        ("  __private__  ", "private"),
    ],
    ids=["camel", "pascal", "snake", "kebab", "words", "digits", "underscores"],
)
def test_to_snake(name, expected):
    assert to_snake(name) == expected


def test_to_kebab():
    assert to_kebab("userAccountId") == "user-account-id"


def test_to_camel_and_pascal():
    assert to_camel("user_account_id") == "userAccountId"
    assert to_pascal("user-account id") == "UserAccountId"
    assert to_camel("") == ""


def test_to_title_keeps_small_words_lower():
    assert to_title("the_lord_of_the_rings") == "The Lord of the Rings"


def test_split_words():
    assert split_words("fooBar-baz qux") == ["foo", "bar", "baz", "qux"]
    assert split_words("") == []
