"""Bag → .rrd conversion on real recordings, checked with the official Rerun 0.41 reader."""
from __future__ import annotations

import json

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import BAD, DATA, FIELD, LIDAR, SENSORS, header, official_table, rerun_verify, run_cli
from rerun_ros.convert import convert, exit_code
from rerun_ros.rrd.reader import read_chunks
from rerun_ros.store.chunk_store import ChunkStore


def decoded(path, topic):
    with open(path, "rb") as f:
        for _, ch, m, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages(topics=[topic]):
            yield m, msg


def ns(stamp):
    return stamp.sec * 10**9 + stamp.nanosec


@pytest.fixture(scope="module")
def sensors_rrd(tmp_path_factory):
    out = tmp_path_factory.mktemp("conv") / "sensors.rrd"
    report = convert(SENSORS, out)
    return out, report


def test_sensors_bag_verifies_and_reports(sensors_rrd):
    out, report = sensors_rrd
    assert rerun_verify(out).returncode == 0
    assert report.messages == 194 and exit_code(report) == 0
    by_topic = {t.topic: t for t in report.topics}
    assert by_topic["/rosout"].converted == 117
    # a type without a visual mapper is kept whole as its struct column
    assert by_topic["/point_field"].unsupported and by_topic["/point_field"].converted == 1
    assert by_topic["/image"].archetypes.startswith("Image")


def test_image_bytes_and_format_equal_source(sensors_rrd):
    out, _ = sensors_rrd
    m, msg = next(decoded(SENSORS, "/image"))
    t = official_table(out, "/image")
    assert bytes(t.column("/image:Image:buffer").to_pylist()[0][0]) == bytes(msg.data)
    fmt = t.column("/image:Image:format").to_pylist()[0][0]
    assert (fmt["width"], fmt["height"], fmt["color_model"], fmt["channel_datatype"]) == (640, 480, 2, 6)
    assert t.column("/image:CoordinateFrame:frame").to_pylist()[0] == [msg.header.frame_id]
    assert t.column("ros_time").cast("int64").to_pylist()[0] == ns(msg.header.stamp)
    lt = official_table(out, "/image", index="log_time")
    assert lt.column("log_time").cast("int64").to_pylist()[0] == m.log_time


def test_pointcloud_laserscan_compressed_camera_info(sensors_rrd):
    out, _ = sensors_rrd
    _, msg = next(decoded(SENSORS, "/point_cloud2"))
    raw = np.frombuffer(msg.data, dtype=np.float32).reshape(-1, 4)
    pts = np.array(official_table(out, "/point_cloud2").column("/point_cloud2:Points3D:positions").to_pylist()[0])
    np.testing.assert_array_equal(pts, raw[:, :3])
    _, scan = next(decoded(SENSORS, "/laser_scan"))
    got = np.array(official_table(out, "/laser_scan").column("/laser_scan:Points3D:positions").to_pylist()[0])
    r = np.array(scan.ranges, np.float32)
    ang = scan.angle_min + np.arange(len(r)) * scan.angle_increment
    np.testing.assert_allclose(got[:, 0], r * np.cos(ang), atol=1e-5)
    np.testing.assert_allclose(got[:, 1], r * np.sin(ang), atol=1e-5)
    _, ci = next(decoded(SENSORS, "/compressed_image"))
    t = official_table(out, "/compressed_image")
    assert bytes(t.column("/compressed_image:EncodedImage:blob").to_pylist()[0][0]) == bytes(ci.data)
    assert t.column("/compressed_image:EncodedImage:media_type").to_pylist()[0] == ["image/jpeg"]
    _, cam = next(decoded(SENSORS, "/camera_info"))
    k = official_table(out, "/camera_info").column("/camera_info:Pinhole:image_from_camera").to_pylist()[0][0]
    np.testing.assert_allclose(np.array(k).reshape(3, 3).T, np.array(cam.k).reshape(3, 3))


