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


@pytest.mark.parametrize("scenario, tables, rows", [
    ("loopback", 2, ["direct", "cache-off", "cold", "warm", "warm-ttl"]),
    ("remote", 1, ["direct", "cold", "warm", "warm-ttl"]),
    ("bigobject", 2, ["direct", "gateway"]),
    ("metadata", 3, ["direct", "gateway", "strict", "ttl", "mounts-2", "mounts-5"]),
    ("builds", 2, ["direct", "debug", "release"]),
    ("peers", 3, ["direct", "arustio", "arustio-ttl", "versitygw", "rclone", "seaweedfs", "direct-proxy"]),
])
def test_a_scenario_runs_and_prints_its_tables(scenario, tables, rows):
    env = dict(os.environ, ARUSTIO_BIN=binary(), ARUSTIO_BENCH_BIN=bench_binary())
    r = subprocess.run(["bash", os.path.join(ROOT, "bench", "scenarios", f"{scenario}.sh"), "--smoke"],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("| target | ops/s |") == tables, r.stdout
    for row in rows:
        assert f"| {row} |" in r.stdout, r.stdout
    assert "first error" not in r.stdout, r.stdout
    assert "skipped" not in r.stdout, r.stdout
    if scenario == "loopback":
        # The ceiling: iperf3's table, 1 and 8 streams.
        assert "iperf3 on loopback" in r.stdout and "| 8 | " in r.stdout, r.stdout
