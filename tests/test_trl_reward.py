"""The rewards are real TRL reward functions: a GRPOTrainer trains on our step Parquet with them."""

import datasets
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM
from trl import GRPOConfig, GRPOTrainer

from srl_swe.actions import render_call, render_completion, tool_action
from srl_swe.rewards import FORMAT_PENALTY, action_similarity, tool_call_similarity
from srl_swe.steps import StepOptions, build_step_dataset
from srl_swe.trajectory import Provenance, Step, SweTask, Trajectory, write_trajectories


def test_grpo_step_with_our_rewards_on_our_dataset(tmp_path, tiny_tokenizer):
    steps = [Step(thought="look", action=tool_action("bash", {"command": f"ls /testbed/{k}"}), observation="ok")
             for k in range(3)]
    trajectory = Trajectory(id="t", task=SweTask(instance_id="i", problem_statement="bug"), steps=steps,
                            provenance=Provenance(source_format="test"))
    write_trajectories(tmp_path / "t.jsonl", [trajectory])
    build_step_dataset([tmp_path / "t.jsonl"], tmp_path / "data",
                       StepOptions(max_observation_chars=200, include_unresolved=True))
    dataset = datasets.load_dataset("parquet", data_files=str(tmp_path / "data" / "steps.parquet"), split="train")

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192)
    model = Qwen2ForCausalLM(config)
    args = GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, gradient_checkpointing=False,
                      per_device_train_batch_size=2, num_generations=2, max_completion_length=8, max_steps=1,
                      report_to="none", save_strategy="no", logging_steps=1)
    trainer = GRPOTrainer(model=model, reward_funcs=[action_similarity, tool_call_similarity], args=args,
                          train_dataset=dataset, processing_class=tiny_tokenizer)
    trainer.train()
    logged = {key: value for entry in trainer.state.log_history for key, value in entry.items()}
    # an untrained model never writes "<think>…</think> + one call": every completion is a format error
    assert logged["rewards/action_similarity/mean"] == FORMAT_PENALTY
    assert logged["rewards/tool_call_similarity/mean"] == FORMAT_PENALTY


def test_a_perfect_completion_survives_trl_decoding(tiny_tokenizer):
    """TRL decodes generated ids with skip_special_tokens=True: the think tags and the markup must
    survive that, or every completion would score -1."""
    expert = render_call("bash", {"command": "ls /testbed"})
    ids = tiny_tokenizer(render_completion("look around", tool_action("bash", {"command": "ls /testbed"})))["input_ids"]
    decoded = tiny_tokenizer.decode(ids + [tiny_tokenizer.eos_token_id], skip_special_tokens=True)
    assert action_similarity([decoded], expert_action=[expert]) == [1.0]