def test_rosout_levels_and_scalars(sensors_rrd):
    out, _ = sensors_rrd
    msgs = [msg for _, msg in decoded(SENSORS, "/rosout")]
    t = official_table(out, "/rosout")
    assert len(t) == len(msgs) == 117
    levels = {10: "DEBUG", 20: "INFO", 30: "WARN", 40: "ERROR", 50: "CRITICAL"}
    got = sorted(zip(t.column("ros_time").cast("int64").to_pylist(), t.column("/rosout:TextLog:level").to_pylist()))
    want = sorted((ns(m.stamp), [levels[m.level]]) for m in msgs)
    assert got == want
    bat = [msg for _, msg in decoded(SENSORS, "/battery_state")]
    # all ten share one header.stamp (a dataframe row per index value), so index by log_time
    vals = official_table(out, "/battery_state", index="log_time").column("/battery_state:Scalars:scalars").to_pylist()
    assert [v[0] for v in vals] == pytest.approx([b.voltage for b in bat])


def test_field_bag_tf_static_and_dynamic(tmp_path):
    out = tmp_path / "field.rrd"
    report = convert(FIELD, out)
    assert rerun_verify(out).returncode == 0
    assert exit_code(report) == 0, report.warnings
    chunks, _ = read_chunks(out)
    store = ChunkStore.from_chunks(chunks)
    tfs = [msg for _, msg in decoded(FIELD, "/tf_static")][0].transforms
    # one entity per child frame: /tf_static/<child>, static
    st = [c for c in store.chunks() if c.entity_path.startswith("/tf_static/") and c.is_static]
    assert sorted(c.entity_path for c in st) == sorted(f"/tf_static/{t.child_frame_id}" for t in tfs)
    assert sum(len(c) for c in st) == len(tfs)
    dyn = [msg for _, msg in decoded(FIELD, "/tf")]
    tf_chunks = [c for c in store.chunks() if c.entity_path.startswith("/tf/")]
    n_rows = sum(len(c) - c.component("Transform3D:translation")[1].null_count
                 for c in tf_chunks if c.component("Transform3D:translation"))
    assert n_rows == sum(len(m.transforms) for m in dyn)
    # and every TFMessage whole, as its struct column, on the row of its first transform
    n_msgs = sum(len(c) - c.component("tf2_msgs.msg.TFMessage:message")[1].null_count
                 for c in tf_chunks if c.component("tf2_msgs.msg.TFMessage:message"))
    assert n_msgs == len(dyn)
    assert not store.chunks("/tf")  # no struct-only rows
    last = dyn[-1].transforms[-1]
    la = store.latest_at(f"/tf/{last.child_frame_id}", "ros_time", ns(last.header.stamp))
    tr = la["Transform3D:translation"].values.flatten().to_numpy()
    np.testing.assert_allclose(tr, [last.transform.translation.x, last.transform.translation.y,
                                    last.transform.translation.z], rtol=1e-6)
    assert la["Transform3D:child_frame"].to_numpy().tolist() == [last.child_frame_id]
    # custom message types with embedded schemas are kept whole (struct columns), not errors
    dvl = next(t for t in report.topics if t.type_name.startswith("dvl_msgs"))
    assert dvl.unsupported and dvl.converted == dvl.messages > 0 and not dvl.skipped


def test_lidar_bag_relative_topics_and_zero_log_time(tmp_path):
    out = tmp_path / "lidar.rrd"
    report = convert(LIDAR, out)
    assert exit_code(report) == 0 and rerun_verify(out).returncode == 0
    chunks, _ = read_chunks(out)
    assert {c.entity_path for c in chunks} == {"/cloud_1", "/cloud_2", "/cloud_3", "/__properties/ros_clock",
                                               "/__mcap_metadata"}
    c = next(c for c in chunks if c.entity_path == "/cloud_1" and c.component("Points3D:positions"))
    assert len(c.component("Points3D:positions")[1][0].values) == 80256
    # the cloud's bytes are carried by Points3D only, not a second time in the struct column
    msg_type = c.component("sensor_msgs.msg.PointCloud2:message")[1].type.value_type
    assert "data" not in [f.name for f in msg_type] and "fields" in [f.name for f in msg_type]


