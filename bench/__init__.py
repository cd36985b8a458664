"""Benchmarks with their recorded results (not part of the test run's pass/fail)."""
