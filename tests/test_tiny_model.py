"""`srl-swe init-tiny-model`: an offline Qwen2-architecture model and tokenizer that TRL accepts."""

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.chat_template_utils import qwen2_5_chat_template
from typer.testing import CliRunner

from srl_swe.actions import render_call, render_completion, tool_action
from srl_swe.cli import app
from srl_swe.rewards import action_similarity


def test_init_tiny_model_from_step_data(tmp_path):
    examples = str(Path(__file__).parent.parent / "trajectories" / "examples")
    runner, steps = CliRunner(), str(tmp_path / "steps")
    imported = runner.invoke(app, ["collect", "--import", examples, "--all", "-o", str(tmp_path / "t.jsonl")])
    assert imported.exit_code == 0
    assert runner.invoke(app, ["steps", str(tmp_path / "t.jsonl"), "-o", steps, "--include-unresolved"]).exit_code == 0
    result = runner.invoke(app, ["init-tiny-model", "-o", str(tmp_path / "tiny"), "--from-data", steps, "--vocab-size",
                                 "1000"])
    assert result.exit_code == 0, result.output
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "tiny")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "tiny")
    assert model.config.model_type == "qwen2" and model.config.vocab_size == len(tokenizer)
    assert tokenizer.chat_template == qwen2_5_chat_template and tokenizer.eos_token == "<|im_end|>"
    completion = render_completion("look first", tool_action("bash", {"command": "ls /testbed"}))
    ids = tokenizer(completion)["input_ids"]
    assert len(ids) < len(completion) / 2, "the tokenizer learned the markup"
    for tag in ("<function=bash>", "<parameter=command>", "<function=str_replace_editor>", "</parameter>"):
        assert len(tokenizer(tag)["input_ids"]) == 1, f"{tag} is one token: every tag of the data"
    assert len(tokenizer("<function=unseen_tool>")["input_ids"]) > 1  # only tags the data holds
    decoded = tokenizer.decode(ids + [tokenizer.eos_token_id], skip_special_tokens=True)
    assert action_similarity([decoded], expert_action=[render_call("bash", {"command": "ls /testbed"})]) == [1.0]
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert prompt["input_ids"].shape[1] < out.shape[1] <= prompt["input_ids"].shape[1] + 5


def test_init_tiny_model_defaults_and_bad_data(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["init-tiny-model", "-o", str(tmp_path / "tiny"), "--vocab-size", "600"]).exit_code == 0
    assert (tmp_path / "tiny" / "config.json").exists() and (tmp_path / "tiny" / "tokenizer.json").exists()
    bad = runner.invoke(app, ["init-tiny-model", "-o", str(tmp_path / "x"), "--from-data", str(tmp_path)],
                        env={"COLUMNS": "200"})
    assert bad.exit_code != 0 and "steps.parquet" in bad.output