def test_include_exclude_and_time_window(tmp_path):
    out = tmp_path / "f.rrd"
    r = convert(SENSORS, out, include=["^/rosout$", "battery"], exclude=["battery"])
    assert {t.topic for t in r.topics} == {"/rosout"}
    r2 = convert(SENSORS, tmp_path / "w.rrd", include=["^/rosout$"], start="1", end="2")
    assert 0 < r2.converted < 117
    with open(SENSORS, "rb") as f:
        start = make_reader(f).get_summary().statistics.message_start_time
    for c in read_chunks(tmp_path / "w.rrd")[0]:
        if "log_time" in c.timelines:
            t = c.timelines["log_time"][1]
            assert t.min() >= start + 10**9 and t.max() <= start + 2 * 10**9


def test_malformed_messages_are_skipped_with_reasons(bag_builder, tmp_path):
    b = bag_builder()
    t0 = 1_757_502_238_000_000_000
    good = {"header": header(t0), "height": 2, "width": 3, "encoding": "rgb8", "is_bigendian": 0, "step": 9,
            "data": bytes(range(18))}
    b.write("/cam", "sensor_msgs/msg/Image", good, t0)
    b.write("/cam", "sensor_msgs/msg/Image", {**good, "data": bytes(10)}, t0 + 1)  # shorter than step*height
    b.write("/cam", "sensor_msgs/msg/Image", {**good, "encoding": "weird42"}, t0 + 2)
    # padded rows: step 12 for 9 bytes of pixels per row
    padded = b"".join(bytes(range(r * 9, r * 9 + 9)) + b"\xee\xee\xee" for r in range(2))
    b.write("/cam", "sensor_msgs/msg/Image", {**good, "step": 12, "data": padded}, t0 + 3)
    fields = [{"name": n, "offset": o, "datatype": 7, "count": 1} for n, o in (("x", 0), ("y", 4), ("z", 8))]
    cloud = {"header": header(t0), "height": 1, "width": 2, "fields": fields, "is_bigendian": False,
             "point_step": 12, "row_step": 24, "data": np.array([[1, 2, 3], [4, 5, 6]], np.float32).tobytes(),
             "is_dense": True}
    b.write("/pc", "sensor_msgs/msg/PointCloud2", cloud, t0)
    b.write("/pc", "sensor_msgs/msg/PointCloud2", {**cloud, "point_step": 10, "row_step": 20, "data": bytes(20)}, t0 + 1)
    nan = np.array([[1, 2, 3], [np.nan, 0, 0]], np.float32).tobytes()
    b.write("/pc", "sensor_msgs/msg/PointCloud2", {**cloud, "data": nan, "is_dense": False}, t0 + 2)
    b.close()
    warnings = []
    out = tmp_path / "m.rrd"
    r = convert(b.path, out, warn=warnings.append)
    assert exit_code(r) == 3
    cam = next(t for t in r.topics if t.topic == "/cam")
    # every message is kept (its struct row); two could not be drawn
    assert (cam.converted, cam.skipped, cam.unmapped) == (4, 0, 2)
    assert any("data has 10 bytes, expected step x height = 18" in w and "/cam" in w for w in warnings)
    assert any("unsupported encoding 'weird42'" in w for w in warnings)
    assert any("overflows point_step 10" in w and "/pc" in w for w in warnings)
    chunks, _ = read_chunks(out)
    store = ChunkStore.from_chunks(chunks)
    img = store.latest_at("/cam", "log_time", t0 + 3)["Image:buffer"].values[0].values.to_numpy()
    assert bytes(img) == bytes(range(18))  # padding removed
    pts = store.latest_at("/pc", "log_time", t0 + 2)["Points3D:positions"].values.flatten().to_numpy()
    assert pts.tolist() == [1, 2, 3]  # the NaN point of the non-dense cloud dropped
    assert rerun_verify(out).returncode == 0


