"""Benchmark harness: `python -m bench.run [--quick]` (see docs/benchmarks.md)."""
