"""Benchmarks: `python -m benchmarks` prints one JSON document of measured numbers."""
