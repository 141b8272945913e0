"""One robot clock per recording, one entity per TF child frame — on real runs.

- a Gazebo TurtleBot3 run recorded with ``/clock`` (``test/data/sim/walker``: sim time from 0,
  log times on the wall clock, 53.9 years apart);
- the same run recorded without ``/clock`` (its ``/clock`` rows deleted from the sqlite3 bag, as
  if ``ros2 bag record`` had not subscribed to it);
- an underwater field run whose stamps are 6 days behind its log and two of whose publishers
  leave their stamps unset (``test/data/field/SO_bag_0.mcap``).

Oracles are independent of the code under test: message counts, stamps and paths from the
``rosbags`` and ``mcap`` libraries, the clock rule re-derived here in a few lines, the official
reader for the files.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

import rerun_ros
from rerun_ros.convert import convert, exit_code
from rerun_ros.model.clock import OFFSET, SIM_CLOCK, SIM_OFFSET

from conftest import FIELD, ROOT, official_table, rerun_verify, run_cli

WALKER = ROOT / "test" / "data" / "sim" / "walker"
S = 10**9


def _rosbags_messages(path):
    """(topic, log ns, message) of every message rosbags can decode (standard types)."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS2_HUMBLE)
    out = []
    with AnyReader([Path(path)], default_typestore=ts) as r:
        for c, t, raw in r.messages():
            if c.msgtype in ts.types:
                out.append((c.topic, t, r.deserialize(raw, c.msgtype)))
    return out


def _ns(stamp) -> int:
    return stamp.sec * S + stamp.nanosec


def _without_clock(tmp_path) -> Path:
    """The walker run as if recorded without /clock: its rows deleted from a copy of the bag."""
    d = tmp_path / "noclock"
    d.mkdir()
    db = d / "bag_list_0.db3"
    shutil.copy(WALKER / "bag_list_0.db3", db)
    con = sqlite3.connect(db)
    (tid,) = con.execute("SELECT id FROM topics WHERE name = '/clock'").fetchone()
    con.execute("DELETE FROM messages WHERE topic_id = ?", (tid,))
    con.execute("DELETE FROM topics WHERE id = ?", (tid,))
    con.commit()
    con.close()
    return db


def _temporal_times(rec) -> dict[str, np.ndarray]:
    out = {}
    for c in rec.store.chunks():
        if not c.is_static and "ros_time" in c.timelines:
            out.setdefault(c.entity_path, []).append(c.timelines["ros_time"][1])
    return {e: np.concatenate(v) for e, v in out.items()}


@pytest.fixture(scope="module")
def walker(tmp_path_factory):
    out = tmp_path_factory.mktemp("walker") / "walker.rrd"
    return convert(WALKER, out), out


def test_sim_run_with_clock_is_on_sim_time(walker):
    report, out = walker
    assert rerun_verify(out).returncode == 0
    assert report.clock["kind"] == SIM_CLOCK, report.clock
    msgs = _rosbags_messages(WALKER)
    clock = np.array([_ns(m.clock) for t, _, m in msgs if t == "/clock"])
    logs = np.array([lt for _, lt, _ in msgs])
    # the run's span on its robot clock: /clock's, and the log's ends mapped at the log's pace
    lo = clock.min() - (min(lt for t, lt, _ in msgs if t == "/clock") - logs.min()) - S // 10
    hi = clock.max() + (logs.max() - max(lt for t, lt, _ in msgs if t == "/clock")) + S // 10
    rec = rerun_ros.open(out)
    for e, t in _temporal_times(rec).items():
        assert ((t >= lo) & (t <= hi)).all(), (e, t.min(), t.max(), lo, hi)
    # rows with a header keep their stamp exactly
    imu = sorted(_ns(m.header.stamp) for t, _, m in msgs if t == "/imu")
    got = rec.store.range("/imu", "ros_time", -2**62, 2**62, "sensor_msgs.msg.Imu:message", include_latest_at=False)
    assert sorted(got.times.tolist()) == imu
    # /rosout's stamps are the wall clock (rcutils' system time): named, placed by log time
    names = {o["source"] for o in report.clock["off_clock"]}
    assert "/rosout" in names and "/imu" not in names and "/odom" not in names
    # info says which clock
    p = run_cli("info", out)
    assert "ros_time is the robot clock: sim time from /clock" in p.stdout
    assert json.loads(run_cli("info", out, "--json").stdout)["clock"]["kind"] == SIM_CLOCK


