#!/usr/bin/env python3
"""Benchmark: slicing and queries, beside the official tools (rerun-sdk 0.41) in the same run.

1. Slicing a >= 2 GB .rrd (the convert benchmark's bag at 5x) to a 10 s window:
   `rerun-ros filter` (manifest-driven: reads only the chunks it needs) vs `rerun rrd filter`
   (it has no time window: the closest it does is a full pass dropping an entity).
   Wall time, and bytes read (ours: chunk bytes read, from its report; theirs: /proc rchar).
2. Queries on a recording of 1M scalar rows and 50k transforms: a range over everything and 100
   latest-at queries, with `rerun_ros.open(...).dataframe / store.latest_at` and with
   `rerun.chunk.RrdReader(...).store()...reader(...)`; each the best of ``--repeat`` calls, our
   per-entity time indexes rebuilt in every call. Last, a new process doing import + open + the
   1M range (what a script or notebook cell pays).

Usage: .venv/bin/python bench/query.py [--workdir DIR] [--repeat N]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def timed(cmd) -> tuple[float, int, str]:
    """Wall time, bytes read through read() (rchar), and stdout of a command."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rchar = 0
    while p.poll() is None:
        try:
            io = Path(f"/proc/{p.pid}/io").read_text()
            rchar = max(rchar, int(re.search(r"rchar: (\d+)", io).group(1)))
        except (OSError, AttributeError):
            pass
        time.sleep(0.02)
    out, err = p.communicate()
    if p.returncode:
        raise RuntimeError(f"{cmd[0]} failed: {err[-400:]}")
    return time.perf_counter() - t, rchar, out


def big_rrd(work: Path) -> Path:
    out = work / "big2g.rrd"
    if out.exists():
        return out
    from convert import build_bag
    bag = work / "big2g.mcap"
    if not bag.exists():
        build_bag(bag, scale=5.0)
    subprocess.run([str(BIN / "rerun-ros"), "convert", str(bag), "-o", str(out), "-q"], check=True)
    bag.unlink()
    return out


