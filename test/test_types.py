"""Every common ROS 2 type, written to MCAP with its standard definition and decoded back;
values checked against what was published."""
from __future__ import annotations

import io
import math
import struct

import numpy as np
import pytest

from conftest import DATA, SENSORS, header, rerun_verify
from rerun_ros.convert import convert, exit_code
from rerun_ros.rrd.reader import read_chunks
from rerun_ros.store.chunk_store import ChunkStore

T0 = 1_700_000_000_000_000_000
S = 10**9


def img(enc, w, h, data, step=None, be=0, frame="cam"):
    return {"header": header(T0, frame), "height": h, "width": w, "encoding": enc, "is_bigendian": be,
            "step": step if step is not None else len(data) // h, "data": bytes(data)}


def v3(x, y, z):
    return {"x": float(x), "y": float(y), "z": float(z)}


def pose(x, y, z, yaw=0.0):
    return {"position": v3(x, y, z), "orientation": {"x": 0.0, "y": 0.0, "z": float(np.sin(yaw / 2)),
                                                     "w": float(np.cos(yaw / 2))}}


def png16(a: np.ndarray) -> bytes:
    from PIL import Image
    b = io.BytesIO()
    Image.fromarray(a.astype(np.uint16)).save(b, format="PNG")
    return b.getvalue()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import conftest
    tmp = tmp_path_factory.mktemp("types")
    b = conftest.BagBuilder(tmp / "types.mcap")
    w = b.write
    a8c2 = np.arange(12, dtype=np.uint8)
    w("/img/8uc2", "sensor_msgs/msg/Image", img("8UC2", 3, 2, a8c2), T0)
    f32c3 = np.linspace(0, 1, 18, dtype=np.float32)
    w("/img/32fc3", "sensor_msgs/msg/Image", img("32FC3", 3, 2, f32c3.tobytes()), T0)
    u16c4 = np.arange(24, dtype=np.uint16) * 1000
    w("/img/16uc4", "sensor_msgs/msg/Image", img("16UC4", 3, 2, u16c4.astype(">u2").tobytes(), be=1), T0)
    uyvy = np.array([10, 20, 30, 40, 50, 60, 70, 80], np.uint8)  # U0 Y0 V0 Y1 | U1 Y2 V1 Y3
    w("/img/uyvy", "sensor_msgs/msg/Image", img("yuv422", 4, 1, uyvy), T0)
    bay16 = np.array([[0x1234, 0xABCD], [0xFF00, 0x0100]], np.uint16)
    w("/img/bayer16", "sensor_msgs/msg/Image", img("bayer_rggb16", 2, 2, bay16.tobytes()), T0)
    depth_mm = np.array([[0, 1000, 2500], [65535, 1, 300]], np.uint16)
    cd = struct.pack("<iff", 0, 0.0, 0.0) + png16(depth_mm)
    w("/depth/compressed", "sensor_msgs/msg/CompressedImage",
      {"header": header(T0, "cam"), "format": "16UC1; compressedDepth png", "data": cd}, T0)
    qa, qb = 100.0, 0.0  # depth = A / (v - B)
    inv = np.array([[0, 100, 50]], np.uint16)
    cd32 = struct.pack("<iff", 0, qa, qb) + png16(inv)
    w("/depth/compressed32", "sensor_msgs/msg/CompressedImage",
      {"header": header(T0, "cam"), "format": "32FC1; compressedDepth", "data": cd32}, T0)
    w("/camera_info", "sensor_msgs/msg/CameraInfo", {
        "header": header(T0, "cam"), "height": 480, "width": 640, "distortion_model": "plumb_bob",
        "d": [0.1, -0.2, 0.001, 0.002, 0.0], "k": [500.0, 0, 320, 0, 501, 240, 0, 0, 1],
        "r": [1.0, 0, 0, 0, 1, 0, 0, 0, 1], "p": [500.0, 0, 320, 0, 0, 501, 240, 0, 0, 0, 1, 0]}, T0)
    # PointCloud2 with every PointField datatype and a count-3 field
    dts = [("i8", 1, "i1"), ("u8", 2, "u1"), ("i16", 3, "<i2"), ("u16", 4, "<u2"), ("i32", 5, "<i4"),
           ("u32", 6, "<u4"), ("f64", 8, "<f8")]
    names = ["x", "y", "z"] + [n for n, _, _ in dts] + ["normal"]
    fmts = ["<f4"] * 3 + [f for _, _, f in dts] + [("<f4", (3,))]
    dt = np.dtype({"names": names, "formats": fmts})
    pts = np.zeros(4, dt)
    pts["x"], pts["y"], pts["z"] = [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]
    for n, _, _ in dts:
        pts[n] = [1, 2, 3, 100]
    pts["normal"] = [[0, 0, 1]] * 4
    fields = [{"name": n, "offset": dt.fields[n][1], "datatype": 7, "count": 1} for n in "xyz"]
    fields += [{"name": n, "offset": dt.fields[n][1], "datatype": code, "count": 1} for n, code, _ in dts]
    fields += [{"name": "normal", "offset": dt.fields["normal"][1], "datatype": 7, "count": 3}]
    w("/cloud/alltypes", "sensor_msgs/msg/PointCloud2", {
        "header": header(T0, "lidar"), "height": 1, "width": 4, "fields": fields, "is_bigendian": False,
        "point_step": dt.itemsize, "row_step": dt.itemsize * 4, "data": pts.tobytes(), "is_dense": True}, T0)
    # packed rgb in a uint32 field
    rgb = np.zeros(2, np.dtype({"names": ["x", "y", "z", "rgb"], "formats": ["<f4", "<f4", "<f4", "<u4"]}))
    rgb["rgb"] = [0x00102030, 0x00FFFFFF]
    w("/cloud/rgbu32", "sensor_msgs/msg/PointCloud2", {
        "header": header(T0, "lidar"), "height": 1, "width": 2,
        "fields": [{"name": n, "offset": 4 * i, "datatype": 7 if n != "rgb" else 6, "count": 1}
                   for i, n in enumerate(["x", "y", "z", "rgb"])],
        "is_bigendian": False, "point_step": 16, "row_step": 32, "data": rgb.tobytes(), "is_dense": True}, T0)
    w("/range", "sensor_msgs/msg/Range", {"header": header(T0, "sonar"), "radiation_type": 0,
                                          "field_of_view": 0.5, "min_range": 0.1, "max_range": 4.0, "range": 2.0}, T0)
    w("/fix", "sensor_msgs/msg/NavSatFix", {"header": header(T0, "gps"), "status": {"status": 0, "service": 1},
                                            "latitude": 40.1, "longitude": -111.8, "altitude": 1368.5,
                                            "position_covariance": [4.0, 0, 0, 0, 9.0, 0, 0, 0, 16.0],
                                            "position_covariance_type": 2}, T0)
    w("/temp", "sensor_msgs/msg/Temperature", {"header": header(T0), "temperature": 21.5, "variance": 0.0}, T0)
    w("/hum", "sensor_msgs/msg/RelativeHumidity", {"header": header(T0), "relative_humidity": 0.4, "variance": 0.0}, T0)
    # geometry
    w("/poses", "geometry_msgs/msg/PoseArray", {"header": header(T0, "map"),
                                                "poses": [pose(1, 0, 0, 0), pose(0, 1, 0, np.pi)]}, T0)
    cov = [0.0] * 36
    cov[0], cov[7], cov[14] = 4.0, 1.0, 0.25
    w("/pwc", "geometry_msgs/msg/PoseWithCovarianceStamped",
      {"header": header(T0, "map"), "pose": {"pose": pose(1, 2, 3), "covariance": cov}}, T0)
    w("/pt", "geometry_msgs/msg/PointStamped", {"header": header(T0, "map"), "point": v3(1, 2, 3)}, T0)
    w("/poly", "geometry_msgs/msg/PolygonStamped", {"header": header(T0, "map"), "polygon": {
        "points": [v3(0, 0, 0), v3(1, 0, 0), v3(1, 1, 0)]}}, T0)
    w("/twist", "geometry_msgs/msg/TwistStamped", {"header": header(T0, "base"),
                                                   "twist": {"linear": v3(1, 0, 0), "angular": v3(0, 0, 0.5)}}, T0)
    w("/wrench", "geometry_msgs/msg/WrenchStamped", {"header": header(T0, "tool"),
                                                     "wrench": {"force": v3(0, 0, -9.8), "torque": v3(0.1, 0, 0)}}, T0)
    w("/accel", "geometry_msgs/msg/AccelStamped", {"header": header(T0, "base"),
                                                   "accel": {"linear": v3(0, 2, 0), "angular": v3(0, 0, 0)}}, T0)
    w("/vec", "geometry_msgs/msg/Vector3Stamped", {"header": header(T0, "base"), "vector": v3(3, 4, 0)}, T0)
    w("/tf_one", "geometry_msgs/msg/TransformStamped", {"header": header(T0, "map"), "child_frame_id": "x",
                                                        "transform": {"translation": v3(1, 0, 0),
                                                                      "rotation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}}, T0)
    # nav
    grid = np.array([0, 100, -1, 50, 0, 0], np.int8)
    w("/map", "nav_msgs/msg/OccupancyGrid", {"header": header(T0, "map"), "info": {
        "map_load_time": {"sec": 0, "nanosec": 0}, "resolution": 0.5, "width": 3, "height": 2,
        "origin": pose(-1, -2, 0, np.pi / 2)}, "data": grid.tolist()}, T0)
    w("/cells", "nav_msgs/msg/GridCells", {"header": header(T0, "map"), "cell_width": 0.2, "cell_height": 0.4,
                                           "cells": [v3(0, 0, 0), v3(1, 1, 0)]}, T0)
    # std + diagnostics
    w("/flag", "std_msgs/msg/Bool", {"data": True}, T0)
    w("/note", "std_msgs/msg/String", {"data": "hello"}, T0)
    w("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", {"header": header(T0, ""), "status": [
        {"level": 1, "name": "motors/left", "message": "hot", "hardware_id": "m1",
         "values": [{"key": "temperature", "value": "71.5"}, {"key": "mode", "value": "auto"},
                    {"key": "enabled", "value": "True"}]},
        {"level": 0, "name": "battery", "message": "ok", "hardware_id": "", "values": []}]}, T0)
    b.close()
    out = tmp / "types.rrd"
    r = convert(b.path, out)
    assert exit_code(r) == 0, [(t.topic, dict(t.reasons)) for t in r.topics if t.skipped]
    assert all(not t.unsupported for t in r.topics)
    assert rerun_verify(out).returncode == 0
    return ChunkStore.from_chunks(read_chunks(out)[0])


def la(store, ent, col):
    return store.latest_at(ent, "ros_time", T0)[col]


def fmt(store, ent, arch="Image"):
    return la(store, ent, f"{arch}:format").values.to_pylist()[0]


def buf(store, ent, arch="Image"):
    return la(store, ent, f"{arch}:buffer").values[0].values.to_numpy()


def test_typed_images(store):
    f = fmt(store, "/img/8uc2")
    assert (f["width"], f["height"], f["color_model"]) == (3, 2, 2)  # 2 channels shown as RGB
    rgb = buf(store, "/img/8uc2").reshape(2, 3, 3)
    np.testing.assert_array_equal(rgb[..., :2].reshape(-1), np.arange(12))
    assert not rgb[..., 2].any()
    f = fmt(store, "/img/32fc3")
    assert (f["color_model"], f["channel_datatype"]) == (4, 34)  # BGR F32
    np.testing.assert_array_equal(buf(store, "/img/32fc3").view(np.float32), np.linspace(0, 1, 18, dtype=np.float32))
    f = fmt(store, "/img/16uc4")
    assert (f["color_model"], f["channel_datatype"]) == (5, 8)  # BGRA U16
    np.testing.assert_array_equal(buf(store, "/img/16uc4").view(np.uint16), np.arange(24) * 1000)  # byte-swapped


def test_uyvy_and_bayer16(store):
    assert fmt(store, "/img/uyvy")["pixel_format"] == 27  # YUY2
    assert buf(store, "/img/uyvy").tolist() == [20, 10, 40, 30, 60, 50, 80, 70]
    assert fmt(store, "/img/bayer16")["pixel_format"] == 128  # BayerRGGB8
    assert buf(store, "/img/bayer16").tolist() == [0x12, 0xAB, 0xFF, 0x01]


def test_compressed_depth(store):
    f = fmt(store, "/depth/compressed", "DepthImage")
    assert (f["width"], f["height"], f["channel_datatype"]) == (3, 2, 8)
    np.testing.assert_array_equal(buf(store, "/depth/compressed", "DepthImage").view(np.uint16),
                                  [0, 1000, 2500, 65535, 1, 300])
    assert la(store, "/depth/compressed", "DepthImage:meter").to_numpy().tolist() == [1000.0]
    d = buf(store, "/depth/compressed32", "DepthImage").view(np.float32)
    assert np.isnan(d[0]) and d[1:].tolist() == pytest.approx([1.0, 2.0])


def test_camera_info_keeps_distortion(store):
    assert la(store, "/camera_info", "CameraInfo:distortion_model").to_numpy().tolist() == ["plumb_bob"]
    assert la(store, "/camera_info", "CameraInfo:d").to_numpy().tolist() == [0.1, -0.2, 0.001, 0.002, 0.0]
    k = la(store, "/camera_info", "Pinhole:image_from_camera").values.flatten().to_numpy().reshape(3, 3).T
    np.testing.assert_allclose(k, [[500, 0, 320], [0, 501, 240], [0, 0, 1]])
    assert la(store, "/camera_info", "Pinhole:resolution").values.flatten().to_numpy().tolist() == [640, 480]


def test_pointcloud_every_datatype(store):
    pos = la(store, "/cloud/alltypes", "Points3D:positions").values.flatten().to_numpy().reshape(-1, 3)
    np.testing.assert_array_equal(pos, [[1, 5, 9], [2, 6, 10], [3, 7, 11], [4, 8, 12]])
    from rerun_ros.mappers.pointcloud import cloud_dtype
    from types import SimpleNamespace as NS
    fields = [NS(name=n, offset=o, datatype=d, count=c) for n, o, d, c in
              [("a", 0, 1, 1), ("b", 1, 2, 1), ("c", 2, 3, 1), ("d", 4, 4, 1), ("e", 8, 5, 1), ("f", 12, 6, 1),
               ("g", 16, 7, 2), ("h", 24, 8, 1)]]
    dt = cloud_dtype(fields, 32, False)
    assert [dt.fields[n][0].str for n in "abcdefh"] == ["|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<f8"]
    assert dt.fields["g"][0].shape == (2,)
    cols = la(store, "/cloud/rgbu32", "Points3D:colors").to_numpy().tolist()
    assert cols == [0x102030FF, 0xFFFFFFFF]


def test_range_navsat_scalars(store):
    assert la(store, "/range", "Scalars:scalars").to_numpy().tolist() == [2.0]
    strips = la(store, "/range", "LineStrips3D:strips").values.to_pylist()
    rim = np.array(strips[0])
    np.testing.assert_allclose(rim[:, 0], 2.0)
    np.testing.assert_allclose(np.hypot(rim[:, 1], rim[:, 2]), 2.0 * np.tan(0.25), rtol=1e-5)
    assert la(store, "/fix", "GeoPoints:positions").values.flatten().to_numpy().tolist() == [40.1, -111.8]
    assert la(store, "/fix", "Scalars:scalars").to_numpy().tolist() == [1368.5, 0.0, 2.0, 3.0, 4.0]
    assert la(store, "/temp", "Scalars:scalars").to_numpy().tolist() == [21.5, 0.0]  # temperature, variance
    assert la(store, "/hum", "Scalars:scalars").to_numpy().tolist() == [pytest.approx(0.4), 0.0]


def test_geometry_types(store):
    v = la(store, "/poses", "Arrows3D:vectors").values.flatten().to_numpy().reshape(-1, 3)
    np.testing.assert_allclose(v, [[0.5, 0, 0], [-0.5, 0, 0]], atol=1e-6)
    half = la(store, "/pwc", "Ellipsoids3D:half_sizes").values.flatten().to_numpy()
    assert sorted(half.tolist()) == pytest.approx([0.5, 1.0, 2.0])  # sqrt of the variances
    assert la(store, "/pwc", "Ellipsoids3D:centers").values.flatten().to_numpy().tolist() == [1, 2, 3]
    assert la(store, "/pt", "Points3D:positions").values.flatten().to_numpy().tolist() == [1, 2, 3]
    assert la(store, "/poly", "LineStrips3D:strips").values.to_pylist() == [[[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0]]]
    tw = la(store, "/twist", "Arrows3D:vectors").values.flatten().to_numpy().tolist()
    assert tw == [1, 0, 0, 0, 0, 0.5]
    assert la(store, "/twist", "Scalars:scalars").to_numpy().tolist() == [1, 0, 0, 0, 0, 0.5]
    assert la(store, "/wrench", "Arrows3D:vectors").values.flatten().to_numpy().tolist() == pytest.approx([0, 0, -9.8, 0.1, 0, 0])
    assert la(store, "/accel", "Scalars:scalars").to_numpy().tolist()[:3] == [0, 2, 0]
    assert la(store, "/vec", "Arrows3D:vectors").values.flatten().to_numpy().tolist() == [3, 4, 0]
    assert la(store, "/tf_one/x", "Transform3D:child_frame").to_numpy().tolist() == ["x"]  # one entity per child frame


def test_occupancy_grid_quad(store):
    v = la(store, "/map", "Mesh3D:vertex_positions").values.flatten().to_numpy().reshape(-1, 3)
    # origin (-1,-2) rotated 90°: the grid's x axis (1.5 m wide) points along +y
    np.testing.assert_allclose(v, [[-1, -2, 0], [-1, -0.5, 0], [-2, -0.5, 0], [-2, -2, 0]], atol=1e-6)
    tex = la(store, "/map", "Mesh3D:albedo_texture_buffer").values[0].values.to_numpy().reshape(2, 3, 3)
    np.testing.assert_array_equal(tex[..., 0], [[255, 0, 205], [128, 255, 255]])  # 50 -> 255 - 127.5
    assert la(store, "/map", "Mesh3D:vertex_texcoords").values.flatten().to_numpy().tolist() == [0, 0, 1, 0, 1, 1, 0, 1]
    c = la(store, "/cells", "Boxes3D:centers").values.flatten().to_numpy().tolist()
    assert c == [0, 0, 0, 1, 1, 0]
    assert la(store, "/cells", "Boxes3D:half_sizes").values.flatten().to_numpy().tolist() == pytest.approx([0.1, 0.2, 0.005])


def test_std_and_diagnostics(store):
    assert la(store, "/flag", "Scalars:scalars").to_numpy().tolist() == [1.0]
    assert la(store, "/note", "TextDocument:text").to_numpy().tolist() == ["hello"]
    assert la(store, "/diagnostics/motors/left", "TextLog:level").to_numpy().tolist() == ["WARN"]
    assert la(store, "/diagnostics/motors/left", "TextLog:text").to_numpy().tolist() == ["WARN: hot [m1]"]
    assert la(store, "/diagnostics/motors/left/values", "Scalars:scalars").to_numpy().tolist() == [71.5, 1.0]
    names = store.latest_at("/diagnostics/motors/left/values", "ros_time", T0)["SeriesLines:names"].to_numpy().tolist()
    assert names == ["temperature", "enabled"]
    assert la(store, "/diagnostics/battery", "TextLog:level").to_numpy().tolist() == ["INFO"]


def test_multi_echo_laser_scan_from_real_bag(tmp_path):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    with open(SENSORS, "rb") as f:
        (_, _, _, msg), = list(make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages(
            topics=["/multi_echo_laser_scan"]))
    out = tmp_path / "s.rrd"
    convert(SENSORS, out, include=["multi_echo"])
    s = ChunkStore.from_chunks(read_chunks(out)[0])
    pos = s.latest_at("/multi_echo_laser_scan", "log_time", 2**62)["Points3D:positions"].values.flatten().to_numpy().reshape(-1, 3)
    want = []
    for i, e in enumerate(msg.ranges):
        a = msg.angle_min + i * msg.angle_increment
        want += [[r * np.cos(a), r * np.sin(a), 0] for r in e.echoes if msg.range_min <= r <= msg.range_max]
    np.testing.assert_allclose(pos, np.array(want, np.float32), atol=1e-5)


@pytest.mark.parametrize("bag, counts", [
    (DATA / "db3" / "rosbag2_test_0.db3", {"/pose": 1565, "/imu": 1565, "/battery": 1565}),
    (DATA / "field" / "rosbag2_2024_09_04-17_15_57_0.db3", {"/modem_imu": 1532}),
])
def test_db3_bags(tmp_path, bag, counts):
    out = tmp_path / "d.rrd"
    r = convert(bag, out)
    assert exit_code(r) == 0 and r.converted == r.messages
    by = {t.topic: t.converted for t in r.topics}
    for k, v in counts.items():
        assert by[k] == v
    assert rerun_verify(out).returncode == 0
    # values equal what rosbags decodes directly
    import sqlite3
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS2_HUMBLE)
    c = sqlite3.connect(f"file:{bag}?mode=ro", uri=True)
    tid, typ = c.execute("select id, type from topics where type like '%Imu'").fetchone()
    t_ns, data = c.execute("select timestamp, data from messages where topic_id=? order by timestamp limit 1", (tid,)).fetchone()
    m = ts.deserialize_cdr(data, typ)
    s = ChunkStore.from_chunks(read_chunks(out)[0])
    topic = c.execute("select name from topics where id=?", (tid,)).fetchone()[0]
    got = s.latest_at(topic, "log_time", t_ns)["Scalars:scalars"].to_numpy()
    np.testing.assert_allclose(got[:6], [m.linear_acceleration.x, m.linear_acceleration.y, m.linear_acceleration.z,
                                         m.angular_velocity.x, m.angular_velocity.y, m.angular_velocity.z])
    # then roll, pitch, yaw of the orientation (tf2's getRPY convention)
    q = m.orientation
    roll = math.atan2(2 * (q.w * q.x + q.y * q.z), 1 - 2 * (q.x ** 2 + q.y ** 2))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (q.w * q.y - q.z * q.x))))
    yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y ** 2 + q.z ** 2))
    n = math.sqrt(q.x ** 2 + q.y ** 2 + q.z ** 2 + q.w ** 2)
    if abs(n - 1) < 1e-6:
        np.testing.assert_allclose(got[6:], [roll, pitch, yaw], rtol=1e-6, atol=1e-9)


