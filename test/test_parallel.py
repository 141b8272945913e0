"""Conversion over several processes (`convert --jobs N`, rerun_ros.parallel) on real bags: the
output equals the one-process output chunk for chunk (entities, row ids, times, values, order),
loses nothing against a conversion of the bag in one piece, says the same warnings with the same
exit status on a damaged bag, and the official reader reads it."""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer

from conftest import FIELD, LIDAR, MARKERS, SENSORS, DATA, nan_safe, rerun_verify, official_table, run_cli
from rerun_ros.convert import convert, exit_code
from rerun_ros.model.tuid import fixed16_to_tuids
from rerun_ros.rrd.reader import RrdReader

DB3 = DATA / "db3"


def rechunked(src, out, chunk_size: int, compression=CompressionType.ZSTD):
    """A real bag's records written again with small chunks (as a recorder with a small
    ``chunk_size`` would): same schemas, channels and message bytes, in the same order."""
    with open(src, "rb") as f, open(out, "wb") as g:
        r = make_reader(f)
        w = Writer(g, chunk_size=chunk_size, compression=compression)
        w.start(profile="ros2", library="test")
        s_ids, c_ids = {}, {}
        for schema, channel, m in r.iter_messages(log_time_order=False):
            if schema is not None and schema.id not in s_ids:
                s_ids[schema.id] = w.register_schema(schema.name, schema.encoding, schema.data)
            if channel.id not in c_ids:
                c_ids[channel.id] = w.register_channel(channel.topic, channel.message_encoding,
                                                       s_ids.get(channel.schema_id, 0), channel.metadata)
            w.add_message(c_ids[channel.id], m.log_time, m.data, m.publish_time, m.sequence)
        for md in r.iter_metadata():
            w.add_metadata(md.name, dict(md.metadata))
        w.finish()
    return out


def chunks(path):
    """Every chunk of a file in file order, with ids relative to the file's smallest id time
    (a conversion's ids are (base + unit, counter), base = when it ran)."""
    with RrdReader(path) as r:
        cs = list(r.iter_chunks())
    base = min(int(c.id[0]) for c in cs)
    out = []
    for c in cs:
        t, inc = fixed16_to_tuids(c.row_ids)
        out.append((c, (int(c.id[0]) - base, int(c.id[1])), t.astype(np.int64) - base, inc))
    return out


def assert_same_chunks(a, b):
    ca, cb = chunks(a), chunks(b)
    assert [c.entity_path for c, *_ in ca] == [c.entity_path for c, *_ in cb]
    for (x, xi, xt, xn), (y, yi, yt, yn) in zip(ca, cb):
        where = f"{x.entity_path} chunk {xi}"
        assert x.is_static == y.is_static and xi == yi, where
        assert (xt == yt).all() and (xn == yn).all(), where
        assert x.timelines.keys() == y.timelines.keys(), where
        for k in x.timelines:
            assert (x.timelines[k][1] == y.timelines[k][1]).all(), where
        assert x.components.keys() == y.components.keys(), where
        for k in x.components:  # (NaN never equals NaN: those compare as values)
            assert x.components[k].equals(y.components[k]) or \
                nan_safe(x.components[k].to_pylist()) == nan_safe(y.components[k].to_pylist()), f"{where} {k}"
    # row ids increase along each entity's chunks, in file order (Rerun orders rows by them)
    last = {}
    for c, _, t, n in ca:
        key = (c.entity_path, c.is_static)
        ids = list(zip(t.tolist(), n.tolist()))
        assert ids == sorted(ids), key
        assert key not in last or last[key] < ids[0], key
        last[key] = ids[-1]


def rows(path):
    """What a reader sees, whatever the chunking: entity → its temporal rows in time order, each
    as (times, every component's latest value at that row: latest-at, a null cell sets
    nothing), and entity → the set of its static values."""
    temporal, static = defaultdict(list), defaultdict(set)
    with RrdReader(path) as r:
        for c in r.iter_chunks():
            names = sorted(c.components, key=lambda d: d.column)
            cols = [c.components[d].to_pylist() for d in names]
            for i in range(len(c)):
                vals = {d.column: repr(col[i]) for d, col in zip(names, cols) if col[i] is not None}
                if c.is_static:
                    static[c.entity_path].add(tuple(sorted(vals.items())))
                else:
                    times = tuple(int(c.timelines[k][1][i]) for k in sorted(c.timelines))
                    temporal[c.entity_path].append((times, vals))
    seen = {}
    for ent, rs in temporal.items():
        rs.sort(key=lambda r: r[0])
        state: dict = {}
        out = []
        for times, vals in rs:
            state.update(vals)
            out.append((times, tuple(sorted(state.items()))))
        seen[ent] = out
    return seen, dict(static)


