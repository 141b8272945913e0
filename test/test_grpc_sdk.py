"""The Python logging SDK and the gRPC link with Rerun 0.41, with the official tools as oracle:
``rerun --serve-grpc --save OUT.rrd`` records what gRPC clients stream to it and the official
reader (rerun-sdk 0.41) reads OUT.rrd back; the official SDK's ``connect_grpc`` writes into
``rerun-ros serve``; Rerun's tutorial program runs with only its import changed."""
from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import RERUN, RERUN_ROS, free_port

HERE = Path(__file__).parent
DNA = HERE / "programs" / "dna_abacus.py"


def read_proxy(url: str, entity: str, rows: int, timeout: float = 20.0):
    """A ChunkStore filled from a proxy's ReadMessages until ``entity`` has ``rows`` rows (or the
    timeout), and the reader (closed)."""
    from rerun_ros.store.chunk_store import ChunkStore
    from rerun_ros.stream.grpc import GrpcReader
    store = ChunkStore()
    reader = GrpcReader(url, store.add_chunk)
    end = time.monotonic() + timeout
    while store.num_rows(entity) < rows and time.monotonic() < end:
        time.sleep(0.05)
    reader.close()
    return store, reader


def wait_listening(port: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


class Proc:
    """A proxy process (the official one or ours) on a port, stopped like a user would (Ctrl-C)."""

    def __init__(self, cmd, port):
        self.port = port
        self.url = f"rerun+http://127.0.0.1:{port}/proxy"
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, RERUN_ANALYTICS="0"))
        wait_listening(port)

    def stop(self, sig=signal.SIGINT):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        out, err = self.p.communicate(timeout=30)
        return err


@pytest.fixture
def official_proxy(tmp_path):
    """``rerun --serve-grpc`` recording what it receives to OUT.rrd."""
    port = free_port()
    out = tmp_path / "official.rrd"
    proc = Proc([RERUN, "--serve-grpc", "--port", str(port), "--save", str(out)], port)
    proc.out = out
    yield proc
    proc.stop()


def official(out: Path):
    """The official reader's view of a (footer-less, streamed) recording file."""
    from rerun.chunk import RrdReader
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no footer": what a --save'd stream is
        return RrdReader(str(out))


def official_rows(out: Path, entity: str, index: str, column: str) -> list:
    r = official(out)
    t = r.stream().collect().reader(index=index, contents=entity).to_arrow_table()
    return [v for v in t.column(f"{entity}:{column}").to_pylist() if v is not None]


def rotation_z(rad: float) -> np.ndarray:
    c, s = math.cos(rad), math.sin(rad)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# -- Rerun's tutorial program, only its import changed -------------------------------------------

