"""An OpenAI-compatible chat-completions client (``vllm serve``, SGLang, hosted APIs), stdlib only.

``openai:MODEL`` with a base URL (``--base-url`` or ``OPENAI_BASE_URL``) and a key (``--api-key`` or
``OPENAI_API_KEY``; none needed for a local server). Transient failures — connection errors, timeouts,
HTTP 408/409/429/5xx — are retried with exponential backoff; authentication errors and requests that
exceed the model's context are not (retrying cannot help) and raise :class:`ModelError` at once.

Completions stop at the end of the action: the request asks the server to stop at ``</function>`` (the
end of a tool call; a math answer never holds it), so a model that would run on past its one call does not
spend tokens on text the agent refuses (as with any stop string, an argument value that holds
``</function>`` is cut there too). Servers differ in what they hand back, and the client evens that
out so the agent always sees ``<think>…</think>`` followed by the whole call:

- OpenAI and vLLM cut the stop string off; transformers keeps it. When the reply stopped (``finish_reason``
  "stop") inside an unclosed ``<function=…>``, ``</function>`` is put back; vLLM's ``stop_reason`` says
  exactly which stop ended it, and is trusted when present (an end-of-turn inside a call stays unclosed).
- ``transformers serve`` (for Qwen-family models) and vLLM with a reasoning parser move the ``<think>``
  block into ``reasoning_content`` (or ``reasoning``); it is put back in front of the content.
- An endpoint that refuses the ``stop`` parameter (some hosted reasoning models answer HTTP 400) is asked
  again without it, and the completion is then cut after its first call here.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request

RETRYABLE = {408, 409, 429, 500, 502, 503, 504}
ACTION_END = "</function>"
REASONING_FIELDS = ("reasoning_content", "reasoning")
CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "context length", "too many tokens")


class ModelError(RuntimeError):
    """The endpoint refused the request for good (bad key, prompt too long, retries exhausted)."""


class OpenAIChatModel:
    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 4096, timeout_s: float = 600.0, retries: int = 5,
                 backoff_s: float = 1.0, stop_at_action_end: bool = True):
        self.name, self.model = f"openai:{model}", model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY", "")
        self.temperature, self.max_tokens, self.timeout_s = temperature, max_tokens, timeout_s
        self.retries, self.backoff_s = retries, backoff_s
        self.stop_at_action_end, self.server_stops = stop_at_action_end, stop_at_action_end

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The completion text: any reasoning field back inside ``<think>…</think>``, and, when stopping at
        the action's end, no text after the first closed call. ModelError as the module says."""
        body = self.request_body(messages)
        try:
            reply = self._post("/chat/completions", body)
        except StopRefused:
            self.server_stops = False
            reply = self._post("/chat/completions", {key: value for key, value in body.items() if key != "stop"})
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"] or ""
            reasoning = next((choice["message"][field] for field in REASONING_FIELDS
                              if choice["message"].get(field) is not None), None)
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelError(f"unexpected reply from {self.base_url}: {str(reply)[:300]}") from None
        if reasoning is not None and "<think>" not in text:
            text = f"<think>{reasoning}</think>{text}"
        return cut_after_action(close_stopped_action(text, choice)) if self.stop_at_action_end else text

    def request_body(self, messages: list[dict[str, str]]) -> dict:
        """The JSON body of a chat-completions request for ``messages``."""
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens}
        if self.server_stops:
            body["stop"] = [ACTION_END]
        return body

    def _post(self, path: str, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), headers=headers,
                                         method="POST")
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", errors="replace")[:500]
                if error.code == 400 and "stop" in body and refuses_stop(detail):
                    raise StopRefused(detail) from None
                if error.code not in RETRYABLE or any(m in detail.lower() for m in CONTEXT_MARKERS):
                    raise ModelError(f"{self.base_url} answered HTTP {error.code}: {detail}") from None
                last = f"HTTP {error.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException,
                    json.JSONDecodeError) as error:  # cut connections and garbled replies are transient too
                last = f"{type(error).__name__}: {error}"
            if attempt < self.retries:
                time.sleep(self.backoff_s * 2**attempt)
        raise ModelError(f"{self.base_url} failed {self.retries + 1} times; last: {last}")


class StopRefused(ModelError):
    """The endpoint does not take the ``stop`` parameter (HTTP 400 naming it)."""


def refuses_stop(detail: str) -> bool:
    """Whether an HTTP 400 body says the ``stop`` parameter is not supported (OpenAI's wording for
    reasoning models: "Unsupported parameter: 'stop' is not supported with this model.")."""
    lowered = detail.lower()
    return "'stop'" in lowered and ("unsupported" in lowered or "not supported" in lowered)


def close_stopped_action(text: str, choice: dict) -> str:
    """``text`` with ``</function>`` put back when the server stopped on it and cut it off.

    vLLM's ``stop_reason`` (the stop string that matched, or None for an end of turn) decides when the
    choice has one; without it a stop inside an unclosed call is taken to be the stop string's doing (the
    one misreading: a model that ends its turn inside a call gets it closed)."""
    if choice.get("finish_reason") != "stop" or not unclosed_call(text):
        return text
    if "stop_reason" in choice and choice["stop_reason"] != ACTION_END:
        return text
    return text + ACTION_END


def unclosed_call(text: str) -> bool:
    """Whether the last ``<function=`` in ``text`` has no ``</function>`` after it."""
    opened = text.rfind("<function=")
    return opened >= 0 and text.find(ACTION_END, opened) < 0


def cut_after_action(text: str) -> str:
    """``text`` up to and including the first ``</function>`` after ``</think>`` (all of it when none): what
    a server that honours the stop would have sent, for one that does not."""
    start = text.find("</think>")
    end = text.find(ACTION_END, max(start, 0))
    return text if end < 0 else text[: end + len(ACTION_END)]
