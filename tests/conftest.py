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


@pytest.fixture(scope="session")
def docker_client():
    """The Docker engine the `docker`-marked tests need: skipped on a developer machine without one,
    a failure under CI=true (CI must never skip them)."""
    import os

    import docker

    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as exc:  # no engine, or no permission on its socket
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but no Docker engine answers: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    return client


@pytest.fixture(scope="session")
def base_image(docker_client):
    """srl-swe/base:latest (bash, git, python3, pytest, user agent), built from sandboxes/base if missing."""
    from pathlib import Path

    import docker

    from srl_swe.sandbox.images import image_name

    name = image_name("base")
    try:
        docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        folder = Path(__file__).parent.parent / "sandboxes" / "base"
        docker_client.images.build(path=str(folder), tag=name, rm=True, network_mode="host")
    return name
