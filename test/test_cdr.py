"""The compiled batch decoder on the hard cases: strings of every length modulo 4 before aligned
fields, empty sequences, mixed layouts in one batch, big-endian CDR, and damaged messages among
good ones (reported per message; the neighbours decode)."""
from __future__ import annotations

import numpy as np
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import FIELD, SENSORS, header, nan_safe
from rerun_ros.cdr import decoder_for
from test_ingest import _oracle_value


def _batch(payloads: list[bytes]):
    lens = np.array([len(p) for p in payloads], np.int64)
    offs = np.zeros(len(payloads), np.int64)
    np.cumsum(lens[:-1], out=offs[1:])
    return np.frombuffer(b"".join(payloads), np.uint8), offs, lens


def _messages(path, topic=None):
    with open(path, "rb") as f:
        return [(s, m.data) for s, c, m in make_reader(f).iter_messages() if topic is None or c.topic == topic]


def test_mixed_layouts_in_one_batch_equal_the_oracle(bag_builder):
    """TF frames, image encodings and cloud fields of every length modulo 4, empty sequences and
    empty strings, all in one batch per type: each row equals mcap-ros2's decoding."""
    b = bag_builder()
    for k in range(8):
        tfs = [{"header": header(1_000_000_007 * j, "m" * j), "child_frame_id": "c" * (2 * j + k % 3),
                "transform": {"translation": {"x": j, "y": -j, "z": 0.5}, "rotation": {"x": 0, "y": 0, "z": 0, "w": 1}}}
               for j in range(k % 5)]
        b.write("/tf", "tf2_msgs/msg/TFMessage", {"transforms": tfs}, k + 1)
        enc = ["rgb8", "mono16", "bgra8", "16UC1", "8UC3", "yuv422", "bayer_rggb8", ""][k]
        b.write("/img", "sensor_msgs/msg/Image", {
            "header": header(1_000_000_000 * k + 7, "f" * k), "height": k, "width": 3, "encoding": enc,
            "is_bigendian": k % 2, "step": 3 * k, "data": bytes(range(k * 3))}, k + 1)
        fields = [{"name": "x" * (j + 1), "offset": 4 * j, "datatype": 7, "count": 1} for j in range(k % 4)]
        b.write("/cloud", "sensor_msgs/msg/PointCloud2", {
            "header": header(k, "lidar" + "_" * k), "height": 1, "width": k, "fields": fields,
            "is_bigendian": False, "point_step": 16, "row_step": 16 * k, "data": bytes(16 * k),
            "is_dense": bool(k % 2)}, k + 1)
        b.write("/js", "sensor_msgs/msg/JointState", {
            "header": header(k, ""), "name": [f"j{'x' * i}" for i in range(k)], "position": [0.5 * i for i in range(k)],
            "velocity": [], "effort": [1.0] * (k % 2)}, k + 1)
    b.close()
    fac = DecoderFactory()
    for topic in ("/tf", "/img", "/cloud", "/js"):
        msgs = _messages(b.path, topic)
        schema = msgs[0][0]
        dec = decoder_for(schema.name, schema.encoding, schema.data.decode())
        res = dec.decode(*_batch([d for _, d in msgs]))
        assert res.ok.all(), res.first_error
        ref = fac.decoder_for("cdr", schema)
        assert [nan_safe(r) for r in res.array.to_pylist()] == [_oracle_value(ref(d)) for _, d in msgs], topic
        assert (res.end == np.array([len(d) for _, d in msgs])).all()


def test_big_endian_messages_equal_their_little_endian_twins():
    """Real messages re-serialized big-endian by rosbags decode to the same values."""
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS2_HUMBLE)
    for path, topic, typ in ((SENSORS, "/imu", "sensor_msgs/msg/Imu"), (FIELD, "/tf", "tf2_msgs/msg/TFMessage"),
                             (SENSORS, "/joint_state", "sensor_msgs/msg/JointState")):
        msgs = _messages(path, topic)
        schema = msgs[0][0]
        dec = decoder_for(schema.name, schema.encoding, schema.data.decode())
        le = [d for _, d in msgs]
        be = [bytes(ts.serialize_cdr(ts.deserialize_cdr(d, typ), typ, little_endian=False)) for d in le]
        assert all(x[1] == 0 for x in be)  # encapsulation: big-endian CDR
        mixed = [x if i % 2 else y for i, (x, y) in enumerate(zip(le, be))]
        a = dec.decode(*_batch(le))
        m = dec.decode(*_batch(mixed))
        assert a.ok.all() and m.ok.all(), m.first_error
        assert nan_safe(m.array.to_pylist()) == nan_safe(a.array.to_pylist()), topic