def test_scalar_sensors_of_real_bag_and_png(tmp_path, bag_builder):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    out = tmp_path / "s.rrd"
    convert(SENSORS, out)
    s = ChunkStore.from_chunks(read_chunks(out)[0])
    fields = {"/fluid_pressure": lambda m: [m.fluid_pressure], "/illuminance": lambda m: [m.illuminance],
              "/magnetic_field": lambda m: [m.magnetic_field.x, m.magnetic_field.y, m.magnetic_field.z],
              "/imu": lambda m: [m.linear_acceleration.x, m.linear_acceleration.y, m.linear_acceleration.z,
                                 m.angular_velocity.x, m.angular_velocity.y, m.angular_velocity.z],
              "/range": lambda m: [m.range],
              "/joy": lambda m: list(m.axes) + [float(b) for b in m.buttons],
              "/channel_float32": lambda m: list(m.values),
              "/laser_echo": lambda m: list(m.echoes)}
    with open(SENSORS, "rb") as f:
        for _, ch, m, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages(topics=list(fields)):
            got = s.range(ch.topic, "log_time", m.log_time, m.log_time, "Scalars:scalars", include_latest_at=False)
            want = fields[ch.topic](msg)  # the leading series (then variances, roll/pitch/yaw)
            np.testing.assert_allclose(got.values.to_pylist()[-1][:len(want)], want, rtol=1e-6)
    from PIL import Image
    bio = io.BytesIO()
    Image.fromarray(np.arange(12, dtype=np.uint8).reshape(2, 2, 3)).save(bio, format="PNG")
    b = bag_builder()
    b.write("/png", "sensor_msgs/msg/CompressedImage", {"header": header(T0, "cam"), "format": "png",
                                                         "data": bio.getvalue()}, T0)
    b.close()
    convert(b.path, tmp_path / "p.rrd")
    s2 = ChunkStore.from_chunks(read_chunks(tmp_path / "p.rrd")[0])
    e = s2.latest_at("/png", "ros_time", T0)
    assert e["EncodedImage:media_type"].to_numpy().tolist() == ["image/png"]
    assert bytes(e["EncodedImage:blob"].values[0].values.to_numpy()) == bio.getvalue()
