"""Our .rrd files against the official Rerun 0.41 tools, and official files through our reader."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import official_table, rerun_verify
from rerun_ros.model import archetypes as A
from rerun_ros.model.chunk import Timeline
from rerun_ros.stream.recording import BatcherConfig, RecordingStream
from rerun_ros.rrd.reader import RrdError, RrdReader, read_chunks
from rerun_ros.rrd.writer import RrdWriter
from rerun_ros.store.chunk_store import ChunkStore

T0 = 1_700_000_000_000_000_000


def write_sample(path, footer=True):
    """Log one of everything; return what was logged for comparison."""
    w = RrdWriter(path, application_id="compat")
    rec = RecordingStream("compat", batcher=BatcherConfig(max_age=0), sinks=[w])
    rng = np.random.default_rng(7)
    pos = rng.normal(size=(100, 3)).astype(np.float32)
    colors = rng.integers(0, 255, size=(100, 4), dtype=np.uint8)
    img = rng.integers(0, 255, size=(4, 5, 3), dtype=np.uint8)
    for i in range(5):
        rec.set_time("ros_time", timestamp_ns=T0 + i * 10**8)
        rec.set_time("frame", sequence=i)
        rec.log("/points", A.Points3D(pos + i, colors=colors, radii=0.05))
        rec.log("/scalar", A.Scalars([i * 0.5]))
        rec.log("/tf", A.Transform3D(translation=[i, 2, 3], quaternion=[0, 0, np.sin(i / 4), np.cos(i / 4)],
                                     parent_frame="map", child_frame="base_link"))
        rec.log("/rosout", A.TextLog(f"line {i}", level="WARN"))
    rec.log("/camera/image", A.Image.from_array(img))
    rec.log("/camera/info", A.Pinhole([[500, 0, 320], [0, 500, 240], [0, 0, 1]], resolution=[640, 480]),
            static=True)
    rec.log("/doc", A.TextDocument("hello"), static=True)
    rec.flush()
    w.close(write_footer=footer)
    rec.close()
    return {"pos": pos, "colors": colors, "img": img}


def test_official_verify_and_values(tmp_path):
    p = tmp_path / "ours.rrd"
    logged = write_sample(p)
    r = rerun_verify(p)
    assert r.returncode == 0, r.stderr
    pts = official_table(p, "/points")
    got = pts.column("/points:Points3D:positions").to_pylist()
    assert len(got) == 5
    np.testing.assert_array_equal(np.array(got[2], np.float32), logged["pos"] + 2)
    col = np.array(pts.column("/points:Points3D:colors").to_pylist()[0], dtype=np.uint32)
    c = logged["colors"].astype(np.uint32)
    np.testing.assert_array_equal(col, (c[:, 0] << 24) | (c[:, 1] << 16) | (c[:, 2] << 8) | c[:, 3])
    assert pts.column("/points:Points3D:radii").to_pylist()[0] == [pytest.approx(0.05)]

    sc = official_table(p, "/scalar")
    assert [v[0] for v in sc.column("/scalar:Scalars:scalars").to_pylist()] == [0.0, 0.5, 1.0, 1.5, 2.0]
    times = sc.column("ros_time").cast("int64").to_pylist()
    assert times == [T0 + i * 10**8 for i in range(5)]

    tf = official_table(p, "/tf")
    assert tf.column("/tf:Transform3D:parent_frame").to_pylist()[0] == ["map"]
    assert tf.column("/tf:Transform3D:child_frame").to_pylist()[4] == ["base_link"]
    assert tf.column("/tf:Transform3D:translation").to_pylist()[3] == [[3.0, 2.0, 3.0]]
    q = np.array(tf.column("/tf:Transform3D:quaternion").to_pylist()[4][0])
    np.testing.assert_allclose(q, [0, 0, np.sin(1), np.cos(1)], atol=1e-6)

    log = official_table(p, "/rosout")
    assert log.column("/rosout:TextLog:text").to_pylist()[1] == ["line 1"]
    assert log.column("/rosout:TextLog:level").to_pylist()[1] == ["WARN"]

    im = official_table(p, "/camera/image")
    assert bytes(im.column("/camera/image:Image:buffer").to_pylist()[0][0]) == logged["img"].tobytes()
    fmt = im.column("/camera/image:Image:format").to_pylist()[0][0]
    assert (fmt["width"], fmt["height"], fmt["color_model"], fmt["channel_datatype"]) == (5, 4, 2, 6)

    doc = official_table(p, "/doc", index=None)
    assert doc.column("/doc:TextDocument:text").to_pylist() == [["hello"]]


def test_official_reads_file_without_footer(tmp_path):
    p = tmp_path / "nofooter.rrd"
    write_sample(p, footer=False)
    assert rerun_verify(p).returncode != 0  # verify needs the footer, as documented
    from rerun.chunk import RrdReader as Official
    chunks = Official(str(p)).stream().to_chunks()
    assert {c.entity_path for c in chunks} >= {"/points", "/scalar", "/tf", "/doc"}
    ours, warnings = read_chunks(p)
    assert sum(len(c) for c in ours if c.entity_path == "/points") == 5
    assert not RrdReader(p).has_footer


def test_our_reader_reads_official_sdk_file(tmp_path):
    p = tmp_path / "sdk.rrd"
    code = f"""
