#!/usr/bin/env python3
"""Benchmark: `rerun-ros convert` against `rerun mcap convert` (rerun-sdk 0.41), same run.

Two bags, generated here: the **small-message mix** of a 5-minute nav-stack run (IMU 200 Hz, TF
100 Hz, joint states 100 Hz, odometry 50 Hz, cmd_vel 20 Hz, one custom type 10 Hz: 144k
messages, zstd chunks as rosbag2 writes them; see ``bench/mixes.py``) and the **big-message**
bag (300 PointCloud2 of 30k points, 300 rgb8 640x480 images, 3000 TFMessage, one /tf_static).
A third bag, the **10x mix** (the small mix over 50 minutes: 1.44M messages, 74 MB), is the
multi-process case. Both converters run on each as their own process, ``--repeat`` times
interleaved (rotating which goes first, the page cache written back before each run), fresh
outputs; ours at ``--jobs`` 1, 2 and all cores (the official converter with its default threads,
and pinned to one core with ``taskset``, for its own scaling).
The table gives best wall time and CPU of the timed runs, worst peak memory of ``--mem-repeat``
separate watched runs (the process tree's summed PSS, or one process's VmHWM if larger; watching
takes CPU, so timed runs are not watched) and
output size with our/their ratios; then the targets of issue 26 (5-minute mix wall <= 1.3x;
10x mix and big bag wall <= 0.8x; memory <= 1.5x; size <= 1.0x; scaling from 1 to 2 jobs >= 0.8),
the per-core rate, and the decode+map throughput on the small mix in messages per CPU second
(target >= 1M/s).

Usage: .venv/bin/python bench/convert.py [--workdir DIR] [--repeat N] [--scale F]
       [--only small|mix10|big ...] [--jobs N ...] [--mem-repeat N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent

# Message definitions (ROS 2 interface text, concatenated as rosbag2 stores them).
_SEP = "\n" + "=" * 80 + "\n"
_HEADER = "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id" + _SEP + \
          "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec"
DEFS = {
    "sensor_msgs/msg/PointCloud2": "std_msgs/Header header\nuint32 height\nuint32 width\nsensor_msgs/PointField[] fields\n"
        "bool is_bigendian\nuint32 point_step\nuint32 row_step\nuint8[] data\nbool is_dense" + _SEP + _HEADER + _SEP +
        "MSG: sensor_msgs/PointField\nuint8 INT8=1\nuint8 UINT8=2\nuint8 INT16=3\nuint8 UINT16=4\nuint8 INT32=5\n"
        "uint8 UINT32=6\nuint8 FLOAT32=7\nuint8 FLOAT64=8\nstring name\nuint32 offset\nuint8 datatype\nuint32 count",
    "sensor_msgs/msg/Image": "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\n"
        "uint32 step\nuint8[] data" + _SEP + _HEADER,
    "tf2_msgs/msg/TFMessage": "geometry_msgs/TransformStamped[] transforms" + _SEP +
        "MSG: geometry_msgs/TransformStamped\nstd_msgs/Header header\nstring child_frame_id\ngeometry_msgs/Transform transform"
        + _SEP + _HEADER + _SEP + "MSG: geometry_msgs/Transform\ngeometry_msgs/Vector3 translation\n"
        "geometry_msgs/Quaternion rotation" + _SEP + "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z" + _SEP +
        "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1",
}


def build_bag(path: Path, scale: float = 1.0) -> None:
    from mcap.writer import CompressionType
    from mcap_ros2.writer import Writer

    n_cloud, n_img, n_tf = int(300 * scale), int(300 * scale), int(3000 * scale)
    rng = np.random.default_rng(1)
    t0 = 1_700_000_000_000_000_000
    with open(path, "wb") as f:
        w = Writer(f, chunk_size=4 << 20, compression=CompressionType.NONE)
        sch = {k: w.register_msgdef(k, v) for k, v in DEFS.items()}

        def hdr(t, frame):
            return {"stamp": {"sec": t // 10**9, "nanosec": t % 10**9}, "frame_id": frame}

        fields = [{"name": n, "offset": 4 * i, "datatype": 7, "count": 1} for i, n in enumerate("xyz") ] + \
                 [{"name": "intensity", "offset": 12, "datatype": 7, "count": 1}]
        events = []
        for i in range(n_cloud):
            events.append((t0 + i * 100_000_000, "cloud", i))
        for i in range(n_img):
            events.append((t0 + i * 100_000_000 + 50_000_000, "image", i))
        for i in range(n_tf):
            events.append((t0 + i * 10_000_000 + 1_000_000, "tf", i))
        events.sort()
        tf_static = {"transforms": [{"header": hdr(t0, "base_link"), "child_frame_id": "lidar",
                                     "transform": {"translation": {"x": 0.1, "y": 0.0, "z": 0.5},
                                                   "rotation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}}]}
        w.write_message("/tf_static", sch["tf2_msgs/msg/TFMessage"], tf_static, log_time=t0, publish_time=t0)
        base_cloud = rng.normal(size=(30000, 4)).astype(np.float32)
        base_img = rng.integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
        for t, kind, i in events:
            if kind == "cloud":
                pts = base_cloud + np.float32(i * 0.01)
                msg = {"header": hdr(t, "lidar"), "height": 1, "width": 30000, "fields": fields, "is_bigendian": False,
                       "point_step": 16, "row_step": 16 * 30000, "data": pts.tobytes(), "is_dense": True}
                w.write_message("/lidar/points", sch["sensor_msgs/msg/PointCloud2"], msg, log_time=t, publish_time=t)
            elif kind == "image":
                img = np.roll(base_img, i, axis=1)
                msg = {"header": hdr(t, "camera"), "height": 480, "width": 640, "encoding": "rgb8", "is_bigendian": 0,
                       "step": 1920, "data": img.tobytes()}
                w.write_message("/camera/image_raw", sch["sensor_msgs/msg/Image"], msg, log_time=t, publish_time=t)
            else:
                a = i * 0.01
                tfs = [{"header": hdr(t, "odom"), "child_frame_id": "base_link",
                        "transform": {"translation": {"x": a, "y": 0.0, "z": 0.0},
                                      "rotation": {"x": 0.0, "y": 0.0, "z": float(np.sin(a / 2)), "w": float(np.cos(a / 2))}}},
                       {"header": hdr(t, "map"), "child_frame_id": "odom",
                        "transform": {"translation": {"x": 0.0, "y": 0.0, "z": 0.0},
                                      "rotation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}}]
                w.write_message("/tf", sch["tf2_msgs/msg/TFMessage"], {"transforms": tfs}, log_time=t, publish_time=t)
        w.finish()



def _tree(pid: int) -> list[int]:
    """A process and its descendants (``/proc/PID/task/TID/children``: cheap to sample)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _pss_kb(pids: list[int]) -> int:
    """Proportional set size of processes, KiB (pages shared by forked workers counted once)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def _hwm_kb(pid: int) -> int:
    """Peak resident set of one process since its exec (VmHWM, KiB; 0 when gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(cmd: list[str], sample: bool = False) -> tuple[float, float, int, float]:
    """Run a command; return (wall s, peak memory MiB or 0, exit status, CPU s of the process tree).

    Timed runs (``sample`` False) are not watched: reading ``/proc/PID/smaps_rollup`` walks the
    page tables of every process of the tree (1-8 ms per process and sample here, measured
    mid-conversion), so a sampler at 20 ms took up to half a core from the converter it timed
    (our ``-j 2`` on the big bag: 0.73 s unwatched, 0.80 s watched; the official converter
    0.97 / 0.97 s best, 0.98 / 1.07 s median). Memory runs (``sample`` True) measure the peak:
    the largest of the sum over the process and its worker processes of their proportional set
    size (what a multi-process conversion really holds), and the peak resident set of any one of
    them (VmHWM, its high-water mark since exec: a peak between two samples is not missed), both
    sampled every 20 ms. Not ``wait4``'s ``ru_maxrss``: Linux counts in it the forking parent's
    resident set at exec (this benchmark's own, hundreds of MiB after it built a bag), which
    made every converter read the same peak.
    """
    import threading
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            tree = _tree(p.pid)
            peak[0] = max(peak[0], _pss_kb(tree), max((_hwm_kb(q) for q in tree), default=0))
            done.wait(0.02)

    th = threading.Thread(target=sampler, daemon=True) if sample else None
    if th is not None:
        th.start()
    err = p.stderr.read().decode(errors="replace")  # (a converter that fills the pipe must not block)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    done.set()
    if th is not None:
        th.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,):
        print(f"{cmd[0]} exited {code}: {err[-500:]}", file=sys.stderr)
    return wall, peak[0] / 1024.0, code, ru.ru_utime + ru.ru_stime


