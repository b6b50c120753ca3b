"""corral's benchmarks: `python -m bench.api` (make bench-api) and helpers they share."""
