import json

import datasets
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from srl_swe import prompts
from srl_swe.actions import action_text, tool_action
from srl_swe.cli import app
from srl_swe.sft_view import assistant_mask, sft_messages
from srl_swe.steps import StepFolderError, StepOptions, build_step_dataset, step_examples, step_title
from srl_swe.trajectory import Action, MathTask, Outcome, Provenance, Step, SweTask, Trajectory, write_trajectories


def swe_trajectory(n: int = 4, observation: str = "output {}") -> Trajectory:
    steps = [Step(thought=f"thinking {k}", action=tool_action("bash", {"command": f"echo {k}"}),
                  observation=observation.format(k)) for k in range(1, n + 1)]
    return Trajectory(id="t1", task=SweTask(instance_id="acme__calc-1", problem_statement="divide(1, 0) returns None"),
                      steps=steps, provenance=Provenance(source_format="test"))


def math_trajectory() -> Trajectory:
    texts = ["1. **Factor**: 20! = 2^18 ...", "2. **Coprime Pairs**: 2^8 = 256", "3. **Halve**: \\boxed{128}"]
    return Trajectory(id="m1", task=MathTask(instance_id="q1", question="How many rationals?", answer="128"),
                      preamble="We need pairs (a, b).", steps=[Step(action=Action(text=t)) for t in texts],
                      provenance=Provenance(source_format="test"))


def test_n_steps_give_n_minus_one_examples_with_the_paper_targets():
    examples = list(step_examples(swe_trajectory(4), StepOptions()))
    assert [e["step"] for e in examples] == [1, 2, 3]
    assert [e["expert_action"] for e in examples] == [
        action_text(tool_action("bash", {"command": f"echo {k}"})) for k in (1, 2, 3)]
    assert {e["num_steps"] for e in examples} == {4}
    assert len(list(step_examples(swe_trajectory(4), StepOptions(targets="all")))) == 4


def test_swe_context_is_the_issue_and_the_last_two_pairs():
    example = list(step_examples(swe_trajectory(5), StepOptions()))[3]  # target = step 4
    prompt = example["prompt"]
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert prompt[0]["content"] == prompts.SWE_SYSTEM
    assert "divide(1, 0) returns None" in prompt[1]["content"]
    assert "1 earlier step(s) are not shown" in prompt[1]["content"]
    assert "echo 2" in prompt[2]["content"] and prompt[3]["content"] == "OBSERVATION:\noutput 2"
    assert "echo 3" in prompt[4]["content"] and prompt[5]["content"] == "OBSERVATION:\noutput 3"
    assert all("thinking" not in m["content"] for m in prompt), "expert prose never enters the context"
    assert all("echo 4" not in m["content"] for m in prompt), "the target never leaks into the context"


def test_history_all_keeps_every_previous_step():
    prompt = list(step_examples(swe_trajectory(5), StepOptions(history="all")))[3]["prompt"]
    assert len(prompt) == 2 + 2 * 3


