"""Trainer callbacks: a graceful Ctrl-C, a wall-clock limit, and the resolved config saved beside every
checkpoint."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

CONFIG_FILE = "srl_swe_config.yaml"


class GracefulInterrupt(TrainerCallback):
    """The first Ctrl-C (or SIGTERM) lets the current optimizer step finish, saves a checkpoint and stops
    training; another one more than ``grace`` seconds later aborts at once (a launcher such as torchrun
    forwards the terminal's signal again, which must not count as a second Ctrl-C). In a multi-process
    launch the processes agree at every step end (a max over ranks), so all stop after the same step.
    Use as a context manager around ``trainer.train()``; handlers are installed only in the main thread
    and restored on exit. ``stopped`` says whether training was stopped by a signal."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, grace: float = 5.0):
        self.grace = grace
        self.requested_at: float | None = None
        self.stopped = False
        self._previous: dict = {}

    def __enter__(self) -> GracefulInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum, frame) -> None:
        now = time.monotonic()
        if self.requested_at is not None and now - self.requested_at > self.grace:
            raise KeyboardInterrupt
        self.requested_at = self.requested_at or now

    def on_step_end(self, args, state, control, **kwargs):
        if _any_rank(self.requested_at is not None):
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True
        return control


def _any_rank(flag: bool) -> bool:
    """``flag`` or-ed over the processes of a distributed run (every rank must call this)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    device = "cuda" if torch.cuda.is_available() and dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


class WallClockLimit(TrainerCallback):
    """Ends training after the optimizer step at which ``seconds`` of training have passed (counted from
    the first step's start, so model loading and data preparation do not count; evaluation does).
    ``seconds`` may be a function, read at every step end: a limit known only while training runs (the
    quickstart's more-SFT row, training beside SRL until it has trained as long as SRL did)."""

    def __init__(self, seconds: float | Callable[[], float]):
        self.seconds = seconds if callable(seconds) else lambda: seconds
        self.started: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if _any_rank(time.monotonic() - (self.started or time.monotonic()) >= self.seconds()):
            control.should_training_stop = True
        return control


class SaveConfig(TrainerCallback):
    """Writes the resolved configuration into every checkpoint folder."""

    def __init__(self, text: str):
        self.text = text

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
            if folder.is_dir():
                (folder / CONFIG_FILE).write_text(self.text)
        return control
