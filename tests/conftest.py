"""Shared test helpers: a small byte-level BPE tokenizer trained here (no network)."""

from __future__ import annotations

import signal
import subprocess

import pytest


def default_sigint() -> None:
    """``preexec_fn`` of a child a test interrupts with SIGINT (Ctrl-C): the default disposition back. A test run
    started as a background job of a script inherits SIGINT ignored and passes that on, and a Python child that
    starts with SIGINT ignored never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


BUGGY = "def divide(a, b):\n    return a / b if b else 0\n\n\ndef add(a, b):\n    return a + b\n"
FIXED = ("def divide(a, b):\n    if b == 0:\n        raise ZeroDivisionError('division by zero')\n"
         "    return a / b\n\n\ndef add(a, b):\n    return a + b\n")
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
NEW_TEST = ("\n\ndef test_divide_by_zero_raises():\n    import pytest\n    from calc import divide\n"
            "    with pytest.raises(ZeroDivisionError):\n        divide(1, 0)\n")


def diff_of(repo, edit) -> str:
    edit(repo)
    out = subprocess.run(["git", "diff"], cwd=repo, capture_output=True, text=True, check=True).stdout
    subprocess.run(["git", "checkout", "-q", "."], cwd=repo, check=True)
    return out


@pytest.fixture
def calc_task(tmp_path):
    """A tiny real task: (pristine repository folder, SweTask with gold patch and test patch)."""
    from srl_swe.sandbox.local import commit_base
    from srl_swe.trajectory import SweTask

    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(BUGGY)
    (repo / "tests" / "test_calc.py").write_text(TESTS)
    (repo / "conftest.py").write_text("")
    pristine = tmp_path / "pristine"
    subprocess.run(["cp", "-r", str(repo), str(pristine)], check=True)
    base = commit_base(repo)
    task = SweTask(
        instance_id="acme__calc-1", problem_statement="divide(1, 0) returns 0 instead of raising",
        repo="acme/calc", base_commit=base,
        patch=diff_of(repo, lambda r: (r / "calc.py").write_text(FIXED)),
        test_patch=diff_of(repo, lambda r: (r / "tests" / "test_calc.py").write_text(TESTS + NEW_TEST)),
        FAIL_TO_PASS=["tests/test_calc.py::test_divide_by_zero_raises"], PASS_TO_PASS=["tests/test_calc.py::test_add"],
    )
    return pristine, task
