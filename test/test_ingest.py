"""The columnar ingest on real bags: raw batches from the sources, the compiled CDR→Arrow decoder
against mcap-ros2-support (the oracle), lossless struct columns read back by the official reader,
definitions recorded by older distributions, rosbag2 compression, and honest exits on damage."""
from __future__ import annotations

import shutil
import sqlite3
import struct
from collections import Counter
from pathlib import Path

import pytest
from mcap.reader import make_reader
from mcap.records import Schema
from mcap_ros2.decoder import DecoderFactory

from conftest import BAD, DATA, FIELD, LIDAR, MARKERS, SENSORS, header, nan_safe, official_table, rerun_verify
from rerun_ros.cdr import decoder_for
from rerun_ros.convert import convert, exit_code
from rerun_ros.sources import open_bag

MCAP_BAGS = [SENSORS, FIELD, LIDAR, MARKERS, DATA / "types94" / "test_bag_mcap", DATA / "compressed" / "soccer_goal",
             BAD / "test_large_file.mcap", BAD / "test_publish_vs_log_time.mcap", BAD / "test_empty_channel.mcap",
             BAD / "rosbag2_2025_09_15-00_42_20_0.mcap", BAD / "test_bad_schema.mcap"]


def _oracle_value(v):
    """mcap_ros2's decoded message as plain Python (bytes as lists of ints, NaN marked)."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return list(bytes(v))
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, (list, tuple)):
        return [_oracle_value(x) for x in v]
    if hasattr(v, "__slots__"):
        return {k: _oracle_value(getattr(v, k)) for k in v.__slots__}
    return v


def _reference_counts(bag: Path) -> Counter:
    files = [bag] if bag.is_file() else sorted(bag.glob("*.mcap"))
    n: Counter = Counter()
    for f in files:
        with open(f, "rb") as fh:
            for _, ch, _ in make_reader(fh).iter_messages():
                n[ch.topic] += 1
    return n


@pytest.mark.parametrize("bag", MCAP_BAGS, ids=lambda p: p.name)
def test_batches_hold_every_message_and_decode_as_mcap_ros2(bag):
    """Every message of every bundled MCAP bag arrives in a raw batch (counts per topic equal the
    mcap library's), and every one the oracle decodes is decoded to the same values."""
    src = open_bag(bag)
    got: Counter = Counter()
    oracle = DecoderFactory()
    checked = 0
    for b in src.batches():
        got[b.channel.topic] += len(b)
        ch = b.channel
        if ch.message_encoding != "cdr" or not ch.type_name:
            continue
        try:
            dec = decoder_for(ch.type_name, ch.schema_encoding, ch.schema_text)
        except ValueError:
            continue  # the garbage schema of test_bad_schema.mcap: reported by convert
        res = dec.decode(b.buf, b.offsets, b.lengths)
        rows = res.array.to_pylist()
        ref = oracle.decoder_for("cdr", Schema(id=ch.id, name=ch.type_name, encoding=ch.schema_encoding, data=ch.schema_text.encode()))
        for i in range(len(b)):
            want = _oracle_value(ref(b.payload(i)))
            assert res.ok[i], (ch.topic, res.first_error)
            assert nan_safe(rows[i]) == want, (bag.name, ch.topic, i)
            checked += 1
    assert got == _reference_counts(bag)
    assert checked > 0


def test_custom_types_are_kept_whole_for_the_official_reader(tmp_path):
    """The field run's 10 topics of custom types (dvl_msgs, frost_interfaces, seatrac_interfaces,
    gps_msgs) are every message, every field, as the official reader reads them back."""
    out = tmp_path / "f.rrd"
    r = convert(FIELD, out)
    assert exit_code(r) == 0 and rerun_verify(out).returncode == 0
    custom = [t for t in r.topics if t.type_name.split("/")[0] in
              ("dvl_msgs", "frost_interfaces", "seatrac_interfaces", "gps_msgs")]
    assert len(custom) == 10 and sum(t.converted for t in custom) == sum(t.messages for t in custom) == 894
    fac = DecoderFactory()
    with open(FIELD, "rb") as f:
        ref = [(ch.topic, _oracle_value(fac.decoder_for("cdr", s)(m.data)))
               for s, ch, m in make_reader(f).iter_messages(topics=[t.topic for t in custom])]
    for t in custom:
        col = f"{t.topic}:{t.type_name.replace('/', '.')}:message"
        rows = official_table(out, t.topic, index="log_time").column(col).to_pylist()
        assert [nan_safe(x[0]) for x in rows] == [v for topic, v in ref if topic == t.topic], t.topic
    dvl = official_table(out, "/coug2/dvl/data", index="log_time")
    alt = [x[0]["altitude"] for x in dvl.column("/coug2/dvl/data:dvl_msgs.msg.DVL:message").to_pylist()]
    assert len(alt) == 143 and all(a > 0 for a in alt)


def test_no_fix_and_nan_rows_are_kept(tmp_path):
    """NavSatFix without a fix (NaN latitude) and Odometry with a NaN position keep their rows;
    only what cannot be drawn (the geo point, the arrow) is absent."""
    out = tmp_path / "f.rrd"
    convert(FIELD, out)
    fix = official_table(out, "/coug2/fix", index="log_time")
    msgs = [x[0] for x in fix.column("/coug2/fix:sensor_msgs.msg.NavSatFix:message").to_pylist()]
    assert len(msgs) == 29
    finite = [m["latitude"] == m["latitude"] for m in msgs]
    geo = fix.column("/coug2/fix:GeoPoints:positions").to_pylist()
    assert [g is not None for g in geo] == finite and not all(finite)
    assert all(s is not None for s in fix.column("/coug2/fix:Scalars:scalars").to_pylist())  # altitude, status...
    odom = official_table(out, "/coug2/odom", index="log_time")
    poses = [x[0]["pose"]["pose"]["position"]["x"] for x in
             odom.column("/coug2/odom:nav_msgs.msg.Odometry:message").to_pylist()]
    assert len(poses) == 3 and any(p != p for p in poses)
    arrows = odom.column("/coug2/odom:Arrows3D:vectors").to_pylist() if "/coug2/odom:Arrows3D:vectors" in \
        odom.column_names else [None] * 3
    assert [a is None for a in arrows] == [p != p for p in poses]


def test_imu_orientation_and_joint_state_velocity_effort(tmp_path):
    out = tmp_path / "s.rrd"
    convert(SENSORS, out)
    fac = DecoderFactory()
    with open(SENSORS, "rb") as f:
        js = [fac.decoder_for("cdr", s)(m.data) for s, _, m in make_reader(f).iter_messages(topics=["/joint_state"])]
    t = official_table(out, "/joint_state", index="log_time")
    assert [v for v in t.column("/joint_state:Scalars:scalars").to_pylist()] == [list(m.position) for m in js]
    for part, field in (("velocity", "velocity"), ("effort", "effort")):
        if any(len(getattr(m, field)) for m in js):
            v = official_table(out, f"/joint_state/{part}", index="log_time").column(
                f"/joint_state/{part}:Scalars:scalars").to_pylist()
            assert [x for x in v if x] == [list(getattr(m, field)) for m in js if len(getattr(m, field))]
    imu = official_table(out, "/imu", index="log_time").column("/imu:Scalars:scalars").to_pylist()
    assert all(len(v) == 9 for v in imu)  # accel 3, gyro 3, roll/pitch/yaw


@pytest.mark.parametrize("arms", [[["shoulder", "elbow"], ["left_wheel", "right_wheel", "caster"]],
                                  [["arm_1", "arm_2"], ["leg_1", "leg_2"]]], ids=["other-shape", "same-shape"])
def test_joint_states_of_two_publishers_keep_their_own_names(bag_builder, tmp_path, arms):
    """Two publishers on one topic with different joints (other counts and lengths, or the same
    count and byte lengths): every row is labelled with its own message's joint names (latest-at
    of SeriesLines:names at the row's time)."""
    b = bag_builder()
    t0 = 1_757_502_238_000_000_000
    for i in range(40):
        names = arms[i % 2] if i < 20 else arms[(i // 3) % 2]
        b.write("/joint_states", "sensor_msgs/msg/JointState",
                {"header": header(t0 + i * 10**7, ""), "name": names, "position": [float(i)] * len(names),
                 "velocity": [], "effort": []}, t0 + i * 10**7)
    b.close()
    out = tmp_path / "j.rrd"
    convert(b.path, out)
    from rerun_ros.store.open import open_source
    store = open_source(out).store
    for i in range(40):
        want = arms[i % 2] if i < 20 else arms[(i // 3) % 2]
        la = store.latest_at("/joint_states", "log_time", t0 + i * 10**7)
        assert la["SeriesLines:names"].values.to_pylist() == want, i
        assert la["Scalars:scalars"].values.to_numpy().tolist() == [float(i)] * len(want)


def _strip_definitions(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    db = next(dst.glob("*.db3"))
    db.chmod(0o644)
    c = sqlite3.connect(db)
    c.execute("drop table message_definitions")
    c.commit()
    c.close()
    return dst


def test_db3_decoded_with_its_own_older_definitions(tmp_path):
    """The sqlite3 bag's sensor_msgs/Range is the pre-Jazzy definition (no ``variance``): it is
    decoded with the definition stored in the bag, not today's; with those definitions removed,
    the distribution whose definition the bytes fit is chosen, and said so."""
    from rosbags.typesys import Stores, get_typestore
    bag = DATA / "types94" / "test_bag_sqlite3"
    humble = get_typestore(Stores.ROS2_HUMBLE)
    c = sqlite3.connect(f"file:{next(bag.glob('*.db3'))}?mode=ro", uri=True)
    (tid,) = c.execute("select id from topics where type = 'sensor_msgs/msg/Range'").fetchone()
    raws = [d for (d,) in c.execute("select data from messages where topic_id=? order by timestamp", (tid,))]
    want = [humble.deserialize_cdr(d, "sensor_msgs/msg/Range") for d in raws]
    for path, expect_note in ((bag, False), (_strip_definitions(bag, tmp_path / "nodefs"), True)):
        out = tmp_path / f"{path.name}.rrd"
        warnings: list = []
        r = convert(path, out, warn=warnings.append)
        rng = next(t for t in r.topics if t.type_name == "sensor_msgs/msg/Range")
        assert rng.converted == 2 and not rng.skipped, (rng, warnings)
        rows = [x[0] for x in official_table(out, "/test/sensor_msgs/range", index="log_time").column(
            "/test/sensor_msgs/range:sensor_msgs.msg.Range:message").to_pylist()]
        assert [set(x) for x in rows] == [{"header", "radiation_type", "field_of_view", "min_range", "max_range",
                                          "range"}] * 2
        assert [x["range"] for x in rows] == pytest.approx([m.range for m in want])
        noted = any("sensor_msgs/msg/Range" in w and "definition" in w and "fit" in w for w in warnings)
        assert noted == expect_note, warnings
        assert exit_code(r) in (0, 3)  # the bag's deliberately short Image is reported, not fatal


@pytest.mark.parametrize("mode", ["FILE", "MESSAGE"])
@pytest.mark.parametrize("storage", ["MCAP", "SQLITE3"])
def test_zstd_compressed_rosbag2_directories(tmp_path, mode, storage):
    """rosbag2 directories written by rosbags with zstd file and message compression, from the
    field run's messages: the conversion equals that of the uncompressed recording."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.rosbag2.writer import CompressionFormat, CompressionMode
    bag = tmp_path / f"bag_{mode}_{storage}"
    w = Writer(bag, version=8, storage_plugin=getattr(StoragePlugin, storage))
    w.set_compression(getattr(CompressionMode, mode), CompressionFormat.ZSTD)
    w.open()
    conns = {}
    topics = ["/coug2/modem_imu", "/coug2/dvl/data", "/tf", "/coug2/fix"]
    with open(FIELD, "rb") as f:
        for s, ch, m in make_reader(f).iter_messages(topics=topics):
            if ch.topic not in conns:
                conns[ch.topic] = w.add_connection(ch.topic, s.name, msgdef=s.data.decode(), rihs01="RIHS01_" + "0" * 64)
            w.write(conns[ch.topic], m.log_time, m.data)
    w.close()
    suffix = {"MCAP": ".mcap", "SQLITE3": ".db3"}[storage]
    assert any(p.name.endswith(suffix + (".zstd" if mode == "FILE" else "")) for p in bag.iterdir())
    warnings: list = []
    r = convert(bag, tmp_path / "c.rrd", warn=warnings.append)
    assert exit_code(r) == 0 and not warnings, warnings
    ref = convert(FIELD, tmp_path / "ref.rrd", include=[f"^{t}$" for t in topics])
    assert {t.topic: t.converted for t in r.topics} == {t.topic: t.converted for t in ref.topics}
    for topic in topics:
        a = official_table(tmp_path / "c.rrd", topic, index="log_time")
        b = official_table(tmp_path / "ref.rrd", topic, index="log_time")
        for col in b.column_names:
            if col.endswith(":message") or col.endswith("Scalars:scalars") or col.endswith("translation"):
                assert nan_safe(a.column(col).to_pylist()) == nan_safe(b.column(col).to_pylist()), (topic, col)


def _message_records(path: Path) -> list[tuple[int, int]]:
    """(file offset, record length) of every message record in an uncompressed-chunk MCAP."""
    out = []
    with open(path, "rb") as f:
        r = make_reader(f)
        s = r.get_summary()
        data = path.read_bytes()
        for ci in s.chunk_indexes:
            p = ci.chunk_start_offset + 9 + 8 * 3 + 4
            n = struct.unpack_from("<I", data, p)[0]
            p += 4 + n + 8  # compression name, records length
            end = ci.chunk_start_offset + ci.chunk_length
            while p < end:
                op, ln = data[p], struct.unpack_from("<Q", data, p + 1)[0]
                if op == 5:
                    out.append((p, ln))
                p += 9 + ln
    return out


def test_damaged_record_length_is_reported_and_the_rest_kept(tmp_path):
    """A message record whose length runs past its chunk: exit 3, a warning naming the file, and
    every other message kept (the file's statistics and message indexes are compared with)."""
    recs = _message_records(MARKERS)
    off, ln = recs[len(recs) // 2]
    data = bytearray(MARKERS.read_bytes())
    struct.pack_into("<Q", data, off + 1, ln + 10_000)
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    warnings: list = []
    r = convert(bad, tmp_path / "b.rrd", warn=warnings.append)
    assert exit_code(r) == 3 and r.damaged
    assert r.converted == len(recs) - 1, warnings
    assert any("bad.mcap" in w and "damaged" in w for w in warnings), warnings
    assert any("117 of the 118 messages" in w for w in warnings), warnings
    # a length into the next record (still inside the chunk) is caught the same way
    struct.pack_into("<Q", data, off + 1, ln + 40)
    bad.write_bytes(bytes(data))
    r = convert(bad, tmp_path / "b2.rrd")
    assert exit_code(r) == 3 and r.converted == len(recs) - 1


def test_crash_truncated_uncompressed_chunk_keeps_whole_messages(tmp_path):
    """A recorder killed in the middle of an uncompressed chunk (rosbag2's default): every whole
    message before the cut is converted, exit 3 with a warning."""
    recs = _message_records(FIELD)
    cut_at = recs[len(recs) // 2][0] + 20  # inside a record
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(FIELD.read_bytes()[:cut_at])
    warnings: list = []
    out = tmp_path / "cut.rrd"
    r = convert(cut, out, warn=warnings.append)
    assert exit_code(r) == 3 and r.damaged
    assert r.converted == len(recs) // 2, (r.converted, warnings)
    assert any("cut.mcap" in w and "cut short" in w for w in warnings), warnings
    assert rerun_verify(out).returncode == 0
