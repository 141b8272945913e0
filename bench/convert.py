#!/usr/bin/env python3
"""Benchmark: `rerun-ros convert` against `rerun mcap convert` (rerun-sdk 0.41), same run.

Two bags, generated here: the **small-message mix** of a 5-minute nav-stack run (IMU 200 Hz, TF
100 Hz, joint states 100 Hz, odometry 50 Hz, cmd_vel 20 Hz, one custom type 10 Hz: 144k
messages, zstd chunks as rosbag2 writes them; see ``bench/mixes.py``) and the **big-message**
bag (300 PointCloud2 of 30k points, 300 rgb8 640x480 images, 3000 TFMessage, one /tf_static).
Both converters run on each as their own process, ``--repeat`` times interleaved (alternating
which goes first, the page cache written back before each run), fresh outputs;
the table gives best wall time, worst peak RSS (GNU time) and output size with our/their ratios.
Targets: small mix wall <= 1.0, RSS <= 1.0; big bag wall <= 1.0, RSS <= 0.5, size <= 1.0. Last,
the decode+map throughput on the small mix in messages per CPU second (target >= 1M/s).

Usage: .venv/bin/python bench/convert.py [--workdir DIR] [--repeat N] [--scale F] [--only small|big]
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



def run(cmd: list[str]) -> tuple[float, float, int]:
    """Run a command; return (wall s, peak RSS MiB, exit status).

    Peak RSS comes from GNU time when installed (apt: time): a child forked directly from this
    process counts this process's pages in its own ru_maxrss until it execs.
    """
    t = time.perf_counter()
    full = ["/usr/bin/time", "-f", "RSSKB %M", *cmd] if os.path.exists("/usr/bin/time") else cmd
    p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,):
        print(f"{cmd[0]} exited {code}: {err[-500:]}", file=sys.stderr)
    rss = ru.ru_maxrss / 1024.0
    for line in err.splitlines()[::-1]:
        if line.startswith("RSSKB "):
            rss = int(line.split()[1]) / 1024.0
            break
    return wall, rss, code


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


def compare(bag: Path, work: Path, repeat: int, label: str) -> dict:
    ours_out, theirs_out = work / f"ours_{label}.rrd", work / f"theirs_{label}.rrd"
    ours_cmd = [str(BIN / "rerun-ros"), "convert", str(bag), "-o", str(ours_out), "-q"]
    theirs_cmd = [str(BIN / "rerun"), "mcap", "convert", str(bag), "-o", str(theirs_out)]
    res = {"ours": [], "theirs": []}
    cmds = {"ours": ours_cmd, "theirs": theirs_cmd}
    for i in range(repeat):  # interleaved so both see the same machine state; fresh outputs
        for out in (ours_out, theirs_out):
            if out.exists():
                out.unlink()
        # who goes first alternates, and the previous run's output is written back to disk
        # before the next starts (otherwise one converter pays for the other's writeback)
        for who in (("theirs", "ours") if i % 2 == 0 else ("ours", "theirs")):
            os.sync()
            res[who].append(run(cmds[who]))
    best = {k: (min(r[0] for r in v), max(r[1] for r in v)) for k, v in res.items()}
    size = {"ours": ours_out.stat().st_size / 2**20, "theirs": theirs_out.stat().st_size / 2**20}
    return {"best": best, "size": size}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default=None, help="where to put the bags and outputs (default: a temp dir)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="scale the big bag's message counts")
    ap.add_argument("--only", choices=["small", "big"], default=None, help="run one bag only")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="rerun_ros_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mixes import small_mix

    bags = {}
    if a.only in (None, "small"):
        bags["small"] = work / "small_mix.mcap"
        if not bags["small"].exists():
            t = time.perf_counter()
            n = small_mix(bags["small"])
            print(f"built {bags['small']} ({n} messages, {bags['small'].stat().st_size / 2**20:.1f} MiB) "
                  f"in {time.perf_counter() - t:.1f} s")
    if a.only in (None, "big"):
        bags["big"] = work / "bench.mcap"
        if not bags["big"].exists():
            t = time.perf_counter()
            build_bag(bags["big"], a.scale)
            print(f"built {bags['big']} ({bags['big'].stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    targets = {"small": (1.0, 1.0, None), "big": (1.0, 0.5, 1.0)}
    print(f"\n{a.repeat} runs each, fresh outputs (best wall, worst peak RSS)\n")
    print(f"| {'bag':<34} | {'converter':<18} | {'wall s':>7} | {'peak RSS MiB':>12} | {'output MiB':>10} |")
    print(f"|{'-' * 36}|{'-' * 20}|{'-' * 9}|{'-' * 14}|{'-' * 12}|")
    verdicts = []
    for label, bag in bags.items():
        r = compare(bag, work, a.repeat, label)
        b, sz = r["best"], r["size"]
        name = f"{label}: {bag.name} ({bag.stat().st_size / 2**20:.1f} MiB)"
        print(f"| {name:<34} | {'rerun-ros convert':<18} | {b['ours'][0]:7.2f} | {b['ours'][1]:12.0f} | {sz['ours']:10.1f} |")
        print(f"| {'':<34} | {'rerun mcap convert':<18} | {b['theirs'][0]:7.2f} | {b['theirs'][1]:12.0f} | {sz['theirs']:10.1f} |")
        rw, rr, rs = b["ours"][0] / b["theirs"][0], b["ours"][1] / b["theirs"][1], sz["ours"] / sz["theirs"]
        print(f"| {'':<34} | {'ratio ours/theirs':<18} | {rw:7.2f} | {rr:12.2f} | {rs:10.2f} |")
        tw, tr, ts = targets[label]
        v = [f"wall <= {tw} ({'met' if rw <= tw else 'NOT met'})", f"RSS <= {tr} ({'met' if rr <= tr else 'NOT met'})"]
        if ts is not None:
            v.append(f"size <= {ts} ({'met' if rs <= ts else 'NOT met'})")
        verdicts.append(f"{label}: " + ", ".join(v))
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