@pytest.mark.parametrize("name, expect", [
    ("test_bad_schema.mcap", "broken_msgs/msg/Garbage: cannot parse the message definition"),
    ("test_unsupported_encoding.mcap", "message encoding 'protobuf' is not ROS 2 CDR"),
    ("test_embedded_timestamp.mcap", "message does not decode: value: runs past the end of the message"),
    ("wrong_rmw_test_0.mcap", "message encoding 'wrong_format'"),
    ("test.mcap", "ros1"),
])
def test_bad_bags_fail_cleanly(tmp_path, name, expect):
    out = tmp_path / "o.rrd"
    p = run_cli("convert", BAD / name, "-o", out)
    assert "Traceback" not in p.stderr
    assert expect in p.stderr, p.stderr
    assert str(BAD / name) in p.stderr  # the warning names the file
    assert p.returncode in (1, 3)
    assert rerun_verify(out).returncode == 0  # what was convertible is kept, file is valid


def test_service_events_decode_from_the_srv_definition(tmp_path):
    """rosbag2 records service introspection as ``pkg/srv/Name_Event`` with the ``.srv`` text as
    schema (mcap-ros2-support cannot parse it); the event is rebuilt from request/response."""
    out = tmp_path / "s.rrd"
    r = convert(BAD / "only_services.mcap", out)
    assert exit_code(r) == 0, r.warnings
    rows = official_table(out, "/add_two_ints/_service_event", index="log_time").column(
        "/add_two_ints/_service_event:example_interfaces.srv.AddTwoInts_Event:message").to_pylist()
    events = [x[0] for x in rows]
    assert len(events) == 12
    requests = [e["request"][0] for e in events if e["request"]]
    responses = [e["response"][0]["sum"] for e in events if e["response"]]
    assert requests and all(set(q) == {"a", "b"} for q in requests)
    assert sorted({q["a"] + q["b"] for q in requests}) == sorted(set(responses))
    assert {e["info"]["event_type"] for e in events} <= {0, 1, 2, 3}


def test_good_part_of_bad_schema_bag_is_kept(tmp_path):
    out = tmp_path / "o.rrd"
    r = convert(BAD / "test_bad_schema.mcap", out)
    good = next(t for t in r.topics if t.topic == "/good/data")
    assert good.converted == 10 and exit_code(r) == 3
    assert len(official_table(out, "/good/data", index="log_time")) == 10


def test_publish_time_timeline_and_empty_channel(tmp_path):
    out = tmp_path / "p.rrd"
    r = convert(BAD / "test_publish_vs_log_time.mcap", out)
    assert exit_code(r) == 0
    with open(BAD / "test_publish_vs_log_time.mcap", "rb") as f:
        msgs = list(make_reader(f).iter_messages())
    t = official_table(out, "/sensor/value", index="publish_time")
    assert sorted(t.column("publish_time").cast("int64").to_pylist()) == sorted(m.publish_time for _, _, m in msgs)
    assert any(m.publish_time != m.log_time for _, _, m in msgs)
    r2 = convert(BAD / "test_empty_channel.mcap", tmp_path / "e.rrd")
    assert exit_code(r2) == 0 and r2.converted == 100


def test_truncated_mcap_keeps_whole_chunks(bag_builder, tmp_path):
    b = bag_builder(chunk_size=4096)
    t0 = 1_757_502_238_000_000_000
    for i in range(400):
        b.write("/n", "std_msgs/msg/Int32", {"data": i}, t0 + i * 10**7)
    b.close()
    data = b.path.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "cut.rrd"
    p = run_cli("convert", cut, "-o", out, "--json")
    assert p.returncode == 3, p.stderr
    assert "truncated at byte" in p.stderr and "cut.mcap" in p.stderr and "Traceback" not in p.stderr
    rep = json.loads(p.stdout)
    n = rep["converted"]
    assert 0 < n < 400
    vals = [v[0] for v in official_table(out, "/n", index="log_time").column("/n:Scalars:scalars").to_pylist()]
    assert vals == [float(i) for i in range(n)]