import rerun as rr, numpy as np
rr.init("sdk_app", recording_id="r1")
rr.save({str(p)!r})
for i in range(3):
    rr.set_time("ros_time", timestamp=1.0 + i)
    rr.log("/pts", rr.Points3D([[i, 2, 3], [4, 5, 6]], colors=[[255, 0, 0]]))
    rr.log("/s", rr.Scalars([i * 2.0]))
rr.log("/img", rr.Image(np.arange(24, dtype=np.uint8).reshape(2, 4, 3)))
rr.log("/tf", rr.Transform3D(translation=[1, 2, 3], parent_frame="a", child_frame="b"))
rr.log("/doc", rr.TextDocument("static!"), static=True)
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    r = RrdReader(p)
    assert r.has_footer
    chunks = list(r.iter_chunks())
    assert not r.warnings
    store = ChunkStore.from_chunks(chunks)
    t = 3 * 10**9
    la = store.latest_at("/pts", "ros_time", t)
    np.testing.assert_array_equal(la["Points3D:positions"].values.flatten().to_numpy(), [2, 2, 3, 4, 5, 6])
    assert la["Points3D:colors"].to_numpy().tolist() == [0xFF0000FF]
    rng = store.range("/s", "ros_time", 0, 10**10, "Scalars:scalars")
    assert [v[0] for v in rng.values.to_pylist()] == [0.0, 2.0, 4.0]
    img = store.latest_at("/img", "ros_time", t)["Image:buffer"].values[0].values.to_numpy()
    np.testing.assert_array_equal(img, np.arange(24, dtype=np.uint8))
    assert store.latest_at("/doc", "ros_time", 0)["TextDocument:text"].to_numpy().tolist() == ["static!"]
    tf = store.latest_at("/tf", "ros_time", t)
    assert tf["Transform3D:parent_frame"].to_numpy().tolist() == ["a"]
    # random access through the manifest gives the same chunks
    man = r.manifest
    assert man.num_rows == len(chunks)
    for off, size, eid in zip(man.column("chunk_byte_offset").to_pylist(), man.column("chunk_byte_size").to_pylist(),
                              man.column("chunk_entity_path").to_pylist()):
        assert r.read_chunk(off, size).entity_path == eid


def test_truncated_file_loads_up_to_last_whole_chunk(tmp_path):
    p = tmp_path / "full.rrd"
    write_sample(p)
    data = p.read_bytes()
    man = RrdReader(p).manifest
    offs = man.column("chunk_byte_offset").to_pylist()
    cut = offs[3] + 10  # in the middle of the 4th chunk
    t = tmp_path / "cut.rrd"
    t.write_bytes(data[:cut])
    chunks, warnings = read_chunks(t)
    assert len(chunks) == 3
    assert any("truncated" in w and "cut.rrd" in w for w in warnings)


