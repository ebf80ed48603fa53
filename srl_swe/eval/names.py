"""The benchmark names ``srl-swe eval --benchmark`` accepts, in a module light enough for the command line
(``srl_swe.eval.swe`` loads swebench, seconds too slow for every ``--help``)."""

from __future__ import annotations

SWE_BENCHMARKS = {
    "swe-bench-verified": ("SWE-bench/SWE-bench_Verified", "test"),
    "swe-bench-lite": ("SWE-bench/SWE-bench_Lite", "test"),
    "swe-bench": ("SWE-bench/SWE-bench", "test"),
}
"""Hugging Face dataset and split of each SWE benchmark graded by swebench's harness."""
PATH_BENCHMARKS = ("swebench:PATH", "local:PATH")
BENCHMARK_FORMS = (*SWE_BENCHMARKS, *PATH_BENCHMARKS)
"""Every ``--benchmark`` the SWE side accepts (see ``srl_swe.eval.swe``)."""
MATH_BENCHMARK_NAMES = ("amc23", "aime24", "aime25", "minerva-math")
"""The math benchmarks by name (``srl_swe.eval.math``); ``math:PATH.jsonl`` reads any other."""