def test_bad_crc_chunk_skipped_rest_converted(bag_builder, tmp_path):
    b = bag_builder(chunk_size=2048, compression="none")
    t0 = 1_757_502_238_000_000_000
    for i in range(300):
        b.write("/n", "std_msgs/msg/Int32", {"data": i}, t0 + i * 10**7)
    b.close()
    with open(b.path, "rb") as f:
        idx = make_reader(f).get_summary().chunk_indexes
    assert len(idx) > 3
    data = bytearray(b.path.read_bytes())
    second = sorted(idx, key=lambda c: c.chunk_start_offset)[1]
    data[second.chunk_start_offset + second.chunk_length - 20] ^= 0xFF  # corrupt a record in chunk 2
    bad = tmp_path / "crc.mcap"
    bad.write_bytes(bytes(data))
    warnings = []
    r = convert(bad, tmp_path / "crc.rrd", warn=warnings.append)
    assert exit_code(r) == 3 and r.damaged
    assert any("unreadable" in w and f"byte {second.chunk_start_offset}" in w for w in warnings)
    assert 200 < r.converted < 300


def test_cli_errors_are_one_line(tmp_path):
    p = run_cli("convert", tmp_path / "nope.mcap", "-o", tmp_path / "x.rrd")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("rerun-ros: error:") and "nope.mcap" in p.stderr
    p = run_cli("convert", SENSORS, "-o", tmp_path / "missing_dir" / "x.rrd")
    assert p.returncode == 1 and "does not exist" in p.stderr and "Traceback" not in p.stderr
    notmcap = tmp_path / "x.mcap"
    notmcap.write_text("hello")
    p = run_cli("convert", notmcap)
    assert p.returncode == 1 and "not an MCAP file" in p.stderr
    p = run_cli("info", tmp_path / "none.rrd")
    assert p.returncode == 1 and "no such file" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("convert", SENSORS, "-o", tmp_path / "y.rrd", "--start", "yesterday")
    assert p.returncode == 1 and "cannot read time" in p.stderr


def test_cli_convert_and_info_json(tmp_path):
    out = tmp_path / "s.rrd"
    p = run_cli("convert", SENSORS, "-o", out)
    assert p.returncode == 0, p.stderr
    assert "/point_cloud2" in p.stdout
    rep = json.loads(run_cli("convert", SENSORS, "-o", tmp_path / "j.rrd", "--json").stdout)
    assert f"{rep['converted']} of 194 messages converted" in p.stdout
    p = run_cli("convert", SENSORS, "-o", tmp_path / "strict.rrd", "--strict", "-q")
    assert p.returncode == 3
    info = json.loads(run_cli("info", out, "--json").stdout)
    assert info["info_version"] == 1 and info["has_footer"] and info["rerun_version"] == "0.41.0"
    assert info["entities"]["/image"]["archetypes"] == ["CoordinateFrame", "Image", "sensor_msgs.msg.Image"]
    assert info["entities"]["/image"]["components"]["Image:buffer"]["component_type"] == "rerun.components.ImageBuffer"
    assert set(info["timelines"]) == {"ros_time", "log_time", "publish_time"}
    assert info["timelines"]["ros_time"]["kind"] == "timestamp"
    assert info["rows"] == sum(e["rows"] for e in info["entities"].values())


