"""A served policy, end to end: ``transformers serve`` started by srl_swe/serve.py on loopback with the tiny
model, our OpenAI client against it, and an agent rollout (``srl-swe eval --sandbox local``) through it.

The tiny model's weights are set so that its greedy output is known (see ``scripted_checkpoint``): a random
model would write noise until ``max_tokens``, which says nothing about templates or stops, and is slow."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_swe.actions import parse_completion
from srl_swe.cli import app
from srl_swe.models.openai import ModelError, OpenAIChatModel
from srl_swe.serve import check_checkpoint, serving

if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
    if os.environ.get("CI"):  # CI installs the serve extra: never skip there
        raise RuntimeError("CI=true but the serve extra is not installed: pip install -e '.[serve]'")
    pytest.skip("needs the serve extra: pip install 'srl-swe[serve]'", allow_module_level=True)

INVENTORY = Path(__file__).parent.parent / "sandboxes" / "inventory"
ACTION = "<think>ok</think><function=submit></function>"
MESSAGES = [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": "Resolve it"}]
STARTUP_S = 120


def scripted_checkpoint(folder: Path) -> Path:
    """The tiny model (srl_swe/train/tiny_model.py: its tokenizer, Qwen2.5 chat template and architecture)
    with weights that make it a lookup table from the last token to the next: after the chat template's
    generation prompt it writes ACTION, and then ACTION again, forever (it never ends its turn).

    So a completion that starts with ACTION proves the server applied the checkpoint's chat template (the
    first token follows only from the template's last one), and one that ends after a single ACTION proves
    the stop at the end of the action."""
    import torch

    from srl_swe.train.tiny_model import build_model, build_tokenizer

    tokenizer = build_tokenizer(["You are an agent. Resolve it", ACTION], vocab_size=300)
    cycle = tokenizer.encode(ACTION, add_special_tokens=False)
    start = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True,
                                          return_dict=True)["input_ids"][-1]
    successor = {start: cycle[0], **{token: cycle[(i + 1) % len(cycle)] for i, token in enumerate(cycle)}}
    assert len(set(cycle)) == len(cycle) and start not in cycle, "a lookup table needs distinct tokens"
    model = build_model(tokenizer, hidden_size=32)
    model.config.tie_word_embeddings = False
    with torch.no_grad():
        for layer in model.model.layers:  # the layers add nothing: the last hidden state is the token's own
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed, head = model.model.embed_tokens.weight, torch.zeros_like(model.model.embed_tokens.weight)
        for axis, (token, following) in enumerate(successor.items()):
            embed[token] = torch.nn.functional.one_hot(torch.tensor(axis), embed.shape[1])
            head[following, axis] = 10.0
        model.lm_head.weight = torch.nn.Parameter(head)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def post(base_url: str, body: dict) -> dict:
    """The server's whole reply to a chat-completions request (finish reason, token counts)."""
    request = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return scripted_checkpoint(tmp_path_factory.mktemp("checkpoint"))


@pytest.fixture(scope="module")
def server(checkpoint, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with log_path.open("w") as log:
        try:
            with serving(checkpoint, port=free_port(), device="cpu", startup_timeout_s=STARTUP_S, log=log) as served:
                yield served
        except RuntimeError as exc:  # did not come up: show why
            pytest.fail(f"{exc}:\n{log_path.read_text()[-3000:]}")


def test_chat_completions_apply_the_template_and_stop_at_the_end_of_the_action(server):
    client = OpenAIChatModel(server.model_id, base_url=server.base_url, max_tokens=40)
    completion = client.complete(MESSAGES)
    assert completion == ACTION  # its <think> block came back as reasoning_content: the client put it back
    assert parse_completion(completion).action.tool == "submit"
    stopped = post(server.base_url, client.request_body(MESSAGES))
    assert stopped["choices"][0]["finish_reason"] == "stop" and stopped["usage"]["completion_tokens"] == 5
    run_on = post(server.base_url, OpenAIChatModel(server.model_id, max_tokens=12,
                                                   stop_at_action_end=False).request_body(MESSAGES))
    assert run_on["choices"][0]["finish_reason"] == "length"  # without the stop the model runs on


def test_a_request_for_another_model_fails_at_once_naming_the_served_one(server):
    client = OpenAIChatModel("other-model", base_url=server.base_url, retries=3, backoff_s=2.0)
    began = time.monotonic()
    with pytest.raises(ModelError, match="400") as error:
        client.complete(MESSAGES)
    assert server.model_id in str(error.value) and time.monotonic() - began < 2.0  # no retries


def test_the_client_retries_until_a_starting_server_answers(checkpoint, tmp_path):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    # Attempts at 0, 0.1, 0.3, 0.7 … 204.7 s: past any startup within STARTUP_S, none more than ~2x late.
    client = OpenAIChatModel(str(check_checkpoint(checkpoint)), base_url=base_url, retries=11, backoff_s=0.1)
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(completion=client.complete(MESSAGES)), daemon=True)
    thread.start()  # nothing listens yet: its first attempts are refused
    time.sleep(0.5)
    assert thread.is_alive() and not result
    with (tmp_path / "server.log").open("w") as log, serving(checkpoint, port=port, device="cpu",
                                                            startup_timeout_s=STARTUP_S, log=log) as served:
        assert served.base_url == base_url
        thread.join(2 * STARTUP_S)
    assert result == {"completion": ACTION}


def test_an_agent_rollout_through_the_server_completes_and_is_reported(server, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", "--benchmark", f"local:{INVENTORY}", "--model",
                                      f"openai:{server.model_id}", "--base-url", server.base_url,
                                      "--sandbox", "local", "--slice", "0:1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["total"] == 1 and report["counts"]["error"] == 0
    (entry,) = report["instances"].values()
    # The scripted model submits at once: its completion reached the agent as one well-formed action.
    assert (entry["status"], entry["exit_status"]) == ("empty_patch", "submitted"), entry
    (trajectory,) = (json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines())
    assert trajectory["provenance"]["teacher"] == f"openai:{server.model_id}"
    assert [step["action"]["tool"] for step in trajectory["steps"]] == ["submit"], trajectory["steps"]
    assert (out / "report.md").is_file()


def test_a_checkpoint_without_a_chat_template_is_refused_before_starting(checkpoint, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((checkpoint / "config.json").read_text())
    with pytest.raises(ValueError, match="no chat template"):
        check_checkpoint(bare)
