"""Math benchmarks with the paper's protocol (SRL-SPEC §2.3).

Each question is asked with the paper's evaluation prompt (``prompts.MATH_EVAL_SYSTEM``, Appendix B.2.2)
as the system turn and the question as the user turn. The answer is the completion's last ``\\boxed{}``,
checked against the reference with math-verify (``srl_swe.math_check``, in worker processes with a
timeout). Metrics: greedy accuracy on every benchmark, and avg@k (default k = 32 at temperature 1.0,
following DAPO) on AMC23, AIME24 and AIME25 — the mean over questions of the fraction of k samples that
are correct; Minerva Math is greedy only. All in percent.

Benchmarks: ``amc23`` (math-ai/amc23, 40), ``aime24`` (HuggingFaceH4/aime_2024, 30), ``aime25``
(math-ai/aime25, 30), ``minerva-math`` (math-ai/minervamath, 272) from the Hugging Face Hub, or
``math:PATH.jsonl`` with a ``question`` (or ``problem``) and an ``answer`` column.

Results are appended per question to ``OUT/<benchmark>.jsonl`` (a rerun skips answered questions);
``OUT/report.json`` and ``report.md`` give the paper's column layout. Generation goes through a
``Sampler``: ``ModelSampler`` wraps any ``srl_swe.models`` client (``hf:PATH`` with transformers on CPU or
GPU, ``openai:MODEL`` for a vLLM server), ``VLLMSampler`` (``vllm:PATH``) batches on a GPU in-process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from srl_swe.formats.sources import read_records, read_rows
from srl_swe.math_check import answers_match
from srl_swe.prompts import MATH_EVAL_SYSTEM
from srl_swe.trajectory import atomic_output


@dataclass(frozen=True)
class MathBenchmark:
    name: str
    dataset: str
    split: str
    question: str
    answer: str
    sampled: bool = True
    """Whether avg@k is reported (the paper: AMC23 and AIME; Minerva is greedy only)."""


BENCHMARKS = {
    "amc23": MathBenchmark("AMC23", "math-ai/amc23", "test", "question", "answer"),
    "aime24": MathBenchmark("AIME24", "HuggingFaceH4/aime_2024", "train", "problem", "answer"),
    "aime25": MathBenchmark("AIME25", "math-ai/aime25", "test", "problem", "answer"),
    "minerva-math": MathBenchmark("Minerva", "math-ai/minervamath", "test", "question", "answer", sampled=False),
}
PAPER_COLUMNS = [("AMC23", "avg"), ("AMC23", "greedy"), ("AIME24", "avg"), ("AIME24", "greedy"),
                 ("AIME25", "avg"), ("AIME25", "greedy"), ("Minerva", "greedy")]


class Sampler(Protocol):
    name: str

    def generate(self, prompts: list[list[dict[str, str]]], n: int, temperature: float) -> list[list[str]]:
        """``n`` completions for each prompt."""


class ModelSampler:
    """Any chat model client with a ``temperature`` attribute, one call per completion."""

    def __init__(self, model):
        self.model, self.name = model, model.name

    def generate(self, prompts, n, temperature):
        self.model.temperature = temperature
        return [[self.model.complete(prompt) for _ in range(n)] for prompt in prompts]


class VLLMSampler:
    """In-process vLLM (``vllm:PATH``, GPU): all prompts of a call in one batch, ``n`` samples each."""

    def __init__(self, path: str, max_new_tokens: int = 2048):
        from vllm import LLM

        self.name, self.max_new_tokens, self.llm = f"vllm:{path}", max_new_tokens, LLM(model=path)

    def generate(self, prompts, n, temperature):
        from vllm import SamplingParams

        params = SamplingParams(n=n, temperature=temperature, max_tokens=self.max_new_tokens)
        return [[choice.text for choice in output.outputs] for output in self.llm.chat(prompts, params)]


def load_questions(benchmark: str) -> tuple[MathBenchmark, list[dict[str, str]]]:
    """The benchmark and its rows as {question, answer}."""
    if benchmark.startswith("math:"):
        path = Path(benchmark.removeprefix("math:"))
        spec = MathBenchmark(path.stem, str(path), "", "question", "answer")
        rows = read_rows(path)
    elif benchmark in BENCHMARKS:
        import datasets

        spec = BENCHMARKS[benchmark]
        rows = [dict(row) for row in datasets.load_dataset(spec.dataset, split=spec.split)]
    else:
        raise ValueError(f"unknown math benchmark {benchmark!r}: use {', '.join(BENCHMARKS)} or math:PATH.jsonl")
    questions = []
    for index, row in enumerate(rows):
        question = row.get(spec.question) or row.get("problem") or row.get("question")
        if not question or row.get(spec.answer) in (None, ""):
            raise ValueError(f"{spec.dataset} row {index}: needs '{spec.question}' and '{spec.answer}'")
        questions.append({"question": str(question), "answer": str(row[spec.answer])})
    return spec, questions


def evaluate_benchmark(benchmark: str, sampler: Sampler, out: Path, samples: int = 32, temperature: float = 1.0,
                       batch: int = 8, on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Answer every question not yet in ``OUT/<name>.jsonl``; returns this benchmark's scores."""
    spec, questions = load_questions(benchmark)
    path = out / f"{spec.name}.jsonl"
    done = {record["index"]: record for _, record in read_records(path)} if path.exists() else {}
    todo = [i for i in range(len(questions)) if i not in done]
    k = samples if spec.sampled else 0
    out.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        for start in range(0, len(todo), batch):
            for record in _answer(questions, todo[start:start + batch], sampler, k, temperature):
                handle.write(json.dumps(record) + "\n")
                handle.flush()
                done[record["index"]] = record
            if on_progress is not None:
                on_progress(len(done), len(questions))
    return scores(spec, [done[i] for i in range(len(questions))], k)


