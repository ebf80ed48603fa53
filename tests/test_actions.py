import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srl_swe.actions import (
    FormatError,
    action_text,
    find_calls,
    parse_call,
    parse_completion,
    render_call,
    render_completion,
    tool_action,
)

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,20}", fullmatch=True)
# Text biased towards the markup's own characters, to stress the parser.
pieces = list("<>/=\n \tafunctionparameter\"'&|$`") + ["</parameter>", "<parameter=x>", "</function>", "<function=y>"]
markupish = st.lists(st.sampled_from(pieces), max_size=30).map("".join)
values = st.one_of(st.text(max_size=200), markupish)
arguments = st.dictionaries(names, values, max_size=5)


def _renderable(tool, args):
    try:
        return render_call(tool, args)
    except ValueError:
        return None


@settings(max_examples=400)
@given(names, arguments)
def test_render_then_parse_returns_the_same_call(tool, args):
    text = _renderable(tool, args)
    if text is None:  # only values holding "</parameter>" before a tag are refused
        assert any("</parameter>" in value for value in args.values())
        return
    assert parse_call(text) == (tool, args)


@settings(max_examples=200)
@given(names, st.dictionaries(names, st.text(max_size=200).filter(lambda v: "</parameter>" not in v), max_size=5))
def test_any_text_without_the_closing_tag_always_renders(tool, args):
    assert parse_call(render_call(tool, args)) == (tool, args)


@settings(max_examples=200)
@given(st.text(max_size=100).filter(lambda t: "</think>" not in t and "<think>" not in t), names, arguments)
def test_completion_round_trip(thought, tool, args):
    text = _renderable(tool, args)
    if text is None or "<solution>" in text or "</solution>" in text:
        return
    action = tool_action(tool, args)
    parsed = parse_completion(render_completion(thought, action))
    assert (parsed.action.tool, parsed.action.arguments) == (tool, args)
    assert parsed.thought == thought.strip()


def test_render_is_one_parameter_per_line():
    text = render_call("bash", {"command": 'find /testbed -name "*.py"'})
    assert text == '<function=bash>\n<parameter=command>find /testbed -name "*.py"</parameter>\n</function>'


def test_refuses_a_value_that_would_be_ambiguous():
    with pytest.raises(ValueError, match="delimiter"):
        render_call("bash", {"command": "a</parameter>\n<parameter=b>c"})


def test_non_string_arguments_are_written_as_json():
    action = tool_action("str_replace_editor", {"command": "view", "path": "/a", "view_range": [1, 20]})
    assert action.arguments["view_range"] == "[1, 20]"
    assert "<parameter=view_range>[1, 20]</parameter>" in action_text(action)


def test_find_calls_splits_prose_and_several_calls():
    text = ("Let me look.\n<function=bash>\n<parameter=command>ls</parameter>\n</function>\n"
            "Then submit.\n<function=submit>\n</function>")
    prose, calls = find_calls(text)
    assert prose == "Let me look.\nThen submit."
    assert [(tool, args) for tool, args, _ in calls] == [("bash", {"command": "ls"}), ("submit", {})]


@pytest.mark.parametrize(
    "completion, reason",
    [
        ("<function=bash>\n<parameter=command>ls</parameter>\n</function>", "start with <think>"),
        ("<think>a<think>b</think>x", "exactly one"),
        ("<think>a</think><think>b</think>x", "not a tool call"),
        ("<think>never closed", "not closed"),
        ("<think>plan</think>", "no action"),
        ("<think>plan</think> I will run ls", "not a tool call"),
        ("<think>plan</think><function=bash>\n<parameter=command>ls</parameter>\n</function> and more", "text after"),
        ("<think>plan</think><function=bash>\n<parameter=command>ls\n</function>", "not closed"),
        ("<think>plan</think><solution><function=submit>\n</function>", "solution"),
        ("<think>p</think><function=bash>\n<parameter=a>1</parameter>\n<parameter=a>2</parameter>\n</function>",
         "twice"),
    ],
)
def test_broken_completions_say_why(completion, reason):
    with pytest.raises(FormatError, match=reason):
        parse_completion(completion)


def test_solution_wrapper_is_accepted():
    parsed = parse_completion("<think>x</think>\n<solution>\n<function=submit>\n</function>\n</solution>")
    assert parsed.action.tool == "submit"


def test_math_completion_is_the_text_after_think():
    parsed = parse_completion("<think>scratch</think>\n2. **Coprime pairs**: 2^8 = 256", track="math")
    assert parsed.action.text == "2. **Coprime pairs**: 2^8 = 256"
    assert parsed.action.tool is None


def test_math_step_may_not_hold_a_second_think_block():
    with pytest.raises(FormatError, match="exactly one"):
        parse_completion("<think>a</think>step one <think>b</think>", track="math")


def test_tags_inside_argument_values_are_just_text():
    call = render_call("bash", {"command": 'grep -rn "<solution>" . && echo "</think>"'})
    parsed = parse_completion(f"<think>find it</think>\n{call}")
    assert parsed.action.arguments["command"] == 'grep -rn "<solution>" . && echo "</think>"'


def test_prefilled_think_completions_start_inside_the_thought():
    call = render_call("submit", {})
    assert parse_completion(f"I am done.\n</think>\n{call}", think_prefilled=True).action.tool == "submit"
    with pytest.raises(FormatError):
        parse_completion(f"I am done.\n</think>\n{call}")
