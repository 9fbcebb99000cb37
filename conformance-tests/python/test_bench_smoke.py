"""The benchmark scenarios keep working: each runs for a few seconds with tiny sizes and
prints its tables. This checks that they ran, never a speed."""

import os
import subprocess

import pytest

from conftest import binary

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def bench_binary():
    path = os.path.join(os.path.dirname(binary()), "arustio-bench")
    assert os.path.exists(path), f"{path} not found: build the workspace"
    return path


@pytest.mark.parametrize("scenario, rows", [
    ("loopback", ["direct", "cache-off", "cold", "warm", "warm-ttl"]),
])
def test_a_scenario_runs_and_prints_its_tables(scenario, rows):
    env = dict(os.environ, ARUSTIO_BIN=binary(), ARUSTIO_BENCH_BIN=bench_binary())
    r = subprocess.run(["bash", os.path.join(ROOT, "bench", "scenarios", f"{scenario}.sh"), "--smoke"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    tables = r.stdout.count("| target | ops/s |")
    assert tables >= 2, r.stdout
    for row in rows:
        assert f"| {row} |" in r.stdout, r.stdout
    assert "first error" not in r.stdout, r.stdout