def test_not_an_rrd(tmp_path):
    p = tmp_path / "x.rrd"
    p.write_bytes(b"hello world, not rrd")
    with pytest.raises(RrdError, match="not an .rrd file"):
        RrdReader(p)
    with pytest.raises(FileNotFoundError):
        RrdReader(tmp_path / "missing.rrd")


def test_empty_recording_verifies(tmp_path):
    p = tmp_path / "empty.rrd"
    RrdWriter(p).close()
    assert rerun_verify(p).returncode == 0


def test_writer_threads_keep_order(tmp_path):
    p = tmp_path / "threads.rrd"
    w = RrdWriter(p, threads=2)
    rec = RecordingStream(batcher=BatcherConfig(max_rows=10, max_age=0), sinks=[w])
    for i in range(1000):
        rec.log("/s", A.Scalars([float(i)]), timepoints={Timeline("frame", "sequence"): i})
    rec.close()
    assert _verified_scalars(p) == [float(i) for i in range(1000)]


def _verified_scalars(p) -> list:
    """The scalars of /s in file order, after `rerun rrd verify` passed on the file."""
    assert rerun_verify(p).returncode == 0
    chunks, _ = read_chunks(p)
    return [v[0] for c in chunks for v in c.component("Scalars:scalars")[1].to_pylist()]


def test_writer_thread_started_midway_keeps_order_and_every_chunk(tmp_path):
    """``RrdWriter.start_thread`` (a one-segment bag converted with cores to spare): the chunks
    written before it stay first, those after go through the thread in order, with zstd; the
    file verifies and reads back whole in order."""
    from rerun_ros.rrd import proto as P
    p = tmp_path / "midway.rrd"
    w = RrdWriter(p, compress="zstd")
    rec = RecordingStream(batcher=BatcherConfig(max_rows=20000, max_age=0), sinks=[w])
    for i in range(100000):
        if i == 40000:
            rec.flush()
            w.start_thread()
            assert w._thread is not None and w._thread.is_alive()
        rec.log("/s", A.Scalars([float(i)]), timepoints={Timeline("frame", "sequence"): i})
    rec.close()
    assert _verified_scalars(p) == [float(i) for i in range(100000)]
    with RrdReader(p) as r:  # chunks of 20k rows are zstd streams (the ArrowMsg says none)
        kinds = [r._decode_arrow(m.offset, m.length)[0].compression for m in r._messages()
                 if m.kind == P.KIND_ARROW_MSG]
    assert kinds.count(P.COMPRESSION_NONE) >= 3, kinds


def test_sinks_share_one_encoding_of_a_chunk(tmp_path):
    """The bridge hands each chunk to its file, viewer stream and gRPC sinks: the IPC stream is
    made once and LZ4-compressed once, and both forms are what the official reader reads."""
    import lz4.block
    from conftest import FIELD
    from rerun_ros.rrd.writer import encode_arrow_msg, encode_chunk_payload, make_store_id
    from rerun_ros.store.open import open_source
    store = open_source(FIELD).store
    chunk = next(c for c in store.chunks() if not c.is_static and len(c) > 10)
    raw, n = encode_chunk_payload(chunk, False)          # the viewer stream's form
    packed, n2 = encode_chunk_payload(chunk, True)       # the file's form
    assert n == n2 == raw.size
    assert encode_chunk_payload(chunk, False)[0] is raw and encode_chunk_payload(chunk, True)[0] is packed
    assert lz4.block.decompress(packed, uncompressed_size=n) == raw.to_pybytes()
    sid = make_store_id("share")
    assert encode_arrow_msg(chunk, sid, True)[1] is packed  # the gRPC sink's message carries the same bytes
    w = RrdWriter(tmp_path / "one.rrd", application_id="share")
    w.write_chunk(chunk)
    w.close()
    assert rerun_verify(tmp_path / "one.rrd").returncode == 0
    back, _ = read_chunks(tmp_path / "one.rrd")
    assert len(back) == 1 and back[0].to_record_batch().equals(chunk.to_record_batch())


