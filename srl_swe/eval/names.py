"""The math benchmark names ``srl-swe eval --benchmark`` accepts, in a module light enough for the command line
(the SWE task sources are in ``srl_swe.tasks.names``)."""

from __future__ import annotations

MATH_BENCHMARK_NAMES = ("amc23", "aime24", "aime25", "minerva-math")
"""The math benchmarks by name (``srl_swe.eval.math``); ``math:PATH.jsonl`` reads any other."""
