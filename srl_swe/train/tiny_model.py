"""The offline tiny model: a small Qwen2-architecture causal LM with a byte-level BPE tokenizer trained
here, on the step data it will learn from — the model of the tests and the demo, and for users without
a GPU. No network: nothing is downloaded.

The tokenizer's special tokens are ``<|endoftext|>`` (padding), ``<|im_start|>`` and ``<|im_end|>`` (end
of turn, the EOS). ``<think>``, ``</think>`` and the function-markup tags are added as single tokens but
*not* special: TRL decodes completions with ``skip_special_tokens=True``, which would delete them. The
chat template is Qwen2.5's, exactly as TRL ships it, so TRL recognises it (assistant masks, tool parsing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKUP = ["<think>", "</think>", "<solution>", "</solution>", "</parameter>", "</function>", "<function=",
          "<parameter="]
_TAG = re.compile(r"<(?:function|parameter)=[A-Za-z0-9_.-]{1,64}>")


def build_tokenizer(texts: Iterable[str], vocab_size: int = 4096):
    """A byte-level BPE tokenizer trained on ``texts`` (fast; round-trips any text). Every whole tag of the
    function markup found in ``texts`` (``<function=bash>``, ``<parameter=old_str>`` …) is one token too:
    a model this small then writes a call's frame as a few tokens instead of spelling it out (it otherwise
    stutters, ``str_replace_replace…``)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen2_5_chat_template

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    texts = list(texts)
    backend.train_from_iterator(texts, trainer)
    tags = sorted({tag for text in texts for tag in _TAG.findall(text)})
    backend.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in [*MARKUP, *tags]])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = qwen2_5_chat_template
    return tokenizer


def build_model(tokenizer, hidden_size: int = 64, layers: int = 2, heads: int = 4, context: int = 8192, seed: int = 0):
    """A randomly initialised Qwen2 causal LM sized for the tokenizer."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 4,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
                         max_position_embeddings=context, tie_word_embeddings=True,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return Qwen2ForCausalLM(config)


def corpus_from_steps(folder: Path) -> Iterator[str]:
    """Every prompt message and expert action of a step dataset (``steps.parquet`` in ``folder``)."""
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(folder / "steps.parquet").iter_batches(columns=["prompt", "expert_action"]):
        for row in batch.to_pylist():
            yield from (message["content"] for message in row["prompt"])
            yield row["expert_action"]


def default_corpus() -> Iterator[str]:
    """The bundled example trajectories and the prompts, when no step data is given."""
    from srl_swe import prompts
    from srl_swe.collect import import_files
    from srl_swe.resources import examples_dir
    from srl_swe.steps import StepOptions, step_examples

    yield from (prompts.SWE_SYSTEM, prompts.MATH_SYSTEM, prompts.MATH_EVAL_SYSTEM)
    for trajectory in import_files([examples_dir()], resolved_only=False):
        for example in step_examples(trajectory, StepOptions(targets="all")):
            yield from (message["content"] for message in example["prompt"][1:])
            yield example["expert_action"]


def init_tiny_model(out: Path, data: Path | None = None, vocab_size: int = 4096, hidden_size: int = 64,
                    layers: int = 2, seed: int = 0) -> Path:
    """Train the tokenizer, build the model (initial weights from ``seed``), save both to ``out``; returns
    ``out``."""
    if data is not None and not (data / "steps.parquet").exists():
        raise FileNotFoundError(f"{data / 'steps.parquet'} does not exist: build it with `srl-swe steps`")
    texts = list(corpus_from_steps(data) if data is not None else default_corpus())
    tokenizer = build_tokenizer(texts, vocab_size)
    model = build_model(tokenizer, hidden_size, layers, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
