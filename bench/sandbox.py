"""Benchmark: the Docker sandbox.

- container ready time (start → persistent shell answering);
- median round trip of a trivial command through the persistent shell vs one ``docker exec`` CLI call
  per command (how mini-swe-agent runs commands), measured in the same run. Target ratio ≤ 0.05.
Needs a Docker engine and the image given with --image (default srl-swe/base:latest).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

from srl_swe.sandbox.docker import DockerSandbox


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", default="srl-swe/base:latest")
    parser.add_argument("--commands", type=int, default=200)
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
    print(json.dumps({"ready_s_median": round(statistics.median(ready), 3), "shell_rtt_ms": round(shell_ms, 3),
                      "docker_exec_cli_rtt_ms": round(cli_ms, 2), "ratio": round(shell_ms / cli_ms, 4),
                      "target_met": shell_ms / cli_ms <= 0.05}))


if __name__ == "__main__":
    main()
