"""G rollouts of each prompt with the prompt read once, for TRL's transformers generation path.

TRL 1.16 (``GRPOTrainer._generate_single_turn``, no vLLM) left-pads the G copies of every prompt and runs
``model.generate`` on them as one batch, so each prompt is prefilled G times. ``shared_prefill_rollouts``
prefills each distinct prompt once (all but its last token), repeats that KV cache G times and lets
``generate`` continue from it with the same generation config: the same positions, masks and sampling
draws, so the same completions as TRL's path up to float rounding (the tests compare them token for
token at a high temperature). With the quickstart's prompts (~600 tokens), G = 4 and one CPU thread a call
takes 0.65× TRL's time (``bench/rollouts.py``).

It applies where TRL's path is a plain ``generate`` on one set of weights: not vLLM, DeepSpeed or FSDP
(gathered or sharded weights) and prompts of at least 2 tokens; elsewhere it returns None and the caller
uses TRL's own path. ``generate_from_shared_prefill`` is the same for any left-padded batch; the held-out
step scoring (``srl_swe.eval.steps``) samples through it.
"""

from __future__ import annotations


def shared_prefill_rollouts(trainer, prompt_ids: list[list[int]], size: int) -> list[list[int]] | None:
    """``size`` completions per prompt (prompt-major, each cut after its first EOS token, as TRL cuts them),
    or None where this path does not apply (see the module docstring)."""
    if (trainer.use_vllm or trainer.is_deepspeed_enabled or trainer.is_fsdp_enabled
            or min(map(len, prompt_ids)) < 2):
        return None
    import torch
    from trl.extras.profiling import profiling_context
    from trl.models import unwrap_model_for_generation

    device = trainer.accelerator.device
    width = max(map(len, prompt_ids))
    pad = trainer._tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompt_ids], device=device)
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids], device=device)
    with (profiling_context(trainer, "transformers.generate"),
          unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator,
                                      generation_kwargs=trainer.generation_kwargs) as model):
        output = generate_from_shared_prefill(model, input_ids, mask, size,
                                              generation_config=trainer.generation_config)
    stops = set(trainer.eos_token_ids)
    return [_through_first(row, stops) for row in output[:, width:].tolist()]


def generate_from_shared_prefill(model, input_ids, attention_mask, size: int, **generate_kwargs):
    """``model.generate(input_ids, attention_mask, num_return_sequences=size, **generate_kwargs)`` — the prompt
    and completion ids of ``size`` sequences per row, prompt-major — with each row's prompt prefilled once.
    ``input_ids``: left-padded, at least 2 columns."""
    import torch
    from transformers import DynamicCache

    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)  # what generate derives from a left-padded mask
    with torch.no_grad():
        cache = DynamicCache(config=model.config)
        model(input_ids=input_ids[:, :-1], attention_mask=attention_mask[:, :-1], position_ids=positions[:, :-1],
              cache=cache, use_cache=True)
        cache.batch_repeat_interleave(size)
        return model.generate(input_ids=input_ids.repeat_interleave(size, 0),
                              attention_mask=attention_mask.repeat_interleave(size, 0), cache=cache,
                              **generate_kwargs)


def _through_first(tokens: list[int], stops: set[int]) -> list[int]:
    """``tokens`` up to and including the first of ``stops`` (all of them when none occurs)."""
    end = next((i + 1 for i, token in enumerate(tokens) if token in stops), len(tokens))
    return tokens[:end]