def test_info_of_a_bag_says_what_a_conversion_makes_of_each_topic(tmp_path):
    """`rerun-ros info BAG` (as `ros2 bag info`, plus the entity and archetypes of each topic):
    its counts are the conversion's, on the real field run (recorded definitions, custom types),
    the real sim run (rosbag2 sqlite3, no definitions), a file with a protobuf channel, and the
    field run cut short (no summary: counted by reading)."""
    info = json.loads(run_cli("info", FIELD, "--json").stdout)
    rep = json.loads(run_cli("convert", FIELD, "-o", tmp_path / "f.rrd", "--json").stdout)
    assert info["kind"] == "bag" and info["storage"] == "mcap" and not info["counted_by_reading"]
    assert info["messages"] == rep["messages"] == 2671 and len(info["topics"]) == 33
    topics = {t["topic"]: t for t in info["topics"]}
    conv = {t["topic"]: t for t in rep["topics"]}
    assert all(topics[k]["messages"] == v["messages"] for k, v in conv.items())
    assert topics["/coug2/depth_data"]["archetypes"] == "Arrows3D + Ellipsoids3D"
    assert topics["/coug2/dvl/data"]["archetypes"] == "" and topics["/coug2/dvl/data"]["decoding"] == "recorded"
    assert (info["end_ns"] - info["start_ns"]) / 1e9 == pytest.approx(20.17, abs=0.01)
    assert info["clock"].startswith("robot clock, offset from header stamps") and rep["clock"]["kind"] in info["clock"]
    text = run_cli("info", FIELD)
    assert text.returncode == 0 and "2671 messages in 33 topics" in text.stdout and "struct columns" in text.stdout

    walker = DATA / "sim" / "walker"
    info = json.loads(run_cli("info", walker, "--json").stdout)
    assert info["storage"] == "sqlite3" and info["messages"] == 6788 and info["clock"] == "sim time from /clock"
    how = {t["topic"]: t["decoding"] for t in info["topics"]}
    assert how.pop("/performance_metrics").startswith("cannot")  # (gazebo_msgs: as the conversion says)
    assert all(h.startswith("built-in ") for h in how.values())

    info = json.loads(run_cli("info", BAD / "test_unsupported_encoding.mcap", "--json").stdout)
    how = {t["topic"]: t["decoding"] for t in info["topics"]}
    assert how["/proto/data"].startswith("cannot: message encoding 'protobuf'") and how["/ros2/data"] == "recorded"

    cut = tmp_path / "cut.mcap"
    cut.write_bytes(FIELD.read_bytes()[:400_000])
    p = run_cli("info", cut, "--json")
    info = json.loads(p.stdout)
    assert p.returncode == 0 and any("cut short" in w for w in info["warnings"])
    assert info["counted_by_reading"] and 0 < info["messages"] < 2671
    p = run_cli("info", tmp_path / "missing.mcap")
    assert p.returncode == 1 and p.stderr.startswith("rerun-ros: error:") and "Traceback" not in p.stderr


def test_demo_default_input(tmp_path):
    p = run_cli("convert", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "demo_sensors.rrd").exists() and "bundled demo bag" in p.stderr
    assert rerun_verify(tmp_path / "demo_sensors.rrd").returncode == 0


def test_rosbag2_directory(tmp_path):
    d = tmp_path / "bag"
    d.mkdir()
    (d / "part_0.mcap").write_bytes(SENSORS.read_bytes())
    (d / "metadata.yaml").write_text("rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: mcap\n"
                                     "  relative_file_paths: [part_0.mcap]\n")
    r = convert(d, tmp_path / "dir.rrd")
    assert r.messages == 194 and exit_code(r) == 0


def test_custom_type_is_kept_whole_and_strict_flags_it(bag_builder, tmp_path):
    b = bag_builder()
    b.schema("my_msgs/msg/Thing", "int32 value\nstring name")
    for i in range(3):
        b.write("/thing", "my_msgs/msg/Thing", {"value": i, "name": f"x{i}"}, 1_000 + i)
    b.close()
    out = tmp_path / "t.rrd"
    r = convert(b.path, out)
    (t,) = r.topics
    assert t.unsupported and t.messages == t.converted == 3 and t.type_name == "my_msgs/msg/Thing"
    assert exit_code(r) == 0 and exit_code(r, strict=True) == 3
    rows = official_table(out, "/thing", index="log_time").column("/thing:my_msgs.msg.Thing:message").to_pylist()
    assert [x[0] for x in rows] == [{"value": i, "name": f"x{i}"} for i in range(3)]


