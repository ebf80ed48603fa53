"""SRL's rollouts with each prompt prefilled once (``srl_swe.train.generation``) against TRL 1.16's
transformers path (every copy of a prompt prefilled), on a quickstart run's warm start and SRL prompts.

Per batch (4 distinct training prompts × 4 rollouts, the quickstart's SRL batch, its temperature and
completion budget, one CPU thread as in the quickstart), the two paths alternate from the same random
seed, so a drifting machine slows both alike. Reported: seconds of each path, their ratio (target < 1),
and in how many batches the completions are identical token for token (expected: all).

    python bench/rollouts.py --run runs/quickstart [--batches 8] [--temperature 1.0]

JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srl_swe.quickstart import QuickstartOptions, _config  # noqa: E402


def trainer_of(run: Path, temperature: float | None):
    """The quickstart's SRL trainer from the run's warm start (built, not trained)."""
    from srl_swe.train.run import _build

    warm = str(run / "sft" / "final")
    with tempfile.TemporaryDirectory(prefix="rollouts-") as folder:  # the trainer's output folder, unused
        out = Path(folder)
        trainer = _build(_config(QuickstartOptions(out=run), "srl", warm, out, None), "srl", warm, out, [])
    trainer.model.eval()
    if temperature is not None:
        trainer.generation_config.temperature = temperature
    return trainer


def measure(trainer, batches: int, size: int = 4) -> dict:
    import torch

    from srl_swe.train.generation import shared_prefill_rollouts

    rows = trainer.train_dataset
    seconds = {"trl": 0.0, "shared_prefill": 0.0}
    identical = 0
    for batch in range(batches):
        prompts = [rows[(batch * size + j) % len(rows)]["prompt"] for j in range(size)]
        distinct, _, _ = trainer._tokenize_prompts(prompts)
        repeated = [ids for ids in distinct for _ in range(size)]
        completions = {}
        for path in seconds:
            torch.manual_seed(batch)
            start = time.perf_counter()
            completions[path] = (trainer._generate_single_turn(repeated, None, {}, size)[0] if path == "trl"
                                 else shared_prefill_rollouts(trainer, distinct, size))
            seconds[path] += time.perf_counter() - start
        identical += completions["trl"] == completions["shared_prefill"]
    return {"batches": batches, "seconds": {k: round(v, 2) for k, v in seconds.items()},
            "ratio": round(seconds["shared_prefill"] / seconds["trl"], 3), "identical_batches": identical}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=Path("runs/quickstart"))
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=None, help="default: the quickstart's")
    args = parser.parse_args()
    torch.set_num_threads(1)
    trainer = trainer_of(args.run, args.temperature)
    measure(trainer, 1)  # warm-up: the first call of either path pays one-time costs
    result = measure(trainer, args.batches)
    result["temperature"] = trainer.generation_config.temperature
    print(json.dumps(result))


if __name__ == "__main__":
    main()