def both(bag, tmp_path, segment_bytes=1, **kw):
    one, two = tmp_path / "one.rrd", tmp_path / "two.rrd"
    w1, w2 = [], []
    r1 = convert(bag, one, jobs=1, segment_bytes=segment_bytes, warn=w1.append, **kw)
    r2 = convert(bag, two, jobs=2, segment_bytes=segment_bytes, warn=w2.append, **kw)
    return (one, r1, w1), (two, r2, w2)


@pytest.mark.parametrize("name", ["sensors", "lidar", "markers"])
def test_two_processes_write_what_one_writes_chunk_for_chunk(name, tmp_path):
    src = {"sensors": SENSORS, "lidar": LIDAR, "markers": MARKERS}[name]
    bag = rechunked(src, tmp_path / f"{name}.mcap", chunk_size=4 << 10)
    (one, r1, w1), (two, r2, w2) = both(bag, tmp_path)
    assert r1.units > 2 and r2.units == r1.units and r2.jobs == 2 and r1.jobs == 1
    assert_same_chunks(one, two)
    assert w1 == w2 and exit_code(r1) == exit_code(r2) == 0
    assert [t.to_dict() for t in r1.topics] == [t.to_dict() for t in r2.topics]
    assert r1.messages == r2.messages == sum(t.messages for t in r2.topics)
    assert rerun_verify(two).returncode == 0
    # nothing lost or changed by cutting the bag: every temporal row, every static value, as
    # in the conversion of the bag in one piece
    whole = tmp_path / "whole.rrd"
    rw = convert(bag, whole, jobs=1, segment_bytes=1 << 40)
    assert rw.units == 1
    assert rows(whole) == rows(two)


def republished(out, lifetime_ns: int):
    """The real marker bag as a node that republishes one marker does: every message given the
    same id and a lifetime (its cube re-added every 0.5 s before it expires), in small chunks."""
    from mcap_ros2.decoder import DecoderFactory
    from mcap_ros2.writer import Writer as RosWriter

    with open(MARKERS, "rb") as f, open(out, "wb") as g:
        w = RosWriter(g, chunk_size=1 << 10, compression=CompressionType.NONE)
        ids = {}
        for schema, ch, m, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            if schema.id not in ids:
                ids[schema.id] = w.register_msgdef(schema.name, schema.data.decode())
            msg.id = 0
            msg.lifetime.sec, msg.lifetime.nanosec = divmod(lifetime_ns, 10**9)
            w.write_message(ch.topic, ids[schema.id], msg, log_time=m.log_time, publish_time=m.publish_time)
        w.finish()
    return out


def test_markers_are_mapped_in_one_unit_so_a_republished_marker_does_not_blink(tmp_path):
    # a marker re-added every 0.5 s with a 1.5 s lifetime stays until 1.5 s after the last ADD:
    # one Clear at the end. Cut into segments, each segment's end would expire it (a Clear in
    # the middle of the run, the cube blinking off); its topic is one unit of its own
    bag = republished(tmp_path / "m.mcap", 1_500_000_000)
    with open(bag, "rb") as f:
        assert len(make_reader(f).get_summary().chunk_indexes) > 5
    (one, r1, _), (two, r2, _) = both(bag, tmp_path)
    assert r2.units > 5 and r2.jobs == 2
    assert_same_chunks(one, two)
    whole = tmp_path / "whole.rrd"
    convert(bag, whole, segment_bytes=1 << 40)
    assert rows(two) == rows(whole)
    ent = "/cube/test/cube/0"
    cleared = [t for t, state in rows(two)[0][ent] if ("Clear:is_recursive", "[False]") in state]
    with open(bag, "rb") as f:
        last = max(m.log_time for _, _, m in make_reader(f).iter_messages())
    t = official_table(two, ent)
    assert t.num_rows > 100
    assert len(cleared) >= 1 and all(c[0] >= last for c in cleared), cleared[:3]


