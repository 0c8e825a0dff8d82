"""Benchmarks (``make bench``): accuracy, latency and throughput figures."""
