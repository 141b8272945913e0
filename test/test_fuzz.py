"""Seeded fuzzing, bounded in time: mutated real bags (MCAP, ``.db3``) and ``.rrd`` recordings
through convert (one process or several), info, the query API and filter must give clean errors
or partial results, never a traceback, a hang or a crash (the worker runs in its own process so a
crash is seen)."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import FIELD, LIDAR, MARKERS, run_cli

WORKER = r'''
import json, random, signal, sys, time, traceback
from pathlib import Path
from rerun_ros.convert import convert
from rerun_ros.sources import BagError
from rerun_ros.rrd.reader import RrdError
from rerun_ros.query.recording import open as open_rec
from rerun_ros.query.filter import filter_rrd
from rerun_ros.info import bag_info, rrd_info

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
        if src.suffix in (".mcap", ".db3"):
            try:
                bag_info(case)
            except EXPECTED:
                pass
            # (one process, or two over parts of 256 KiB: the parallel path meets the damage too)
            two = rng.random() < 0.3
            convert(case, work / "out.rrd", jobs=2 if two else 1, segment_bytes=(256 << 10) if two else None)
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
    rrd3 = tmp_path / "seed3.rrd"  # chunks of 256 KiB or more: zstd inside their IPC streams
    convert(LIDAR, rrd3)
    work = tmp_path / "work"
    work.mkdir()
    db3 = FIELD.parent / "rosbag2_2024_09_04-17_15_57_0.db3"
    p = subprocess.run([sys.executable, "-c", WORKER, str(work), "20261202", "45", str(MARKERS), str(FIELD),
                        str(db3), str(rrd), str(rrd2), str(rrd3)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"the worker crashed (status {p.returncode}): {p.stderr[-1500:]}"
    stats = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"fuzz: {stats['cases']} cases, {stats['clean_errors']} clean errors, {stats['ok']} partial or whole "
          f"results, {len(stats['tracebacks'])} tracebacks, {stats['hangs']} hangs")
    assert stats["cases"] >= 50
    assert not stats["tracebacks"], "\n\n".join(stats["tracebacks"][:6])
    assert stats["hangs"] == 0


PROXY_WORKER = r'''
import json, random, signal, sys, time, traceback
import numpy as np
import grpc
from pathlib import Path
from rerun_ros.convert import convert
from rerun_ros.rrd.reader import RrdReader, read_chunks
from rerun_ros.rrd.writer import encode_arrow_msg, make_store_id, store_info_msg
from rerun_ros.stream.grpc import log_msg_request
from rerun_ros.stream.proxy import ProxyServer

work = Path(sys.argv[1]); seed = int(sys.argv[2]); budget = float(sys.argv[3]); bag = sys.argv[4]
rng = random.Random(seed)
stats = {"proxy_cases": 0, "accepted": 0, "refused": 0, "other_status": [], "hangs": 0,
         "sdk_cases": 0, "sdk_logged": 0, "sdk_refused": 0, "sdk_tracebacks": [], "written": -1, "lost": -1}

def on_alarm(*a):
    raise TimeoutError("hang")
signal.signal(signal.SIGALRM, on_alarm)

# real messages: the chunks of a converted bag, framed as the SDK frames them
convert(bag, work / "seed.rrd")
chunks, _ = read_chunks(work / "seed.rrd")
sid = make_store_id("fuzz")
msgs = [log_msg_request(1, store_info_msg(sid)[16:])]
for c in chunks:
    parts = encode_arrow_msg(c, sid, compress=rng.random() < 0.5)
    msgs.append(log_msg_request(2, parts[0][16:] + bytes(parts[1])))

def mutate(data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.choice(["flip", "run", "truncate", "length", "insert"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b)); b[i] ^= 1 << rng.randrange(8)
    elif kind == "run":
        i = rng.randrange(len(b)); n = rng.randint(1, 32)
        b[i:i + n] = bytes(rng.randrange(256) for _ in range(min(n, len(b) - i)))
    elif kind == "truncate":
        del b[rng.randrange(1, len(b)):]
    elif kind == "length":
        i = rng.randrange(max(1, len(b) - 4)); b[i:i + 4] = rng.choice([2**31 - 1, 2**20, 0xFFFFFFFF]).to_bytes(4, "little")
    else:
        i = rng.randrange(len(b)); b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(b)

srv = ProxyServer(0, save=str(work / "saved.rrd"), memory_limit=4 << 20)
ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
write = ch.stream_unary("/rerun.sdk_comms.v1alpha1.MessageProxyService/WriteMessages",
                        request_serializer=lambda b: b, response_deserializer=lambda b: b)
t0 = time.monotonic()
while time.monotonic() - t0 < budget / 2:
    batch = [msgs[0]] + [mutate(m) if rng.random() < 0.7 else m for m in rng.sample(msgs[1:], min(3, len(msgs) - 1))]
    stats["proxy_cases"] += 1
    signal.alarm(20)
    try:
        write(iter(batch), timeout=15)
        stats["accepted"] += 1
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
            stats["refused"] += 1
        else:
            stats["other_status"].append(f"{e.code().name}: {e.details()}")
    except TimeoutError:
        stats["hangs"] += 1
    finally:
        signal.alarm(0)
ch.close()
srv.stop()
# what the proxy saved decodes whole: nothing hostile got through
with RrdReader(work / "saved.rrd") as r:
    saved = list(r.iter_chunks())
    stats["saved_chunks"] = len(saved)
    stats["saved_warnings"] = list(r.warnings)

# the SDK with random archetype arguments
import rerun_ros.sdk as rr
rec = rr.RecordingStream("fuzz")
rec.save(work / "sdk.rrd")
pool = [None, 0, -1, 1.5, float("nan"), float("inf"), 2**63, -2**70, "text", "bad \udcff", b"\xff\xfe", [], [1, 2, 3],
        [[1, 2, 3]], [[1, 2]], [[1, 2, 3, 4]], np.zeros((0, 3)), np.random.default_rng(seed).random((5, 3)),
        np.arange(12).reshape(4, 3).astype(np.int8), np.array([1e300, -1e300]), np.array(["a", "b"]),
        [0xFF00FFFF], [[255, 0, 0]], "#ff0000", object(), {"a": 1}, (1, 2, 3)]
kinds = [rr.Points3D, rr.Points2D, rr.Scalars, rr.TextLog, rr.Boxes3D, rr.Arrows3D, rr.LineStrips3D,
         rr.Transform3D, rr.TextDocument, rr.SeriesLines]
logged = 0
t1 = time.monotonic()
while time.monotonic() - t1 < budget / 2:
    kind = rng.choice(kinds)
    args = [rng.choice(pool) for _ in range(rng.randint(0, 2))]
    kw = {k: rng.choice(pool) for k in rng.sample(["colors", "radii", "labels", "positions", "vectors", "origins",
                                                   "half_sizes", "translation", "names", "level", "media_type"],
                                                  rng.randint(0, 3))}
    stats["sdk_cases"] += 1
    signal.alarm(10)
    try:
        rec.set_time("step", sequence=stats["sdk_cases"])
        a = kind(*args, **kw)
        rec.log(f"/fuzz/{kind.__name__}", a)
        logged += 1
    except (TypeError, ValueError, OverflowError, IndexError, KeyError, AttributeError):
        stats["sdk_refused"] += 1
    except TimeoutError:
        stats["hangs"] += 1
    except Exception:
        stats["sdk_tracebacks"].append(traceback.format_exc()[-1200:])
    finally:
        signal.alarm(0)
rec.close()
stats["sdk_logged"] = logged
chunks, warns = read_chunks(work / "sdk.rrd")
stats["written"] = sum(len(c) for c in chunks if c.entity_path.startswith("/fuzz/"))
stats["lost"] = sum(rec._rec.stats.rows_lost.values())
print(json.dumps(stats))
'''


def test_proxy_and_sdk_under_fuzzing(tmp_path):
    """Random and mutated WriteMessages bodies through the proxy, random archetype arguments
    through the SDK: no crash, no hang; the proxy answers INVALID_ARGUMENT or keeps a message it
    checked whole (what it saved decodes); every row the SDK took is written or counted lost."""
    work = tmp_path / "work"
    work.mkdir()
    p = subprocess.run([sys.executable, "-c", PROXY_WORKER, str(work), "20261205", "40", str(MARKERS)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"the worker crashed (status {p.returncode}): {p.stderr[-1500:]}"
    s = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"fuzz: proxy {s['proxy_cases']} cases ({s['accepted']} accepted, {s['refused']} refused), "
          f"SDK {s['sdk_cases']} cases ({s['sdk_logged']} logged, {s['sdk_refused']} refused)")
    assert s["proxy_cases"] >= 20 and s["accepted"] and s["refused"]
    assert not s["other_status"] and s["hangs"] == 0, s["other_status"][:5]
    assert not s["saved_warnings"] and s["saved_chunks"] >= 1
    assert s["sdk_cases"] >= 100 and s["sdk_logged"] and s["sdk_refused"]
    assert not s["sdk_tracebacks"], "\n\n".join(s["sdk_tracebacks"][:5])
    assert s["written"] + s["lost"] == s["sdk_logged"], s


def _rewritten(src, dst, schema_text=None, message=None) -> None:
    """A copy of a real bag, record by record, with each schema's definition text passed through
    ``schema_text(name, text)`` and each message's bytes through ``message(topic, bytes)``."""
    from mcap.reader import make_reader
    from mcap.writer import Writer

    with open(src, "rb") as f, open(dst, "wb") as out:
        w = Writer(out)
        w.start()
        schemas, channels = {}, {}
        for sc, ch, m in make_reader(f).iter_messages(log_time_order=False):
            if sc.id not in schemas:
                text = sc.data.decode() if schema_text is None else schema_text(sc.name, sc.data.decode())
                schemas[sc.id] = w.register_schema(sc.name, sc.encoding, text.encode())
            if ch.id not in channels:
                channels[ch.id] = w.register_channel(ch.topic, ch.message_encoding, schemas[sc.id], ch.metadata)
            data = m.data if message is None else message(ch.topic, m.data)
            w.add_message(channels[ch.id], m.log_time, data, m.publish_time, m.sequence)
        w.finish()