def query_rrd(work: Path) -> Path:
    out = work / "query.rrd"
    if out.exists():
        return out
    from rerun_ros.model import archetypes as A
    from rerun_ros.model.chunk import Timeline
    from rerun_ros.stream.recording import BatcherConfig, RecordingStream
    from rerun_ros.rrd.writer import RrdWriter
    w = RrdWriter(out, threads=1)
    rec = RecordingStream(batcher=BatcherConfig(max_rows=4096, max_bytes=1 << 30, max_age=0), sinks=[w])
    T = Timeline("ros_time")
    t0 = 1_700_000_000 * 10**9
    y = np.cumsum(np.random.default_rng(0).standard_normal(1_000_000))
    for i in range(1_000_000):
        rec.log_components("/signal", A.Scalars([y[i]]).component_batches(), timepoints={T: t0 + i * 1_000_000})
    for i in range(50_000):
        rec.log("/tf", A.Transform3D(translation=[i * 0.01, 0, 0], quaternion=[0, 0, 0, 1], parent_frame="odom",
                                     child_frame="base_link"), timepoints={T: t0 + i * 20_000_000})
    rec.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--repeat", type=int, default=5, help="calls of each query; the best is reported (default 5)")
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="rerun_ros_query_"))
    work.mkdir(parents=True, exist_ok=True)
    big = big_rrd(work)
    size = big.stat().st_size
    ours_t, _, out = timed([str(BIN / "rerun-ros"), "filter", str(big), "-o", str(work / "cut.rrd"),
                            "--start", "20", "--end", "30"])
    m = re.search(r"read ([\d.]+) (\w+)", out)
    unit = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    ours_read = float(m.group(1)) * unit[m.group(2)] if m else float("nan")
    theirs_t, theirs_read, _ = timed([str(BIN / "rerun"), "rrd", "filter", str(big), "-o", str(work / "theirs.rrd"),
                                      "--drop-entity", "/tf_static"])
    print(f"\nslicing a {size / 2**30:.2f} GiB .rrd to a 10 s window\n")
    print("| tool | wall s | bytes read | output |\n|---|---|---|---|")
    print(f"| rerun-ros filter --start 20 --end 30 | {ours_t:.2f} | {ours_read / 2**20:.0f} MiB | "
          f"{(work / 'cut.rrd').stat().st_size / 2**20:.0f} MiB |")
    theirs_read = max(theirs_read, size)  # it maps the file: read() counters miss it, and a full pass reads all
    print(f"| rerun rrd filter (no time window: full pass) | {theirs_t:.2f} | {theirs_read / 2**20:.0f} MiB | "
          f"{(work / 'theirs.rrd').stat().st_size / 2**20:.0f} MiB |")
    print(f"| ratio ours/theirs | {ours_t / theirs_t:.2f} | {ours_read / max(theirs_read, 1):.2f} | |")
    (work / "theirs.rrd").unlink()

    q = query_rrd(work)
    import rerun_ros
    from rerun.chunk import RrdReader
    rng = np.random.default_rng(1)
    rerun_ros.open(q).dataframe("ros_time", entities="/tf")  # warm-up (imports, page cache), both readers
    RrdReader(str(q)).store().stream().collect().reader(index="ros_time", contents="/tf").to_arrow_table()
    def best(fn, repeat: int = a.repeat):
        """Best wall time of ``repeat`` calls (this VM's timings vary by +-30% call to call) and
        the last result."""
        t_best, out = float("inf"), None
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = fn()
            t_best = min(t_best, time.perf_counter() - t0)
        return t_best, out

    t_open, rec = best(lambda: rerun_ros.open(q))

    def cpu_of(fn):
        """Least CPU time (all threads) of ``repeat`` calls: ours decompresses on 2 threads."""
        c_best = float("inf")
        for _ in range(a.repeat):
            c0 = time.process_time()
            fn()
            c_best = min(c_best, time.process_time() - c0)
        return c_best
    c_open = cpu_of(lambda: rerun_ros.open(q))
    lo, hi = rec.time_range("ros_time")
    def cold(fn):
        """Each timed call builds our store's per-entity time indexes again (they are cached)."""
        def run():
            rec.store._index.clear()
            return fn()
        return run
    t_range, df = best(cold(lambda: rec.dataframe("ros_time", entities="/signal")))
    t_tf, tf = best(cold(lambda: rec.dataframe("ros_time", entities="/tf")))
    times = rng.integers(lo, hi, 100)

    @cold
    def ours_latest_at():
        for t in times:
            rec.store.latest_at("/signal", "ros_time", int(t))
            rec.store.latest_at("/tf", "ros_time", int(t))
    t_la, _ = best(ours_latest_at)
    o_open, store = best(lambda: RrdReader(str(q)).store().stream().collect())
    oc_open = cpu_of(lambda: RrdReader(str(q)).store().stream().collect())
    o_range, odf = best(lambda: store.reader(index="ros_time", contents="/signal").to_arrow_table())
    o_tf, otf = best(lambda: store.reader(index="ros_time", contents="/tf").to_arrow_table())
    import pyarrow as pa

    def theirs_latest_at():
        for t in times:
            store.reader(index="ros_time", contents=["/signal", "/tf"], fill_latest_at=True,
                         using_index_values=pa.array([int(t)], pa.timestamp("ns"))).to_arrow_table()
    o_la, _ = best(theirs_latest_at)
    assert df.num_rows == odf.num_rows == 1_000_000 and tf.num_rows == otf.num_rows == 50_000
    # what a script or a notebook cell pays: a new process imports the reader, opens, queries once
    cold_ours = ("import rerun_ros\n"
                 f"assert rerun_ros.open({str(q)!r}).dataframe('ros_time', entities='/signal').num_rows == 1_000_000")
    cold_theirs = ("from rerun.chunk import RrdReader\n"
                   f"s = RrdReader({str(q)!r}).store().stream().collect()\n"
                   "assert s.reader(index='ros_time', contents='/signal').to_arrow_table().num_rows == 1_000_000")

    def fresh(code: str):
        return lambda: subprocess.run([sys.executable, "-c", code], check=True)
    t_cold, _ = best(fresh(cold_ours))
    o_cold, _ = best(fresh(cold_theirs))
    print(f"\nqueries on {q.stat().st_size / 2**20:.0f} MiB: 1M scalar rows + 50k transforms (best of {a.repeat})\n")
    print("| query | rerun-ros | rerun-sdk reader | ratio |\n|---|---|---|---|")
    for name, a_, b_ in (("open", t_open, o_open), ("open: CPU time, all threads", c_open, oc_open), ("range: 1M scalars → table", t_range, o_range),
                         ("range: 50k transforms → table", t_tf, o_tf), ("100 latest-at (both entities)", t_la, o_la),
                         ("new process: import, open, 1M range", t_cold, o_cold)):
        print(f"| {name} | {a_ * 1000:.0f} ms | {b_ * 1000:.0f} ms | {a_ / b_:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
