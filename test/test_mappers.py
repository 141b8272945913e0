"""Mappers on real-shaped messages written to MCAP and decoded back (mcap-ros2-support), with
values checked against what was published."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import header, rerun_verify
from rerun_ros.convert import convert, exit_code
from rerun_ros.rrd.reader import read_chunks
from rerun_ros.store.chunk_store import ChunkStore

T0 = 1_757_502_238_000_000_000
SEP = "\n" + "=" * 80 + "\n"
HDR = "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id" + SEP + "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec"
POSE = ("MSG: geometry_msgs/Pose\ngeometry_msgs/Point position\ngeometry_msgs/Quaternion orientation" + SEP +
        "MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z" + SEP +
        "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1")
POSE_STAMPED = "std_msgs/Header header\ngeometry_msgs/Pose pose" + SEP + HDR + SEP + POSE
PATH = ("std_msgs/Header header\ngeometry_msgs/PoseStamped[] poses" + SEP + HDR + SEP +
        "MSG: geometry_msgs/PoseStamped\nstd_msgs/Header header\ngeometry_msgs/Pose pose" + SEP + POSE)
FLOAT64 = "float64 data"


def pose(x, y, z, yaw):
    return {"position": {"x": x, "y": y, "z": z},
            "orientation": {"x": 0.0, "y": 0.0, "z": float(np.sin(yaw / 2)), "w": float(np.cos(yaw / 2))}}


@pytest.fixture
def converted(bag_builder, tmp_path):
    b = bag_builder()
    # depth images: 16UC1 millimetres and 32FC1 metres, and a big-endian mono16
    d16 = (np.arange(12, dtype=np.uint16) * 100).reshape(3, 4)
    b.write("/depth16", "sensor_msgs/msg/Image", {"header": header(T0, "cam"), "height": 3, "width": 4, "encoding": "16UC1",
                                                  "is_bigendian": 0, "step": 8, "data": d16.tobytes()}, T0)
    d32 = np.linspace(0.5, 5.0, 12, dtype=np.float32).reshape(3, 4)
    b.write("/depth32", "sensor_msgs/msg/Image", {"header": header(T0, "cam"), "height": 3, "width": 4, "encoding": "32FC1",
                                                  "is_bigendian": 0, "step": 16, "data": d32.tobytes()}, T0)
    b.write("/mono16be", "sensor_msgs/msg/Image", {"header": header(T0, "cam"), "height": 3, "width": 4, "encoding": "mono16",
                                                   "is_bigendian": 1, "step": 8, "data": d16.astype(">u2").tobytes()}, T0)
    b.write("/bgra", "sensor_msgs/msg/Image", {"header": header(T0, "cam"), "height": 1, "width": 2, "encoding": "bgra8",
                                               "is_bigendian": 0, "step": 8, "data": bytes(range(8))}, T0)
    # organized cloud, 2x3, x y z + packed float rgb at offset 16 (4 bytes padding after z), row padding 8 bytes
    dt = np.dtype({"names": ["x", "y", "z", "rgb"], "formats": ["<f4"] * 4, "offsets": [0, 4, 8, 16], "itemsize": 20})
    pts = np.zeros(6, dt)
    pts["x"], pts["y"], pts["z"] = np.arange(6), np.arange(6) * 2, np.arange(6) * 3
    rgb = np.array([0x00FF0000, 0x0000FF00, 0x000000FF, 0x00123456, 0x00ABCDEF, 0x00000000], np.uint32)
    pts["rgb"] = rgb.view(np.float32)
    rows = pts.tobytes()
    data = rows[:60] + b"\0" * 8 + rows[60:] + b"\0" * 8
    fields = [{"name": n, "offset": o, "datatype": 7, "count": 1} for n, o in (("x", 0), ("y", 4), ("z", 8), ("rgb", 16))]
    b.write("/organized", "sensor_msgs/msg/PointCloud2", {"header": header(T0, "lidar"), "height": 2, "width": 3, "fields": fields,
                                                          "is_bigendian": False, "point_step": 20, "row_step": 68,
                                                          "data": data, "is_dense": True}, T0)
    # big-endian float64 cloud with uint8 intensity
    be = np.dtype({"names": ["x", "y", "z", "intensity"], "formats": [">f8", ">f8", ">f8", "u1"], "offsets": [0, 8, 16, 24], "itemsize": 32})
    c = np.zeros(3, be)
    c["x"], c["y"], c["z"], c["intensity"] = [1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 128, 255]
    f2 = [{"name": "x", "offset": 0, "datatype": 8, "count": 1}, {"name": "y", "offset": 8, "datatype": 8, "count": 1},
          {"name": "z", "offset": 16, "datatype": 8, "count": 1}, {"name": "intensity", "offset": 24, "datatype": 2, "count": 1}]
    b.write("/bigendian", "sensor_msgs/msg/PointCloud2", {"header": header(T0, "lidar"), "height": 1, "width": 3, "fields": f2,
                                                          "is_bigendian": True, "point_step": 32, "row_step": 96,
                                                          "data": c.tobytes(), "is_dense": True}, T0)
    b.schema("geometry_msgs/msg/PoseStamped", POSE_STAMPED)
    b.write("/goal", "geometry_msgs/msg/PoseStamped", {"header": header(T0, "map"), "pose": pose(1, 2, 0, np.pi / 2)}, T0)
    b.schema("nav_msgs/msg/Path", PATH)
    b.write("/plan", "nav_msgs/msg/Path", {"header": header(T0, "map"), "poses": [
        {"header": header(T0, "map"), "pose": pose(i, i * i, 0, 0)} for i in range(4)]}, T0)
    odo = {"header": header(T0, "odom"), "child_frame_id": "base_link",
           "pose": {"pose": pose(3, 4, 0, 0), "covariance": [0.0] * 36},
           "twist": {"twist": {"linear": {"x": 0.5, "y": 0, "z": 0}, "angular": {"x": 0, "y": 0, "z": 0.1}},
                     "covariance": [0.0] * 36}}
    b.write("/odom", "nav_msgs/msg/Odometry", odo, T0)
    b.schema("std_msgs/msg/Float64", FLOAT64)
    for i in range(3):
        b.write("/value", "std_msgs/msg/Float64", {"data": i * 1.25}, T0 + i)
        b.write("/count", "std_msgs/msg/Int32", {"data": -i}, T0 + i)
    b.close()
    out = tmp_path / "m.rrd"
    report = convert(b.path, out)
    assert exit_code(report) == 0, report.warnings
    assert rerun_verify(out).returncode == 0
    return ChunkStore.from_chunks(read_chunks(out)[0])


def latest(store, entity, column):
    return store.latest_at(entity, "log_time", T0 + 10)[column]


def test_depth_and_16bit_images(converted):
    s = converted
    d16 = (np.arange(12, dtype=np.uint16) * 100)
    buf = latest(s, "/depth16", "DepthImage:buffer").values[0].values.to_numpy()
    np.testing.assert_array_equal(buf.view(np.uint16), d16)
    assert latest(s, "/depth16", "DepthImage:meter").to_numpy().tolist() == [1000.0]
    fmt = latest(s, "/depth16", "DepthImage:format").values.to_pylist()[0]
    assert (fmt["width"], fmt["height"], fmt["channel_datatype"]) == (4, 3, 8)
    buf32 = latest(s, "/depth32", "DepthImage:buffer").values[0].values.to_numpy().view(np.float32)
    np.testing.assert_array_equal(buf32, np.linspace(0.5, 5.0, 12, dtype=np.float32))
    assert latest(s, "/depth32", "DepthImage:meter").to_numpy().tolist() == [1.0]
    # big-endian mono16 is swapped to native order
    be = latest(s, "/mono16be", "Image:buffer").values[0].values.to_numpy().view(np.uint16)
    np.testing.assert_array_equal(be, d16)
    fmt = latest(s, "/bgra", "Image:format").values.to_pylist()[0]
    assert fmt["color_model"] == 5  # BGRA


def test_organized_cloud_with_packed_rgb_and_padding(converted):
    pos = latest(converted, "/organized", "Points3D:positions").values.flatten().to_numpy().reshape(-1, 3)
    np.testing.assert_array_equal(pos, np.stack([np.arange(6), np.arange(6) * 2, np.arange(6) * 3], 1))
    col = latest(converted, "/organized", "Points3D:colors").to_numpy()
    assert [hex(c) for c in col[:5]] == ["0xff0000ff", "0xff00ff", "0xffff", "0x123456ff", "0xabcdefff"]


def test_big_endian_float64_cloud_with_intensity(converted):
    pos = latest(converted, "/bigendian", "Points3D:positions").values.flatten().to_numpy().reshape(-1, 3)
    np.testing.assert_array_equal(pos, [[1, 4, 7], [2, 5, 8], [3, 6, 9]])
    col = latest(converted, "/bigendian", "Points3D:colors").to_numpy()
    assert len(set(col.tolist())) == 3  # intensity mapped through the colormap


def test_pose_path_odometry(converted):
    arrow = latest(converted, "/goal", "Arrows3D:vectors").values.flatten().to_numpy()
    np.testing.assert_allclose(arrow, [0, 0.5, 0], atol=1e-6)  # yaw 90°: x axis points along +y
    assert latest(converted, "/goal", "Arrows3D:origins").values.flatten().to_numpy().tolist() == [1, 2, 0]
    assert latest(converted, "/goal", "CoordinateFrame:frame").to_numpy().tolist() == ["map"]
    strip = latest(converted, "/plan", "LineStrips3D:strips").values.to_pylist()[0]
    assert strip == [[0, 0, 0], [1, 1, 0], [2, 4, 0], [3, 9, 0]]
    assert latest(converted, "/odom", "Arrows3D:origins").values.flatten().to_numpy().tolist() == [3, 4, 0]
    tw = latest(converted, "/odom/twist", "Scalars:scalars").to_numpy()
    np.testing.assert_allclose(tw, [0.5, 0, 0, 0, 0, 0.1])
    names = converted.latest_at("/odom/twist", "log_time", T0)["SeriesLines:names"].to_numpy().tolist()
    assert names[0] == "linear x [m/s]"


def test_std_numbers(converted):
    r = converted.range("/value", "log_time", T0, T0 + 5, "Scalars:scalars")
    assert [v[0] for v in r.values.to_pylist()] == [0.0, 1.25, 2.5]
    r = converted.range("/count", "log_time", T0, T0 + 5, "Scalars:scalars")
    assert [v[0] for v in r.values.to_pylist()] == [0.0, -1.0, -2.0]


def test_images_of_one_batch_are_not_copied_into_their_column():
    """Blobs that lie back to back (the camera frames of one decoded batch are views of one
    buffer) become the chunk's column without a copy; blobs elsewhere are concatenated."""
    import numpy as np
    import pyarrow as pa
    from rerun_ros.mappers.columns import rows_to_columns
    from rerun_ros.model import archetypes as A
    buf = np.arange(3 * 1000, dtype=np.int64).astype(np.uint8)
    rows = [[A.EncodedImage(blob=buf[i * 1000:(i + 1) * 1000])] for i in range(3)] + [None]
    cols = rows_to_columns(rows, "/camera")
    d = A.EncodedImage.column("blob")
    col = cols[d]
    assert col.null_count == 1 and len(col) == 4
    blobs = col.values
    inner = blobs.values
    assert inner.buffers()[1].address + inner.offset == buf.ctypes.data  # the same memory
    assert [bytes(np.asarray(x.values)) for x in col.values] == [buf[i * 1000:(i + 1) * 1000].tobytes() for i in range(3)]
    apart = [[A.EncodedImage(blob=buf[0:1000])], [A.EncodedImage(blob=buf[2000:3000])]]
    col2 = next(iter(rows_to_columns(apart, "/camera").values()))
    assert bytes(np.asarray(col2.values[1].values)) == buf[2000:3000].tobytes()
    assert isinstance(col2, pa.Array)