def _arrow_msg_bodies(path):
    from rerun_ros.rrd import proto as P
    with RrdReader(path) as r:
        return [bytes(r._buf[m.offset:m.offset + m.length]) for m in r._messages() if m.kind == P.KIND_ARROW_MSG]


def _same_fields(view, m):
    from rerun_ros.rrd import proto as P
    assert (view.compression, view.uncompressed_size, view.encoding, view.is_static) == \
        (m.compression, m.uncompressed_size, m.encoding, m.is_static)
    assert bytes(view.payload) == m.payload
    assert P.StoreId.FromString(view.store_id) == m.store_id
    assert view.chunk_id == ((m.chunk_id.time_ns, m.chunk_id.inc) if m.HasField("chunk_id") else None)


def test_arrow_msg_read_in_place_equals_protobuf(tmp_path):
    """The in-place ArrowMsg reader (no copy of the payload) reads every message of a real bag
    converted by the official converter, and of ours, as google.protobuf does; unknown fields
    of every wire type are skipped, a repeated field's last value wins."""
    from conftest import RERUN, SENSORS
    from rerun_ros.rrd import proto as P
    theirs = tmp_path / "official.rrd"
    subprocess.run([RERUN, "mcap", "convert", str(SENSORS), "-o", str(theirs)], check=True, capture_output=True,
                   timeout=300)
    ours = tmp_path / "ours.rrd"
    write_sample(ours)
    bodies = _arrow_msg_bodies(theirs) + _arrow_msg_bodies(ours)
    assert len(bodies) > 40
    for body in bodies:
        _same_fields(P.scan_arrow_msg(memoryview(body), 0, len(body)), P.ArrowMsg.FromString(body))
    # unknown fields: varint (99), fixed64 (98), length-delimited (97), fixed32 (96); then field 3 again
    extra = bytes([0x98, 0x06, 0xAC, 0x02]) + bytes([0x91, 0x06]) + b"\x01" * 8 + \
        bytes([0x8A, 0x06, 0x03]) + b"abc" + bytes([0x85, 0x06]) + b"\x02" * 4 + bytes([0x18, 0x7B])
    body = bodies[0] + extra
    view, m = P.scan_arrow_msg(memoryview(body), 0, len(body)), P.ArrowMsg.FromString(body)
    assert m.uncompressed_size == view.uncompressed_size == 123
    _same_fields(view, m)
    for bad in (body[:-1], body + b"\x80", body + bytes([0x2A, 0x10]) + b"short", body + bytes([0x0B])):
        with pytest.raises(ValueError):
            P.scan_arrow_msg(memoryview(bad), 0, len(bad))