def test_damaged_messages_are_reported_and_their_neighbours_decode():
    msgs = [d for _, d in _messages(FIELD, "/coug2/dvl/data")]
    schema = _messages(FIELD, "/coug2/dvl/data")[0][0]
    dec = decoder_for(schema.name, schema.encoding, schema.data.decode())
    good = dec.decode(*_batch(msgs[:6])).array.to_pylist()
    huge = bytearray(msgs[2])
    at = bytes(huge).rindex(b"json") - 4  # the length of the last string, "json_v3.1"
    huge[at:at + 4] = (10**9).to_bytes(4, "little")  # far past the end
    bad = [msgs[0], msgs[1][:40], bytes(huge), b"\x00\x01", msgs[4], b"\x00\x03\x00\x00" + msgs[5][4:]]
    res = dec.decode(*_batch(bad))
    assert res.ok.tolist() == [True, False, False, False, True, False]
    assert sum(res.errors.values()) == 4 and "runs past the end" in res.first_error[1]
    rows = res.valid().to_pylist()
    assert nan_safe(rows) == nan_safe([good[0], good[4]])
    assert any("encapsulation" in r for r in res.errors)


def test_fast_definition_parser_equals_rosbags_on_every_bundled_schema():
    """Definitions are parsed by a small parser of the plain .msg format (rosbags' PEG parser
    costs ~6 ms a schema); it must give what rosbags gives for every schema of the real bags."""
    from pathlib import Path

    from rosbags.typesys import get_types_from_msg

    from conftest import DATA
    from rerun_ros.cdr.schema import _parse_msg, normalize_type

    def plain(x):
        if isinstance(x, tuple):
            return tuple(plain(y) for y in x)
        return int(x) if type(x).__name__ == "Nodetype" else x

    n = 0
    files = [SENSORS] + sorted(Path(DATA).glob("**/*.mcap"))
    for f in files:
        with open(f, "rb") as fh:
            try:
                s = make_reader(fh).get_summary()
            except Exception:
                continue
        for sc in (s.schemas.values() if s else []):
            if sc.encoding != "ros2msg" or sc.name == "broken_msgs/Garbage":
                continue
            try:
                ref = dict(get_types_from_msg(sc.data.decode(), normalize_type(sc.name)))
            except Exception:
                continue
            got = _parse_msg(sc.data.decode(), normalize_type(sc.name))
            assert got is not None, sc.name
            assert {k: (v[0], plain(tuple(v[1]))) for k, v in got.items()} == \
                {k: (list(v[0]), plain(tuple(v[1]))) for k, v in ref.items()}, (f.name, sc.name)
            n += 1
    assert n > 150


def test_uniform_batches_are_decoded_as_one_block_equal_to_the_general_decoder():
    """Topics whose messages share one byte layout (the same string and sequence lengths in every
    message) and whose general program loops over array elements (TF, joint names, MultiArray
    labels, diagnostics) are decoded as one (M, L) block (rerun_ros.cdr.uniform): on every such
    topic of the real bags the block path is taken and equals mcap-ros2 and the general programs,
    number columns for the mappers included."""
    from conftest import DATA
    from rerun_ros.cdr.decoder import BatchDecoder
    from rerun_ros.cdr.uniform import decode_uniform

    fac = DecoderFactory()
    types94 = DATA / "types94" / "test_bag_mcap" / "test_bag_mcap.mcap"
    taken = []
    for path in (FIELD, SENSORS, types94):
        per: dict = {}
        for s, c, m in make_reader(open(path, "rb")).iter_messages():
            per.setdefault(c.topic, (s, []))[1].append(m.data)
        for topic, (schema, datas) in per.items():
            dec = decoder_for(schema.name, schema.encoding, schema.data.decode())
            if not dec.uniform:
                continue
            buf, offs, lens = _batch(datas)
            assert decode_uniform(dec.msg, buf, offs, lens) is not None, topic
            res = dec.decode(buf, offs, lens)
            gen = BatchDecoder(dec.msg, uniform=False).decode(buf, offs, lens)
            ref = fac.decoder_for("cdr", schema)
            assert res.ok.all() and res.array.type == gen.array.type
            assert [nan_safe(r) for r in res.array.to_pylist()] == [_oracle_value(ref(d)) for d in datas], topic
            assert nan_safe(res.array.to_pylist()) == nan_safe(gen.array.to_pylist()), topic
            assert (res.end == gen.end).all() and set(res.numbers) == set(gen.numbers), topic
            for k, v in gen.numbers.items():
                assert np.array_equal(res.numbers[k], v, equal_nan=True) and res.numbers[k].dtype == v.dtype, (topic, k)
            taken.append(topic)
    assert {"/tf", "/joint_state", "/test/tf2_msgs/tf_message", "/test/std_msgs/float64_multi_array",
            "/test/std_msgs/multi_array_layout", "/multi_dof_joint_state"} <= set(taken), taken


