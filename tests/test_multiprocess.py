"""`srl-swe train` across processes: real ``accelerate launch`` runs of ``python -m srl_swe train`` in 2 CPU
processes (gloo), on the offline tiny model — SRL with dynamic sampling, and SFT — each checkpointed,
interrupted with Ctrl-C and resumed. No mocks: the processes, collectives, signals and files are real.

``accelerate launch --cpu --num_processes 2`` starts a single process (accelerate's simple launcher sets no
RANK or WORLD_SIZE); the launch that starts two CPU processes is ``--multi_gpu`` (torchrun) with
``use_cpu: true`` in the config, which puts the processes on gloo.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_train import swe_trajectory

from srl_swe.steps import StepOptions, build_step_dataset
from srl_swe.train.config import validate
from srl_swe.train.run import train
from srl_swe.train.tiny_model import init_tiny_model
from srl_swe.trajectory import write_trajectories

PROCESSES = 2
LAUNCH_TIMEOUT = 300  # seconds for one launch; a deadlock fails the test instead of hanging CI
SAMPLING_LINE = re.compile(r"dynamic sampling, process (\d+): (\d+) round\(s\), (\d+) of (\d+) groups")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """(root with the step data in ``swe/`` and the tiny model in ``model/``, a warm-started model): one
    that writes the action format part of the time, so rollout groups differ in reward and dynamic sampling
    keeps some and drops others."""
    root = tmp_path_factory.mktemp("multiprocess")
    rng = random.Random(0)
    write_trajectories(root / "swe.jsonl", [swe_trajectory(i, rng) for i in range(24)])
    build_step_dataset([root / "swe.jsonl"], root / "swe",
                       StepOptions(max_observation_chars=200, include_unresolved=True))  # synthetic, not graded
    init_tiny_model(root / "model", root / "swe")
    warm = settings(root, "sft", root / "warm", sft=dict(batch_size=8, per_device_batch_size=8, learning_rate=3e-3,
                                                          max_steps=100, data="steps", max_length=512,
                                                          lr_scheduler_type="constant", warmup_ratio=0.0),
                    logging={"eval_steps": 1000})
    (result,) = train(validate(warm))
    return root, result.final_model


def settings(root: Path, method: str, out: Path, model: Path | None = None, **sections) -> dict:
    """A small training config as a plain dict (validated where it is used)."""
    raw = {"method": method, "model": {"path": str(model or root / "model")}, "use_cpu": True, "seed": 0,
           "data": {"path": str(root / "swe"), "validation_trajectories": 4, "max_validation_examples": 4},
           "output_dir": str(out), "logging": {"eval_steps": 2, "save_total_limit": None}}
    for key, value in sections.items():
        raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) else value
    return raw


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_env(tmp_path: Path) -> dict:
    """The environment of a launch: one thread per process, no GPU, nothing shared with other runs
    (accelerate's default config and the datasets cache live under HF_HOME)."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
            "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "SRL_SWE_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1", "TERM": "dumb", "COLUMNS": "200"}


def launch_command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(PROCESSES),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(free_port()), "-m", "srl_swe", "train", "--config", str(config), *extra]


