"""An OpenAI-compatible chat-completions client (``vllm serve``, SGLang, hosted APIs), stdlib only.

``openai:MODEL`` with a base URL (``--base-url`` or ``OPENAI_BASE_URL``) and a key (``--api-key`` or
``OPENAI_API_KEY``; none needed for a local server). Transient failures — connection errors, timeouts,
HTTP 408/409/429/5xx — are retried with exponential backoff; authentication errors and requests that
exceed the model's context are not (retrying cannot help) and raise :class:`ModelError` at once.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request

RETRYABLE = {408, 409, 429, 500, 502, 503, 504}
CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "context length", "too many tokens")


class ModelError(RuntimeError):
    """The endpoint refused the request for good (bad key, prompt too long, retries exhausted)."""


class OpenAIChatModel:
    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 4096, timeout_s: float = 600.0, retries: int = 5,
                 backoff_s: float = 1.0):
        self.name, self.model = f"openai:{model}", model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY", "")
        self.temperature, self.max_tokens, self.timeout_s = temperature, max_tokens, timeout_s
        self.retries, self.backoff_s = retries, backoff_s

    def complete(self, messages: list[dict[str, str]]) -> str:
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens}
        reply = self._post("/chat/completions", body)
        try:
            return reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ModelError(f"unexpected reply from {self.base_url}: {str(reply)[:300]}") from None

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
                if error.code not in RETRYABLE or any(m in detail.lower() for m in CONTEXT_MARKERS):
                    raise ModelError(f"{self.base_url} answered HTTP {error.code}: {detail}") from None
                last = f"HTTP {error.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException,
                    json.JSONDecodeError) as error:  # cut connections and garbled replies are transient too
                last = f"{type(error).__name__}: {error}"
            if attempt < self.retries:
                time.sleep(self.backoff_s * 2**attempt)
        raise ModelError(f"{self.base_url} failed {self.retries + 1} times; last: {last}")