def test_sim_run_without_clock_is_on_sim_time_from_header_stamps(tmp_path):
    bag = _without_clock(tmp_path)
    out = tmp_path / "nc.rrd"
    report = convert(bag, out)
    assert exit_code(report) in (0, 3)  # (/performance_metrics: a Gazebo type no recording defines)
    assert report.clock["kind"] == SIM_OFFSET, report.clock
    assert report.clock["offset_s"] == pytest.approx(-1701306089.9, abs=0.5)
    msgs = _rosbags_messages(bag)
    stamps = np.array([_ns(m.header.stamp) for _, _, m in msgs if hasattr(m, "header")
                       and _ns(m.header.stamp) < 10**6 * S])  # the sim-time stamps
    rec = rerun_ros.open(out)
    lo, hi = stamps.min() - 2 * S, stamps.max() + 2 * S
    for e, t in _temporal_times(rec).items():
        assert ((t >= lo) & (t <= hi)).all(), (e, t.min(), t.max())
    # a headerless topic lands where the sim was when it was logged: each /cmd_vel row within
    # 0.2 s of the sim time of the odometry logged next to it
    odo = sorted((lt, _ns(m.header.stamp)) for t, lt, m in msgs if t == "/odom")
    ol, os_ = np.array([a for a, _ in odo]), np.array([b for _, b in odo])
    cmd_log = np.array(sorted(lt for t, lt, _ in msgs if t == "/cmd_vel"))
    cmd = rec.store.range("/cmd_vel", "ros_time", -2**62, 2**62, "geometry_msgs.msg.Twist:message",
                          include_latest_at=False).times
    inside = (cmd_log > ol[0]) & (cmd_log < ol[-1])
    expect = np.interp(cmd_log, ol, os_)
    assert np.abs(np.sort(cmd)[inside] - expect[inside]).max() < 0.2 * S


def test_tf_one_entity_per_child_frame_keeps_every_transform(walker):
    _, out = walker
    msgs = _rosbags_messages(WALKER)
    want: dict[str, set] = {}
    n_msgs = 0
    for t, _, m in msgs:
        if t == "/tf":
            n_msgs += 1
            for tr in m.transforms:
                want.setdefault(tr.child_frame_id, set()).add(_ns(tr.header.stamp))
    rec = rerun_ros.open(out)
    df = rec.dataframe("ros_time", entities="/tf/**")
    for child, stamps in want.items():
        col = df.column(f"/tf/{child}:Transform3D:translation")
        times = df.column("ros_time").cast("int64").to_numpy()
        got = {int(times[i]) for i, v in enumerate(col.to_pylist()) if v}
        assert got == stamps, child
    # every TFMessage whole, once, on the row of its first transform; no struct-only rows
    n = sum(1 for c in rec.store.chunks() if c.entity_path.startswith("/tf/")
            for d, col in c.components.items() if d.field == "message" for v in col.to_pylist() if v)
    assert n == n_msgs and not rec.store.chunks("/tf")
    # the official reader reads the layout
    t = official_table(out, "/tf/base_footprint")
    assert t.num_rows == len(want["base_footprint"])


def _field_oracle():
    """(topic, expected ros_time) of every message of the field run, by the clock rule applied
    here from the mcap library's decoding: the header (or Log) stamp when set and within 10 s of the
    clock (log time + the offset most topics agree on), else log time + that offset."""
    rows = []
    with open(FIELD, "rb") as f:
        for _s, ch, m, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            st = None
            if hasattr(msg, "header"):
                st = _ns(msg.header.stamp)
            elif hasattr(msg, "stamp"):  # rcl_interfaces/Log
                st = _ns(msg.stamp)
            elif hasattr(msg, "transforms") and msg.transforms:
                st = _ns(msg.transforms[0].header.stamp)
            if ch.topic.endswith("tf_static"):
                st = None  # latched: placed by log time
            rows.append((ch.topic, m.log_time, st))
    per: dict[str, list] = {}
    for topic, lt, st in rows:
        if st:
            per.setdefault(topic, []).append(st - lt)
    med = Counter(round(np.median(v) / S) for v in per.values()).most_common(1)[0][0] * S
    off = int(np.median([d for v in per.values() for d in v if abs(d - med) < 10 * S]))
    out = []
    for topic, lt, st in rows:
        robot = lt + off
        out.append((topic, st if st and abs(st - robot) <= 10 * S else robot))
    return out, off


