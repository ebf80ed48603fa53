"""``srl-swe report RUN…``: one markdown table comparing evaluation runs, with the paper's published rows
beside them (labelled as quoted from the paper, SRL-SPEC §2.4 Table 1 and §3.3 Table 5), and PNG plots:
the resolve rate or accuracy of each run, and the reward curves of training runs.

A RUN folder is an evaluation run (``report.json`` from ``srl-swe eval``) or a training run (an
``output_dir`` of ``srl-swe train``: its newest ``checkpoint-*/trainer_state.json`` holds the logs).
"""

from __future__ import annotations

import json
from pathlib import Path

from srl_swe.eval.math import PAPER_COLUMNS
from srl_swe.trajectory import atomic_output

PAPER_SWE = [  # SWE-bench Verified resolve rate %, greedy (Table 5)
    ("Qwen2.5-Coder-7B-Instruct (base)", 5.8, 3.2),
    ("SWE-Gym-7B", 8.4, 4.2),
    ("SRL", 14.8, 8.6),
]
PAPER_MATH = [  # Table 1 (v3), Qwen2.5-7B-Instruct base; the printed averages
    ("Qwen2.5-7B-Instruct (base)", [49.3, 50.0, 10.5, 13.3, 7.5, 6.7, 34.9, 24.6]),
    ("SFT (R1 reasoning)", [26.8, 40.0, 3.9, 10.0, 5.4, 10.0, 20.2, 16.6]),
    ("RL(VR)", [52.0, 47.5, 11.1, 10.0, 7.4, 10.0, 33.8, 24.5]),
    ("SRL", [51.5, 50.0, 13.2, 16.7, 7.1, 13.3, 36.4, 27.6]),
    ("SRL → RLVR", [52.1, 57.5, 13.3, 20.0, 8.6, 10.0, 36.4, 28.3]),
]


def load_run(folder: Path) -> dict:
    """{"kind": "swe"|"math"|"train", "name", …} for a run folder; ValueError when it is none of them."""
    report = folder / "report.json"
    if report.exists():
        return {**json.loads(report.read_text()), "name": folder.name}
    history = training_log_history(folder)
    if history is not None:
        return {"kind": "train", "name": folder.name, "log_history": history}
    raise ValueError(f"{folder}: neither an evaluation run (report.json) nor a training run (checkpoint-*)")


def training_log_history(folder: Path) -> list[dict] | None:
    """The logs of a training run: its newest checkpoint's ``trainer_state.json`` (None without one)."""
    states = sorted(folder.glob("checkpoint-*/trainer_state.json"), key=lambda p: int(p.parent.name.split("-")[-1]))
    return json.loads(states[-1].read_text())["log_history"] if states else None


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def markdown(runs: list[dict]) -> str:
    lines = ["# srl-swe report", ""]
    swe = [run for run in runs if run["kind"] == "swe"]
    if swe:
        lines += ["## SWE benchmarks (resolve rate %)", "",
                  "| run | benchmark | mode | model | resolved | errors | rate % |", "|---|---|---|---|---|---|---|"]
        for run in swe:
            lines.append(f"| {run['name']} | {run['benchmark']} | {run['mode']} | {run['model']} | "
                         f"{run['resolved']}/{run['total']} | {run['counts'].get('error', 0)} | "
                         f"{100 * run['resolve_rate']:.1f} |")
        lines += ["", "Quoted from the paper (SWE-bench Verified, greedy; not run here):", "",
                  "| model | oracle file edit % | end-to-end % |", "|---|---|---|"]
        lines += [f"| {name} (paper) | {oracle} | {e2e} |" for name, oracle, e2e in PAPER_SWE]
        lines.append("")
    math = [run for run in runs if run["kind"] == "math"]
    if math:
        headers = [f"{name} {'avg@k' if metric == 'avg' else 'greedy'}" for name, metric in PAPER_COLUMNS]
        lines += ["## Math benchmarks (accuracy %)", "", "| run | " + " | ".join(headers) + " | Average |",
                  "|---" * (len(headers) + 2) + "|"]
        for run in math:
            lines.append(f"| {run['name']} ({run['model']}) | " + " | ".join(_fmt(v) for v in run["paper_row"].values())
                         + " |")
        lines += [f"| {name} (paper, quoted) | " + " | ".join(f"{v:.1f}" for v in values) + " |"
                  for name, values in PAPER_MATH]
        lines += ["", "The paper's rows use k = 32 at temperature 1.0 and print their own Average (the SRL row prints "
                  "27.6 although its seven cells average 26.9); ours is the mean of the columns evaluated.", ""]
    return "\n".join(lines)


def plots(runs: list[dict], out: Path) -> list[Path]:
    """scores.png (one bar per evaluation run) and rewards.png (training curves); the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    evaluated = [run for run in runs if run["kind"] in ("swe", "math")]
    if evaluated:
        values = [100 * r["resolve_rate"] if r["kind"] == "swe" else (r["paper_row"]["Average"] or 0.0)
                  for r in evaluated]
        figure, axis = plt.subplots(figsize=(max(4, 1.2 * len(evaluated)), 3.5))
        axis.bar([r["name"] for r in evaluated], values, color="#4c72b0")
        axis.set_ylabel("resolve rate / accuracy (%)")
        axis.set_title("Evaluation runs")
        figure.autofmt_xdate(rotation=20)
        written.append(_save(figure, out / "scores.png"))
    trained = [run for run in runs if run["kind"] == "train"]
    if trained:
        figure, axis = plt.subplots(figsize=(6, 3.5))
        for run in trained:
            for key, style in (("reward", "-"), ("eval_reward", "o--")):
                points = [(e["step"], e[key]) for e in run["log_history"] if key in e]
                if points:
                    axis.plot(*zip(*points, strict=True), style, label=f"{run['name']} {key}")
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("step reward")
        axis.legend(fontsize="small")
        written.append(_save(figure, out / "rewards.png"))
    return written


def _save(figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_report(folders: list[Path], out: Path) -> tuple[Path, list[Path]]:
    runs = [load_run(folder) for folder in folders]
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "report.md") as handle:
        handle.write(markdown(runs))
    return out / "report.md", plots(runs, out)
