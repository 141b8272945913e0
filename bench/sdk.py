#!/usr/bin/env python3
"""Benchmark: the logging SDK (``rerun_ros.sdk``) against rerun-sdk 0.41, same work, same run.

Cases, each in its own process (timed inside it, imports excluded), ``--repeat`` times interleaved,
best time kept:
- ``send_columns``: 1M float64 scalars on a sequence timeline with one ``send_columns`` call,
  written to an ``.rrd`` (time until the file is closed: the call, chunking, encoding, writing);
- ``log`` loop: 20k ``log`` calls of one scalar each at their own sequence step, to an ``.rrd``;
- ``tutorial``: Rerun's "Stream from Python" program (400 frames of 100 beads + 400 transforms).
Targets (issue 25): send_columns of 1M scalars <= 0.3x rerun-sdk 0.41, the log loop <= 0.7x.

Usage: .venv/bin/python bench/sdk.py [--repeat N]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "send_columns 1M scalars": """
import numpy as np
vals = np.sin(np.arange(1_000_000) / 1000.0); steps = np.arange(1_000_000)
t0 = time.perf_counter()
rr.init("bench"); rr.save(OUT)
rr.send_columns("/sine", indexes=[rr.TimeColumn("step", sequence=steps)], columns=rr.Scalars.columns(scalars=vals))
rr.disconnect()
""",
    "log 20k scalars": """
t0 = time.perf_counter()
rr.init("bench"); rr.save(OUT)
for i in range(20_000):
    rr.set_time("step", sequence=i)
    rr.log("/value", rr.Scalars(i * 0.5))
rr.disconnect()
""",
    "tutorial (DNA abacus)": """
import numpy as np
from math import tau
t0 = time.perf_counter()
rr.init("bench"); rr.save(OUT)
rr.set_time("stable_time", duration=0)
p1, c1 = build_color_spiral(100)
p2, c2 = build_color_spiral(100, angular_offset=tau * 0.5)
rr.log("dna/structure/left", rr.Points3D(p1, colors=c1, radii=0.08))
rr.log("dna/structure/right", rr.Points3D(p2, colors=c2, radii=0.08))
rr.log("dna/structure/scaffolding", rr.LineStrips3D(np.stack((p1, p2), axis=1), colors=[128, 128, 128]))
offs = np.random.default_rng(0).random(100)
for i in range(400):
    t = i * 0.01
    rr.set_time("stable_time", duration=t)
    ts = np.repeat(t, 100) + offs
    beads = [bounce_lerp(p1[n], p2[n], ts[n]) for n in range(100)]
    colors = [[int(bounce_lerp(80, 230, ts[n] * 2))] for n in range(100)]
    rr.log("dna/structure/scaffolding/beads", rr.Points3D(beads, radii=0.06, colors=np.repeat(colors, 3, axis=-1)))
for i in range(400):
    rr.set_time("stable_time", duration=i * 0.01)
    rr.log("dna/structure", rr.Transform3D(rotation=rr.RotationAxisAngle(axis=[0, 0, 1], radians=i * 0.01 / 4.0 * tau)))
rr.disconnect()
""",
}

HEAD = {
    "rerun_ros": "import time, sys\nimport rerun_ros.sdk as rr\nfrom rerun_ros.sdk.utilities import build_color_spiral, bounce_lerp\n",
    "rerun-sdk": "import time, sys\nimport rerun as rr\nfrom rerun.utilities import build_color_spiral, bounce_lerp\n",
}


def run(sdk: str, case: str, out: Path) -> float:
    code = HEAD[sdk] + f"OUT = {str(out)!r}\n" + CASES[case] + "print(time.perf_counter() - t0)\n"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       env={"PYTHONPATH": str(ROOT), "RERUN_ANALYTICS": "0", "PATH": "/usr/bin:/bin"})
    if p.returncode != 0:
        raise RuntimeError(f"{sdk} {case}: {p.stderr[-800:]}")
    return float(p.stdout.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rerun_ros_sdk_"))
    print(f"{a.repeat} runs each, best time (s), each in a fresh process, imports excluded\n")
    print(f"| {'case':<26} | {'rerun_ros.sdk':>13} | {'rerun-sdk 0.41':>14} | {'ratio':>6} | {'output MiB ours/theirs':>22} |")
    print(f"|{'-' * 28}|{'-' * 15}|{'-' * 16}|{'-' * 8}|{'-' * 24}|")
    ratios = {}
    for case in CASES:
        best = {"rerun_ros": float("inf"), "rerun-sdk": float("inf")}
        for _ in range(a.repeat):
            for sdk in best:
                out = tmp / f"{sdk}.rrd"
                best[sdk] = min(best[sdk], run(sdk, case, out))
        sizes = [(tmp / f"{s}.rrd").stat().st_size / 2**20 for s in best]
        r = best["rerun_ros"] / best["rerun-sdk"]
        ratios[case] = r
        print(f"| {case:<26} | {best['rerun_ros']:13.3f} | {best['rerun-sdk']:14.3f} | {r:6.2f} | "
              f"{sizes[0]:>9.1f} / {sizes[1]:<10.1f} |")
    r = ratios["send_columns 1M scalars"]
    print(f"\ntarget (issue 25): send_columns of 1M scalars <= 0.3x rerun-sdk 0.41: {'met' if r <= 0.3 else 'NOT met'} "
          f"({r:.2f})")
    r = ratios["log 20k scalars"]
    print(f"target (issue 25): the log loop <= 0.7x rerun-sdk 0.41: {'met' if r <= 0.7 else 'NOT met'} ({r:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
