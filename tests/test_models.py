"""Model clients against a real HTTP server on loopback (the stand-in for a remote endpoint)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from srl_swe.models.openai import ModelError, OpenAIChatModel


class Endpoint:
    """A local OpenAI-compatible server that answers from a script of (status, body) replies."""

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                endpoint.requests.append((self.path, self.headers.get("Authorization"),
                                          json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
                status, body = endpoint.replies.pop(0) if len(endpoint.replies) > 1 else endpoint.replies[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def answer(text):
    return 200, {"choices": [{"message": {"role": "assistant", "content": text}}]}


@pytest.fixture
def endpoint():
    servers = []

    def make(*replies):
        servers.append(Endpoint(replies))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_completion_round_trip_with_key(endpoint):
    server = endpoint(answer("<think>x</think>hi"))
    model = OpenAIChatModel("served-model", base_url=server.url, api_key="secret")
    assert model.complete([{"role": "user", "content": "hello"}]) == "<think>x</think>hi"
    path, auth, body = server.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer secret"
    assert body["model"] == "served-model" and body["temperature"] == 0.0 and body["messages"][0]["content"] == "hello"


def test_transient_errors_are_retried_with_backoff(endpoint):
    server = endpoint((503, {"error": "busy"}), (429, {"error": "slow down"}), answer("ok"))
    model = OpenAIChatModel("m", base_url=server.url, backoff_s=0.01)
    assert model.complete([{"role": "user", "content": "x"}]) == "ok" and len(server.requests) == 3


@pytest.mark.parametrize("status, body", [
    (401, {"error": {"message": "invalid api key"}}),
    (400, {"error": {"code": "context_length_exceeded", "message": "This model's maximum context length is 8"}}),
])
def test_auth_and_context_errors_are_not_retried(endpoint, status, body):
    server = endpoint((status, body), answer("never"))
    with pytest.raises(ModelError, match=str(status)):
        OpenAIChatModel("m", base_url=server.url, backoff_s=0.01).complete([{"role": "user", "content": "x"}])
    assert len(server.requests) == 1


def test_an_endpoint_that_is_down_fails_after_the_retries():
    model = OpenAIChatModel("m", base_url="http://127.0.0.1:9/v1", retries=2, backoff_s=0.01, timeout_s=2)
    with pytest.raises(ModelError, match="failed 3 times"):
        model.complete([{"role": "user", "content": "x"}])


def test_local_transformers_model_generates_deterministically(tmp_path, tiny_tokenizer):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from srl_swe.models.hf import HFModel

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
    Qwen2ForCausalLM(config).save_pretrained(tmp_path / "model")
    tiny_tokenizer.save_pretrained(tmp_path / "model")
    model = HFModel(str(tmp_path / "model"), max_new_tokens=12)
    messages = [{"role": "user", "content": "fix the bug"}]
    first = model.complete(messages)
    assert isinstance(first, str) and first == model.complete(messages)
    assert model.name == f"hf:{tmp_path / 'model'}"


ASK = [{"role": "user", "content": "x"}]


def test_a_stop_the_server_cut_off_is_put_back_and_reasoning_goes_back_into_think(endpoint):
    call = "<function=bash>\n<parameter=command>ls</parameter>\n"
    server = endpoint((200, {"choices": [{"finish_reason": "stop", "stop_reason": "</function>",
                                          "message": {"content": call, "reasoning_content": "look"}}]}),
                      (200, {"choices": [{"finish_reason": "stop", "stop_reason": None,
                                          "message": {"content": "<think>x</think>" + call}}]}))
    model = OpenAIChatModel("m", base_url=server.url)
    assert model.complete(ASK) == "<think>look</think>" + call + "</function>"  # vLLM cut the stop off
    assert server.requests[0][2]["stop"] == ["</function>"]
    assert model.complete(ASK) == "<think>x</think>" + call  # it ended its turn inside the call: left as is


def test_an_endpoint_that_refuses_stop_is_asked_again_without_it(endpoint):
    refusal = {"error": {"message": "Unsupported parameter: 'stop' is not supported with this model.",
                         "param": "stop"}}
    server = endpoint((400, refusal), answer("<think>x</think><function=submit></function>\nmore"))
    model = OpenAIChatModel("m", base_url=server.url, backoff_s=0.01)
    assert model.complete(ASK) == "<think>x</think><function=submit></function>"  # cut here instead
    assert "stop" in server.requests[0][2] and "stop" not in server.requests[1][2]