def test_field_run_filter_and_query_keep_every_message_of_a_window(tmp_path):
    rrd = tmp_path / "field.rrd"
    report = convert(FIELD, rrd)
    assert exit_code(report) == 0
    assert report.clock["kind"] == OFFSET
    oracle, off = _field_oracle()
    assert report.clock["offset_s"] == pytest.approx(off / S, abs=0.01)
    off_names = {o["source"] for o in report.clock["off_clock"]}
    assert {"/coug2/battery/data", "/coug2/modem_imu"} <= off_names  # stamps left unset
    first = min(t for _, t in oracle)
    lo, hi = first + 5 * S, first + 15 * S
    want = Counter(topic for topic, t in oracle if lo <= t <= hi)
    assert want["/coug2/battery/data"] > 50 and want["/tf"] > 50 and want["/coug2/modem_imu"] > 50
    cut = tmp_path / "cut.rrd"
    p = run_cli("filter", rrd, "-o", cut, "--start", "5", "--end", "15")
    assert p.returncode == 0, p.stderr
    got = Counter()
    for c in rerun_ros.open(cut).store.chunks():
        if c.is_static or "ros_time" not in c.timelines:
            continue
        t = c.timelines["ros_time"][1]
        for d, col in c.components.items():
            if d.field == "message" and "." in d.archetype:
                ok = np.asarray(col.is_valid()) & (t >= lo) & (t <= hi)
                topic = "/tf" if c.entity_path.startswith("/tf/") else (
                    "/tf_static" if c.entity_path.startswith("/tf_static/") else c.entity_path)
                got[topic] += int(ok.sum())
    assert got == want
    # query: a one-second window of the battery (whose stamps are unset) is not empty
    q = run_cli("query", rrd, "--entity", "/coug2/battery/data", "--start", "12", "--end", "13", "--format", "json")
    assert q.returncode == 0, q.stderr
    n = sum(1 for topic, t in oracle if topic == "/coug2/battery/data" and first + 12 * S <= t <= first + 13 * S)
    assert n > 5 and len(json.loads(q.stdout)) == n


def test_convert_start_end_on_the_robot_clock(tmp_path):
    oracle, _ = _field_oracle()
    first = min(t for _, t in oracle)
    out = tmp_path / "w.rrd"
    report = convert(FIELD, out, start="5", end="15")
    want = Counter(topic for topic, t in oracle if first + 5 * S <= t <= first + 15 * S)
    assert sum(t.messages for t in report.topics) == sum(want.values())
    assert {t.topic: t.messages for t in report.topics if t.messages} == dict(want)


