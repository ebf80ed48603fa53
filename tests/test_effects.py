"""The `action_effect` reward: a hand-labelled table of action pairs (same effect / different effect) that it
separates and the paper's ratio does not, property tests of equivalent rewritings, and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srl_swe.actions import render_call, render_completion, tool_action
from srl_swe.effects import minimal_change, normal_command, range_overlap
from srl_swe.rewards import FORMAT_PENALTY, action_effect, action_similarity
from srl_swe.train.config import validate
from srl_swe.train.metrics import training_reward


def bash(command: str) -> str:
    return render_call("bash", {"command": command})


def edit(command: str, path: str, **arguments: str) -> str:
    return render_call("str_replace_editor", {"command": command, "path": path, **arguments})


BODY = "def area(r):\n    return 3.14 * r * r\n"
SAME = [  # (predicted, expert): the same effect in other words
    (bash("grep -rn 'def area' src/"), bash("grep -nr 'def area' src/")),
    (bash("grep -r -n area src"), bash("grep -rn area src")),
    (bash('grep -rn "area" src'), bash("grep -rn area src")),
    (bash("python3 -m pytest tests/test_geo.py -q"), bash("python -m pytest tests/test_geo.py -q")),
    (bash("python3.11 -m pytest tests/test_geo.py"), bash("python -m pytest tests/test_geo.py")),
    (bash("cd /testbed && python -m pytest tests/test_geo.py"), bash("python -m pytest tests/test_geo.py")),
    (bash("cd /testbed && cd src && ls -la"), bash("ls -al")),
    (bash("ls -l -a"), bash("ls -la")),
    (bash("cat  src/geo.py"), bash("cat src/geo.py")),
    (bash("sed -n '10,20p' src/geo.py"), bash('sed -n "10,20p" src/geo.py')),
    (bash("python -m pytest tests 2>&1 | tail -n 20"), bash("python -m pytest  tests 2>&1|tail -n 20")),
    (bash("git diff"), bash("cd /testbed && git diff")),
    (bash("find . -name '*.py' | xargs grep -ln area"), bash('find . -name "*.py" | xargs grep -nl area')),
    (bash("rm -rf build"), bash("rm -fr build")),
    (bash("pip install -q -e ."), bash("pip install -eq .")),
    (edit("str_replace", "/testbed/src/geo.py", old_str="    return 3.14 * r * r",
          new_str="    return math.pi * r * r"),
     edit("str_replace", "/testbed/src/geo.py", old_str="def area(r):\n    return 3.14 * r * r",
          new_str="def area(r):\n    return math.pi * r * r")),
    (edit("str_replace", "/testbed/src/geo.py", old_str="a = 1\nb = 2\nc = 3", new_str="a = 1\nb = 20\nc = 3"),
     edit("str_replace", "/testbed/src/geo.py", old_str="b = 2", new_str="b = 20")),
    (edit("str_replace", "/testbed/src/geo.py", old_str="x\nold\ny", new_str="x\ny"),
     edit("str_replace", "/testbed/src/geo.py", old_str="x\nold", new_str="x")),
    (edit("str_replace", "/testbed/src//geo.py", old_str="b = 2", new_str="b = 20"),
     edit("str_replace", "/testbed/src/geo.py", old_str="b = 2", new_str="b = 20")),
    (edit("str_replace", "/testbed/src/../src/geo.py", old_str="b = 2", new_str="b = 20"),
     edit("str_replace", "/testbed/src/geo.py", old_str="b = 2", new_str="b = 20")),
    (edit("view", "/testbed/src/geo.py"), edit("view", "/testbed/src/geo.py/")),
    (edit("view", "/testbed/src/geo.py", view_range="[1, -1]"), edit("view", "/testbed/src/geo.py")),
    (edit("view", "/testbed/src/geo.py", view_range="[10, 40]"),
     edit("view", "/testbed/src/geo.py", view_range="[10,40]")),
    (edit("create", "/testbed/src/new.py", file_text=BODY), edit("create", "/testbed/src/./new.py", file_text=BODY)),
    (edit("undo_edit", "/testbed/src/geo.py"), edit("undo_edit", "/testbed/src/geo.py")),
    (render_call("submit", {}), render_call("submit", {})),
]
DIFFERENT = [  # (predicted, expert): a different effect, however alike the text
    (bash("grep -rn 'def area' src/"), bash("grep -rn 'def areas' src/")),
    (bash("grep -rn area src"), bash("grep -rn area tests")),
    (bash("grep -rn area src"), bash("grep -rl area src")),
    (bash("python -m pytest tests/test_geo.py -q"), bash("python -m pytest tests/test_geom.py -q")),
    (bash("python -m pytest tests/test_geo.py"), bash("python -m pytest tests/test_geo.py -x")),
    (bash("ls -la"), bash("ls -l")),
    (bash("cat src/geo.py"), bash("cat src/geo.pyi")),
    (bash("sed -n '10,20p' src/geo.py"), bash("sed -n '10,21p' src/geo.py")),
    (bash("rm -rf build"), bash("rm -rf build2")),
    (bash("git diff"), bash("git diff --stat")),
    (bash("cd /testbed && git status"), bash("git diff")),
    (bash("python -c 'print(1)'"), bash("python -c 'print(2)'")),
    (bash("cat src/geo.py"), edit("view", "/testbed/src/geo.py")),
    (edit("str_replace", "/testbed/src/geo.py", old_str="b = 2", new_str="b = 20"),
     edit("str_replace", "/testbed/src/geo.py", old_str="b = 2", new_str="b = 21")),
    (edit("str_replace", "/testbed/src/geo.py", old_str="a = 1\nb = 2", new_str="a = 10\nb = 2"),
     edit("str_replace", "/testbed/src/geo.py", old_str="a = 1\nb = 2", new_str="a = 1\nb = 20")),
    (edit("str_replace", "/testbed/src/geo.py", old_str="b = 2", new_str="b = 20"),
     edit("str_replace", "/testbed/src/geom.py", old_str="b = 2", new_str="b = 20")),
    (edit("str_replace", "/testbed/src/geo.py", old_str="x\nold\ny", new_str="x\nnew\ny"),
     edit("str_replace", "/testbed/src/geo.py", old_str="x\nold\ny", new_str="x\ny")),
    (edit("view", "/testbed/src/geo.py", view_range="[10, 40]"),
     edit("view", "/testbed/src/geo.py", view_range="[10, 41]")),
    (edit("view", "/testbed/src/geo.py", view_range="[1, 20]"),
     edit("view", "/testbed/src/geo.py", view_range="[50, 80]")),
    (edit("view", "/testbed/src/geo.py"), edit("view", "/testbed/src/geom.py")),
    (edit("view", "/testbed/src/geo.py"), edit("view", "/testbed/src/geo.py", view_range="[1, 20]")),
    (edit("create", "/testbed/src/new.py", file_text=BODY),
     edit("create", "/testbed/src/new.py", file_text=BODY + "x")),
    (edit("create", "/testbed/src/new.py", file_text=BODY), edit("create", "/testbed/src/old.py", file_text=BODY)),
    (edit("view", "/testbed/src/geo.py"), edit("create", "/testbed/src/geo.py", file_text=BODY)),
    (edit("undo_edit", "/testbed/src/geo.py"), edit("undo_edit", "/testbed/src/geom.py")),
    (render_call("submit", {}), bash("git diff")),
]


def effect(predicted: str, expert: str) -> float:
    return action_effect(completions=[render_completion("t", predicted)], expert_action=[expert])[0]


def paper(predicted: str, expert: str) -> float:
    return action_similarity(completions=[render_completion("t", predicted)], expert_action=[expert])[0]


def test_the_table_is_large_enough_and_labelled_both_ways():
    assert len(SAME) + len(DIFFERENT) >= 40 and len(SAME) >= 20 and len(DIFFERENT) >= 20


@pytest.mark.parametrize(("predicted", "expert"), SAME)
def test_the_same_effect_in_other_words_scores_one(predicted, expert):
    assert effect(predicted, expert) == 1.0


@pytest.mark.parametrize(("predicted", "expert"), DIFFERENT)
def test_a_different_effect_scores_below_one(predicted, expert):
    assert 0.0 <= effect(predicted, expert) < 1.0


def test_the_reward_separates_the_classes_where_the_papers_ratio_does_not():
    same = [effect(p, e) for p, e in SAME]
    different = [effect(p, e) for p, e in DIFFERENT]
    assert min(same) > max(different)
    same_paper = [paper(p, e) for p, e in SAME]
    different_paper = [paper(p, e) for p, e in DIFFERENT]
    assert min(same_paper) < max(different_paper)  # the paper's ratio ranks some rewritings below near-misses


def test_a_different_tool_scores_zero_and_math_keeps_the_papers_ratio():
    assert effect(bash("cat src/geo.py"), edit("view", "/testbed/src/geo.py")) == 0.0
    completion = "<think>t</think>\\boxed{42}"
    args = {"completions": [completion], "expert_action": ["\\boxed{41}"], "track": ["math"]}
    assert action_effect(**args) == action_similarity(**args)


def test_a_broken_format_is_the_penalty():
    assert action_effect(completions=["no think"], expert_action=[bash("ls")]) == [FORMAT_PENALTY]


@pytest.mark.parametrize(("predicted", "expert"), [
    (bash("ls (("), bash("ls ((")),                                   # not a shell command
    (bash("echo 'unterminated"), bash("echo 'unterminated")),
    (edit("view", "/a.py", view_range="ten to twenty"), edit("view", "/a.py", view_range="[10, 20]")),
    (edit("view", "/a.py", view_range="[20, 10]"), edit("view", "/a.py", view_range="[10, 20]")),
    (bash("ls"), "not a call at all"),
])
def test_what_cannot_be_parsed_falls_back_to_the_papers_ratio(predicted, expert):
    assert effect(predicted, expert) == paper(predicted, expert)


def test_minimal_change_strips_the_common_context_lines():
    assert minimal_change("a\nb\nc", "a\nB\nc") == minimal_change("b", "B") == "b\n\x00\nB"
    assert minimal_change("same", "same") == "\n\x00\n"


def test_range_overlap_is_intersection_over_union():
    assert range_overlap("[1, 10]", "[6, 15]") == 5 / 15
    assert range_overlap(None, "[1, -1]") == 1.0 and range_overlap("[1, -1]", "[11, 20]") == 10 / 120


def test_the_reward_is_selectable_in_the_config():
    assert training_reward("action_effect").__name__ == "action_effect"
    settings_ = validate({"method": "srl", "model": {"path": "m"}, "data": {"path": "d"}, "output_dir": "o",
                          "srl": {"reward": "action_effect"}}, "test")
    assert settings_.srl.reward == "action_effect"


# --- properties: equivalent rewritings score 1.0 --------------------------------------------------------

LINE = st.text(st.characters(codec="ascii", exclude_characters="\n\r<>"), max_size=30)
WORD = st.text(st.characters(whitelist_categories=("Ll", "Nd"), max_codepoint=127), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(before=st.lists(LINE, max_size=4), after=st.lists(LINE, max_size=4), old=LINE, new=LINE)
def test_an_edit_with_more_or_less_context_scores_one(before, after, old, new):
    bare = edit("str_replace", "/testbed/m.py", old_str=old, new_str=new)
    context = edit("str_replace", "/testbed/m.py", old_str="\n".join([*before, old, *after]),
                   new_str="\n".join([*before, new, *after]))
    assert effect(context, bare) == 1.0


@settings(max_examples=200, deadline=None)
@given(flags=st.lists(st.sampled_from("rnilwvHc"), min_size=1, max_size=5, unique=True), pattern=WORD,
       order=st.randoms(use_true_random=False), clustered=st.booleans(), quote=st.sampled_from(["", "'", '"']),
       prefix=st.booleans(), python3=st.booleans())
def test_flag_order_quoting_cd_and_python3_score_one(flags, pattern, order, clustered, quote, prefix, python3):
    shuffled = order.sample(flags, len(flags))
    written = ("-" + "".join(shuffled)) if clustered else " ".join(f"-{flag}" for flag in shuffled)
    rewritten = (f"{'cd /testbed && ' if prefix else ''}grep {written} {quote}{pattern}{quote} src"
                 f" && {'python3' if python3 else 'python'} -m pytest -q")
    canonical = f"grep {' '.join(f'-{flag}' for flag in flags)} {pattern} src && python -m pytest -q"
    assert effect(bash(rewritten), bash(canonical)) == 1.0


@settings(max_examples=300, deadline=None)
@given(command=st.text(max_size=200), expert=st.text(max_size=200), view=st.text(max_size=20))
def test_hostile_input_never_raises_and_stays_in_range(command, expert, view):
    for predicted, wanted in [(tool_action("bash", {"command": command}), bash(expert)),
                              (tool_action("str_replace_editor", {"command": "view", "path": "/a",
                                                                  "view_range": view}),
                               edit("view", "/a", view_range="[1, 5]"))]:
        try:
            text = render_call(predicted.tool, predicted.arguments)
        except ValueError:  # a value holding the markup delimiter: not a completion a model can write
            continue
        assert 0.0 <= effect(text, wanted) <= 1.0


def test_normal_command_of_a_pipeline_with_redirects():
    assert normal_command("cd /testbed && python3 -m pytest  tests 2>&1 | tail -n 5") == \
        "python -m pytest tests 2>&1 | tail -n 5"
