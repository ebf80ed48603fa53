import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srl_swe.actions import render_call
from srl_swe.rewards import (
    FORMAT_PENALTY,
    action_similarity,
    make_action_similarity,
    math_answer,
    similarity,
    tool_call_similarity,
)


def completion(call: str, thought: str = "I should look around first.") -> str:
    return f"<think>\n{thought}\n</think>\n{call}"


bash = lambda command: render_call("bash", {"command": command})  # noqa: E731


@settings(max_examples=300)
@given(st.text(max_size=400), st.text(max_size=400), st.booleans())
def test_similarity_equals_stdlib_difflib_bit_for_bit(a, b, autojunk):
    assert similarity(a, b, autojunk) == difflib.SequenceMatcher(None, a, b, autojunk=autojunk).ratio()


@settings(max_examples=100)
@given(st.lists(st.sampled_from(["cd /testbed && ", "python -m pytest ", "grep -rn foo ", "x", "\n", " "]),
                min_size=60, max_size=200).map("".join))
def test_long_actions_match_difflib_with_and_without_autojunk(command):
    expert, predicted = bash(command), bash(command[3:] + " -q")
    for autojunk in (False, True):
        reward = make_action_similarity(autojunk)([completion(predicted)], expert_action=[expert])[0]
        assert reward == difflib.SequenceMatcher(None, predicted, expert, autojunk=autojunk).ratio()


def test_reward_is_on_the_action_only_not_the_thought():
    expert = bash("cd /testbed && pip install -e .")
    short = action_similarity([completion(expert, "x")], expert_action=[expert])
    long = action_similarity([completion(expert, "a very different and long monologue " * 20)], expert_action=[expert])
    assert short == long == [1.0]


def test_paper_example_scores_between_zero_and_one():
    expert = bash("cd /testbed && pip install -e .")
    predicted = bash("cd /testbed && python setup.py antlr")
    [reward] = action_similarity([completion(predicted)], expert_action=[expert])
    assert reward == difflib.SequenceMatcher(None, predicted, expert, autojunk=False).ratio()
    assert 0.5 < reward < 1.0


@pytest.mark.parametrize("broken", ["no think at all", "<think>x</think>", "<think>x</think> ls -la",
                                    "<think>a</think>" + "<function=bash>\n<parameter=command>ls\n</function>"])
def test_broken_format_gets_minus_one(broken):
    assert action_similarity([broken], expert_action=[bash("ls")]) == [FORMAT_PENALTY]


def test_conversational_completions_are_accepted():
    expert = bash("ls")
    rewards = action_similarity([[{"role": "assistant", "content": completion(expert)}]], expert_action=[expert])
    assert rewards == [1.0]


def test_math_track_compares_text_steps():
    expert = "2. **Coprime Pairs**: there are 2^8 = 256 pairs."
    rewards = action_similarity([completion(expert), completion("2. **Coprime Pairs**: 256")],
                                expert_action=[expert, expert], track=["math", "math"])
    assert rewards[0] == 1.0 and 0 < rewards[1] < 1


def test_autojunk_collapses_long_near_identical_actions():
    # In an expert action of 200+ characters every character that makes up more than 1% of it stops
    # anchoring matches under autojunk; a one-line shift then leaves almost nothing matched.
    lines = [f"sed -i s/{'ab'[i % 2]}/{'ba'[i % 2]}/ f{i % 3}.py" for i in range(30)]
    expert, predicted = bash("\n".join(lines)), bash("\n".join(lines[1:] + ["ls"]))
    sane = make_action_similarity(autojunk=False)([completion(predicted)], expert_action=[expert])[0]
    junked = make_action_similarity(autojunk=True)([completion(predicted)], expert_action=[expert])[0]
    assert sane > 0.95 and junked < 0.2


def editor(**arguments) -> str:
    return render_call("str_replace_editor", {"command": "str_replace", "path": "/testbed/a.py", **arguments})


def test_tool_call_similarity_rules():
    expert = editor(old_str="return a / b", new_str="if b == 0:\n    raise ZeroDivisionError\nreturn a / b")
    same_but_spaced = editor(old_str="return  a / b", new_str="if b == 0:\n  raise ZeroDivisionError\nreturn a / b")
    other_path = render_call("str_replace_editor", {"command": "str_replace", "path": "/testbed/b.py",
                                                    "old_str": "return a / b", "new_str": "x"})
    other_tool = bash("sed -i 's/a/b/' /testbed/a.py")
    worse_new = editor(old_str="return a / b", new_str="pass")
    rewards = tool_call_similarity([completion(c) for c in (expert, same_but_spaced, other_path, other_tool,
                                                             worse_new, "broken")], expert_action=[expert] * 6)
    assert rewards[:4] == [1.0, 1.0, 0.0, 0.0]
    assert rewards[4] == similarity("pass", "if b == 0: raise ZeroDivisionError return a / b")
    assert rewards[5] == FORMAT_PENALTY


def test_tool_call_similarity_knows_aliases():
    expert = bash("ls /testbed")
    predicted = render_call("execute_bash", {"command": "ls /testbed"})
    assert tool_call_similarity([completion(predicted)], expert_action=[expert]) == [1.0]


def test_math_answer_checks_the_boxed_answer_in_worker_processes():
    completions = ["<think>..</think> so the answer is \\boxed{\\frac{1}{2}}", "\\boxed{0.5}", "\\boxed{3}",
                   "no boxed answer 1/2"]
    assert math_answer(completions, answer=["1/2"] * 4) == [1.0, 1.0, 0.0, 0.0]
    assert math_answer(["\\boxed{042}"], solution=["42"]) == [1.0]


def test_math_answer_is_safe_from_threads():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda i: math_answer([f"\\boxed{{{i}}}"], answer=[str(i)]), range(4)))
    assert results == [[1.0]] * 4


def test_math_answer_needs_references():
    with pytest.raises(ValueError, match="answer"):
        math_answer(["\\boxed{1}"])


def test_trl_parsed_completions_with_reasoning_content_and_parts():
    expert = bash("ls")
    moved = [{"role": "assistant", "content": expert, "reasoning_content": "look around"}]
    parts = [{"role": "assistant", "content": [{"type": "text", "text": completion(expert)}]}]
    assert action_similarity([moved, parts], expert_action=[expert, expert]) == [1.0, 1.0]


def test_think_prefilled_templates():
    expert = bash("ls")
    prefilled = make_action_similarity(think_prefilled=True)
    assert prefilled(["look around\n</think>\n" + expert], expert_action=[expert]) == [1.0]
    assert action_similarity(["look around\n</think>\n" + expert], expert_action=[expert]) == [FORMAT_PENALTY]


def test_a_hung_check_costs_only_its_own_item(monkeypatch):
    from srl_swe import math_check

    # A nested \boxed chain of this depth makes math-verify's parser work far past a 0.3 s budget.
    slow = "\\boxed{" + "+".join(f"\\frac{{{i}}}{{x^{{{i}}}}}" for i in range(1, 400)) + "}"
    results = math_check.answers_match(["\\boxed{2}", slow, "\\boxed{3}"], ["2", "1", "3"], timeout_s=0.3)
    assert results == [True, False, True]
