from types import SimpleNamespace

import pytest

from textkit import Template, TemplateError, UndefinedError, render


def test_plain_variables():
    assert render("Hello {{ name }}!", name="Ada") == "Hello Ada!"
    assert render("{{a}}+{{ b }}={{c}}", {"a": 1, "b": 2}, c=3) == "1+2=3"


def test_text_without_placeholders():
    assert render("nothing to see") == "nothing to see"


def test_dotted_path_on_objects():
    user = SimpleNamespace(name="Ada", address=SimpleNamespace(city="London"))
    assert render("{{ user.name }} lives in {{ user.address.city }}", user=user) == "Ada lives in London"


def test_single_filters():
    assert render("{{ name|upper }}", name="ada") == "ADA"
    assert render("{{ title|title }}", title="the hobbit") == "The Hobbit"
    assert render("{{ html|escape }}", html="<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert render("{{ tags|join: / }}", tags=["a", "b"]) == "a/b"
    assert render("{{ tags|length }}", tags=["a", "b", "c"]) == "3"


def test_filters_that_commute():
    assert render("{{ name|upper|strip }}", name="  ada  ") == "ADA"


def test_truncate_filter():
    assert render("{{ text|truncate:5 }}", text="abcdefgh") == "abcde…"
    with pytest.raises(TemplateError):
        Template("{{ text|truncate }}").render(text="abc")


def test_default_filter():
    assert render("Hi {{ name|default:stranger }}") == "Hi stranger"
    assert render("Hi {{ name|default:stranger }}", name="") == "Hi stranger"
    assert render("Hi {{ name|default:stranger }}", name="Ada") == "Hi Ada"


def test_missing_variable_strict_and_lenient():
    with pytest.raises(UndefinedError):
        render("{{ missing }}")
    assert Template("[{{ missing }}]", strict=False).render() == "[]"


def test_literal_braces():
    assert render("{{{{ name }}}} is {{ name }}", name="x") == "{{ name }} is x"


def test_bad_expressions():
    with pytest.raises(TemplateError):
        Template("{{ 1abc }}")
    with pytest.raises(TemplateError):
        Template("{{ name|shout }}")


def test_custom_filters_and_variables():
    template = Template("{{ greeting|reverse }} {{ user.name }}", filters={"reverse": lambda value, _: value[::-1]})
    assert template.variables() == {"greeting", "user"}
    assert template.render(greeting="olleh", user=SimpleNamespace(name="Ada")) == "hello Ada"
