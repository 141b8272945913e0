"""ChunkStore and RecordingStream semantics: latest-at, range, static, clears, compaction, GC."""
from __future__ import annotations

import threading

import numpy as np

from rerun_ros.model import archetypes as A
from rerun_ros.model import entity_path as E
from rerun_ros.model.chunk import Chunk, Timeline
from rerun_ros.stream.recording import BatcherConfig, CallbackSink, RecordingStream
from rerun_ros.store.chunk_store import ChunkStore

SEQ = Timeline("frame", "sequence")


def make(rows, batcher=None, **store_kw):
    store = ChunkStore(**store_kw)
    rec = RecordingStream(batcher=batcher or BatcherConfig(max_age=0), sinks=[store])
    for ent, t, arch, static in rows:
        rec.log(ent, arch, static=static, timepoints=None if static else {SEQ: t})
    rec.flush()
    return store, rec


def val(la):
    return la.to_numpy().tolist()


def test_latest_at_out_of_order_and_ties():
    rows = [("/a", t, A.Scalars([float(v)]), False) for t, v in [(0, 0), (5, 5), (2, 2), (2, 22), (9, 9)]]
    store, _ = make(rows)
    assert store.latest_at("/a", "frame", -1) == {}
    assert val(store.latest_at("/a", "frame", 1)["Scalars:scalars"]) == [0.0]
    # two rows at t=2: the one logged later (greater row id) wins
    assert val(store.latest_at("/a", "frame", 3)["Scalars:scalars"]) == [22.0]
    assert store.latest_at("/a", "frame", 3)["Scalars:scalars"].time == 2
    assert val(store.latest_at("/a", "frame", 100)["Scalars:scalars"]) == [9.0]


def test_static_wins_and_partial_rows():
    rows = [("/p", 1, A.Points3D([[1, 1, 1]], colors=[1, 2, 3]), False),
            ("/p", 2, A.Points3D([[2, 2, 2]]), False),
            ("/p", 0, A.TextDocument("static"), True),
            ("/p", 0, A.Points3D([[9, 9, 9]]), True)]
    store, _ = make(rows)
    la = store.latest_at("/p", "frame", 5)
    # static positions override every temporal row
    assert la["Points3D:positions"].time is None
    assert la["Points3D:positions"].values.flatten().to_numpy().tolist() == [9, 9, 9]
    # colours were only set at t=1: latest-at skips rows without the component
    assert la["Points3D:colors"].time == 1


def test_range_includes_latest_at_before_start():
    rows = [("/a", t, A.Scalars([float(t)]), False) for t in range(10)]
    store, _ = make(rows)
    r = store.range("/a", "frame", 4, 6, "Scalars:scalars")
    assert r.times.tolist() == [3, 4, 5, 6]
    assert [v[0] for v in r.values.to_pylist()] == [3.0, 4.0, 5.0, 6.0]
    r2 = store.range("/a", "frame", 4, 6, "Scalars:scalars", include_latest_at=False)
    assert r2.times.tolist() == [4, 5, 6]


def test_recursive_clear_hides_children():
    rows = [("/robot/arm", 1, A.Scalars([1.0]), False),
            ("/robot", 3, A.Clear(recursive=True), False),
            ("/robot/arm", 5, A.Scalars([5.0]), False)]
    store, _ = make(rows)
    assert val(store.latest_at("/robot/arm", "frame", 2)["Scalars:scalars"]) == [1.0]
    assert "Scalars:scalars" not in store.latest_at("/robot/arm", "frame", 4)
    assert val(store.latest_at("/robot/arm", "frame", 6)["Scalars:scalars"]) == [5.0]


def test_compaction_merges_small_chunks():
    store = ChunkStore(compact_max_rows=100)
    rec = RecordingStream(batcher=BatcherConfig(max_rows=5, max_age=0), sinks=[store])
    for i in range(50):
        rec.log("/a", A.Scalars([float(i)]), timepoints={SEQ: i})
    rec.flush()
    assert rec.stats.chunks_flushed == 10
    chunks = store.chunks("/a")
    assert len(chunks) == 1 and len(chunks[0]) == 50
    assert val(store.latest_at("/a", "frame", 33)["Scalars:scalars"]) == [33.0]


