"""Trainer callbacks: a graceful Ctrl-C, and the resolved config saved beside every checkpoint."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

CONFIG_FILE = "srl_swe_config.yaml"


class GracefulInterrupt(TrainerCallback):
    """The first Ctrl-C (or SIGTERM) lets the current optimizer step finish, saves a checkpoint and stops
    training; a second one aborts at once. Use as a context manager around ``trainer.train()`` (handlers
    are installed only in the main thread, and restored on exit)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
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
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested:
            control.should_save = True
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