def _answer(questions, indices, sampler: Sampler, k: int, temperature: float) -> list[dict]:
    prompts = [[{"role": "system", "content": MATH_EVAL_SYSTEM}, {"role": "user", "content": questions[i]["question"]}]
               for i in indices]
    greedy = [texts[0] for texts in sampler.generate(prompts, 1, 0.0)]
    sampled = sampler.generate(prompts, k, temperature) if k else [[] for _ in indices]
    texts = greedy + [text for group in sampled for text in group]
    references = [questions[i]["answer"] for i in indices]
    refs = references + [ref for ref, group in zip(references, sampled, strict=True) for _ in group]
    correct = answers_match(texts, refs)
    records, offset = [], len(indices)
    for position, index in enumerate(indices):
        count = len(sampled[position])
        records.append({"index": index, "question": questions[index]["question"], "answer": references[position],
                        "greedy": greedy[position], "greedy_correct": correct[position],
                        "samples_correct": correct[offset:offset + count]})
        offset += count
    return records


def scores(spec: MathBenchmark, records: list[dict], k: int) -> dict:
    """Greedy accuracy and avg@k, in percent."""
    n = len(records)
    result = {"name": spec.name, "questions": n, "k": k,
              "greedy": 100 * sum(r["greedy_correct"] for r in records) / n if n else 0.0}
    if k:
        result["avg"] = 100 * sum(sum(r["samples_correct"]) / len(r["samples_correct"]) for r in records) / n
    return result


def paper_row(results: dict[str, dict]) -> dict[str, float | None]:
    """The paper's seven columns (None where not evaluated) and their plain mean over those present."""
    row = {f"{name} {'avg@k' if metric == 'avg' else 'greedy'}": results.get(name, {}).get(metric)
           for name, metric in PAPER_COLUMNS}
    present = [value for value in row.values() if value is not None]
    row["Average"] = sum(present) / len(present) if present else None
    return row


def write_math_report(out: Path, model: str, results: dict[str, dict]) -> dict:
    report = {"kind": "math", "model": model, "benchmarks": results, "paper_row": paper_row(results)}
    with atomic_output(out / "report.json") as handle:
        json.dump(report, handle, indent=2)
    lines = [f"# Math benchmarks · {model}", "", "| benchmark | questions | greedy % | avg@k % | k |",
             "|---|---|---|---|---|"]
    for name, result in results.items():
        avg = f"{result['avg']:.1f}" if "avg" in result else "–"
        lines.append(f"| {name} | {result['questions']} | {result['greedy']:.1f} | {avg} | {result['k'] or '–'} |")
    with atomic_output(out / "report.md") as handle:
        handle.write("\n".join(lines) + "\n")
    return report