def test_a_window_longer_than_the_steps_taken_shows_them_all():
    examples = list(step_examples(swe_trajectory(6), StepOptions(history=3)))
    shown = [(len(example["prompt"]) - 2) // 2 for example in examples]
    assert shown == [0, 1, 2, 3, 3]
    assert "echo 1" in examples[2]["prompt"][2]["content"]  # target step 3: steps 1 and 2, oldest first
    assert "not shown" not in examples[2]["prompt"][1]["content"]


def test_long_observations_are_cut_head_and_tail_with_a_marker():
    long = "HEAD" + "x" * 20000 + "TAIL"
    prompt = list(step_examples(swe_trajectory(3, long), StepOptions(max_observation_chars=1000)))[1]["prompt"]
    observation = prompt[-1]["content"]
    assert observation.startswith("OBSERVATION:\nHEAD") and observation.endswith("TAIL")
    assert "characters truncated" in observation and len(observation) <= 1000 + len("OBSERVATION:\n")


def test_math_prompt_has_question_preamble_and_previous_steps():
    examples = list(step_examples(math_trajectory(), StepOptions(title_hint=True)))
    targets = ["1. **Factor**: 20! = 2^18 ...", "2. **Coprime Pairs**: 2^8 = 256"]
    assert [e["expert_action"] for e in examples] == targets
    system, user = examples[1]["prompt"]
    assert system["content"] == prompts.MATH_SYSTEM
    head = "Question: How many rationals?\nSolution so far:\nWe need pairs (a, b).\n1. **Factor**"
    assert user["content"].startswith(head)
    assert "Next step title: 2. **Coprime Pairs**" in user["content"] and "256" not in user["content"]
    assert examples[1]["tool"] is None and examples[1]["answer"] == "128" and examples[1]["track"] == "math"


def test_step_title():
    assert step_title("2. **Coprime Pairs**:\n - text") == "2. **Coprime Pairs**"
    assert step_title("no title") is None


def test_parquet_loads_with_datasets(tmp_path):
    source = tmp_path / "t.jsonl"
    write_trajectories(source, [swe_trajectory(4), math_trajectory()])
    counts = build_step_dataset([source], tmp_path / "out", StepOptions(include_unresolved=True))
    assert counts == {"trajectories": 2, "examples": 5, "too_short": 0, "unresolved": 0, "resolution_unknown": 0}
    steps = datasets.load_dataset("parquet", data_files=str(tmp_path / "out" / "steps.parquet"), split="train")
    assert steps.num_rows == 5
    assert set(steps.column_names) >= {"prompt", "expert_action", "tool", "step", "num_steps", "trajectory_id",
                                       "instance_id", "track"}
    assert steps[0]["prompt"][0]["role"] == "system" and steps[0]["tool"] == "bash"
    sft = datasets.load_dataset("parquet", data_files=str(tmp_path / "out" / "sft.parquet"), split="train")
    assert sft.num_rows == 2
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["examples"] == 5


def test_bad_lines_are_reported_and_the_rest_is_built(tmp_path):
    source = tmp_path / "t.jsonl"
    write_trajectories(source, [swe_trajectory(3)])
    with open(source, "a") as handle:
        handle.write('{"schema_version": 99}\nnot json\n')
    skipped = []
    counts = build_step_dataset([source], tmp_path / "out", StepOptions(include_unresolved=True),
                                on_skip=lambda w, r: skipped.append((w, r)))
    assert counts["examples"] == 2
    assert [w for w, _ in skipped] == [f"{source}:2", f"{source}:3"]
    assert "schema_version 99" in skipped[0][1] and "not valid JSON" in skipped[1][1]


def graded(trajectory_id: str, resolved: bool | None) -> Trajectory:
    """A 3-step SWE trajectory whose outcome says ``resolved``."""
    trajectory = swe_trajectory(3).model_copy(update={"id": trajectory_id})
    trajectory.outcome = Outcome(resolved=resolved)
    return trajectory


def test_steps_builds_from_resolved_runs_only_unless_asked_and_counts_the_rest(tmp_path):
    source = tmp_path / "graded.jsonl"
    write_trajectories(source, [graded("ok", True), graded("failed", False), graded("ungraded", None)])
    runner = CliRunner()
    result = runner.invoke(app, ["steps", str(source), "-o", str(tmp_path / "verified")], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "1 trajectories → 2 step examples" in result.output
    assert "left out as unverified: 1 unresolved, 1 of unknown resolution" in result.output
    rows = pq.read_table(tmp_path / "verified" / "steps.parquet").to_pylist()
    assert {row["trajectory_id"] for row in rows} == {"ok"}
    assert [r["trajectory_id"] for r in pq.read_table(tmp_path / "verified" / "sft.parquet").to_pylist()] == ["ok"]
    manifest = json.loads((tmp_path / "verified" / "manifest.json").read_text())
    assert (manifest["trajectories"], manifest["unresolved"], manifest["resolution_unknown"]) == (1, 1, 1)
    assert manifest["options"]["include_unresolved"] is False

    result = runner.invoke(app, ["steps", str(source), "-o", str(tmp_path / "all"), "--include-unresolved"],
                           env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "3 trajectories → 6 step examples" in result.output and "left out as unverified" not in result.output
    rows = pq.read_table(tmp_path / "all" / "steps.parquet").to_pylist()
    assert {row["trajectory_id"] for row in rows} == {"ok", "failed", "ungraded"}
    manifest = json.loads((tmp_path / "all" / "manifest.json").read_text())
    assert (manifest["trajectories"], manifest["unresolved"], manifest["resolution_unknown"]) == (3, 0, 0)


def test_replacing_a_step_folder_with_only_unverified_runs_fails_and_says_why(tmp_path):
    source, out = tmp_path / "t.jsonl", tmp_path / "steps"
    write_trajectories(source, [graded("ok", True)])
    build_step_dataset([source], out, StepOptions())
    before = (out / "manifest.json").read_text()
    write_trajectories(source, [graded("failed", False), graded("ungraded", None)])
    with pytest.raises(StepFolderError, match=r"no resolved trajectory \(1 unresolved, 1 of unknown resolution"):
        build_step_dataset([source], out, StepOptions())
    assert (out / "manifest.json").read_text() == before
    assert build_step_dataset([source], out, StepOptions(include_unresolved=True))["trajectories"] == 2


def test_sft_view_trains_only_the_assistant_tokens(tiny_tokenizer):
    messages = sft_messages(swe_trajectory(3), max_observation_chars=8000)
    ids, mask = assistant_mask(messages, tiny_tokenizer)
    assert len(ids) == len(mask)
    trained = tiny_tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])
    expected = "".join(m["content"] + "<|im_end|>" for m in messages if m["role"] == "assistant")
    assert trained == expected
    # token by token: every trained token lies inside an assistant turn, every other token outside
    text = tiny_tokenizer.apply_chat_template(messages, tokenize=False)
    offsets = tiny_tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    for (start, end), flag in zip(offsets, mask, strict=True):
        piece = text[start:end]
        inside = any(text.find(m["content"]) <= start < text.find(m["content"]) + len(m["content"]) + len("<|im_end|>")
                     for m in messages if m["role"] == "assistant")
        assert bool(flag) == inside, piece
    assert not any(m and "OBSERVATION" in tiny_tokenizer.decode([i]) for i, m in zip(ids, mask, strict=True))


def test_sft_mask_rejects_templates_that_rewrite_history(tiny_tokenizer):
    from trl.chat_template_utils import qwen3_chat_template

    tokenizer = tiny_tokenizer.__class__(tokenizer_object=tiny_tokenizer.backend_tokenizer, eos_token="<|im_end|>")
    tokenizer.chat_template = qwen3_chat_template
    messages = sft_messages(swe_trajectory(3), 8000)
    with pytest.raises(ValueError, match="prefix-preserving"):
        assistant_mask(messages, tokenizer)


def test_history_zero_shows_only_the_issue():
    prompt = list(step_examples(swe_trajectory(4), StepOptions(history=0)))[2]["prompt"]
    assert [m["role"] for m in prompt] == ["system", "user"]
    assert "2 step(s) have been taken" in prompt[1]["content"]
