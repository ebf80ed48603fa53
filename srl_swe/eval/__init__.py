"""Evaluation: SWE benchmarks (SWE-bench through its harness, the bundled local tasks) in agent and
oracle-file modes, the math benchmarks, and reports comparing runs with the paper."""
