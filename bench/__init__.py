"""Benchmarks: run on purpose (`make bench`), print figures, write JSON to bench/results/."""
