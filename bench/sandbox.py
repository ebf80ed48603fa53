"""Benchmark: the Docker sandbox.

- container ready time (start → persistent shell answering);
- median round trip of a trivial command through the persistent shell vs one ``docker exec`` CLI call
  per command (how mini-swe-agent runs commands), measured in the same run. Target ratio ≤ 0.05;
- 8 concurrent oracle rollouts (each graded in a fresh container) on the bundled tasks: failures
  (target 0), wall time, and containers left behind (target 0).
Needs a Docker engine and the bundled images (``srl-swe sandbox build``).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from srl_swe.sandbox.docker import DockerSandbox


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", default="srl-swe/base:latest")
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--rollouts", type=int, default=8)
    args = parser.parse_args()
    ready = []
    for _ in range(5):
        start = time.perf_counter()
        with DockerSandbox(args.image, workdir="/tmp") as sandbox:
            sandbox.run("true")
            ready.append(time.perf_counter() - start)
    with DockerSandbox(args.image, workdir="/tmp") as sandbox:
        shell = []
        for _ in range(args.commands):
            start = time.perf_counter()
            sandbox.run("echo ok")
            shell.append(time.perf_counter() - start)
        cli = []
        for _ in range(max(20, args.commands // 10)):
            start = time.perf_counter()
            subprocess.run(["docker", "exec", sandbox.container.id, "bash", "-c", "echo ok"], check=True,
                           capture_output=True)
            cli.append(time.perf_counter() - start)
    shell_ms, cli_ms = statistics.median(shell) * 1000, statistics.median(cli) * 1000
    rollouts = concurrent_rollouts(args.rollouts)
    print(json.dumps({"ready_s_median": round(statistics.median(ready), 3), "shell_rtt_ms": round(shell_ms, 3),
                      "docker_exec_cli_rtt_ms": round(cli_ms, 2), "ratio": round(shell_ms / cli_ms, 4),
                      **rollouts, "target_met": shell_ms / cli_ms <= 0.05 and rollouts["rollout_failures"] == 0
                      and rollouts["containers_left"] == 0}))


def concurrent_rollouts(count: int) -> dict:
    """``count`` oracle rollouts of bundled tasks, all at once."""
    import docker

    from srl_swe.resources import sandboxes_dir
    from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
    from srl_swe.tasks.rows import bundled_tasks

    tasks = bundled_tasks(sandboxes_dir())[:count]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report = rollout_all(tasks, Path(tmp) / "run.jsonl", sandbox_factory("docker"), model_factory("oracle"),
                             workers=count)
        wall = time.perf_counter() - start
    left = docker.from_env().containers.list(all=True, filters={"label": "srl-swe"})
    return {"rollouts": len(tasks), "rollout_wall_s": round(wall, 2), "rollouts_resolved": len(report.resolved),
            "rollout_failures": len(report.errors) + len(report.done) - len(report.resolved),
            "containers_left": len(left)}


if __name__ == "__main__":
    main()