def test_a_recorded_stamp_that_is_not_a_time_places_its_messages_by_log_time(tmp_path):
    """A bag whose recorded definitions name the Time's fields otherwise (found by fuzzing: a
    flipped byte in `uint32 nanosec`) converts without a traceback: the messages decode as their
    definition says, their header is no stamp, they are placed by their log time."""
    bag = tmp_path / "renamed.mcap"
    _rewritten(FIELD, bag, schema_text=lambda name, text: text.replace("uint32 nanosec", "uint32 nanosex"))
    p = run_cli("convert", bag, "-o", tmp_path / "out.rrd", "--json")
    assert "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.returncode in (0, 3), p.stderr[-1000:]
    report = json.loads(p.stdout)
    assert report["messages"] == 2671 and report["converted"] > 2500
    from rerun_ros.rrd.reader import read_chunks
    chunks, _ = read_chunks(tmp_path / "out.rrd")
    depth = [c for c in chunks if c.entity_path == "/coug2/depth_data" and not c.is_static]
    assert depth and all((c.timelines["ros_time"][1] == c.timelines["log_time"][1]).all() for c in depth)


def test_values_out_of_float32_range_convert_without_numpy_warnings(tmp_path):
    """A covariance of 1e300 (a real robot's PoseWithCovarianceStamped, its first covariance
    value overwritten: the last 36 float64 of the message) is mapped as it is, and kept whole in
    the message column; numpy's overflow warnings are not printed to the user."""
    import struct

    def huge(topic, data):
        if topic != "/coug2/dvl/dead_reckoning":
            return data
        b = bytearray(data)
        b[-288:-280] = struct.pack("<d", 1e300)
        return bytes(b)

    bag = tmp_path / "huge.mcap"
    _rewritten(FIELD, bag, message=huge)
    p = run_cli("convert", bag, "-o", tmp_path / "out.rrd", "--json")
    assert p.returncode in (0, 3), p.stderr[-1000:]
    assert "Warning" not in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    from rerun_ros.query.recording import open as open_rec
    rec = open_rec(tmp_path / "out.rrd")
    t = rec.dataframe("log_time", "/coug2/dvl/dead_reckoning")
    msgs = [c for c in t.column_names if c.endswith(":message")]
    assert msgs, t.column_names
    kept = [m for row in t.column(msgs[0]).to_pylist() if row for m in row]
    assert kept and all(m["pose"]["covariance"][0] == 1e300 for m in kept)