def test_the_messages_we_write_are_what_protobuf_writes(tmp_path):
    """The writer encodes its protobuf messages itself (rerun_ros.rrd.wire: a conversion never
    imports google.protobuf): every ArrowMsg (bar the payload appended after it), the store info
    and the footer of a real bag's conversion are byte for byte what google.protobuf makes of
    the fields it reads back from them, and a blueprint's activation command too."""
    from conftest import FIELD
    from rerun_ros.rrd import proto as P, wire
    from rerun_ros.rrd.writer import FOOTER_MAGIC, TRAILER, activation_msg, make_store_id
    out = tmp_path / "field.rrd"
    code = (f"import sys; from rerun_ros.convert import convert; convert({str(FIELD)!r}, {str(out)!r}, jobs=2); "
            "print(sorted(m for m in sys.modules if m.startswith('google')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stdout + p.stderr
    raw = out.read_bytes()
    with RrdReader(out) as r:
        msgs = list(r._messages())
    kinds = [m.kind for m in msgs]
    assert kinds.count(P.KIND_SET_STORE_INFO) == 1 and kinds.count(P.KIND_ARROW_MSG) > 20
    for m in msgs:
        body = raw[m.offset:m.offset + m.length]
        if m.kind == P.KIND_ARROW_MSG:
            msg = P.ArrowMsg.FromString(body)
            payload = msg.payload
            n = len(payload)
            head = body[:len(body) - n - len(wire.varint(n)) - 1]  # (field 5, the payload, comes last)
            msg.ClearField("payload")
            assert head == msg.SerializeToString() and body[len(head):] == b"\x2a" + wire.varint(n) + payload
        elif m.kind == P.KIND_SET_STORE_INFO:
            assert body == P.SetStoreInfo.FromString(body).SerializeToString()
    off, length, _, magic, _ = TRAILER.unpack(raw[-TRAILER.size:])
    assert magic == FOOTER_MAGIC
    body = raw[off:off + length]
    footer = P.RrdFooter.FromString(body)
    assert body == footer.SerializeToString() and len(footer.manifests) == 1
    assert footer.manifests[0].store_id.application_id.id == "SO_bag_0"
    for active, default in ((True, True), (True, False), (False, False)):
        bid = make_store_id("app", "rec_1", P.STORE_KIND_BLUEPRINT)
        body = activation_msg(bid, active, default)
        cmd = P.BlueprintActivationCommand.FromString(body)
        assert (cmd.make_active, cmd.make_default, cmd.blueprint_id.kind) == (active, default, P.STORE_KIND_BLUEPRINT)
        assert body == cmd.SerializeToString()


def test_whole_file_read_keeps_chunks_after_close(tmp_path):
    """Chunks read from a file (LZ4 and uncompressed) hold their own memory: the reader closes
    and the values stay; abandoning an iteration halfway does not break close()."""
    import rerun_ros.sdk as rr
    for compress in (True, False):
        p = tmp_path / f"c{compress}.rrd"
        w = RrdWriter(p, compress=compress)
        rec = RecordingStream("c", batcher=BatcherConfig(max_age=0), sinks=[w])
        y = np.arange(200_000, dtype=np.float64)
        for lo in range(0, len(y), 10_000):  # 20 chunks of 0.3 MB: read on both threads
            cols = rr.Scalars.columns(scalars=y[lo:lo + 10_000])
            rec.log_columns("/s", {Timeline("ros_time"): T0 + np.arange(lo, lo + 10_000) * 1000},
                            {c.descriptor: c.list_array() for c in cols})
        rec.close()
        w.close()
        with RrdReader(p) as r:
            chunks = list(r.iter_chunks())
        store = ChunkStore.from_chunks(chunks)
        vals = store.range("/s", "ros_time", 0, 2**62, "Scalars:scalars").values.to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(vals, y)
        r = RrdReader(p)
        it = r.iter_chunks()
        next(it)
        r.close()  # an iteration left halfway


@pytest.mark.parametrize("threads", [0, 1])
def test_sync_bytes_keeps_the_recording_out_of_the_page_cache(tmp_path, threads):
    """A long live recording must not fill the page cache: with ``sync_bytes`` the written
    pages are synced and dropped every so many bytes (in a background thread, with or without
    an encoding thread), so what stays cached is about one interval; without it, the whole
    file. Measured with util-linux ``fincore`` on the real lidar bag's clouds written 6 times."""
    import shutil

    from conftest import LIDAR
    from rerun_ros.convert import convert

    if shutil.which("fincore") is None:
        pytest.skip("util-linux fincore is not installed")
    src = tmp_path / "lidar.rrd"
    convert(LIDAR, src)
    chunks, _ = read_chunks(src)

    def cached(p) -> int:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(p)],
                             capture_output=True, text=True, check=True).stdout
        return int(out.split()[0])

    sizes = {}
    for sync in (0, 1 << 20):
        p = tmp_path / f"s{sync}.rrd"
        w = RrdWriter(p, threads=threads, sync_bytes=sync, compress=False)
        for _ in range(6):
            for c in chunks:
                w.write_chunk(c)
        w.close()
        sizes[sync] = (p.stat().st_size, cached(p))
        assert len(read_chunks(p)[0]) == 6 * len(chunks)
    size, res = sizes[0]
    assert size > 12 << 20 and res > size // 2, sizes
    size, res = sizes[1 << 20]
    assert res < 1 << 20, sizes