def throughput(bag: Path) -> tuple[int, float]:
    """(messages, CPU seconds) to decode and map every message of a bag into chunks (the
    in-memory part of a conversion: sources read beforehand, no file written), with a fresh
    ingestor (decoders compiled by an earlier call in this process are reused)."""
    import sys as _sys
    _sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rerun_ros.ingest import Ingestor
    from rerun_ros.sources import open_bag
    from rerun_ros.stream.recording import BatcherConfig, CallbackSink, RecordingStream

    batches = list(open_bag(bag).batches())
    rec = RecordingStream("bench", batcher=BatcherConfig(max_rows=4096, max_bytes=2 << 20, max_age=0),
                          sinks=[CallbackSink(lambda c: None)])
    ing = Ingestor(rec)
    t = time.process_time()
    for b in batches:
        ing.ingest_batch(b)
    ing.finish()  # (batches are held until the robot clock is known: finish logs the rest)
    rec.close()
    return sum(len(b) for b in batches), time.process_time() - t


def units_of(bag: Path, work: Path) -> int:
    """How many units our conversion cuts ``bag`` into (its ``--json`` report; 0 when unknown)."""
    import json
    out = work / "units_probe.rrd"
    p = subprocess.run([str(BIN / "rerun-ros"), "convert", str(bag), "-o", str(out), "--json", "-j", "2"],
                       capture_output=True, text=True)
    out.unlink(missing_ok=True)
    try:
        return int(json.loads(p.stdout)["units"])
    except (ValueError, KeyError, TypeError):
        return 0


