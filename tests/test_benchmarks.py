"""The benchmark suite runs (no timing is asserted: these machines are noisy)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_runs_and_reports_every_workload(tmp_path):
    out = tmp_path / "quick.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench.py"),
            "--quick",
            "--no-torch",
            "--no-jax",  # its own test below
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
    assert list(rows) == [
        "W1",
        "W1j2",
        "W2",
        "W3",
        "W3j2",
        "W4",
        "W4f",
        "W5",
        "W5s",
        "W5b",
        "W5j2",
        "W5L",
        "R1",
        "R3",
        "R5",
        "W6",
        "W7",
        "W8",
        "W9",
    ]
    for row in rows.values():
        assert row["median_seconds"]["skce"] > 0
        if row["id"] != "W5L":
            assert row["ratio_sklearn"] > 0
            assert set(row["accuracy"]) >= {"skce", "sklearn"}
    for row_id in ("W1j2", "W3j2", "W5j2", "W5L"):
        assert rows[row_id]["n_jobs"] == 2 and rows[row_id]["ratio_n_jobs_1"] > 0
    for row_id in ("W1", "W3", "W4"):
        assert 0 < rows[row_id]["product_share"]
    assert 0 < rows["W4"]["peak_share"] and 0 < rows["W4f"]["peak_share"]
    assert report["matmul_peak_gflops"]["float32"] > 0
    assert report["startup"]["warm_second_fit_seconds"] > 0
    assert report["memory_W4"]["skce"]["peak_rss_bytes"] > 0
    threads = report["threads"]
    for network in ("small", "large"):
        for solver in ("adam-200", "sgd-10", "lbfgs", "gd"):
            for n_fits in (2, 4):
                row = threads[f"skce-{network}-{solver}-x{n_fits}"]
                assert row["speedup"] > 0 and row["bitwise_identical"]
            if solver != "gd":
                assert threads[f"sklearn-{network}-{solver}-x2"]["speedup"] > 0
    worker = report["worker_startup"]
    assert worker["skce_import_seconds"] > 0 and worker["sklearn_import_seconds"] > 0
    assert {"numba", "numpy", "scikit-learn"} <= set(report["machine"]["versions"])


def test_jax_contender_races_skce_on_one_core_and_on_two():
    pytest.importorskip(
        "jax",
        reason="JAX is a benchmark-only contender, never a dependency of skce: "
        "CI's environment does not install it (pip install jax to run this)",
    )
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from versus_jax import ROWS, jax_section
    finally:
        sys.path.pop(0)
    report = jax_section(1, lambda: None, quick=True)
    assert set(report) == {
        f"{mode}/{row}" for mode in ("one core", "two cores") for row in ROWS
    }
    for row in report.values():
        assert row["median_seconds"]["skce"] > 0 and row["median_seconds"]["jax"] > 0
        assert row["jax_compile_seconds"] > 0 and row["ratio_jax"] > 0
        # The same start, batches and Adam: both learn the same quick task.
        assert abs(row["accuracy"]["skce"] - row["accuracy"]["jax"]) <= 0.05