def test_tutorial_program_into_the_official_proxy(official_proxy):
    p = subprocess.run([sys.executable, str(DNA), "grpc", official_proxy.url], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    official_proxy.stop()
    from rerun_ros.sdk.utilities import build_color_spiral
    left = official_rows(official_proxy.out, "/dna/structure/left", "stable_time", "Points3D:positions")
    assert len(left) == 1
    np.testing.assert_allclose(np.array(left[0]), build_color_spiral(100).positions, rtol=1e-6)
    beads = official_rows(official_proxy.out, "/dna/structure/scaffolding/beads", "stable_time", "Points3D:positions")
    assert len(beads) == 400 and all(len(b) == 100 for b in beads)
    # stored as the official SDK stores RotationAxisAngle (not converted to a quaternion)
    rots = official_rows(official_proxy.out, "/dna/structure", "stable_time", "Transform3D:rotation_axis_angle")
    assert len(rots) == 400
    t = 123 * 0.01
    assert rots[123][0]["axis"] == [0.0, 0.0, 1.0]
    assert abs(rots[123][0]["angle"] - t / 4.0 * math.tau) < 1e-6


def test_tutorial_program_into_our_viewer(qapp, tmp_path):
    """`rerun-ros serve` as a user runs it, the program streaming to it, our viewer reading the proxy:
    the spirals turn with the transform logged on their parent entity (Rerun's hierarchy)."""
    from rerun_ros.sdk.utilities import build_color_spiral
    from rerun_ros.viewer import blueprint as B
    from rerun_ros.viewer.spatial import hierarchy_transform
    from rerun_ros.viewer.window import ViewerWindow
    port = free_port()
    serve = Proc([RERUN_ROS, "serve", "--port", str(port)], port)
    try:
        p = subprocess.run([sys.executable, str(DNA), "grpc", serve.url], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        store, _ = read_proxy(serve.url, "/dna/structure", 400)
    finally:
        err = serve.stop()
    assert "rejected" in err and " 0 rejected" in err, err
    assert store.num_rows("/dna/structure/scaffolding/beads") == 400
    win = ViewerWindow(store, B.load("root: {view: spatial3d, name: 3D}"))
    win.resize(900, 700)
    win.show()
    for _ in range(20):
        qapp.processEvents()
    t = int(2.0e9)
    win.set_time(t)
    for _ in range(5):
        qapp.processEvents()
    v = win.views[0]
    # the left spiral drawn where its parent's rotation (π at 2 s) puts it
    tf = hierarchy_transform(store, "/dna/structure/left", "stable_time", t)
    want = build_color_spiral(100).positions @ rotation_z(2.0 / 4.0 * math.tau).T
    np.testing.assert_allclose(tf.apply(build_color_spiral(100).positions.astype(float)), want, atol=1e-5)
    pts = np.asarray(v.geometry.points, float)
    d = np.linalg.norm(pts[None, :, :] - want[:, None, :], axis=2).min(axis=1)
    assert d.max() < 1e-4
    # and it is on screen: a good share of the 3D view is coloured
    img = v.canvas.render()[..., :3].astype(int)
    coloured = ((img.max(axis=2) - img.min(axis=2)) > 60).mean()
    assert coloured > 0.01, coloured
    shot = tmp_path / "dna.png"
    win.screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    win.close()


# -- the official SDK into rerun-ros serve -------------------------------------------------------

def test_official_sdk_logs_into_rerun_ros_serve(tmp_path):
    from rerun_ros.rrd.reader import read_chunks
    port = free_port()
    saved = tmp_path / "served.rrd"
    serve = Proc([RERUN_ROS, "serve", "--port", str(port), "--save", str(saved)], port)
    prog = textwrap.dedent(f"""
        import numpy as np, rerun as rr
        rr.init("official_app")
        rr.connect_grpc("{serve.url}")
        for i in range(50):
            rr.set_time("step", sequence=i)
            rr.log("/robot/points", rr.Points3D(np.full((4, 3), i, np.float32), colors=[255, 0, 0]))
            rr.log("/robot/value", rr.Scalars(i * 0.5))
        rr.log("/robot/name", rr.TextDocument("abacus"), static=True)
        rr.disconnect()
    """)
    try:
        p = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        store, reader = read_proxy(serve.url, "/robot/value", 50)
    finally:
        serve.stop()
    assert reader.recording[0] == "official_app" and not reader.errors
    for i in (0, 17, 49):
        la = store.latest_at("/robot/value", "step", i)
        assert la["Scalars:scalars"].values.to_pylist() == [i * 0.5]
        pos = np.asarray(store.latest_at("/robot/points", "step", i)["Points3D:positions"].values.flatten())
        np.testing.assert_array_equal(pos, np.full(12, i, np.float32))
    assert store.latest_at("/robot/name", "step", 0)["TextDocument:text"].values.to_pylist() == ["abacus"]
    # what the proxy saved is the same recording, readable by us and by the official reader
    chunks, _ = read_chunks(saved)
    assert sum(len(c) for c in chunks if c.entity_path == "/robot/value") == 50
    vals = official_rows(saved, "/robot/value", "step", "Scalars:scalars")
    assert [v[0] for v in vals] == [i * 0.5 for i in range(50)]


# -- blueprints for the official viewer ----------------------------------------------------------

BP_YAML = """root:
  container: horizontal
  children:
    - {view: spatial3d, name: 3D, fixed_frame: odom, exclude: ["/rosout"]}
    - container: tabs
      children:
        - {view: timeseries, name: IMU, include: ["/imu/**"]}
        - {view: textlog, name: log, origin: /rosout}
"""


def _layout(rows: dict) -> dict:
    """{view name: (class, origin, queries)} and the container kinds, from blueprint rows
    {entity: {column: value}} (as read back from a proxy or a file)."""
    views = {}
    for ent, cols in rows.items():
        if ent.startswith("/view/") and ent.count("/") == 2:
            q = rows.get(f"{ent}/ViewContents", {}).get("ViewContents:query")
            tf = rows.get(f"{ent}/SpatialInformation", {}).get("SpatialInformation:target_frame")
            views[cols["ViewBlueprint:display_name"][0]] = (cols["ViewBlueprint:class_identifier"][0],
                                                            cols["ViewBlueprint:space_origin"][0], q, tf)
    root = bytes(rows["/viewport"]["ViewportBlueprint:root_container"][0])
    import uuid
    root_ent = f"/container/{uuid.UUID(bytes=root)}"
    kinds = [rows[root_ent]["ContainerBlueprint:container_kind"][0]]
    for ref in rows[root_ent]["ContainerBlueprint:contents"]:
        if ref.startswith("container/"):
            kinds.append(rows["/" + ref]["ContainerBlueprint:container_kind"][0])
    return {"views": views, "kinds": kinds}


WANT_LAYOUT = {"views": {"3D": ("3D", "/", ["$origin/**", "- /rosout"], ["odom"]),
                         "IMU": ("TimeSeries", "/", ["+ /imu/**"], None),
                         "log": ("TextLog", "/rosout", ["$origin/**"], None)},
               "kinds": [2, 1]}


def test_blueprint_sent_is_the_one_the_official_proxy_reports(official_proxy):
    from rerun_ros.blueprint.model import load
    from rerun_ros.stream.grpc import GrpcReader, GrpcSink
    from rerun_ros.model import archetypes as A
    from rerun_ros.stream.recording import RecordingStream
    sink = GrpcSink(official_proxy.url, application_id="bp_app", blueprint=load(BP_YAML))
    rec = RecordingStream("bp_app", sinks=[sink])
    rec.set_time("step", sequence=0)
    rec.log("/imu", A.Scalars([1.0]))
    rec.close()
    got: list = []
    reader = GrpcReader(official_proxy.url, lambda c: None, on_blueprint_chunk=got.append)
    end = time.monotonic() + 20
    while len(got) < 8 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.3)
    reader.close()
    rows = {}
    for c in got:
        rows.setdefault(c.entity_path, {}).update(
            {d.column: col.to_pylist()[0] for d, col in c.components.items()})
    assert _layout(rows) == WANT_LAYOUT
    # the official reader finds the same layout in what the proxy saved
    official_proxy.stop()
    r = official(official_proxy.out)
    bps = r.blueprints()
    assert len(bps) == 1
    t = r.stream(store=bps[0]).collect().reader(index="blueprint", contents="/**").to_arrow_table()
    rows2: dict = {}
    for name in t.column_names:
        if ":" not in name:
            continue
        ent, col = name.split(":", 1)
        vals = [v for v in t.column(name).to_pylist() if v is not None]
        if vals:
            rows2.setdefault(ent, {})[col] = vals[-1]
    assert _layout(rows2) == WANT_LAYOUT


def test_convert_writes_an_rbl_the_official_tools_accept(tmp_path):
    from conftest import FIELD, rerun_verify
    bp = tmp_path / "layout.yaml"
    bp.write_text(BP_YAML)
    p = subprocess.run([RERUN_ROS, "convert", str(FIELD), "-o", str(tmp_path / "f.rrd"), "-q", "--blueprint", str(bp)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    rbl = tmp_path / "f.rbl"
    assert rerun_verify(rbl).returncode == 0
    r = official(rbl)
    assert not r.recordings() and len(r.blueprints()) == 1
    assert r.blueprints()[0].application_id == "SO_bag_0"  # it applies to the converted recording
    t = r.stream(store=r.blueprints()[0]).collect().reader(index="blueprint", contents="/**").to_arrow_table()
    names = {v for c in t.column_names if c.endswith("ViewBlueprint:display_name")
             for row in t.column(c).to_pylist() if row for v in row}
    assert names == {"3D", "IMU", "log"}


# -- faults: a proxy that dies, strangers' messages, a slow network --------------------------------

def _points(i: int, n: int = 4000):
    from rerun_ros.model import archetypes as A
    return A.Points3D(np.random.default_rng(i).random((n, 3)).astype(np.float32))


def test_killed_and_restarted_proxy_loses_no_more_than_the_queue_bound(tmp_path):
    """SIGKILL the proxy mid-recording, keep logging, start it again on the same port: the sink
    reconnects, sends the store info and the static data again, then what waited in its queue;
    what did not fit in the queue bound is exactly what is reported lost."""
    from rerun_ros.model import archetypes as A
    from rerun_ros.rrd.reader import read_chunks
    from rerun_ros.stream.grpc import GrpcSink
    from rerun_ros.stream.recording import BatcherConfig, RecordingStream
    port = free_port()
    first = tmp_path / "first.rrd"
    serve = Proc([RERUN_ROS, "serve", "--port", str(port), "--save", str(first)], port)
    chunk_bytes = 4000 * 12
    bound = 12 * chunk_bytes + chunk_bytes // 2  # 12 chunks fit
    sink = GrpcSink(serve.url, application_id="faults", queue_bytes=bound, reconnect_delay=0.1,
                    max_reconnect_delay=0.5, compress=False)
    rec = RecordingStream("faults", batcher=BatcherConfig(max_age=0, max_rows=1), sinks=[sink])
    rec.log("/robot/name", A.TextDocument("faults"), static=True)
    for i in range(10):
        rec.set_time("step", sequence=i)
        rec.log("/cloud", _points(i))
    assert sink.flush(10)
    time.sleep(0.5)
    serve.stop(signal.SIGKILL)
    time.sleep(0.3)
    for i in range(10, 40):  # 30 chunks while nobody listens: 12 fit in the queue
        rec.set_time("step", sequence=i)
        rec.log("/cloud", _points(i))
    time.sleep(1.0)
    second = tmp_path / "second.rrd"
    serve = Proc([RERUN_ROS, "serve", "--port", str(port), "--save", str(second)], port)
    try:
        end = time.monotonic() + 20
        while sink.stats.reconnects == 0 or not sink.flush(0.2):
            assert time.monotonic() < end, sink.stats
        rec.close()
        time.sleep(0.5)
    finally:
        serve.stop()
    got, _ = read_chunks(second)
    steps = sorted({int(s) for c in got if c.entity_path == "/cloud" for s in c.timelines["step"][1]})
    down = [s for s in steps if s >= 10]
    assert sink.stats.chunks_dropped == 30 - len(down), (sink.stats, steps)
    assert 12 <= len(down) <= 13 and down == list(range(40 - len(down), 40))  # the newest were kept
    assert sink.stats.rows_dropped_per_entity == {"/cloud": 30 - len(down)}
    # the restarted proxy got the static data again (a viewer that joins it sees the robot's name)
    assert any(c.entity_path == "/robot/name" and c.is_static for c in got)


def test_proxy_refuses_what_is_not_a_log_msg_and_keeps_serving(tmp_path):
    import grpc
    from rerun_ros.stream.proxy import ProxyServer
    srv = ProxyServer(0)
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
        write = ch.stream_unary("/rerun.sdk_comms.v1alpha1.MessageProxyService/WriteMessages",
                                request_serializer=lambda b: b, response_deserializer=lambda b: b)
        for junk in (b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x03\x12\x05ab", b"\x08\x01", b"\x0a\x02\x7a\x00"):
            with pytest.raises(grpc.RpcError) as e:
                write(iter([junk]), timeout=10)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        ch.close()
        assert srv.stats["rejected"] == 4 and not srv.buffered()
        # still serving: the SDK's recording goes through
        import rerun_ros.sdk as rr
        rec = rr.RecordingStream("after_junk")
        rec.connect_grpc(srv.url)
        rec.log("/x", rr.Scalars(1.0))
        rec.close()
        assert len(srv.buffered()) >= 2
    finally:
        srv.stop()
    p = subprocess.run([RERUN_ROS, "serve", "--bind", "0.0.0.0", "--port", str(free_port())], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "no authentication" in p.stderr


def test_grpc_reader_skips_damaged_chunks_from_a_stranger():
    """A proxy that passes along a chunk whose Arrow offsets run past its data: the reader names it
    and keeps the good ones (never a crash)."""
    import lz4.block  # noqa: F401
    from rerun_ros.model import archetypes as A
    from rerun_ros.rrd.writer import encode_arrow_msg, make_store_id, store_info_msg
    from rerun_ros.stream.grpc import GrpcReader, log_msg_request
    from rerun_ros.stream.proxy import ProxyServer
    from rerun_ros.stream.recording import RecordingStream
    chunks = []
    rec = RecordingStream("s", sinks=[__import__("rerun_ros.stream.recording", fromlist=["CallbackSink"])
                                      .CallbackSink(chunks.append)])
    for i in range(3):
        rec.set_time("step", sequence=i)
        rec.log("/v", A.Scalars([float(i)]))
        rec.flush()
    rec.close()
    sid = make_store_id("s")
    msgs = [log_msg_request(1, store_info_msg(sid)[16:])]
    for k, c in enumerate(chunks):
        parts = encode_arrow_msg(c, sid, compress=False)
        body = bytearray(parts[0][16:] + bytes(parts[1]))
        if k == 1:  # patch the last 64 bytes (offsets and values of the Arrow body)
            body[-64:] = b"\xff" * 64
        msgs.append(log_msg_request(2, bytes(body)))
    import grpc
    # our proxy refuses the damaged chunk before relaying it...
    srv = ProxyServer(0)
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
        with pytest.raises(grpc.RpcError) as e:
            ch.stream_unary("/rerun.sdk_comms.v1alpha1.MessageProxyService/WriteMessages",
                            request_serializer=lambda b: b, response_deserializer=lambda b: b)(iter(msgs), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and srv.stats["rejected"] == 1
        ch.close()
    finally:
        srv.stop()
    # ...one that relays as received (as Rerun's own does) passes it on: the reader skips it
    srv = ProxyServer(0, check_chunks=False)
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
        ch.stream_unary("/rerun.sdk_comms.v1alpha1.MessageProxyService/WriteMessages", request_serializer=lambda b: b,
                        response_deserializer=lambda b: b)(iter(msgs), timeout=10)
        ch.close()
        got = []
        r = GrpcReader(srv.url, got.append)
        end = time.monotonic() + 10
        while len(got) + len(r.errors) < 3 and time.monotonic() < end:
            time.sleep(0.05)
        r.close()
    finally:
        srv.stop()
    assert len(got) == 2 and len(r.errors) == 1 and "damaged message skipped" in r.errors[0]


# -- the SDK's own behaviour ------------------------------------------------------------------------

def test_send_columns_and_several_recordings_from_threads(tmp_path):
    """Two recordings logged from two threads at once, each into its own file; send_columns of
    100k scalars becomes rows whose values the official reader reads back."""
    import threading
    import rerun_ros.sdk as rr
    a = rr.RecordingStream("app_a")
    b = rr.RecordingStream("app_b")
    a.save(tmp_path / "a.rrd")
    b.save(tmp_path / "b.rrd")

    def work(rec, k):
        for i in range(200):
            rec.set_time("step", sequence=i)
            rec.log("/n", rr.Scalars(float(i * k)))

    ts = [threading.Thread(target=work, args=(r, k)) for r, k in ((a, 1), (b, 2))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    vals = np.sin(np.arange(100_000) / 1000.0)
    a.send_columns("/sine", indexes=[rr.TimeColumn("step", sequence=np.arange(100_000))],
                   columns=rr.Scalars.columns(scalars=vals))
    a.close()
    b.close()
    from conftest import rerun_verify
    for name, k in (("a", 1), ("b", 2)):
        assert rerun_verify(tmp_path / f"{name}.rrd").returncode == 0
        got = official_rows(tmp_path / f"{name}.rrd", "/n", "step", "Scalars:scalars")
        assert [v[0] for v in got] == [float(i * k) for i in range(200)]
    sine = official_rows(tmp_path / "a.rrd", "/sine", "step", "Scalars:scalars")
    np.testing.assert_array_equal(np.array([v[0] for v in sine]), vals)


def test_data_logged_before_save_is_kept_and_time_kinds(tmp_path):
    import datetime as dt
    import rerun_ros.sdk as rr
    rec = rr.init("early")
    rr.set_time("t", timestamp=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    rr.set_time("d", duration=1.5)
    rr.log("early/points", rr.Points3D([[1, 2, 3]]))
    rr.log("early/static", rr.TextDocument("hi"), static=True)
    rr.save(tmp_path / "e.rrd")
    rr.set_time("d", duration=dt.timedelta(seconds=2.5))
    rr.log("early/points", rr.Points3D([[4, 5, 6]]))
    rr.disconnect()
    from rerun_ros.rrd.reader import read_chunks
    chunks, _ = read_chunks(tmp_path / "e.rrd")
    pts = [c for c in chunks if c.entity_path == "/early/points"]
    times = sorted(int(x) for c in pts for x in c.timelines["d"][1])
    assert times == [1_500_000_000, 2_500_000_000]
    assert {int(x) for c in pts for x in c.timelines["t"][1]} == {1735787045 * 10**9}
    assert [c.timelines["d"][0].kind for c in pts][0] == "duration"
    assert any(c.entity_path == "/early/static" and c.is_static for c in chunks)
    assert rec is rr.get_global_data_recording()
    with pytest.raises(ValueError):
        rr.set_time("x", sequence=1, duration=2)


def test_spawn_starts_our_viewer_hosting_the_proxy_and_connect_tcp_serves_our_stream(xdisplay):
    """`spawn()` starts `rerun-ros serve --view` (our viewer, hosting the gRPC proxy) and streams to
    it; `connect_tcp()` serves the recording on our TCP viewer stream."""
    import rerun_ros.sdk as rr
    from rerun_ros.store.chunk_store import ChunkStore
    from rerun_ros.stream.tcp import StreamClient
    port = free_port()
    rec = rr.RecordingStream("spawned")
    proc = rec.spawn(port=port)
    try:
        assert proc is not None and proc.poll() is None
        addr = rec.connect_tcp("127.0.0.1:0")
        for i in range(5):
            rec.set_time("step", sequence=i)
            rec.log("/v", rr.Scalars(float(i)))
        rec.flush()
        store, _ = read_proxy(f"rerun+http://127.0.0.1:{port}/proxy", "/v", 5)
        assert [store.latest_at("/v", "step", i)["Scalars:scalars"].values.to_pylist() for i in range(5)] == \
            [[float(i)] for i in range(5)]
        tcp = ChunkStore()
        client = StreamClient(addr, tcp.add_chunk, reconnect_delay=0.1)
        end = time.monotonic() + 10
        while tcp.num_rows("/v") < 5 and time.monotonic() < end:
            time.sleep(0.05)
        client.close()
        assert tcp.num_rows("/v") == 5
        assert rec.spawn(port=port) is None  # a viewer already listens: connect only
        rec.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