def test_messages_of_one_length_but_another_layout_fall_back_to_the_general_decoder(bag_builder):
    """Two joint states of the same byte length whose names split differently ("ab", "c" and
    "a", "bc"): the fields after the names sit at other offsets, so the block path must refuse
    the batch; the values equal mcap-ros2's."""
    from rerun_ros.cdr.uniform import decode_uniform

    b = bag_builder()
    for k, names in enumerate((["ab", "c"], ["a", "bc"], ["ab", "c"])):
        b.write("/js", "sensor_msgs/msg/JointState", {"header": header(k, "base"), "name": names,
                                                      "position": [1.5 + k, -2.0], "velocity": [], "effort": []}, k + 1)
    b.close()
    msgs = _messages(b.path, "/js")
    datas = [d for _, d in msgs]
    assert len({len(d) for d in datas}) == 1
    schema = msgs[0][0]
    dec = decoder_for(schema.name, schema.encoding, schema.data.decode())
    assert dec.uniform
    assert decode_uniform(dec.msg, *_batch(datas)) is None
    assert decode_uniform(dec.msg, *_batch([datas[0], datas[2]])) is not None
    res = dec.decode(*_batch(datas))
    ref = DecoderFactory().decoder_for("cdr", schema)
    assert [nan_safe(r) for r in res.array.to_pylist()] == [_oracle_value(ref(d)) for d in datas]
    assert [r["name"] for r in res.array.to_pylist()] == [["ab", "c"], ["a", "bc"], ["ab", "c"]]
    # two layouts of two lengths, interleaved: one block per length, rows back in message order
    b2 = bag_builder()
    shapes = (["ab", "c"], ["elbow", "wrist"], ["ab", "c"], ["elbow", "wrist"], ["elbow", "wrist"])
    for k, names in enumerate(shapes):
        b2.write("/js", "sensor_msgs/msg/JointState", {"header": header(k, "base"), "name": names,
                                                       "position": [0.25 * k, 1.0], "velocity": [], "effort": []}, k + 1)
    b2.close()
    two = [d for _, d in _messages(b2.path, "/js")]
    got = decode_uniform(dec.msg, *_batch(two))
    assert got is not None and len({len(d) for d in two}) == 2
    assert [nan_safe(r) for r in got[0].to_pylist()] == [_oracle_value(ref(d)) for d in two]
    assert got[1]["header.stamp.nanosec"].tolist() == [_oracle_value(ref(d))["header"]["stamp"]["nanosec"] for d in two]
    assert (got[2] == np.array([len(d) for d in two])).all()


def test_string_codes_and_list_columns_of_live_sized_batches_equal_the_whole_batch_forms():
    """Live batches hold a few messages; their string grouping (a dict below 33 rows) and
    message-struct list columns (made in C++) equal the vector forms used for big batches, on
    the real field run's strings (every topic's frame ids, /rosout's node names and lines; slices
    of every size 1..40, forwards and backwards) and its message structs with null rows."""
    import pyarrow as pa

    from rerun_ros.cdr import decoder_for
    from rerun_ros.model import components as C
    by_topic: dict = {}
    with open(FIELD, "rb") as f:
        for s, c, m in make_reader(f).iter_messages():
            got = by_topic.setdefault(c.topic, (s, []))
            if len(got[1]) < 120:
                got[1].append(m.data)
    strings, structs = [], []
    for topic, (s, msgs) in sorted(by_topic.items()):
        arr = decoder_for(s.name, s.encoding, s.data.decode()).decode(*_batch(msgs)).array
        structs.append(arr)
        names = [f.name for f in arr.type]
        if "header" in names:
            strings.append(arr.field("header").field("frame_id"))
        strings += [arr.field(k) for k in ("name", "msg", "child_frame_id") if k in names]
    big = pa.concat_arrays([x.cast(pa.utf8()) for x in strings])
    big = pa.concat_arrays([big, big.take(pa.array(np.arange(len(big))[::-1]))])  # first seen != sorted
    assert len(set(big.to_pylist())) > 20
    for n in range(1, 41):
        for start in range(0, len(big) - n, 97):
            part = big.slice(start, n)
            codes, names = C.string_codes(part)
            want = [w or "" for w in part.to_pylist()]
            assert [names[c] for c in codes] == want
            assert names == sorted(set(want), key=str.encode)
    for arr in structs:
        n = len(arr)
        valid = np.arange(n) % 3 != 1
        col = C.list_column(arr, valid=valid)
        typ = pa.list_(pa.field("item", arr.type, nullable=True))
        want = pa.ListArray.from_buffers(typ, n, [pa.py_buffer(np.packbits(valid, bitorder="little")),
                                                  pa.py_buffer(np.arange(n + 1, dtype=np.int32))], children=[arr])
        assert col.type == typ and col.null_count == int((~valid).sum())
        assert nan_safe(col.to_pylist()) == nan_safe(want.to_pylist())  # (NaN fields: equals() is False)
        off = np.minimum(np.arange(n + 1, dtype=np.int64) // 2 * 2, n)
        off[-1] = n
        col2 = C.list_column(arr, off)
        assert col2.type == typ and col2.offsets.to_pylist() == off.tolist() and col2.null_count == 0