def test_convert_never_imports_pandas(tmp_path):
    """pyarrow imports pandas (~0.3-0.4 s) on its first ``pa.array`` call; conversion builds its
    arrays from buffers and must never pay that. pandas is installed here (the query API's
    optional output), so a stray ``pa.array`` in the conversion path makes this fail."""
    import subprocess
    import sys
    import importlib.util
    assert importlib.util.find_spec("pandas") is not None
    code = ("import sys; from rerun_ros.convert import convert; "
            f"[convert(b, {str(tmp_path / 'o.rrd')!r}) for b in sys.argv[1:]]; print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(SENSORS), str(FIELD)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def payloads(batches) -> dict:
    """Channel id → the bytes of its messages, in the order the batches give them."""
    per: dict = {}
    for b in batches:
        per.setdefault(b.channel.id, []).extend(bytes(b.buf[o:o + n]) for o, n in zip(b.offsets, b.lengths))
    return per


@pytest.mark.parametrize("group", [4 << 10, 8 << 10, 64 << 10])
def test_merged_batches_copy_each_chunk_once_and_keep_every_message(group):
    """Regrouping a real bag's per-chunk batches (the sensors bag: two chunks, 28 topics) into
    buffers of ``group`` bytes: every message is kept in channel order, and every batch of a
    chunk lands in one group, so no chunk's records are copied into two merged buffers (a
    chunk that crossed the bound was, before: 57 kB more at 8 KiB groups)."""
    from rerun_ros.sources import open_bag
    from rerun_ros.sources.base import merge_batches
    raw = list(open_bag(SENSORS).batches(merge=False))
    assert len({id(b.buf) for b in raw}) == 2

    def copied(batches):
        return sum({id(b.buf): len(b.buf) for b in batches}.values())

    whole = list(merge_batches(iter(raw), max_bytes=1 << 40))
    out = list(merge_batches(iter(raw), max_bytes=group))
    assert payloads(out) == payloads(raw)
    assert copied(out) == copied(whole)


def test_merging_lets_each_chunk_go_once_copied_into_its_group():
    """A real bag of small messages in zstd chunks (50,000 messages; chunks of 1 MB, 1 MB and
    53 kB) regrouped at 1.5 MiB (the first two chunks in one group, copied into one buffer; the
    last alone, not copied): while the consumer decodes a merged batch, the chunks copied
    into its group are no longer held (before: every chunk of the group stayed alive beside its
    copy, twice the group's bytes), and every message comes out in channel order. The group
    buffer is reused by the next group once nothing holds it."""
    import weakref
    from rerun_ros.sources import open_bag
    from rerun_ros.sources.base import RawBatch, merge_batches
    chunks: list = []

    def own_buffers():  # each chunk's records in a buffer only merge_batches holds
        last, mine = None, None
        for b in open_bag(BAD / "test_large_file.mcap").batches(merge=False):
            if b.buf is not last:
                last, mine = b.buf, b.buf.copy()
                chunks.append(weakref.ref(mine))
            yield RawBatch(b.channel, mine, b.offsets, b.lengths, b.log_time, b.publish_time)
        last = mine = None

    expected = payloads(open_bag(BAD / "test_large_file.mcap").batches(merge=False))
    seen, held = [], []
    for b in merge_batches(own_buffers(), max_bytes=3 << 19):
        # the chunk the source is on (its first batch closed the group) may be alive, no other
        held.append(sum(r() is not None for r in chunks[:-1]))
        seen.append(payloads([b]))
        del b
    assert len(chunks) == 3 and len(seen) == 2  # (one channel: a batch per group)
    assert held == [0, 0], held
    got: dict = {}
    for p in seen:
        for k, v in p.items():
            got.setdefault(k, []).extend(v)
    assert got == expected and sum(map(len, got.values())) == 50_000


def test_zstd_chunks_are_grouped_where_they_were_decompressed_without_a_copy():
    """The real 50,000-message bag of zstd chunks (1 MB, 1 MB, 53 kB): its chunks are
    decompressed one after the other into one arena, so merging them makes one group that is a
    view of that memory — no byte copied again (before: each chunk decompressed into bytes of
    its own, then all copied into the group buffer) — and every message comes out in channel
    order, as read chunk by chunk."""
    from rerun_ros.sources import open_bag
    from rerun_ros.sources.base import merge_batches
    raw = list(open_bag(BAD / "test_large_file.mcap").batches(merge=False))
    chunks = list({id(b.buf): b.buf for b in raw}.values())
    assert len(chunks) == 3

    out = list(merge_batches(iter(raw)))
    assert len(out) == 1  # (one channel, one group)
    assert all(np.shares_memory(out[0].buf, c) for c in chunks)
    assert payloads(out) == payloads(raw) and len(out[0]) == 50_000


def test_uncompressed_chunks_are_grouped_in_the_mapped_file_without_a_copy(tmp_path):
    """The field run written again as a recorder with 4 KiB uncompressed chunks would (135
    chunks, 25 topics, 2671 messages): the merged batches are views of the mapped file spanning
    all its chunks (the record headers between them included, never read) — nothing copied —
    and every message of every topic comes out in channel order, as read chunk by chunk."""
    from test_parallel import rechunked
    from mcap.writer import CompressionType
    from rerun_ros.sources import open_bag
    from rerun_ros.sources.base import merge_batches
    bag = rechunked(FIELD, tmp_path / "field.mcap", chunk_size=4 << 10, compression=CompressionType.NONE)
    raw = list(open_bag(bag).batches(merge=False))
    chunks = list({id(b.buf): b.buf for b in raw}.values())
    assert len(chunks) > 100

    out = list(merge_batches(iter(raw)))
    assert payloads(out) == payloads(raw) and sum(map(len, out)) == 2671
    assert len(out) == 25 and len({id(b.buf) for b in out}) == 1  # (one group: 25 topics)
    assert all(np.shares_memory(out[0].buf, c) for c in chunks)  # (a view over them, not a copy)


def test_batches_are_let_go_as_logged_when_the_clock_needs_no_tracking():
    """A wall-clock bag (the 50,000-message zstd bag, read chunk by chunk): once the clock is
    decided, nothing read ahead can move a message, so each batch is logged and let go as it
    comes (before: up to 8 batches / 4 MiB were held back as for a clock tracked through the
    bag — the merged group buffer they sit in stayed alive beside the next one)."""
    import weakref
    from rerun_ros.ingest import Ingestor
    from rerun_ros.sources import open_bag
    from rerun_ros.stream.recording import CallbackSink, RecordingStream
    rows = []
    rec = RecordingStream("t", sinks=[CallbackSink(lambda c: rows.append(len(c)))])
    ing = Ingestor(rec)
    refs, alive = [], []
    for b in open_bag(BAD / "test_large_file.mcap").batches(merge=False):
        # (the source lets a chunk go when it reads the next: earlier ones are checked)
        alive.append(sum(r() is not None for r in refs))
        refs.append(weakref.ref(b.buf))
        ing.ingest_batch(b)
        del b
    alive.append(sum(r() is not None for r in refs))
    ing.finish()
    rec.close()
    assert alive == [0, 0, 0, 0]
    assert ing.clock.kind == "wall clock"
    assert ing.topics[("/bulk/data", "std_msgs/Float64")].stats.converted == 50_000 <= sum(rows)


def test_merged_batches_held_together_keep_their_bytes():
    """The group buffer is reused only when nothing holds it: the 50,000 messages of a real bag,
    re-cut into 30 pieces (of ~100 kB, the last chunk's of ~5 kB) with buffers of their own and
    regrouped at 256 KiB (seven groups, each copied into a group buffer), are all held at once
    and still read back byte for byte; consumed one at a time, they read the same."""
    from rerun_ros.sources import open_bag
    from rerun_ros.sources.base import RawBatch, merge_batches
    pieces = []
    for b in open_bag(BAD / "test_large_file.mcap").batches(merge=False):
        for idx in np.array_split(np.arange(len(b)), 10):
            start = int(b.offsets[idx[0]])
            end = int(b.offsets[idx[-1]] + b.lengths[idx[-1]])
            pieces.append(RawBatch(b.channel, b.buf[start:end].copy(), b.offsets[idx] - start, b.lengths[idx],
                                   b.log_time[idx], b.publish_time[idx]))

    def payloads(batches):
        out = []
        for b in batches:
            out.extend(bytes(b.buf[o:o + n]) for o, n in zip(b.offsets, b.lengths))
        return out

    expected = payloads(pieces)
    held = list(merge_batches(iter(pieces), max_bytes=256 << 10))
    assert len(held) == 7
    assert len({id(b.buf.base) for b in held if b.buf.base is not None}) == len(held)  # a buffer each
    assert payloads(held) == expected and len(expected) == 50_000
    one_by_one = []
    for b in merge_batches(iter(pieces), max_bytes=256 << 10):
        one_by_one.extend(payloads([b]))
        del b
    assert one_by_one == expected