class Launch:
    """One ``accelerate launch`` of ``srl-swe train`` in its own process group (as a terminal would start
    it), its output in ``log``."""

    def __init__(self, tmp_path: Path, raw: dict, *extra: str, name: str = "launch"):
        config = tmp_path / f"{name}.yaml"
        config.write_text(yaml.safe_dump(raw))
        self.log = tmp_path / f"{name}.log"
        self.started = time.monotonic()
        with self.log.open("w") as handle:
            self.process = subprocess.Popen(launch_command(config, *extra), env=launch_env(tmp_path),
                                            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait(self) -> int:
        """The launcher's exit code; the whole process group is killed when it overruns LAUNCH_TIMEOUT."""
        try:
            return self.process.wait(timeout=max(1.0, LAUNCH_TIMEOUT - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            pytest.fail(f"launch still running after {LAUNCH_TIMEOUT} s (deadlock?); output tail:\n{self.tail()}")

    def ctrl_c_once(self, ready: Path) -> None:
        """SIGINT to the whole process group (the launcher and every worker), as Ctrl-C in a terminal
        delivers it, once ``ready`` exists."""
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() - self.started > LAUNCH_TIMEOUT:
                pytest.fail(f"{ready} never appeared; output tail:\n{self.tail()}")
            time.sleep(0.2)
        os.killpg(self.process.pid, signal.SIGINT)

    def expect(self, condition: bool, what: str) -> None:
        assert condition, f"{what}; output tail:\n{self.tail()}"


def sampling_rounds(output: str) -> dict[int, list[tuple[int, int]]]:
    """Per process: (rounds, groups informative in the first round) of every training batch, in order."""
    per_process: dict[int, list[tuple[int, int]]] = {}
    for process, rounds, kept, _ in SAMPLING_LINE.findall(output):
        per_process.setdefault(int(process), []).append((int(rounds), int(kept)))
    return per_process


def checkpoint_steps(out: Path) -> list[int]:
    return sorted(int(path.name.split("-")[1]) for path in out.glob("checkpoint-*"))


def trainer_history(checkpoint: Path) -> list[dict]:
    return json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]


def assert_one_clean_checkpoint(launch: Launch, checkpoint: Path) -> None:
    """One model, one trainer state, the config, and one RNG state per process: what a single writer for
    the shared files and one writer per process for the per-process ones leave."""
    names = sorted(path.name for path in checkpoint.iterdir())
    launch.expect({"model.safetensors", "trainer_state.json", "optimizer.pt", "srl_swe_config.yaml",
                   *(f"rng_state_{rank}.pth" for rank in range(PROCESSES))} <= set(names), f"{checkpoint}: {names}")
    launch.expect(not [name for name in names if name.startswith(".") or "tmp" in name],
                  f"{checkpoint} holds partial files: {names}")
    launch.expect(len([name for name in names if name.endswith(".safetensors")]) == 1, f"{checkpoint}: {names}")


def interrupted_then_resumed(tmp_path: Path, raw: dict, interrupt_after: int) -> tuple[Launch, Launch, int]:
    """Launch, Ctrl-C once checkpoint ``interrupt_after`` is on disk, then launch the same config with
    ``--resume``: (first launch, resumed launch, the step the first one stopped at)."""
    out = Path(raw["output_dir"])
    first = Launch(tmp_path, raw, name="first")
    first.ctrl_c_once(out / f"checkpoint-{interrupt_after}" / "trainer_state.json")
    first.wait()  # torchrun exits non-zero after a signal, whatever its workers did: not asserted
    stopped = re.findall(r"interrupted at step (\d+): checkpoint saved", first.output())
    first.expect(len(stopped) == 1, f"the interrupted step is said once, by process 0: {stopped}")
    step = int(stopped[0])
    first.expect(interrupt_after < step < raw[raw["method"]]["max_steps"], f"stopped at step {step}")
    first.expect(checkpoint_steps(out)[-1] == step, f"checkpoints {checkpoint_steps(out)}: none at step {step}")
    resumed = Launch(tmp_path, raw, "--resume", name="resumed")
    code = resumed.wait()
    resumed.expect(code == 0, f"resumed launch: exit code {code}")
    return first, resumed, step


def assert_finished_after_resume(launch: Launch, out: Path, steps: int, stopped: int, eval_key: str) -> list[dict]:
    """The resumed run ends at ``steps`` with a checkpoint at every second step plus the one of the
    interrupt at ``stopped`` and no other, every optimizer step logged exactly once (none lost, none
    repeated), validation at every second step, and one clean result; returns the trainer's history."""
    saved = checkpoint_steps(out)
    launch.expect(saved == sorted({*range(2, steps + 1, 2), stopped}), f"checkpoints at steps {saved}")
    history = trainer_history(out / f"checkpoint-{steps}")
    logged = [entry["step"] for entry in history if "loss" in entry]
    launch.expect(logged == list(range(1, steps + 1)), f"optimizer steps logged: {logged}")
    validated = [entry["step"] for entry in history if eval_key in entry]
    launch.expect(validated == list(range(2, steps + 1, 2)), f"validation at steps {validated}")
    result = json.loads((out / "result.json").read_text())
    launch.expect((result["global_step"], result["interrupted"]) == (steps, False), f"result.json: {result}")
    final = sorted(path.name for path in (out / "final").iterdir())
    launch.expect(final.count("model.safetensors") == 1 and "srl_swe_config.yaml" in final, f"final/: {final}")
    return history


# --- SRL -------------------------------------------------------------------------------------------

SRL = dict(batch_size=4, num_generations=4, per_device_batch_size=8, max_steps=6, max_completion_length=32,
           learning_rate=5e-4, temperature=0.7, max_sampling_rounds=3)


def test_srl_with_dynamic_sampling_checkpoints_and_resumes_across_two_processes(workspace, tmp_path):
    root, model = workspace
    out = tmp_path / "srl"
    raw = settings(root, "srl", out, model, srl=SRL)
    first, resumed, stopped = interrupted_then_resumed(tmp_path, raw, interrupt_after=2)
    for launch, steps in ((first, stopped), (resumed, SRL["max_steps"] - stopped)):
        per_process = sampling_rounds(launch.output())
        launch.expect(sorted(per_process) == list(range(PROCESSES)), f"sampling lines of processes {per_process}")
        rounds = {process: [r for r, _ in batches] for process, batches in per_process.items()}
        # one batch per optimizer step on every process, and the same number of rounds in each batch
        launch.expect(all(len(r) == steps for r in rounds.values()), f"batches per process {rounds}")
        launch.expect(len({tuple(r) for r in rounds.values()}) == 1, f"rounds differ between processes: {rounds}")
    batches = [sampling_rounds(launch.output()) for launch in (first, resumed)]
    kept = [list(zip(*(b[p] for p in range(PROCESSES)), strict=True)) for b in batches]
    # the agreement was needed: in some batch the processes kept different numbers of groups in the first
    # round (so their own shortfalls differed), and some batch needed more than one round
    assert any(len({k for _, k in step}) > 1 for run in kept for step in run), f"first-round kept: {kept}"
    assert any(r > 1 for b in batches for runs in b.values() for r, _ in runs), f"rounds: {batches}"
    for step in checkpoint_steps(out):
        assert_one_clean_checkpoint(resumed, out / f"checkpoint-{step}")
    history = assert_finished_after_resume(resumed, out, SRL["max_steps"], stopped, "eval_reward")
    generated = [entry["dynamic_sampling/generation_ratio"] for entry in history if "loss" in entry]
    resumed.expect(max(generated) > 1, f"generation ratios {generated}")


# --- SFT -------------------------------------------------------------------------------------------

SFT = dict(batch_size=4, per_device_batch_size=2, max_steps=12, learning_rate=1e-3, data="steps", max_length=512,
           lr_scheduler_type="constant", warmup_ratio=0.0)


def test_sft_checkpoints_and_resumes_across_two_processes(workspace, tmp_path):
    root, _ = workspace
    out = tmp_path / "sft"
    raw = settings(root, "sft", out, sft=SFT)
    first, resumed, stopped = interrupted_then_resumed(tmp_path, raw, interrupt_after=2)
    for step in checkpoint_steps(out):
        assert_one_clean_checkpoint(resumed, out / f"checkpoint-{step}")
    assert_finished_after_resume(resumed, out, SFT["max_steps"], stopped, "eval_loss")
