"""Benchmarks: each `bench/bench_*.py` module has `run() -> list[Figure]`; figures are printed."""
