"""The prompt budget (srl_swe.budget): trimming order, dropping, and its use in `steps` and `train`."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from srl_swe.actions import tool_action
from srl_swe.budget import MIN_KEPT_CHARS, chat_token_counter, fit_messages
from srl_swe.cli import app
from srl_swe.steps import StepOptions, build_step_dataset, math_prompt, swe_prompt
from srl_swe.trajectory import MathTask, Provenance, Step, SweTask, Trajectory, write_trajectories

WORDS = ["parser", "error", "line", "def", "class", "import", "return", "value", "cache", "token"]
MARKER = "characters truncated"


def text(rng: random.Random, lines: int) -> str:
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(lines))


def long_steps(rng: random.Random, count: int, observation_lines: int = 60) -> list[Step]:
    return [Step(thought="look", action=tool_action("bash", {"command": f"cat /testbed/f{i}.py"}),
                 observation=text(rng, observation_lines)) for i in range(count)]


@pytest.fixture
def case(tiny_tokenizer):
    """A SWE prompt with a long issue and four long steps, all shown, and its token counter."""
    rng = random.Random(0)
    problem, steps = "The parser fails on empty input.\n" + text(rng, 60), long_steps(rng, 4)
    options = StepOptions(history="all", max_observation_chars=100_000)
    return problem, steps, options, chat_token_counter(tiny_tokenizer)


def observations(messages) -> list[str]:
    return [m["content"] for m in messages[2:] if m["role"] == "user"]


def test_history_goes_first_and_the_prompt_becomes_the_shorter_history_one(case):
    problem, steps, options, count = case
    full = swe_prompt(problem, steps, options)
    one_step = swe_prompt(problem, steps, options.model_copy(update={"history": 1}))
    assert count(full) > count(one_step)
    assert fit_messages(full, count, count(full)).trimmed == ()
    fitted = fit_messages(full, count, count(one_step))
    assert fitted.trimmed == ("trimmed_history",)
    assert fitted.messages == one_step  # the task turn says "3 earlier step(s) are not shown", as steps writes it
    two_steps = swe_prompt(problem, steps, options.model_copy(update={"history": 2}))
    assert fit_messages(full, count, count(two_steps)).messages == two_steps  # only as much as needed


def test_then_the_middle_of_observations_then_of_the_problem_then_the_example_is_dropped(case):
    problem, steps, options, count = case
    full = swe_prompt(problem, steps, options)
    one_step = swe_prompt(problem, steps, options.model_copy(update={"history": 1}))
    budget = count(one_step) - 100
    fitted = fit_messages(full, count, budget)
    assert fitted.trimmed == ("trimmed_history", "trimmed_observation")
    assert count(fitted.messages) <= budget and len(fitted.messages) == 4
    assert fitted.messages[1] == one_step[1]  # the problem statement is whole
    (observation,) = observations(fitted.messages)
    original = observations(one_step)[0]
    assert MARKER in observation and observation[:80] == original[:80] and observation[-80:] == original[-80:]

    floor = fit_messages(full, count, 1).trimmed  # nothing fits a budget of one token
    assert floor == ("dropped",)
    at_floor = swe_prompt(problem[:MIN_KEPT_CHARS], steps[-1:], options)
    budget = count(at_floor) + 40  # below what a whole problem needs with the observation at its floor
    fitted = fit_messages(full, count, budget)
    assert fitted.trimmed == ("trimmed_history", "trimmed_observation", "trimmed_problem")
    assert count(fitted.messages) <= budget
    task = fitted.messages[1]["content"]
    assert MARKER in task and task.startswith("<issue>\nThe parser fails") and "3 earlier step(s)" in task
    assert fitted.messages[2]["content"] == one_step[2]["content"]  # the action is never cut


def test_an_action_too_long_for_the_budget_drops_the_example(case):
    problem, steps, options, count = case
    huge = Step(action=tool_action("bash", {"command": "echo " + "x " * 4000}), observation="ok")
    prompt = swe_prompt(problem, [*steps, huge], options)
    budget = count(swe_prompt(problem, steps[-1:], options))
    assert fit_messages(prompt, count, budget).trimmed == ("dropped",)


def test_a_math_prompt_keeps_the_question_head_and_the_instruction_tail(tiny_tokenizer):
    count, rng = chat_token_counter(tiny_tokenizer), random.Random(1)
    task = MathTask(instance_id="m", question="What is 2 + 3? " + text(rng, 40), answer="5")
    solved = [Step(action=tool_action("bash", {"command": "x"}), observation=None)]  # not shown in math prompts
    prompt = math_prompt(task, text(rng, 40), solved[:0], None, StepOptions())
    fitted = fit_messages(prompt, count, count(prompt) // 2)
    assert fitted.trimmed == ("trimmed_problem",) and count(fitted.messages) <= count(prompt) // 2
    user = fitted.messages[1]["content"]
    assert user.startswith("Question: What is 2 + 3?") and user.endswith(prompt[1]["content"][-60:])


# --- srl-swe steps --------------------------------------------------------------------------------

def long_trajectories(rng: random.Random) -> list[Trajectory]:
    """Trajectories whose later prompts exceed a small budget; one with a final action too long for it."""
    out = []
    for index in range(4):
        steps = long_steps(rng, 5, observation_lines=40 + 20 * index)
        if index == 3:
            steps[1] = Step(action=tool_action("bash", {"command": "echo " + "y " * 3000}), observation="ok")
        out.append(Trajectory(id=f"t{index}", task=SweTask(instance_id=f"i{index}", problem_statement=text(rng, 30)),
                              steps=steps, provenance=Provenance(source_format="test")))
    return out


def test_steps_with_a_budget_writes_only_fitting_prompts_and_the_counts(tmp_path, tiny_tokenizer):
    from transformers import Qwen2Config

    rng = random.Random(2)
    write_trajectories(tmp_path / "t.jsonl", long_trajectories(rng))
    tiny_tokenizer.save_pretrained(tmp_path / "tok")
    budget = 1500
    result = CliRunner().invoke(app, ["steps", str(tmp_path / "t.jsonl"), "-o", str(tmp_path / "out"),
                                      "--tokenizer", str(tmp_path / "tok"), "--max-prompt-tokens", str(budget),
                                      "--include-unresolved"])  # the synthetic runs are not graded
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    counts = manifest["prompt_budget"]
    assert counts["max_prompt_tokens"] == budget and counts["examples"] == 16
    assert counts["trimmed_history"] > 0 and counts["trimmed_observation"] > 0 and counts["dropped"] >= 1
    rows = pq.read_table(tmp_path / "out" / "steps.parquet").to_pylist()
    assert len(rows) == manifest["examples"] == 16 - counts["dropped"]
    count = chat_token_counter(tiny_tokenizer)
    assert all(count(row["prompt"]) <= budget for row in rows)
    assert f"prompt budget {budget} tokens" in " ".join(result.output.split())
    unbudgeted = build_step_dataset([tmp_path / "t.jsonl"], tmp_path / "plain", StepOptions(include_unresolved=True))
    assert unbudgeted["examples"] == 16 and "prompt_budget" not in unbudgeted

    Qwen2Config(max_position_embeddings=3000).save_pretrained(tmp_path / "tok")  # default: context − 2048
    result = CliRunner().invoke(app, ["steps", str(tmp_path / "t.jsonl"), "-o", str(tmp_path / "default"),
                                      "--tokenizer", str(tmp_path / "tok"), "--include-unresolved"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "default" / "manifest.json").read_text())["prompt_budget"]["max_prompt_tokens"] == 952


def test_steps_budget_options_fail_clearly(tmp_path):
    write_trajectories(tmp_path / "t.jsonl", long_trajectories(random.Random(3))[:1])
    runner = CliRunner()
    result = runner.invoke(app, ["steps", str(tmp_path / "t.jsonl"), "-o", str(tmp_path / "a"),
                                 "--max-prompt-tokens", "100"])
    assert result.exit_code == 2 and "needs a tokenizer" in " ".join(result.output.replace("│", " ").split())
    result = runner.invoke(app, ["steps", str(tmp_path / "t.jsonl"), "-o", str(tmp_path / "b"),
                                 "--tokenizer", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "cannot load a tokenizer" in " ".join(result.output.replace("│", " ").split())
    assert not (tmp_path / "b").exists()


# --- srl-swe train --------------------------------------------------------------------------------

def test_train_fits_prompts_to_a_small_context_and_generation_never_sees_more(tmp_path):
    from srl_swe.train.config import validate
    from srl_swe.train.run import _build, train
    from srl_swe.train.tiny_model import build_model, build_tokenizer, corpus_from_steps

    rng = random.Random(4)
    write_trajectories(tmp_path / "t.jsonl", long_trajectories(rng) * 1)
    build_step_dataset([tmp_path / "t.jsonl"], tmp_path / "steps", StepOptions(history="all", include_unresolved=True))
    tokenizer = build_tokenizer(corpus_from_steps(tmp_path / "steps"), vocab_size=600)
    model = tmp_path / "model"
    build_model(tokenizer, hidden_size=16, layers=1, context=1200).save_pretrained(model)
    tokenizer.save_pretrained(model)
    raw = {"method": "srl", "model": {"path": str(model)}, "use_cpu": True, "output_dir": str(tmp_path / "out"),
           "data": {"path": str(tmp_path / "steps"), "validation_trajectories": 1},
           "srl": {"batch_size": 2, "num_generations": 2, "per_device_batch_size": 4, "max_steps": 1,
                   "max_completion_length": 16}, "logging": {"eval_steps": 10}}
    settings = validate(raw)
    report: dict = {}
    trainer = _build(settings, "srl", str(model), tmp_path / "probe", [], report)
    budget = 1200 - 16
    assert report["train"]["max_prompt_tokens"] == budget
    assert report["train"]["dropped"] + report["validation"]["dropped"] >= 1
    assert report["train"]["trimmed_history"] + report["validation"]["trimmed_history"] > 0
    assert len(trainer.train_dataset) == report["train"]["examples"] - report["train"]["dropped"]
    for table in (trainer.train_dataset, trainer.eval_dataset):
        prompt_ids, _, _ = trainer._tokenize_prompts(list(table["prompt"]))  # what TRL generates from
        assert max(len(ids) for ids in prompt_ids) <= budget
    unfitted = validate({**raw, "data": {**raw["data"], "max_prompt_tokens": "off"}})
    plain = _build(unfitted, "srl", str(model), tmp_path / "plain", [])
    assert max(len(ids) for ids in plain._tokenize_prompts(list(plain.train_dataset["prompt"]))[0]) > budget
    del trainer, plain

    (result,) = train(settings)
    assert result.global_step == 1 and result.prompt_budget == report
    assert json.loads((tmp_path / "out" / "result.json").read_text())["prompt_budget"] == report


def test_the_train_budget_setting_reads_off_numbers_and_refuses_the_rest(tmp_path):
    import yaml

    from srl_swe.train.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"method": "srl", "model": {"path": "m"}, "data": {"path": "d"}, "output_dir": "o"}))
    assert load_config(path).data.max_prompt_tokens is None  # the default: context − max_completion_length
    assert load_config(path, ["data.max_prompt_tokens=off"]).data.max_prompt_tokens == "off"  # YAML's false
    assert load_config(path, ["data.max_prompt_tokens=4096"]).data.max_prompt_tokens == 4096
    for bad in ("0", "true", "lots"):
        with pytest.raises(ConfigError, match="data.max_prompt_tokens"):
            load_config(path, [f"data.max_prompt_tokens={bad}"])
