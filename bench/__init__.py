"""Benchmarks (not tests): run them from the repository root, e.g.
`.venv/bin/python -m bench.clock_precision`. See bench/README.md."""