def _stored(path):
    """(entity, stored payload bytes, LZ4-compressed?, its IPC stream's bytes, LZ4 of that) per chunk."""
    import lz4.block

    from rerun_ros.rrd import proto as P
    from rerun_ros.rrd.writer import _ipc_stream
    out = []
    with RrdReader(path) as r:
        for m in r._messages():
            if m.kind != P.KIND_ARROW_MSG:
                continue
            msg, chunk = r._decode_arrow(m.offset, m.length)
            ipc = _ipc_stream(chunk)
            out.append((chunk.entity_path, len(msg.payload), msg.compression == P.COMPRESSION_LZ4, ipc.size,
                        len(lz4.block.compress(ipc, store_size=False))))
    return out


@pytest.mark.parametrize("codec", ["zstd", "lz4"])
@pytest.mark.parametrize("bag", ["nav_mix", "walker", "lidar"])
def test_chunks_that_lz4_shrinks_are_stored_compressed(tmp_path, bag, codec):
    """Every chunk LZ4 shrinks by a quarter or more is stored compressed (what it does not shrink by
    a tenth, e.g. camera noise, may be stored as it is: bench/convert.py), with either codec: LZ4
    blocks (the ArrowMsg says LZ4) or zstd inside the IPC stream (the ArrowMsg says none; the
    stored stream is smaller than LZ4 would make it). Before: one sample from a payload's middle
    decided, and a minute of a nav stack's joint states (noisy efforts in the middle, names and
    times around them) was stored as 1 MB chunks LZ4 shrinks 3.5x."""
    from conftest import DATA, LIDAR, ROOT
    if bag == "nav_mix":  # bench/convert.py's small-message mix (IMU 200 Hz, joint states 100 Hz, ...), 60 s
        sys.path.insert(0, str(ROOT / "bench"))
        import mixes
        src = tmp_path / "mix.mcap"
        mixes.small_mix(src, 60.0)
    else:
        src = DATA / "sim" / "walker" if bag == "walker" else LIDAR
    out = tmp_path / "out.rrd"
    p = subprocess.run([sys.executable, "-m", "rerun_ros.cli", "convert", str(src), "-o", str(out),
                        "--compression", codec], capture_output=True, text=True)
    assert p.returncode in (0, 3), p.stderr[-800:]
    rows = _stored(out)
    shrinks = [r for r in rows if r[4] <= 0.75 * r[3]]
    assert shrinks
    if codec == "lz4":
        assert all(r[2] for r in shrinks), [r for r in shrinks if not r[2]][:5]
    else:  # zstd inside the stream (the ArrowMsg says none) but for small chunks (LZ4 blocks)
        assert any(not r[2] and r[1] < 0.5 * r[3] for r in rows)
        assert all(r[2] or r[1] <= r[4] * 1.05 for r in shrinks), [r for r in shrinks if r[1] > r[4] * 1.05][:5]


def _bytes_of(cols, names=None) -> bytes:
    """Columns (or a table) as the bytes of one IPC record batch: equal values, NaNs included."""
    import pyarrow as pa
    t = pa.table(cols, names=names) if names is not None else cols
    return t.combine_chunks().to_batches()[0].serialize().to_pybytes()


