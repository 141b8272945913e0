"""The fast TFMessage decoder equals the generic mcap-ros2-support decoder on real messages."""
from __future__ import annotations

import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import FIELD, LIDAR, SENSORS, header
from rerun_ros.cdr.fast import (decode_image, decode_point_cloud2, decode_tf_message, fast_decoder_for, is_standard_tf_schema)


def _flat(m):
    return [(t.header.stamp.sec, t.header.stamp.nanosec, t.header.frame_id, t.child_frame_id,
             t.transform.translation.x, t.transform.translation.y, t.transform.translation.z,
             t.transform.rotation.x, t.transform.rotation.y, t.transform.rotation.z, t.transform.rotation.w)
            for t in m.transforms]


def test_equal_to_generic_decoder_on_real_bag():
    n = 0
    with open(FIELD, "rb") as f:
        r = make_reader(f)
        dec = {}
        for schema, ch, msg in r.iter_messages(topics=["/tf", "/tf_static"]):
            assert is_standard_tf_schema(schema.data.decode())
            generic = dec.setdefault(ch.id, DecoderFactory().decoder_for(ch.message_encoding, schema))
            assert _flat(decode_tf_message(msg.data)) == _flat(generic(msg.data))
            n += 1
    assert n == 162


def test_odd_string_lengths_and_empty(bag_builder):
    b = bag_builder()
    tfs = [{"header": header(1_000_000_007 * k, "m" * k), "child_frame_id": "c" * (2 * k + 1),
            "transform": {"translation": {"x": k, "y": -k, "z": 0.5}, "rotation": {"x": 0, "y": 0, "z": 0, "w": 1}}}
           for k in range(1, 6)]
    b.write("/tf", "tf2_msgs/msg/TFMessage", {"transforms": tfs}, 1)
    b.write("/tf", "tf2_msgs/msg/TFMessage", {"transforms": []}, 2)
    b.close()
    with open(b.path, "rb") as f:
        msgs = [(s, c, m) for s, c, m in make_reader(f).iter_messages()]
    generic = DecoderFactory().decoder_for("cdr", msgs[0][0])
    for _, _, m in msgs:
        assert _flat(decode_tf_message(m.data)) == _flat(generic(m.data))


def test_truncated_and_big_endian():
    with pytest.raises(ValueError, match="TFMessage"):
        decode_tf_message(b"\x00\x01\x00\x00" + (5).to_bytes(4, "little") + b"\x00" * 30)
    assert decode_tf_message(b"\x00\x00\x00\x00" + b"\x00" * 8) is None  # big-endian: generic decoder


def _image_tuple(m):
    return (m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id, m.height, m.width, m.encoding,
            m.is_bigendian, m.step, bytes(m.data))


def _cloud_tuple(m):
    return (m.header.stamp.sec, m.header.stamp.nanosec, m.header.frame_id, m.height, m.width,
            [(f.name, f.offset, f.datatype, f.count) for f in m.fields], bool(m.is_bigendian), m.point_step,
            m.row_step, bytes(m.data), bool(m.is_dense))


def _equal_on(path, expect_image: int, expect_cloud: int):
    counts = {"image": 0, "cloud": 0}
    with open(path, "rb") as f:
        dec = {}
        for schema, ch, msg in make_reader(f).iter_messages():
            fast = fast_decoder_for(schema.name, schema.data.decode())
            if fast is None or fast is decode_tf_message:
                continue
            generic = dec.setdefault(ch.id, DecoderFactory().decoder_for(ch.message_encoding, schema))
            if fast is decode_image:
                assert _image_tuple(fast(msg.data)) == _image_tuple(generic(msg.data))
                counts["image"] += 1
            else:
                assert _cloud_tuple(fast(msg.data)) == _cloud_tuple(generic(msg.data))
                counts["cloud"] += 1
    assert counts == {"image": expect_image, "cloud": expect_cloud}


def test_image_and_cloud_equal_to_generic_decoder_on_real_bags():
    _equal_on(SENSORS, 1, 1)
    _equal_on(LIDAR, 0, 3)


def test_image_and_cloud_odd_lengths(bag_builder):
    """Strings of every length modulo 4 before the aligned fields, empty data, several fields."""
    b = bag_builder()
    for k in range(8):
        enc = ["rgb8", "mono16", "bgra8", "16UC1", "8UC3", "yuv422", "bayer_rggb8", "32FC1"][k]
        b.write("/img", "sensor_msgs/msg/Image", {
            "header": header(1_000_000_000 * k + 7, "f" * k), "height": k, "width": 3, "encoding": enc,
            "is_bigendian": k % 2, "step": 3 * k, "data": bytes(range(k * 3))}, k + 1)
        fields = [{"name": "x" * (j + 1), "offset": 4 * j, "datatype": 7, "count": 1} for j in range(k % 4 + 1)]
        b.write("/cloud", "sensor_msgs/msg/PointCloud2", {
            "header": header(k, "lidar" + "_" * k), "height": 1, "width": k, "fields": fields,
            "is_bigendian": False, "point_step": 16, "row_step": 16 * k, "data": bytes(16 * k),
            "is_dense": bool(k % 2)}, k + 1)
    b.close()
    _equal_on(b.path, 8, 8)


def test_image_and_cloud_views_truncation_and_big_endian(bag_builder):
    b = bag_builder()
    b.write("/img", "sensor_msgs/msg/Image", {"header": header(1, "cam"), "height": 2, "width": 2, "encoding": "mono8",
                                              "is_bigendian": 0, "step": 2, "data": b"\x01\x02\x03\x04"}, 1)
    b.close()
    with open(b.path, "rb") as f:
        (_, _, msg), = list(make_reader(f).iter_messages())
    raw = bytes(msg.data)
    m = decode_image(raw)
    assert isinstance(m.data, memoryview) and m.data.obj is raw  # a view, not a copy
    with pytest.raises(ValueError):
        decode_image(raw[:-3])  # data shorter than its length prefix
    assert decode_image(b"\x00\x00\x00\x00" + raw[4:]) is None  # big-endian: generic decoder
    with pytest.raises(ValueError):
        decode_point_cloud2(raw[:12])