def test_report_stale_tf_on_the_robot_clock(walker, tmp_path):
    _, out = walker
    p = run_cli("report", out, "-o", tmp_path / "ok", "--no-snapshots", "--fail-on", "stale_tf")
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads((tmp_path / "ok" / "report.json").read_text())
    by = {t["entity"]: t for t in rep["topics"]}
    # a topic's rate counts messages (a TFMessage once), not transforms
    n_tf = sum(1 for t, _, _ in _rosbags_messages(WALKER) if t == "/tf")
    assert by["/tf"]["rows"] == n_tf
    # latency needs the log and the stamps on one clock: not for a sim run
    assert by["/imu"]["latency_ms_p50"] is None
    # the same run with odom -> base_footprint cut after its 10th second: the rule fires
    d = tmp_path / "cut"
    d.mkdir()
    db = d / "bag_list_0.db3"
    shutil.copy(WALKER / "bag_list_0.db3", db)
    msgs = [(lt, m) for t, lt, m in _rosbags_messages(WALKER) if t == "/tf"]
    t_cut = msgs[0][0] + 10 * S
    drop = [lt for lt, m in msgs if lt > t_cut and any(x.child_frame_id == "base_footprint" for x in m.transforms)]
    con = sqlite3.connect(db)
    (tid,) = con.execute("SELECT id FROM topics WHERE name = '/tf'").fetchone()
    con.executemany("DELETE FROM messages WHERE topic_id = ? AND timestamp = ?", [(tid, t) for t in drop])
    con.commit()
    con.close()
    rrd = tmp_path / "cut.rrd"
    convert(d, rrd)
    p = run_cli("report", rrd, "-o", tmp_path / "bad", "--no-snapshots", "--fail-on", "stale_tf")
    assert p.returncode == 4, p.stdout + p.stderr
    rep = json.loads((tmp_path / "bad" / "report.json").read_text())
    stale = [f["entity"] for f in rep["findings"] if f["kind"] == "stale_tf"]
    assert stale == ["base_footprint"]


def test_catalog_distance_and_robot_on_real_runs(walker, tmp_path):
    from rerun_ros.fleet.inputs import BagInput
    from rerun_ros.fleet.runs import process_bag
    for bag, topic, robot in ((WALKER, "/odom", ""), (FIELD, "/coug2/dvl/dead_reckoning", "coug2")):
        pos = np.array([[m.pose.pose.position.x, m.pose.pose.position.y, m.pose.pose.position.z]
                        for t, _, m in _rosbags_messages(bag) if t == topic])
        pos = pos[np.isfinite(pos).all(axis=1)]
        path = float(np.linalg.norm(np.diff(pos, axis=0), axis=1).sum())
        res = process_bag(BagInput(str(bag), bag.stem, 1), str(tmp_path / bag.stem))
        assert res.status in ("ok", "partial"), res.reason
        assert res.run["distance_m"] == pytest.approx(path, rel=0.02), res.run
        assert res.run["motion_source"].endswith(topic)
        assert res.run["robot"] == robot


def test_mcap_metadata_kept_as_the_official_converter_keeps_it(tmp_path):
    out = tmp_path / "f.rrd"
    convert(FIELD, out)
    t = official_table(out, "/__mcap_metadata", index=None)
    assert t.column("/__mcap_metadata:rosbag2").to_pylist() == [[[{"first": "ROS_DISTRO", "second": "humble"}]]]


def test_raw_stamps_equal_the_decoded_ones_on_real_bags():
    """The clock is found from stamps read straight from the bytes; they must be the stamps."""
    from rerun_ros.cdr import decoder_for
    from rerun_ros.cdr.stamps import raw_stamps, stamp_offset
    from rerun_ros.sources import open_bag
    checked = set()
    for bag in (FIELD, WALKER, ROOT / "rerun_ros" / "data" / "demo_sensors.mcap"):
        src = open_bag(bag)
        for b in src.batches():
            ch = b.channel
            try:
                dec = decoder_for(ch.type_name, ch.schema_encoding, ch.schema_text, src.distro)
            except Exception:  # noqa: BLE001 - types no recording defines
                continue
            at = stamp_offset(dec.arrow_type)
            if at is None or not len(b):
                continue
            d = dec.decode(b.buf, b.offsets, b.lengths).array
            path = "transforms" if at == 8 else ("header.stamp" if d.type[0].name == "header" else d.type[0].name)
            if at == 8:
                first = [x[0]["header"]["stamp"] if x else None for x in d.field("transforms").to_pylist()]
            else:
                first = d
                for part in path.split("."):
                    first = first.field(part)
                first = first.to_pylist()
            want = [0 if s is None else s["sec"] * S + s["nanosec"] for s in first]
            assert raw_stamps(b.buf, b.offsets, b.lengths, at).tolist() == want, ch.topic
            checked.add(ch.type_name)
    assert {"tf2_msgs/msg/TFMessage", "sensor_msgs/msg/Imu", "rosgraph_msgs/msg/Clock",
            "nav_msgs/msg/Odometry"} <= {t.replace("msg/", "msg/") for t in checked}
