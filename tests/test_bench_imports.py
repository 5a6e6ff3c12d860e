"""The benchmarks are not run by the suite, but they must keep importing: a rename in the
product would otherwise break them silently (bench/README.md's figures depend on them)."""

import importlib
from pathlib import Path

import pytest

BENCH = sorted(
    p.stem for p in (Path(__file__).parents[1] / "bench").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("module", BENCH)
def test_every_benchmark_imports(module):
    importlib.import_module(f"bench.{module}")
