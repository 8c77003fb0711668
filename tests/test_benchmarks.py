"""The benchmark suite runs (no timing is asserted: these machines are noisy)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_runs_and_reports_every_workload(tmp_path):
    out = tmp_path / "quick.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench.py"),
            "--quick",
            "--no-torch",
            "--rounds",
            "1",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(out.read_text())
    rows = {row["id"]: row for row in report["workloads"]}
    assert list(rows) == ["W1", "W2", "W3", "W4", "W4f", "W5", "W6", "W7"]
    for row in rows.values():
        assert row["median_seconds"]["skce"] > 0 and row["ratio_sklearn"] > 0
        assert set(row["accuracy"]) >= {"skce", "sklearn"}
    assert 0 < rows["W4"]["peak_share"] and 0 < rows["W4f"]["peak_share"]
    assert report["matmul_peak_gflops"]["float32"] > 0
    assert report["startup"]["warm_second_fit_seconds"] > 0
    assert report["memory_W4"]["skce"]["peak_rss_bytes"] > 0
    threads = report["threads"]
    for solver in ("adam", "sgd", "lbfgs"):
        for library in ("skce", "sklearn"):
            assert threads[f"{library}-{solver}"]["speedup"] > 0
        assert threads[f"skce-{solver}"]["bitwise_identical"]
    assert {"numba", "numpy", "scikit-learn"} <= set(report["machine"]["versions"])
