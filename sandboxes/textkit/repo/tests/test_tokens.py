from collections import Counter

from textkit import Token, sentences, tokenize, word_frequencies, words


def kinds(text):
    return [(token.text, token.kind) for token in tokenize(text)]


def test_words_and_punctuation():
    assert kinds("Hello, world!") == [("Hello", "word"), (",", "punct"), ("world", "word"), ("!", "punct")]


def test_offsets_index_the_text():
    text = "  spam  and\teggs "
    for token in tokenize(text):
        assert text[token.start : token.end] == token.text
    assert tokenize(text)[0] == Token("spam", "word", 2, 6)


def test_contractions_stay_together():
    assert [token.text for token in tokenize("Don't stop, it’s fine")] == ["Don't", "stop", ",", "it’s", "fine"]


def test_numbers():
    assert kinds("3 cats ate 2.5 kg (12%)") == [
        ("3", "number"),
        ("cats", "word"),
        ("ate", "word"),
        ("2.5", "number"),
        ("kg", "word"),
        ("(", "punct"),
        ("12%", "number"),
        (")", "punct"),
    ]


def test_words_with_digits_are_words():
    assert kinds("x86 and 3d") == [("x86", "word"), ("and", "word"), ("3d", "word")]


def test_urls_and_emails():
    found = kinds("Docs at https://example.org/guide?page=2. Write to team.lead@example.co.uk!")
    assert ("https://example.org/guide?page=2", "url") in found
    assert ("team.lead@example.co.uk", "email") in found
    assert found[-1] == ("!", "punct")


def test_words_lowercases_and_skips_other_tokens():
    assert words("The 2 Cats saw https://a.example/x") == ["the", "cats", "saw"]
    assert words("The Cats", lowercase=False) == ["The", "Cats"]


def test_word_frequencies_with_stopwords():
    counts = word_frequencies("The cat and the hat. The end.", stopwords={"the", "AND"})
    assert counts == Counter({"cat": 1, "hat": 1, "end": 1})


def test_sentences():
    text = "Dr. Smith met Mr. J. Jones at 5 p.m. today. They talked!  Was it useful? Yes."
    assert sentences(text) == [
        "Dr. Smith met Mr. J. Jones at 5 p.m. today.",
        "They talked!",
        "Was it useful?",
        "Yes.",
    ]


def test_sentences_with_quotes_and_no_final_stop():
    assert sentences('He said "stop." Then he left') == ['He said "stop."', "Then he left"]