def test_zstd_conversions_read_by_the_official_tools_as_lz4_ones_and_smaller_than_theirs(tmp_path):
    """The default codec (zstd inside each chunk's Arrow IPC stream): the official reader
    (rerun-sdk 0.41) reads every entity of the real field bag and of the bench's nav-stack mix
    exactly as from the LZ4 conversion, `rerun rrd verify` passes, our reader gives the same
    chunks, and the mix's file is smaller than the official converter's (it was 1.38x with
    LZ4 blocks: the lossless message structs beside the archetype columns)."""
    from conftest import FIELD, RERUN, ROOT
    sys.path.insert(0, str(ROOT / "bench"))
    import mixes
    from rerun_ros.convert import convert
    from rerun_ros.rrd import proto as P
    mix = tmp_path / "mix.mcap"
    mixes.small_mix(mix, 60.0)
    for bag in (FIELD, mix):
        z, l4 = tmp_path / f"{bag.stem}_z.rrd", tmp_path / f"{bag.stem}_l.rrd"
        convert(bag, z)
        convert(bag, l4, compress="lz4")
        assert rerun_verify(z).returncode == 0
        with RrdReader(z) as r:  # zstd streams in the file, none of it read as LZ4 blocks
            kinds = [r._decode_arrow(m.offset, m.length)[0].compression for m in r._messages()
                     if m.kind == P.KIND_ARROW_MSG]
        if bag == mix:
            assert kinds.count(P.COMPRESSION_NONE) >= 5, kinds
        ours_z, ours_l = read_chunks(z)[0], read_chunks(l4)[0]
        assert [(c.entity_path, c.num_rows) for c in ours_z] == [(c.entity_path, c.num_rows) for c in ours_l]
        for c1, c2 in zip(ours_z, ours_l):  # (row ids differ: two conversions)
            b1, b2 = c1.to_record_batch(), c2.to_record_batch()
            assert _bytes_of(b1.columns[1:], b1.schema.names[1:]) == _bytes_of(b2.columns[1:], b2.schema.names[1:])
        rows = 0
        for ent in sorted({c.entity_path for c in ours_l if not c.entity_path.startswith("/__")}):
            t1, t2 = official_table(z, ent), official_table(l4, ent)
            rows += t1.num_rows
            assert t1.num_rows == t2.num_rows and (t1.num_rows == 0 or _bytes_of(t1) == _bytes_of(t2)), ent
        assert rows >= (2671 if bag == FIELD else 14000), rows
        if bag == mix:
            theirs = tmp_path / "official.rrd"
            subprocess.run([RERUN, "mcap", "convert", str(mix), "-o", str(theirs)], check=True, capture_output=True,
                           timeout=300)
            assert z.stat().st_size < theirs.stat().st_size < l4.stat().st_size, \
                (z.stat().st_size, theirs.stat().st_size, l4.stat().st_size)


def test_ipc_streams_from_schema_templates_equal_pyarrow_streams(tmp_path):
    """``Chunk.ipc_stream`` writes the schema message from a per-layout template with only the
    chunk id replaced: byte for byte what ``pyarrow.ipc.new_stream`` writes, for every chunk of
    two real bags (several chunks of one layout, so templates are reused with other ids), and
    for an entity path that holds the template's mark (written the long way)."""
    import pyarrow as pa
    from conftest import FIELD, SENSORS
    from rerun_ros.convert import convert
    from rerun_ros.model.chunk import _ID_MARK, TEMPLATE_MAX_BYTES, Chunk

    def pyarrow_stream(c):
        b = c.to_record_batch()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, b.schema) as w:
            w.write_batch(b)
        return sink.getvalue().to_pybytes()

    chunks = []
    for i, bag in enumerate((SENSORS, FIELD)):
        convert(bag, tmp_path / f"{i}.rrd")
        chunks += read_chunks(tmp_path / f"{i}.rrd")[0]
    layouts = {}
    for c in chunks:
        layouts[(c.entity_path, tuple(c.components))] = layouts.get((c.entity_path, tuple(c.components)), 0) + 1
        other = Chunk(c.entity_path, (c.id[0] + 1, c.id[1] + 7), c.row_ids, c.timelines, c.components, c.is_static)
        for x in (c, other, c):
            assert x.ipc_stream().to_pybytes() == pyarrow_stream(x), x.entity_path
    assert max(layouts.values()) > 1
    assert sum(c.nbytes < TEMPLATE_MAX_BYTES for c in chunks) > 20 and any(c.nbytes >= TEMPLATE_MAX_BYTES for c in chunks)
    c = next(c for c in chunks if c.nbytes < TEMPLATE_MAX_BYTES and not c.is_static)
    odd = Chunk("/robot/" + _ID_MARK, c.id, c.row_ids, c.timelines, c.components, c.is_static)
    assert odd.ipc_stream().to_pybytes() == pyarrow_stream(odd)
    assert Chunk.from_record_batch(pa.ipc.open_stream(odd.ipc_stream()).read_next_batch()).entity_path == "/robot/" + _ID_MARK
