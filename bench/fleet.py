#!/usr/bin/env python3
"""Benchmark: `rerun-ros fleet convert` throughput with 1 and 2 Ray workers on this machine.

The input is a directory of real bags laid out as ``robot_id/date/run_id``: the bundled field run
(MCAP and .db3), PlotJuggler's .db3, the markers bag, the zstd rosbag2 directory and the 5-minute
small-message nav mix (``bench/mixes.py``), repeated ``--copies`` times. Each worker count converts
the whole directory into a fresh output (a new catalog: nothing skipped), in its own process (Ray
start-up included, measured separately). Printed: bags/s and MB/s per worker count, the scaling
efficiency (throughput with 2 / (2 × with 1)), the per-bag cost (CPU seconds per MB of input),
and from it the estimate of docs/fleet.md for a 1,000-robot day.

Usage: .venv/bin/python bench/fleet.py [--copies N] [--workers 1,2]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = ROOT / "test" / "data"


def build_inputs(work: Path, copies: int) -> tuple[Path, int, int]:
    sys.path.insert(0, str(ROOT / "bench"))
    from mixes import small_mix
    nav = work / "nav_mix.mcap"
    if not nav.exists():
        small_mix(nav)
    src = [DATA / "field" / "SO_bag_0.mcap", DATA / "field" / "rosbag2_2024_09_04-17_15_57_0.db3",
           DATA / "db3" / "rosbag2_test_0.db3", DATA / "markers" / "test_bag_file_0.mcap",
           DATA / "compressed" / "soccer_goal", nav]
    root = work / "fleet"
    shutil.rmtree(root, ignore_errors=True)
    n = size = 0
    for k in range(copies):
        for i, s in enumerate(src):
            d = root / f"robot_{i}" / f"2026-12-{k + 1:02d}"
            d.mkdir(parents=True, exist_ok=True)
            dst = d / f"run_{i}{'' if s.is_dir() else s.suffix}"
            if s.is_dir():
                shutil.copytree(s, dst)
                size += sum(f.stat().st_size for f in dst.iterdir())
            else:
                shutil.copy(s, dst)
                size += dst.stat().st_size
            n += 1
    return root, n, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--workers", default="1,2")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rerun_ros_fleet_bench_"))
    root, n, size = build_inputs(work, a.copies)
    mb = size / 1e6
    print(f"{n} bags, {mb:.1f} MB (real bags + the 5-minute nav mix, x{a.copies}), robot_id/date/run_id layout\n")
    # Ray's own start-up and shutdown, measured with no bag to convert
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import ray; ray.init(num_cpus=2, include_dashboard=False, "
                    "log_to_driver=False); ray.shutdown()"], capture_output=True, timeout=300)
    ray_start = time.perf_counter() - t0
    rows, thr = [], {}
    for w in [int(x) for x in a.workers.split(",")]:
        out = work / f"out_{w}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        p = subprocess.run([str(BIN / "rerun-ros"), "fleet", "convert", str(root), "-o", str(out), "--workers",
                            str(w), "--json"], capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        s = json.loads(p.stdout)
        if s["ok"] + s["partial"] != n:
            raise RuntimeError(f"{w} workers: {s}")
        import duckdb
        con = duckdb.connect(str(out / "catalog.duckdb"), read_only=True)
        cpu_s = con.execute("SELECT sum(seconds) FROM runs").fetchone()[0]
        con.close()
        thr[w] = (n / wall, mb / wall, (n / max(wall - ray_start, 1e-9)))
        rows.append((w, wall, n / wall, mb / wall, cpu_s))
    print("| workers | wall s | bags/s | MB/s | task seconds (sum) |\n|---|---|---|---|---|")
    for w, wall, bps, mbps, cpu_s in rows:
        print(f"| {w} | {wall:.1f} | {bps:.2f} | {mbps:.1f} | {cpu_s:.1f} |")
    if 1 in thr and 2 in thr:
        eff = thr[2][0] / (2 * thr[1][0])
        eff_x = thr[2][2] / (2 * thr[1][2])
        print(f"\nscaling efficiency 1 -> 2 workers: {eff:.2f} (wall incl. Ray start-up {ray_start:.1f} s); "
              f"{eff_x:.2f} without it")
    w1 = next(r for r in rows if r[0] == min(thr))
    per_mb = w1[4] / mb
    print(f"per-bag cost: {per_mb:.3f} task-seconds per MB of input ({w1[4] / n:.2f} s per bag of "
          f"{mb / n:.1f} MB on average); Ray start-up {ray_start:.1f} s per job")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
