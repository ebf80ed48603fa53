"""Shared test helpers: a small byte-level BPE tokenizer trained here (no network)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A fast byte-level BPE tokenizer with Qwen2.5's chat template, trained on a few strings."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen2_5_chat_template

    # <think> tags stay ordinary text: TRL decodes completions with skip_special_tokens=True.
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    corpus = ["<function=bash>\n<parameter=command>ls -la /testbed</parameter>\n</function>",
              "OBSERVATION:\nsetup.py\ncalc/\n", "<think>\nfirst look around\n</think>\n",
              "You are an expert software engineer.", "def divide(a, b):"] * 20
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = qwen2_5_chat_template
    return fast