def test_gc_drops_oldest_keeps_static():
    store = ChunkStore(compact_max_rows=1)
    rec = RecordingStream(batcher=BatcherConfig(max_rows=1, max_age=0), sinks=[store])
    rec.log("/s", A.TextDocument("keep me"), static=True)
    for i in range(20):
        rec.log("/big", A.Points3D(np.zeros((1000, 3))), timepoints={SEQ: i})
    rec.flush()
    before = store.total_bytes
    dropped = store.gc(before // 2)
    assert dropped >= 9
    assert store.total_bytes <= before // 2
    assert store.latest_at("/s", "frame", 0)["TextDocument:text"].to_numpy().tolist() == ["keep me"]
    # the newest data survives, the oldest is gone
    assert store.latest_at("/big", "frame", 19)["Points3D:positions"].time == 19
    assert store.latest_at("/big", "frame", 0) == {}


def test_memory_budget_enforced_on_insert():
    store = ChunkStore(memory_budget=200_000, compact_max_rows=1)
    rec = RecordingStream(batcher=BatcherConfig(max_rows=1, max_age=0), sinks=[store])
    for i in range(50):
        rec.log("/big", A.Points3D(np.zeros((1000, 3))), timepoints={SEQ: i})
    rec.flush()
    assert store.total_bytes <= 200_000 and store.num_dropped > 0


def test_batcher_age_flush_and_several_sinks():
    got1, got2 = [], []
    rec = RecordingStream(batcher=BatcherConfig(max_rows=10**6, max_bytes=1 << 40, max_age=0.02),
                          sinks=[CallbackSink(got1.append), CallbackSink(got2.append)])
    rec.log("/a", A.Scalars([1.0]), timepoints={SEQ: 0})
    for _ in range(100):
        if got1:
            break
        threading.Event().wait(0.01)
    assert len(got1) == 1 and got1 == got2  # flushed by age, same chunk to every sink
    rec.close()


def test_thread_safe_logging():
    store = ChunkStore()
    rec = RecordingStream(batcher=BatcherConfig(max_rows=7, max_age=0.01), sinks=[store])

    def worker(k):
        for i in range(500):
            rec.log(f"/w{k}", A.Scalars([float(i)]), timepoints={SEQ: i})

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    rec.close()
    for k in range(4):
        r = store.range(f"/w{k}", "frame", 0, 1000, "Scalars:scalars")
        assert [v[0] for v in r.values.to_pylist()] == [float(i) for i in range(500)]


def test_droppable_rows_dropped_and_counted_under_pressure():
    rec = RecordingStream(batcher=BatcherConfig(max_rows=10**6, max_bytes=1 << 40, max_age=0,
                                                max_pending_bytes=50_000))
    ok = [rec.log("/img", A.Points3D(np.zeros((1000, 3))), timepoints={SEQ: i}, droppable=True) for i in range(10)]
    assert ok.count(False) == rec.stats.rows_dropped > 0
    assert rec.log("/tf", A.Scalars([1.0]), timepoints={SEQ: 0})  # non-droppable always gets in


def test_chunk_record_batch_roundtrip_keeps_nulls():
    rec_chunks = []
    rec = RecordingStream(batcher=BatcherConfig(max_age=0), sinks=[CallbackSink(rec_chunks.append)])
    rec.log("/p", A.Points3D([[1, 2, 3]], colors=[255, 0, 0]), timepoints={SEQ: 1})
    rec.log("/p", A.Points3D([[4, 5, 6]]), timepoints={SEQ: 2})
    rec.flush()
    (c,) = rec_chunks
    back = Chunk.from_record_batch(c.to_record_batch())
    assert back.entity_path == "/p" and back.id == c.id
    assert back.component("Points3D:colors")[1].to_pylist() == [[0xFF0000FF], None]
    assert back.timelines["frame"][1].tolist() == [1, 2]


def test_entity_paths():
    assert E.from_topic("cloud_1") == "/cloud_1"
    assert E.join("/a", "b/c") == "/a/b/c"
    assert E.parent("/a/b") == "/a" and E.parent("/") is None
    assert E.parse("/a/b\\ c/d") == ("a", "b c", "d")
    assert E.format_parts(["weird/part", "ok"]) == "/weird\\/part/ok"
    assert E.parse(E.format_parts(["x y", "é"])) == ("x y", "é")


def test_archetype_validation_messages():
    import pytest
    with pytest.raises(ValueError, match=r"Points3D:positions: expected shape \(N, 3\)"):
        A.Points3D(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="zero quaternion"):
        A.Transform3D(quaternion=[0, 0, 0, 0])
    with pytest.raises(ValueError, match="finite"):
        A.Transform3D(translation=[np.nan, 0, 0])
    with pytest.raises(ValueError, match="buffer has 5 bytes, expected 18"):
        A.Image(b"12345", 3, 2, color_model="RGB")
    with pytest.raises(TypeError, match="expected numbers"):
        A.Scalars(["a"])


def _brute_latest_at(chunks, timeline, t):
    """Latest-at by scanning every row (the definition): greatest (time, row id) <= t per column."""
    best = {}
    for c in chunks:
        if c.is_static or timeline not in c.timelines:
            continue
        times = c.timelines[timeline][1]
        for d, col in c.components.items():
            for i in range(len(c)):
                if times[i] > t or not col[i].is_valid:
                    continue
                key = (int(times[i]), bytes(c.row_ids[i]))
                if d.column not in best or key > best[d.column][0]:
                    best[d.column] = (key, col[i].values.to_pylist())
    return {k: v for k, v in best.items()}


def test_latest_at_index_equals_the_definition_on_shuffled_overlapping_chunks():
    """The indexed latest-at (chunks newest first, early stop, binary search in sorted chunks)
    gives the same rows as scanning every row, on chunks that overlap in time, arrive out of
    order, hold ties, nulls and unsorted rows."""
    rng = np.random.default_rng(7)
    store = ChunkStore(compact_max_rows=0)
    rec = RecordingStream(batcher=BatcherConfig(max_age=0, max_rows=37), sinks=[store])
    for i in range(600):
        t = int(rng.integers(0, 400))  # out of order, with ties
        if rng.random() < 0.3:
            rec.log("/x", A.Points3D([[i, 0, 0]]), timepoints={SEQ: t})  # a row without Scalars
        else:
            rec.log("/x", A.Scalars([float(i)]), timepoints={SEQ: t})
    rec.flush()
    chunks = store.chunks("/x")
    assert len(chunks) > 10 and any(not c.is_sorted("frame") for c in chunks)
    for t in list(range(-5, 420, 7)) + [0, 399, 10**6]:
        got = {k: (v.time, v.row_id, v.values.to_pylist()) for k, v in store.latest_at("/x", "frame", t).items()}
        want = _brute_latest_at(chunks, "frame", t)
        assert {k: (v[0][0], v[0][1], v[1]) for k, v in want.items()} == got, t


def test_rows_reach_the_sinks_within_max_age_without_a_flush():
    """The batcher's ticker flushes each group when it reaches ``max_age``, also for groups
    started while it sleeps without a deadline (idle) or while it waits for an older group's:
    the field run's IMU and TF messages logged in bursts as the bridge logs them, no
    flush called, every row arrives within max_age plus slack (a lost wake-up would hold a
    group for the ticker's 1 s idle sleep)."""
    import time

    from mcap.reader import make_reader

    from conftest import FIELD
    from rerun_ros.ingest import Ingestor
    from rerun_ros.model.clock import NODE, RobotClock
    per: dict = {}
    with open(FIELD, "rb") as f:
        for s, c, m in make_reader(f).iter_messages():
            if s.name in ("sensor_msgs/msg/Imu", "tf2_msgs/msg/TFMessage"):
                per.setdefault(c.topic, (s, []))[1].append(m.data)
    per = {t: v for t, v in per.items() if len(v[1]) >= 12 and t != "/tf_static"}
    assert len(per) >= 2
    arrived: list = []
    lock = threading.Lock()

    def sink(chunk):
        if not chunk.is_static:
            with lock:
                arrived.append((time.monotonic(), len(chunk)))

    age = 0.05
    rec = RecordingStream("t", batcher=BatcherConfig(max_age=age, max_rows=10**6, max_bytes=1 << 40),
                          sinks=[CallbackSink(sink)])
    ing = Ingestor(rec, clock=RobotClock(NODE))
    logged = []
    for burst, pause in enumerate((0.3, 0.01, 0.3, 0.0)):
        t = time.monotonic()
        rows = 0
        for topic, (s, msgs) in per.items():
            part = msgs[burst * 3:burst * 3 + 3]
            if not part:
                continue
            now = time.time_ns() + np.arange(len(part), dtype=np.int64)
            ing.ingest_payloads(topic, s.name, part, now, schema_text=s.data.decode(), robot_time=now)
            rows += len(part)
        logged.append((t, rows))
        time.sleep(pause)
    time.sleep(0.8)
    with lock:
        got = list(arrived)
    assert sum(n for _, n in got) >= sum(n for _, n in logged) > 0
    for t, rows in logged:
        first = min(a for a, _ in got if a >= t)
        assert first - t < 0.6, f"a group waited {first - t:.2f} s for a max_age of {age} s"
    rec.close()
