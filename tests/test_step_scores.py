"""Held-out step scoring (srl_swe.eval.steps): what the quickstart's table and bench/learning.py report."""

from __future__ import annotations

import pytest

from srl_swe.eval.steps import _aggregate, score_steps
from srl_swe.train.tiny_model import init_tiny_model

EXPERT = "<function=bash>\n<parameter=command>ls</parameter>\n</function>"


def test_the_scores_count_format_errors_exact_matches_and_similarity_per_tool():
    entries = [{"tool": "bash", "rewards": [1.0, -1.0]}, {"tool": "str_replace_editor", "rewards": [0.5, 0.25]},
               {"tool": "submit", "rewards": [-1.0]}]
    scores = _aggregate(entries)
    assert scores.completions == 5 and scores.reward == pytest.approx((1.0 - 1.0 + 0.5 + 0.25 - 1.0) / 5)
    assert scores.format_error_rate == pytest.approx(2 / 5) and scores.exact_match == pytest.approx(1 / 5)
    assert scores.by_tool == {"bash": {"similarity": 1.0, "count": 1},
                              "str_replace_editor": {"similarity": 0.375, "count": 2},
                              "submit": {"similarity": None, "count": 0}}  # well-formed completions only
    assert "samples" not in scores.summary()


def test_a_real_model_is_scored_greedily_and_deterministically(tmp_path):
    model = init_tiny_model(tmp_path / "model")
    examples = [{"prompt": [{"role": "user", "content": f"list the files of repository {i}"}],
                 "expert_action": EXPERT, "tool": "bash", "instance_id": f"t-{i}", "step": 1} for i in range(3)]
    seen: list[int] = []
    first = score_steps(str(model), examples, max_new_tokens=12, batch_size=2, on_batch=seen.append)
    again = score_steps(str(model), examples, max_new_tokens=12, batch_size=2)
    assert seen == [2, 1] and first.completions == 3 and len(first.samples) == 3
    assert [s["completions"] for s in first.samples] == [s["completions"] for s in again.samples]
    assert all(len(s["completions"]) == 1 and len(s["rewards"]) == 1 for s in first.samples)
    sampled = score_steps(str(model), examples, max_new_tokens=12, temperature=1.0, samples=4)
    assert sampled.completions == 12 and all(len(s["completions"]) == 4 for s in sampled.samples)
    with pytest.raises(ValueError, match="no held-out step example"):
        score_steps(str(model), [], max_new_tokens=4)


def test_samples_of_one_prompt_prefilled_once_are_generates_own_samples(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from srl_swe.train.generation import generate_from_shared_prefill

    model_dir = init_tiny_model(tmp_path / "model")
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    chats = [[{"role": "user", "content": "list the files"}],
             [{"role": "user", "content": "show lines 1 to 40 of the module that parses the configuration"}]]
    batch = tokenizer.apply_chat_template(chats, add_generation_prompt=True, return_tensors="pt", return_dict=True,
                                          padding=True)
    assert not batch["attention_mask"].all()  # the shorter prompt is left-padded
    settings = {"max_new_tokens": 16, "do_sample": True, "temperature": 1.5, "pad_token_id": tokenizer.pad_token_id}
    torch.manual_seed(3)
    shared = generate_from_shared_prefill(model, batch["input_ids"], batch["attention_mask"], 3, **settings)
    torch.manual_seed(3)
    with torch.no_grad():
        plain = model.generate(**batch, num_return_sequences=3, **settings)
    assert torch.equal(shared, plain)
    assert len({tuple(row) for row in shared[:3].tolist()}) > 1  # sampled: the draws themselves matched
