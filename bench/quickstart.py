"""Wall time of `srl-swe quickstart` on this machine: a first run (images cached or built, everything
else from scratch) and a second run in the same folder (everything reused). Target: ≤ 5 minutes on 2 CPU
cores with Docker. Also reports the table's held-out step rewards. JSON on the last line."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "srl_swe", "quickstart", "-o", str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "quickstart"
        first, second = timed(out), timed(out)
        result = json.loads((out / "quickstart.json").read_text())
    rows = {row["model"]: row for row in result["rows"]}
    print(json.dumps({
        "first_run_s": round(first, 1), "second_run_s": round(second, 1), "target_s": 300,
        "meets_target": first <= 300, "sandbox": result["sandbox"],
        "held_out_step_reward_after_warm_start": rows["after SFT warm start"]["held_out_step_reward"],
        "held_out_step_reward_after_srl": rows["after SRL"]["held_out_step_reward"],
        "improved": result["improved"],
    }))


if __name__ == "__main__":
    main()