def test_a_db3_bag_is_cut_by_timestamp_ranges(tmp_path):
    bag = next(DB3.glob("*.db3"))
    size = bag.stat().st_size
    (one, r1, w1), (two, r2, w2) = both(bag, tmp_path, segment_bytes=size // 4)
    assert r1.units >= 3 and r2.jobs == 2
    assert_same_chunks(one, two)
    assert w1 == w2 and exit_code(r1) == exit_code(r2)
    whole = tmp_path / "whole.rrd"
    convert(bag, whole, segment_bytes=1 << 40)
    assert rows(whole) == rows(two)
    assert rerun_verify(two).returncode == 0


def test_a_damaged_chunk_gives_the_same_warnings_and_exit_status(tmp_path):
    bag = rechunked(SENSORS, tmp_path / "s.mcap", chunk_size=4 << 10)
    with open(bag, "rb") as f:
        cis = sorted(make_reader(f).get_summary().chunk_indexes, key=lambda c: c.chunk_start_offset)
    mid = cis[len(cis) // 2]
    data = bytearray(bag.read_bytes())
    at = mid.chunk_start_offset + mid.chunk_length // 2
    data[at:at + 64] = b"\xff" * 64  # zstd data of one chunk garbled; the summary intact
    bag.write_bytes(bytes(data))
    (one, r1, w1), (two, r2, w2) = both(bag, tmp_path)
    assert r1.damaged and r2.damaged
    assert exit_code(r1) == exit_code(r2) == 3
    assert w1 == w2
    assert any(f"chunk at byte {mid.chunk_start_offset}" in w for w in w2)
    assert_same_chunks(one, two)
    assert rerun_verify(two).returncode == 0


def test_a_clock_tracked_through_the_bag_runs_in_one_process(tmp_path):
    # the field run's robot clock is offset from log time and tracked over the run: each
    # message is placed with what came before it
    out = tmp_path / "f.rrd"
    r = convert(FIELD, out, jobs=2, segment_bytes=1)
    assert r.jobs == 1 and r.units == 1 and "offset" in r.clock_text


def test_cli_jobs(tmp_path):
    bag = rechunked(SENSORS, tmp_path / "s.mcap", chunk_size=4 << 10)
    p = run_cli("convert", bag, "-o", tmp_path / "o.rrd", "-j", "2", "--json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["jobs"] == 1 and rep["units"] == 1  # (48 MiB segments: a small bag is one)
    p = run_cli("convert", bag, "-o", tmp_path / "o.rrd", "-j", "-1")
    assert p.returncode == 2 and "--jobs" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("bag", ["compressed/soccer_goal", "field/SO_bag_0.mcap", "field/rosbag2_2024_09_04-17_15_57_0.db3",
                                 "sim/walker", "lidar", "markers", "db3", "bad/test_large_file.mcap",
                                 "bad/test_bad_schema.mcap", "bad/wrong_rmw_test_0.mcap"])
def test_every_bundled_bag_converts_the_same_with_two_processes(bag, tmp_path):
    """Each bundled bag as it is (cut wherever its chunks allow): two processes write what one
    writes, say the same warnings and exit the same way."""
    (one, r1, w1), (two, r2, w2) = both(DATA / bag, tmp_path)
    assert_same_chunks(one, two)
    assert w1 == w2 and exit_code(r1) == exit_code(r2)
    assert [t.to_dict() for t in r1.topics] == [t.to_dict() for t in r2.topics]


def _when_written(code: str, staged_name: str, tmp_path, bytes_in: int, act) -> tuple:
    """Run ``code`` (a conversion over two processes) in a Python subprocess; once both workers
    run and its unfinished output holds ``bytes_in`` bytes, call ``act(process, workers)``.
    Returns (process, workers: [] when the conversion ended first, stdout, stderr)."""
    import subprocess
    import sys
    import time
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staged = tmp_path / f".{staged_name}.part-{p.pid}"
    deadline = time.monotonic() + 60
    kids: list[int] = []
    while p.poll() is None and time.monotonic() < deadline:
        try:
            kids = [int(k) for k in open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()]
            if len(kids) >= 2 and staged.stat().st_size > bytes_in:
                act(p, kids)
                break
        except (OSError, ValueError):
            pass
        kids = []
        time.sleep(0.001)
    stdout, stderr = p.communicate(timeout=60)
    return p, kids, stdout, stderr


def test_a_killed_worker_is_said_once_and_the_file_keeps_the_parts_written(tmp_path):
    """A worker killed mid-conversion (as the out-of-memory killer would): the conversion ends
    (no process waits for ever on the dead one), says it in one line with the signal and the
    messages not converted (not as damage to the bag), exits 3, and the file holds the parts
    written before, readable by the official reader."""
    import os
    import signal
    bag = rechunked(DATA / "bad/test_large_file.mcap", tmp_path / "large.mcap", chunk_size=32 << 10)
    out = tmp_path / "o.rrd"
    code = ("import sys; from rerun_ros.convert import convert, exit_code; "
            f"r = convert({str(bag)!r}, {str(out)!r}, jobs=2, segment_bytes=1, "
            "warn=lambda s: print('warning:', s, file=sys.stderr, flush=True)); "
            "print(r.failed_units, r.units, r.converted, exit_code(r))")

    def freeze_and_kill_one(p, kids):  # the first part is in the file: freeze both, kill one, go on
        for k in kids:
            os.kill(k, signal.SIGSTOP)
        os.kill(kids[0], signal.SIGKILL)
        os.kill(kids[1], signal.SIGCONT)

    p, workers, stdout, stderr = _when_written(code, "o.rrd", tmp_path, 64 << 10, freeze_and_kill_one)
    assert workers, "the conversion ended before a worker could be killed"
    failed, units, converted, status = map(int, stdout.split())
    died = [w for w in stderr.splitlines() if "a worker process died" in w]
    assert len(died) == 1 and "SIGKILL" in died[0] and "messages were not converted" in died[0], stdout + stderr
    assert "damage" not in stderr and "Traceback" not in stderr, stderr
    assert 0 < failed < units and status == 3 and 0 < converted < 50_000
    assert rerun_verify(out).returncode == 0
    with RrdReader(out) as r:
        got = sum(len(c) for c in r.iter_chunks() if c.entity_path == "/bulk/data" and not c.is_static)
    assert got == converted


def _gone(pid: int) -> bool:
    """The process has exited (no such process, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)
    except OSError:
        return True


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_stopped_conversion_leaves_no_worker_behind(how, tmp_path):
    """A conversion over two processes stopped from outside: on SIGTERM (``kill``, ``timeout``,
    a cancelled CI job) it stops its workers, removes its unfinished output and exits 143 with
    one line, as on Ctrl-C; killed outright (SIGKILL), its workers die with it instead of
    converting on into a file nobody keeps."""
    import os
    import signal
    import time
    bag = rechunked(DATA / "bad/test_large_file.mcap", tmp_path / "large.mcap", chunk_size=16 << 10)
    out = tmp_path / "o.rrd"
    code = ("import sys; from rerun_ros import cli; from rerun_ros.convert import convert\n"
            "cli._terminate_as_interrupt()\n"
            "try:\n"
            f"    convert({str(bag)!r}, {str(out)!r}, jobs=2, segment_bytes=1)\n"
            "except cli.Terminated:\n"
            "    print('terminated', file=sys.stderr); sys.exit(143)\n")
    p, kids, _, stderr = _when_written(code, "o.rrd", tmp_path, 16 << 10,
                                       lambda p, kids: p.send_signal(getattr(signal, how)))
    staged = tmp_path / f".o.rrd.part-{p.pid}"
    assert len(kids) >= 2, "the conversion ended before it could be stopped"
    end = time.monotonic() + 10
    while not all(_gone(k) for k in kids) and time.monotonic() < end:
        time.sleep(0.05)
    assert all(_gone(k) for k in kids), f"workers left running: {[k for k in kids if not _gone(k)]}"
    assert not out.exists()
    if how == "SIGTERM":
        assert p.returncode == 143 and stderr.strip().splitlines()[-1] == "terminated", stderr
        assert not staged.exists() and "Traceback" not in stderr
    else:  # its unfinished output is removed by the next conversion to that name, and said
        assert p.returncode == -9 and staged.exists()
        size, old = staged.stat().st_size, time.time() - 120
        os.utime(staged, (old, old))
        said: list[str] = []
        convert(bag, out, warn=said.append)
        assert not staged.exists() and rerun_verify(out).returncode == 0
        assert [w for w in said if "unfinished" in w] == \
            [f"{staged}: removed, the unfinished output ({size} bytes) of an earlier run that was killed"]
