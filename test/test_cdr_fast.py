"""The fast TFMessage decoder equals the generic mcap-ros2-support decoder on real messages."""
from __future__ import annotations

import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import FIELD, header
from rerun_ros.cdr_fast import decode_tf_message, is_standard_tf_schema


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
