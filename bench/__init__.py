"""Benchmark harness: scenarios measured as ratios against a baseline run in the same process."""