def test_a_recorded_definition_without_a_field_a_mapper_reads_is_said_not_a_traceback(tmp_path):
    """The real 94-type bag with `uint32 height` renamed in its recorded definitions (images,
    clouds, camera infos, maps: found by fuzzing): those messages decode as their definition says,
    cannot be mapped (said per topic, exit 3), and stay whole in their message column."""
    src = FIELD.parent.parent / "types94" / "test_bag_mcap" / "test_bag_mcap.mcap"
    bag = tmp_path / "renamed.mcap"
    _rewritten(src, bag, schema_text=lambda name, text: text.replace("uint32 height", "uint32 heigth"))
    p = run_cli("convert", bag, "-o", tmp_path / "out.rrd", "--json")
    assert "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.returncode == 3, p.stderr[-1000:]
    report = json.loads(p.stdout)
    image = next(t for t in report["topics"] if t["type"].endswith("sensor_msgs/msg/Image"))
    assert any("cannot map" in r and "height" in r for r in image["reasons"]), image
    from rerun_ros.query.recording import open as open_rec
    t = open_rec(tmp_path / "out.rrd").dataframe("log_time", image["entity"])
    col = next(c for c in t.column_names if c.endswith(":message"))
    kept = [m for row in t.column(col).to_pylist() if row for m in row]
    assert len(kept) == image["messages"] and all("heigth" in m for m in kept)