def compare(bag: Path, work: Path, repeat: int, label: str, jobs: list[int], fresh: bool = True,
            mem_repeat: int = 1) -> dict:
    """Best wall and CPU of ``repeat`` interleaved timed runs (who goes first rotates), worst
    peak memory of ``mem_repeat`` interleaved memory runs (:func:`run`), and output size, of the
    official converter and of ours at each ``jobs``; fresh outputs (``fresh=False``: each writes
    over its previous output, as a user converting again does)."""
    cmds = {"theirs": [str(BIN / "rerun"), "mcap", "convert", str(bag), "-o", str(work / f"theirs_{label}.rrd")]}
    outs = {"theirs": work / f"theirs_{label}.rrd"}
    if fresh and shutil.which("taskset"):  # (the official converter on one core: its own scaling)
        cmds["theirs1"] = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] + cmds["theirs"][:-1] + \
            [str(work / f"theirs1_{label}.rrd")]
        outs["theirs1"] = work / f"theirs1_{label}.rrd"
    for j in jobs:
        outs[j] = work / f"ours_{label}_j{j}.rrd"
        cmds[j] = [str(BIN / "rerun-ros"), "convert", str(bag), "-o", str(outs[j]), "-q", "-j", str(j)]
    res = {k: [] for k in cmds}
    mem = {k: [] for k in cmds}
    keys = list(cmds)
    # timed runs, then (``mem_repeat`` rounds) memory runs: the same order rules, watched
    for i in range(repeat + mem_repeat):
        for k in keys[i % len(keys):] + keys[:i % len(keys)]:
            if fresh and outs[k].exists():
                outs[k].unlink()
            os.sync()  # (the previous run's output written back before this one starts)
            r = run(cmds[k], sample=i >= repeat)
            (mem if i >= repeat else res)[k].append(r)
    return {k: {"wall": min(r[0] for r in v), "mem": max((r[1] for r in mem[k]), default=0.0),
                "cpu": min(r[3] for r in v), "size": outs[k].stat().st_size / 2**20} for k, v in res.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default=None, help="where to put the bags and outputs (default: a temp dir)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="scale the big bag's message counts")
    ap.add_argument("--only", choices=["small", "mix10", "big"], action="append", default=None,
                    help="run these bags only (repeatable)")
    ap.add_argument("--jobs", type=int, action="append", default=None,
                    help="our --jobs values to run (repeatable; default 1, 2 and all cores)")
    ap.add_argument("--mem-repeat", type=int, default=2,
                    help="memory runs per converter, after the timed runs (default 2)")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="rerun_ros_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    # bytecode as an installed package has it: with PYTHONDONTWRITEBYTECODE set (as here) a
    # source edited since the last compile is compiled again by every run (~0.1 s of each)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "rerun_ros")], check=False,
                   stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mixes import small_mix

    cores = len(os.sched_getaffinity(0))
    jobs = a.jobs or sorted({1, 2, cores})
    only = a.only or ["small", "mix10", "big"]
    bags, counts = {}, {}
    for label, fn, secs in (("small", "small_mix.mcap", 300.0), ("mix10", "mix10.mcap", 3000.0)):
        if label in only:
            bags[label] = work / fn
            if not bags[label].exists():
                t = time.perf_counter()
                counts[label] = small_mix(bags[label], seconds=secs)
                print(f"built {bags[label]} ({counts[label]} messages, {bags[label].stat().st_size / 2**20:.1f} MiB) "
                      f"in {time.perf_counter() - t:.1f} s")
    if "big" in only:
        bags["big"] = work / "bench.mcap"
        if not bags["big"].exists():
            t = time.perf_counter()
            build_bag(bags["big"], a.scale)
            print(f"built {bags['big']} ({bags['big'].stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    # (wall, memory, size) targets against the official converter per bag, from issue 26
    targets = {"small": (1.3, 1.5, 1.0), "mix10": (0.8, 1.5, 1.0), "big": (0.8, 1.5, 1.0)}
    print(f"\n{a.repeat} timed runs each, interleaved, fresh outputs, page cache written back before each run; "
          f"{cores} cores; best wall and CPU; worst peak memory of {a.mem_repeat} more runs each, watched (the process "
          f"tree's summed PSS, or one process's VmHWM if larger; not in the timed runs: watching costs CPU)\n")
    print(f"| {'bag':<30} | {'converter':<22} | {'wall s':>6} | {'x theirs':>8} | {'CPU s':>6} | "
          f"{'peak MiB':>8} | {'x theirs':>8} | {'out MiB':>7} | {'x theirs':>8} |")
    print("|" + "|".join("-" * (w + 2) for w in (30, 22, 6, 8, 6, 8, 8, 7, 8)) + "|")
    verdicts = []
    for label, bag in bags.items():
        r = compare(bag, work, a.repeat, label, jobs, mem_repeat=a.mem_repeat)
        th = r["theirs"]
        name = f"{label}: {bag.name} ({bag.stat().st_size / 2**20:.1f} MiB)"
        print(f"| {name:<30} | {'rerun mcap convert':<22} | {th['wall']:6.2f} | {1.0:8.2f} | {th['cpu']:6.2f} | "
              f"{th['mem']:8.0f} | {1.0:8.2f} | {th['size']:7.1f} | {1.0:8.2f} |")
        if "theirs1" in r:
            o = r["theirs1"]
            print(f"| {'':<30} | {'  the same on 1 core':<22} | {o['wall']:6.2f} | {o['wall'] / th['wall']:8.2f} | "
                  f"{o['cpu']:6.2f} | {o['mem']:8.0f} | {o['mem'] / th['mem']:8.2f} | {o['size']:7.1f} | "
                  f"{o['size'] / th['size']:8.2f} |")
        for j in jobs:
            o = r[j]
            print(f"| {'':<30} | {f'rerun-ros convert -j {j}':<22} | {o['wall']:6.2f} | {o['wall'] / th['wall']:8.2f} | "
                  f"{o['cpu']:6.2f} | {o['mem']:8.0f} | {o['mem'] / th['mem']:8.2f} | {o['size']:7.1f} | "
                  f"{o['size'] / th['size']:8.2f} |")
        tw, tm, ts = targets[label]
        best = r[max(jobs)]
        rw, rm, rs = best["wall"] / th["wall"], best["mem"] / th["mem"], best["size"] / th["size"]
        v = [f"wall <= {tw}x ({rw:.2f}: {'met' if rw <= tw else 'NOT met'})",
             f"memory <= {tm}x ({rm:.2f}: {'met' if rm <= tm else 'NOT met'})",
             f"size <= {ts}x ({rs:.2f}: {'met' if rs <= ts else 'NOT met'})"]
        if 1 in jobs and 2 in jobs:
            eff = r[1]["wall"] / (2 * r[2]["wall"])
            theirs_eff = f"; the official converter 1->2 cores {r['theirs1']['wall'] / (2 * th['wall']):.2f}" \
                if "theirs1" in r else ""
            v.append(f"scaling 1->2 jobs {eff:.2f} (target >= 0.8: {'met' if eff >= 0.8 else 'NOT met'}{theirs_eff})")
        if 1 in jobs:
            mb = bag.stat().st_size / 2**20
            rate = mb / r[1]["cpu"]
            n, units = cores * 4, max(units_of(bag, work), 1)
            # (the units are the grain: n cores take ceil(units / n) units' time; a machine with
            # more cores than units gains nothing more on this bag)
            rounds = -(-units // n)
            v.append(f"per core: {rate:.0f} MiB of bag per CPU s (-j 1); cut in {units} unit{'s' if units > 1 else ''}: "
                     f"a {n}-core laptop takes {rounds} unit{'s' if rounds > 1 else ''}' time, ~{mb / rate / units * rounds:.2f} s "
                     f"at this machine's one-core speed, + fixed cost")
        verdicts.append(f"{label} (-j {max(jobs)}): " + "; ".join(v))
        if label == "big":  # (converting again over the last output: the rename's cost on ext4)
            again = compare(bag, work, a.repeat, label, [max(jobs)], fresh=False, mem_repeat=0)
            o, t_ = again[max(jobs)]["wall"], again["theirs"]["wall"]
            verdicts.append(f"big, over the previous output: theirs {t_:.2f} s, ours -j {max(jobs)} {o:.2f} s "
                            f"({o / t_:.2f}x; to a new name {best['wall']:.2f} / {th['wall']:.2f} s)")
    print()
    for v in verdicts:
        print("targets", v)
    if "small" in bags:
        # the first pass also parses the schemas and compiles their decoders (once per schema
        # and process, as a conversion does); the rate per core is the steady state after it
        runs = [throughput(bags["small"]) for _ in range(4)]
        n, first = runs[0]
        cpu = min(c for _, c in runs[1:])
        rate = n / cpu
        print(f"decoded and mapped: {n} small messages in {cpu:.3f} CPU s = {rate / 1e6:.2f} M messages/s per core, "
              f"steady state, best of 3 (target >= 1.0: {'met' if rate >= 1e6 else 'NOT met'}); first pass with "
              f"schema compilation {first:.3f} CPU s = {n / first / 1e6:.2f} M/s")
    if not a.keep and a.workdir is None:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
