"""Seeded fuzzing, bounded in time: mutated real MCAP bags and ``.rrd`` recordings through
convert, info, the query API and filter must give clean errors or partial results, never a
traceback, a hang or a crash (the worker runs in its own process so a crash is seen)."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import FIELD, MARKERS

WORKER = r'''
import json, random, signal, sys, time, traceback
from pathlib import Path
from rerun_ros.convert import convert
from rerun_ros.sources import BagError
from rerun_ros.rrd.reader import RrdError
from rerun_ros.query.recording import open as open_rec
from rerun_ros.query.filter import filter_rrd
from rerun_ros.info import rrd_info

EXPECTED = (BagError, RrdError, OSError, ValueError)  # clean, one-line errors
work = Path(sys.argv[1]); seed = int(sys.argv[2]); budget = float(sys.argv[3])
seeds = [Path(p) for p in sys.argv[4:]]
rng = random.Random(seed)
stats = {"cases": 0, "clean_errors": 0, "ok": 0, "tracebacks": [], "hangs": 0}

def mutate(data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.choice(["flip", "flip", "run", "truncate", "length", "insert", "zero"])
    if kind == "flip":
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(len(b)); b[i] ^= 1 << rng.randrange(8)
    elif kind == "run":
        i = rng.randrange(len(b)); n = rng.randint(1, 64)
        b[i:i + n] = bytes(rng.randrange(256) for _ in range(min(n, len(b) - i)))
    elif kind == "truncate":
        del b[rng.randrange(8, len(b)):]
    elif kind == "length":  # a u64/u32 length-like field set to something large
        i = rng.randrange(len(b) - 8); b[i:i + 8] = rng.choice([2**31, 2**40, 2**63, 10**6]).to_bytes(8, "little")
    elif kind == "insert":
        i = rng.randrange(len(b)); b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    else:
        i = rng.randrange(len(b)); b[i:i + 4096] = bytes(min(4096, len(b) - i))
    return bytes(b)

def on_alarm(*a):
    raise TimeoutError("hang")
signal.signal(signal.SIGALRM, on_alarm)
originals = [(p, p.read_bytes()) for p in seeds]
t0 = time.monotonic()
while time.monotonic() - t0 < budget:
    src, data = rng.choice(originals)
    case = work / ("case" + src.suffix)
    case.write_bytes(mutate(data))
    stats["cases"] += 1
    signal.alarm(20)
    try:
        if src.suffix == ".mcap":
            convert(case, work / "out.rrd")
        else:
            rrd_info(case)
            rec = open_rec(case)
            for tl in rec.timelines():
                rec.dataframe(tl)
            filter_rrd(case, work / "f.rrd")
        stats["ok"] += 1
    except EXPECTED:
        stats["clean_errors"] += 1
    except TimeoutError:
        stats["hangs"] += 1
    except Exception:
        stats["tracebacks"].append(traceback.format_exc()[-1500:])
    finally:
        signal.alarm(0)
print(json.dumps(stats))
'''


def test_mutated_bags_and_recordings_fail_cleanly(tmp_path):
    from rerun_ros.convert import convert
    rrd = tmp_path / "seed.rrd"
    convert(MARKERS, rrd)
    rrd2 = tmp_path / "seed2.rrd"
    convert(FIELD, rrd2)
    work = tmp_path / "work"
    work.mkdir()
    p = subprocess.run([sys.executable, "-c", WORKER, str(work), "20261202", "45", str(MARKERS), str(FIELD),
                        str(rrd), str(rrd2)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"the worker crashed (status {p.returncode}): {p.stderr[-1500:]}"
    stats = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"fuzz: {stats['cases']} cases, {stats['clean_errors']} clean errors, {stats['ok']} partial or whole "
          f"results, {len(stats['tracebacks'])} tracebacks, {stats['hangs']} hangs")
    assert stats["cases"] >= 50
    assert not stats["tracebacks"], "\n\n".join(stats["tracebacks"][:6])
    assert stats["hangs"] == 0
