"""Local generation with transformers (``hf:PATH``): a checkpoint folder such as one ``srl-swe train``
wrote, on the GPU when there is one, else the CPU. Greedy by default (temperature 0).

A PATH that is not a local folder is a Hugging Face Hub id; unless it is in the local cache already,
before transformers spends tens of seconds retrying, ``check_source`` fails at once (ValueError naming
``hf:PATH``) when the Hub is off (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``) or its host
(``HF_ENDPOINT``, or the HTTPS proxy) does not accept a connection within ``HUB_PROBE_SECONDS``.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

HUB_PROBE_SECONDS = 3.0
_TRUE = {"1", "ON", "YES", "TRUE"}


class HFModel:
    def __init__(self, path: str, temperature: float = 0.0, max_new_tokens: int = 2048, device: str | None = None):
        check_source(path)  # before the slow imports
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = f"hf:{path}"
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device).eval()
        except (OSError, ValueError) as exc:  # not a checkpoint, or not on the Hub
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"hf:{path}: cannot load a model: {reason}") from None
        self.temperature, self.max_new_tokens = temperature, max_new_tokens

    def complete(self, messages: list[dict[str, str]]) -> str:
        import torch

        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)["input_ids"].to(self.device)
        sampling = {"do_sample": self.temperature > 0}
        if self.temperature > 0:
            sampling["temperature"] = self.temperature
        with torch.no_grad():
            output = self.model.generate(ids, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, **sampling)
        return self.tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=True)


def check_source(path: str) -> None:
    """Return if ``path`` is a local folder or the Hub can be asked for it; else ValueError at once."""
    local = Path(path).expanduser()
    if local.is_dir():
        return
    if local.exists():
        raise ValueError(f"hf:{path}: a file, not a model folder")
    if path.startswith(("/", ".", "~")) or path.count("/") > 1:
        raise ValueError(f"hf:{path}: no such folder")
    if _cached(path):
        return
    if any(os.environ.get(name, "").upper() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")):
        raise ValueError(f"hf:{path}: no such folder, and the Hugging Face Hub is off (HF_HUB_OFFLINE is set)")
    host = hub_host()
    if not reachable(*host, HUB_PROBE_SECONDS):
        raise ValueError(f"hf:{path}: no such folder, and the Hugging Face Hub ({host[0]}:{host[1]}) cannot be "
                         f"reached; give a local checkpoint folder")


def _cached(repo_id: str) -> bool:
    """Whether the Hub model ``repo_id`` is already in the local Hugging Face cache (loads offline)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # noqa: BLE001 - a malformed id or cache: not cached
        return False


def hub_host() -> tuple[str, int]:
    """The host and port a Hub download connects to first: the HTTPS proxy when one is set, else the endpoint."""
    url = (os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
           or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def reachable(host: str, port: int, seconds: float) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``seconds`` (name lookup included: it runs in
    a thread, since ``getaddrinfo`` has no timeout of its own)."""
    connected = threading.Event()

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=seconds).close()
            connected.set()
        except OSError:
            pass

    threading.Thread(target=connect, daemon=True).start()
    return connected.wait(seconds)
