"""The new surfaces under faults, hostile input and other local users (issue 22): the gRPC proxy
(`serve`), the SDK, blueprints and entity globs, fleet inputs, the catalog, reports.

Real processes and sockets; a second uid (``nobody``) where the tests run as root."""
from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import RERUN_ROS, free_port

IS_ROOT = os.geteuid() == 0
SERVICE = "/rerun.sdk_comms.v1alpha1.MessageProxyService/"


def _sdk_chunks(n: int = 3, entity: str = "/v", static: bool = False):
    """A store info and ``n`` chunk messages as the SDK frames them (WriteMessagesRequest bytes)."""
    from rerun_ros.model import archetypes as A
    from rerun_ros.rrd.writer import encode_arrow_msg, make_store_id, store_info_msg
    from rerun_ros.stream.grpc import log_msg_request
    from rerun_ros.stream.recording import CallbackSink, RecordingStream
    chunks = []
    rec = RecordingStream("s", sinks=[CallbackSink(chunks.append)])
    for i in range(n):
        rec.set_time("step", sequence=i)
        rec.log(entity, A.Scalars([float(i)]), static=static)
        rec.flush()
    rec.close()
    sid = make_store_id("s")
    msgs = [log_msg_request(1, store_info_msg(sid)[16:])]
    for c in chunks:
        parts = encode_arrow_msg(c, sid, compress=True)
        msgs.append(log_msg_request(2, parts[0][16:] + bytes(parts[1])))
    return msgs


def _write(port: int, msgs, timeout: float = 10):
    import grpc
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        return ch.stream_unary(SERVICE + "WriteMessages", request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)(iter(msgs), timeout=timeout)


def test_proxy_serves_a_new_writer_and_reader_behind_a_hundred_idle_clients():
    import grpc
    from rerun_ros.stream.grpc import GrpcReader
    from rerun_ros.stream.proxy import ProxyServer
    srv = ProxyServer(0)
    channels, calls = [], []
    hold = threading.Event()

    def never():  # a writer that connects and never sends
        hold.wait()
        return
        yield  # (unreachable: makes this a generator)

    try:
        for i in range(100):
            ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
            channels.append(ch)
            if i % 2:
                calls.append(ch.unary_stream(SERVICE + "ReadMessages", request_serializer=lambda b: b,
                                             response_deserializer=lambda b: b)(b""))  # never read
            else:
                calls.append(ch.stream_unary(SERVICE + "WriteMessages", request_serializer=lambda b: b,
                                             response_deserializer=lambda b: b).future(never()))
        time.sleep(1.0)
        t0 = time.monotonic()
        got = []
        r = GrpcReader(srv.url, got.append)
        _write(srv.port, _sdk_chunks(2), timeout=5)
        while len(got) < 2 and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        took = time.monotonic() - t0
        r.close()
        assert len(got) == 2, srv.stats
        assert took < 2.0, took  # (the issue asks 1 s; the margin is for a loaded CI machine)
    finally:
        hold.set()
        for c in calls:
            c.cancel()
        for ch in channels:
            ch.close()
        srv.stop()


def test_proxy_refuses_hostile_bodies_and_saves_only_what_it_keeps(tmp_path):
    import grpc
    from rerun_ros.rrd.writer import make_store_id
    from rerun_ros.stream.grpc import log_msg_request
    from rerun_ros.stream.proxy import ProxyServer
    save = tmp_path / "saved.rrd"
    srv = ProxyServer(0, save=str(save))
    try:
        good = _sdk_chunks(2)
        _write(srv.port, good)
        body = bytearray(good[1][:])
        hostile = [
            log_msg_request(2, b"\x12\x04\xff\xff\xff\xff"),  # an ArrowMsg of junk
            bytes(body[:-40]) + b"\x00" * 40,  # a chunk whose Arrow payload is zeroed
            log_msg_request(1, b"\x12\x00"),  # a store info without a store id
            log_msg_request(3, b"\x0a\x00"),  # an activation without a blueprint id
        ]
        sid = make_store_id("s")
        from rerun_ros.rrd import proto as P
        m = P.ArrowMsg(store_id=P.StoreId.FromString(sid.encode()), compression=2, uncompressed_size=2**31 - 1, encoding=1, payload=b"\x00" * 64)
        hostile.append(log_msg_request(2, m.SerializeToString()))  # an LZ4 size of 2^31 - 1
        for h in hostile:
            with pytest.raises(grpc.RpcError) as e:
                _write(srv.port, [h])
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert srv.stats["rejected"] == len(hostile)
        assert len(srv.buffered()) == 3
    finally:
        srv.stop()
    # the saved stream holds the good messages only: the official reader reads it
    from rerun.chunk import RrdReader
    rows = [c for c in RrdReader(str(save)).stream()]
    assert len(rows) == 2


def test_proxy_memory_limit_holds_for_static_chunks_and_idle_readers():
    import grpc
    from rerun_ros.stream.proxy import ProxyServer
    limit = 1 << 20
    srv = ProxyServer(0, memory_limit=limit)
    channels = []
    try:
        for _ in range(5):  # readers that never read
            ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
            channels.append((ch, ch.unary_stream(SERVICE + "ReadMessages", request_serializer=lambda b: b,
                                                 response_deserializer=lambda b: b)(b"")))
        time.sleep(0.5)
        big = []
        from rerun_ros.model import archetypes as A
        from rerun_ros.rrd.writer import encode_arrow_msg, make_store_id, store_info_msg
        from rerun_ros.stream.grpc import log_msg_request
        from rerun_ros.stream.recording import CallbackSink, RecordingStream
        import numpy as np
        chunks = []
        rec = RecordingStream("s", sinks=[CallbackSink(chunks.append)])
        rng = np.random.default_rng(0)
        for i in range(40):  # 40 static chunks of ~100 KB (incompressible), on 40 entities
            rec.log(f"/static/{i}", A.Points3D(rng.random((8000, 3)).astype(np.float32)), static=True)
            rec.flush()
        rec.close()
        sid = make_store_id("s")
        big.append(log_msg_request(1, store_info_msg(sid)[16:]))
        for c in chunks:
            parts = encode_arrow_msg(c, sid, compress=True)
            big.append(log_msg_request(2, parts[0][16:] + bytes(parts[1])))
        _write(srv.port, big, timeout=30)
        time.sleep(0.5)
        held = srv.buffered_bytes + srv._queued
        assert held <= limit * 1.1, (held, srv.stats)
        assert srv.stats["dropped"] > 0 and srv.stats["readers_cut"] >= 1
        # the newest are kept; a new reader gets them
        assert srv.buffered()[-1] == big[-1]
    finally:
        for ch, call in channels:
            call.cancel()
            ch.close()
        srv.stop()


def test_proxy_eviction_keeps_order_and_counts(tmp_path):
    from rerun_ros.stream.proxy import ProxyServer
    srv = ProxyServer(0, memory_limit=64 << 10)
    try:
        msgs = _sdk_chunks(300)
        _write(srv.port, msgs, timeout=30)
        kept = srv.buffered()
        assert kept[0] == msgs[0]  # the store info stays
        assert kept[1:] == msgs[len(msgs) - len(kept) + 1:]  # then the newest chunks, in order
        assert srv.stats["dropped"] == len(msgs) - len(kept)
    finally:
        srv.stop()


def _as_nobody(fn, wait: bool = True):
    """Run ``fn()`` in a forked child as uid/gid 65534 (``nobody``; the interpreter under
    /root is not executable by it, so no exec); its returned text comes back through a pipe.
    With ``wait=False``: (pid, read end) for a child that runs on."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            out = fn(w)
            os.write(w, (out or "").encode())
        except BaseException as e:  # noqa: BLE001
            os.write(w, f"child failed: {e!r}".encode())
            code = 1
        os._exit(code)
    os.close(w)
    if not wait:
        return pid, r
    os.waitpid(pid, 0)
    with os.fdopen(r) as f:
        return f.read()


@pytest.mark.skipif(not IS_ROOT, reason="needs root to act as another user")
def test_proxy_refuses_another_local_user(tmp_path):
    from rerun_ros.stream.proxy import ProxyServer
    save = tmp_path / "root.rrd"
    srv = ProxyServer(0, save=str(save))
    try:
        _write(srv.port, _sdk_chunks(1))

        def stranger(_w):
            import grpc
            ch = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
            said, got = [], 0
            try:
                for _ in ch.unary_stream(SERVICE + "ReadMessages", request_serializer=lambda b: b,
                                         response_deserializer=lambda b: b)(b"", timeout=5):
                    got += 1
            except grpc.RpcError as e:
                said.append(f"read {e.code().name}")
            try:
                ch.stream_unary(SERVICE + "WriteMessages", request_serializer=lambda b: b,
                                response_deserializer=lambda b: b)(iter(_sdk_chunks(1)), timeout=5)
            except grpc.RpcError as e:
                said.append(f"write {e.code().name}")
            return " ".join(said) + f" got {got}"

        out = _as_nobody(stranger)
        assert "read PERMISSION_DENIED" in out and "write PERMISSION_DENIED" in out and "got 0" in out, out
        assert srv.stats["refused_peers"] == 2 and len(srv.buffered()) == 2
    finally:
        srv.stop()


@pytest.mark.skipif(not IS_ROOT, reason="needs root to act as another user")
def test_bridge_side_sink_does_not_stream_to_another_users_proxy(tmp_path):
    from rerun_ros.stream.grpc import GrpcSink
    port = free_port()

    def squatter(w):  # another user took the port first
        import time as _t
        from rerun_ros.stream.proxy import ProxyServer
        srv = ProxyServer(port)
        os.write(w, b"up\n")
        _t.sleep(5)
        return f"buffered {len(srv.buffered())}"  # (no stop: grpc's poller after a fork dislikes it)

    pid, r = _as_nobody(squatter, wait=False)
    f = os.fdopen(r)
    try:
        assert f.readline().strip() == "up"
        sink = GrpcSink(f"rerun+http://127.0.0.1:{port}/proxy", application_id="secret")
        from rerun_ros.model import archetypes as A
        from rerun_ros.stream.recording import RecordingStream
        rec = RecordingStream("secret", sinks=[sink])
        rec.log("/password", A.TextDocument("hunter2"))
        rec.flush()
        time.sleep(2.0)
        assert "another user" in sink.stats.last_error and not sink.stats.messages_sent, sink.stats
        rec.close()
        sink.close()
        os.waitpid(pid, 0)
        assert f.read().strip() == "buffered 0"
    finally:
        f.close()
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def test_serve_save_never_clobbers_and_refuses_fifos(tmp_path):
    port = free_port()
    first = tmp_path / "first.rrd"
    srv = subprocess.Popen([RERUN_ROS, "serve", "--port", str(port), "--save", str(first)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "serving" in srv.stdout.readline()
        size = first.stat().st_size
        # a second server on the same file and port: refused, the first file untouched
        p = subprocess.run([RERUN_ROS, "serve", "--port", str(port), "--save", str(first)], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 1 and "exists" in p.stderr and p.stderr.count("\n") == 1
        p = subprocess.run([RERUN_ROS, "serve", "--port", str(port), "--save", str(first), "--overwrite"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1 and "cannot listen" in p.stderr and p.stderr.count("\n") == 1
        assert first.stat().st_size == size
    finally:
        srv.terminate()
        srv.communicate(timeout=30)
    fifo = tmp_path / "fifo.rrd"
    os.mkfifo(fifo)
    p = subprocess.run([RERUN_ROS, "serve", "--port", str(free_port()), "--save", str(fifo)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "not a regular file" in p.stderr
    link = tmp_path / "link.rrd"
    link.symlink_to(tmp_path / "elsewhere.rrd")
    p = subprocess.run([RERUN_ROS, "serve", "--port", str(free_port()), "--save", str(link)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "symbolic link" in p.stderr and not (tmp_path / "elsewhere.rrd").exists()


# ---- the SDK ---------------------------------------------------------------------------------

def test_sdk_refuses_a_bad_row_and_keeps_its_batch(tmp_path):
    import rerun_ros.sdk as rr
    out = tmp_path / "mixed.rrd"
    rec = rr.RecordingStream("mixed")
    rec.save(out)
    for i in range(100):
        rec.set_time("step", sequence=i)
        rec.log("/mixed", rr.Scalars([float(i)]))
    # text that is not valid Unicode: warned, and logged empty (as Rerun's SDK does outside strict
    # mode); in strict mode refused
    with pytest.warns(rr.RerunWarning, match="TextLog:text"):
        rec.log("/mixed", rr.TextLog("bad \udcff"))
    rr.set_strict_mode(True)
    try:
        with pytest.raises(ValueError):
            rec.log("/mixed", rr.TextLog("bad \udcff"))
    finally:
        rr.set_strict_mode(False)
    with pytest.raises(ValueError):
        rec.log("/bad\udcff", rr.Scalars([1.0]))
    for kw in ({"sequence": 2**63}, {"sequence": 2**64 - 1}, {"timestamp": 1e30}):
        with pytest.raises(ValueError):
            rec.set_time("step", **kw)
    with pytest.raises(TypeError):
        rec.set_time("step", sequence=1.7)
    rec.close()
    from rerun.chunk import RrdReader
    chunks = [c for c in RrdReader(str(out)).stream() if str(c.entity_path) == "/mixed"]
    assert sum(c.num_rows for c in chunks) == 101  # the 100 scalars and the TextLog row with its text empty


def test_a_row_that_cannot_join_its_chunk_is_the_only_one_lost(tmp_path):
    """A row the stream cannot build (its values do not convert to its component's type, found
    only when the batch becomes a chunk): the other rows are written, the lost one counted and
    said."""
    import pyarrow as pa
    from rerun_ros.model.components import ListBatch
    from rerun_ros.model import archetypes as A
    from rerun_ros.model.chunk import Timeline
    from rerun_ros.rrd.writer import RrdWriter
    from rerun_ros.stream.recording import BatcherConfig, RecordingStream
    out = tmp_path / "r.rrd"
    said = []
    w = RrdWriter(out)
    rec = RecordingStream("r", sinks=[w], batcher=BatcherConfig(max_rows=1000, max_age=0), on_error=said.append)
    T = Timeline("step", "sequence")
    for i in range(50):
        rec.log("/s", A.Scalars([float(i)]), timepoints={T: i})
    desc = A.Scalars.column("scalars")
    rec.log_components("/s", [(desc, ListBatch(["not a number"], pa.float64()))], timepoints={T: 50})
    rec.close()
    from rerun_ros.rrd.reader import read_chunks
    chunks, _ = read_chunks(out)
    assert sum(len(c) for c in chunks if c.entity_path == "/s") == 50
    assert rec.stats.rows_lost == {"/s": 1} and any("refused" in s for s in said)


# ---- blueprints, globs, times ----------------------------------------------------------------

def test_entity_glob_never_backtracks():
    from rerun_ros.model.entity_path import entity_glob
    t = time.process_time()
    assert not entity_glob("/" + "a*" * 14 + "b").match("/" + "a" * 5000)
    assert not entity_glob("/" + "**/" * 14 + "b").match("/a" * 300)
    assert entity_glob("/**/b").match("/a" * 300 + "/b")
    assert time.process_time() - t < 5.0  # (the regex took > 90 s)


def test_blueprints_from_strangers_are_bounded(tmp_path):
    from rerun_ros.blueprint.model import BlueprintError, load
    many = "root:\n  container: horizontal\n  children:\n" + "".join(
        f"    - {{view: spatial3d, name: v{i}}}\n" for i in range(20000))
    with pytest.raises(BlueprintError, match="views"):
        load(many)
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(400 << 20)  # sparse: 400 MiB that must not be read
    t = time.process_time()
    with pytest.raises(BlueprintError, match="larger"):
        load(big)
    assert time.process_time() - t < 1.0
    fifo = tmp_path / "bp.yaml"
    os.mkfifo(fifo)
    with pytest.raises(BlueprintError, match="regular file"):
        load(fifo)


def test_view_time_out_of_range_is_one_line(tmp_path):
    from conftest import SENSORS
    p = subprocess.run([RERUN_ROS, "view", str(SENSORS), "--time", "1e300", "--screenshot", str(tmp_path / "s.png")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1


# ---- fleet inputs and the catalog ------------------------------------------------------------

def _hostile_tree(tmp_path):
    from conftest import FIELD, MARKERS
    import shutil
    d = tmp_path / "bags"
    (d / "sub").mkdir(parents=True)
    shutil.copy(FIELD, d / "sub" / "a.mcap")
    (d / "dangle.mcap").symlink_to(tmp_path / "nowhere.mcap")
    os.mkfifo(d / "fifo.mcap")
    (d / "zero.mcap").symlink_to("/dev/zero")
    (d / "sub" / "loop").symlink_to(d)  # a directory symlink loop
    shutil.copy(MARKERS, os.fsencode(d) + b"/caf\xe9.mcap")  # a name that is not UTF-8
    return d


def test_fleet_inputs_skip_and_name_what_is_not_a_bag(tmp_path):
    from rerun_ros.fleet.inputs import SKIPPED, InputError, expand_inputs
    d = _hostile_tree(tmp_path)
    t = time.monotonic()
    for inp in (str(d), str(d / "**" / "*.mcap")):
        bags = expand_inputs([inp])
        assert sorted(b.relative for b in bags) == ["caf\\xe9", "sub/a"], inp
        why = dict(SKIPPED)
        assert "dangling" in why[str(d / "dangle.mcap")] and "FIFO" in why[str(d / "fifo.mcap")]
        assert "not a regular file" in why[str(d / "zero.mcap")]
    with pytest.raises(InputError, match="matches no bag"):
        expand_inputs([str(d / "**" / "*.nothing")])
    with pytest.raises(InputError, match="FIFO"):
        expand_inputs([str(d / "fifo.mcap")])
    with pytest.raises(InputError, match="dangling"):
        expand_inputs([str(d / "dangle.mcap")])
    assert time.monotonic() - t < 30  # (the glob followed the loop forever)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to act as another user")
def test_fleet_inputs_name_a_directory_that_cannot_be_read(tmp_path):
    from conftest import MARKERS
    import shutil
    import tempfile
    top = Path(tempfile.mkdtemp(prefix="rerun_ros_locked_"))  # (pytest's tmp dirs are root's alone)
    d = top / "bags"
    (d / "open").mkdir(parents=True)
    (d / "locked").mkdir()
    shutil.copy(MARKERS, d / "open" / "a.mcap")
    shutil.copy(MARKERS, d / "locked" / "b.mcap")
    os.chmod(top, 0o755)
    os.chmod(d, 0o755)
    os.chmod(d / "open", 0o755)
    os.chmod(d / "open" / "a.mcap", 0o644)
    os.chmod(d / "locked", 0o700)

    def walk(_w):
        from rerun_ros.fleet.inputs import SKIPPED, expand_inputs
        bags = expand_inputs([str(d)])
        return repr(([b.relative for b in bags], SKIPPED))

    try:
        out = _as_nobody(walk)
    finally:
        shutil.rmtree(top)
    assert out.startswith("(['open/a']") and "locked" in out and "cannot be read" in out, out


def test_fleet_job_lists_unreadable_inputs_and_catalogs_a_non_utf8_name(tmp_path):
    d = _hostile_tree(tmp_path)
    out = tmp_path / "out"
    p = subprocess.run([RERUN_ROS, "fleet", "convert", str(d), "-o", str(out), "--workers", "1", "--json"],
                       capture_output=True, text=True, timeout=600)
    assert "Traceback" not in p.stderr, p.stderr[-2000:]
    import json
    s = json.loads(p.stdout)
    assert p.returncode == 3 and s["ok"] == 2 and s["unreadable"] == 3, s
    assert {x["status"] for x in s["problems"]} == {"unreadable"}
    q = subprocess.run([RERUN_ROS, "catalog", "query", "SELECT source FROM runs ORDER BY source", "--catalog",
                        str(out / "catalog.duckdb"), "--format", "json"], capture_output=True, text=True, timeout=120)
    assert q.returncode == 0, q.stderr
    assert any(r["source"].endswith("caf\\xe9.mcap") for r in json.loads(q.stdout))


def test_catalog_query_reaches_the_catalog_only(tmp_path):
    from rerun_ros.catalog import Catalog
    cat = tmp_path / "catalog.duckdb"
    Catalog(cat).close()
    secret = tmp_path / "secret.txt"
    secret.write_text("password\n")
    for sql in (f"COPY runs TO '{tmp_path / 'x.csv'}'", f"EXPORT DATABASE '{tmp_path / 'exp'}'",
                f"SELECT * FROM read_csv('{secret}')", f"SELECT * FROM glob('{tmp_path}/*')",
                "INSTALL httpfs", "SET enable_external_access = true", f"ATTACH '{tmp_path / 'other.db'}'"):
        p = subprocess.run([RERUN_ROS, "catalog", "query", sql, "--catalog", str(cat)], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 1 and p.stderr.count("\n") == 1 and "password" not in p.stdout, (sql, p.stderr)
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "exp").exists() and not (tmp_path / "other.db").exists()
    p = subprocess.run([RERUN_ROS, "catalog", "query", "SELECT count(*) AS n FROM runs", "--catalog", str(cat),
                        "--format", "json"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and '"n": 0' in p.stdout


# ---- the TCP viewer stream -------------------------------------------------------------------

def test_dripping_strangers_do_not_keep_a_viewer_with_the_token_out():
    import socket
    from rerun_ros.model import archetypes as A
    from rerun_ros.stream.recording import RecordingStream
    from rerun_ros.stream.tcp import StreamClient, StreamServer
    server = StreamServer("127.0.0.1:0", max_clients=16)
    rec = RecordingStream("drip", sinks=[server])
    rec.log("/x", A.Scalars([1.0]))
    rec.flush()
    stop = threading.Event()
    socks = []

    def drip(s):
        while not stop.is_set():
            try:
                s.send(b"T")
            except OSError:
                return
            stop.wait(1.0)

    try:
        for _ in range(16):  # every slot, a byte a second and never a whole token line
            s = socket.create_connection((server.host, server.port))
            socks.append(s)
            threading.Thread(target=drip, args=(s,), daemon=True).start()
        time.sleep(0.5)
        got = []
        client = StreamClient(server.address, got.append, reconnect_delay=0.1)
        t = time.monotonic()
        while not got and time.monotonic() - t < 10:
            time.sleep(0.05)
        client.close()
        assert got, server.stats  # the viewer with the token got the stream
        t = time.monotonic()  # and the strangers are cut at the handshake deadline (3 s)
        while server.stats["refused"] < 16 and time.monotonic() - t < 10:
            time.sleep(0.1)
        assert server.stats["refused"] >= 16
    finally:
        stop.set()
        for s in socks:
            s.close()
        rec.close()
        server.close()


def test_token_file_never_written_through_a_planted_symlink(tmp_path, monkeypatch):
    from rerun_ros.stream.tcp import StreamServer, read_token_file, token_path
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    (runtime / "rerun_ros").mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    port = free_port()
    token_path(port).symlink_to(victim)  # planted where the server will write its token
    server = StreamServer(f"127.0.0.1:{port}")
    server.close()
    assert victim.read_text() == "precious\n" and (victim.stat().st_mode & 0o777) == 0o644
    # a runtime directory that is a symlink (to a place someone else controls): no token file
    os.unlink(token_path(port))
    (runtime / "rerun_ros").rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (runtime / "rerun_ros").symlink_to(elsewhere)
    server = StreamServer(f"127.0.0.1:{free_port()}")
    server.close()
    assert not list(elsewhere.iterdir())
    # a token from a file, not the command line: yours and 0600 only
    tf = tmp_path / "token"
    tf.write_text("s3cret\n")
    os.chmod(tf, 0o644)
    with pytest.raises(OSError, match="readable by you only"):
        read_token_file(tf)
    os.chmod(tf, 0o600)
    assert read_token_file(tf) == "s3cret"


# ---- reports ---------------------------------------------------------------------------------

def test_report_survives_formulas_long_names_extreme_times_and_colliding_names(tmp_path, bag_builder):
    import json
    b = bag_builder("hostile.mcap")
    hdr = {"stamp": {"sec": 1, "nanosec": 0}, "frame_id": "map"}
    tf = {"transforms": [{"header": hdr, "child_frame_id": "$\\frac{1}{$",
                          "transform": {"translation": {"x": 0.0, "y": 0.0, "z": 0.0},
                                        "rotation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}}]}
    long_topic = "/" + "x" * 300
    for i, t in enumerate((0, 2**63 - 1)):  # log times 0 and the end of time
        b.write("/tf", "tf2_msgs/msg/TFMessage", tf, t)
        b.write(long_topic, "std_msgs/msg/Float64", {"data": float(i)}, t)
        b.write("/a/b", "std_msgs/msg/Float64", {"data": 1.0}, t)
        b.write("/a_b", "std_msgs/msg/Float64", {"data": 2.0}, t)
    b.close()
    p = subprocess.run([RERUN_ROS, "report", str(b.path), "-o", str(tmp_path / "rep"), "--no-snapshots"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Traceback" not in p.stderr and (tmp_path / "rep" / "index.html").exists()
    html = (tmp_path / "rep" / "index.html").read_text()
    pngs = [x for x in os.listdir(tmp_path / "rep") if x.startswith("topic_")]
    assert len(pngs) == len(set(pngs)) >= 4  # /a/b and /a_b each have their own plot
    assert all(len(x) < 120 for x in pngs)
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {t["entity"] for t in rep["topics"]} >= {"/a/b", "/a_b", long_topic}
    assert "frac" in html or "tf_tree.png" in html


def test_rows_logged_while_the_batcher_flushes_all_reach_the_file(tmp_path):
    """The batcher's ticker takes a group out and sends it while the caller closes the stream:
    the close waits for it (the row went to the in-memory buffer instead of the file before)."""
    import rerun_ros.sdk as rr
    from rerun_ros.rrd.reader import read_chunks
    lost = []
    for k in range(40):
        out = tmp_path / f"r{k}.rrd"
        rec = rr.RecordingStream(f"race{k}")
        rec.save(out)
        n = 0
        t_end = time.monotonic() + 0.06  # about one batcher period, so the ticker fires mid-way
        while time.monotonic() < t_end:
            rec.set_time("step", sequence=n)
            rec.log(f"/e{n % 7}", rr.Scalars([float(n)]))
            n += 1
        rec.close()
        chunks, _ = read_chunks(out)
        got = sum(len(c) for c in chunks if c.entity_path.startswith("/e"))
        if got != n:
            lost.append((k, n, got))
    assert not lost, lost


def test_a_strangers_serialized_stream_is_validated_message_by_message():
    """A server that is not our bridge sends the raw stream's message kinds malformed: a batch
    before its definition, a definition that is not JSON, a batch announcing 2^32-1 messages, one
    whose payload sizes do not add up, one whose payloads are not CDR; each is skipped with a
    line saying so, and the well-formed batch after them is decoded into its rows."""
    import socket
    import struct

    import numpy as np
    from rerun_ros.rrd.writer import MSG_HEADER, stream_header
    from rerun_ros.stream.raw import KIND_ROS_BATCH, KIND_ROS_SCHEMA, RawBatch, encode_batch, encode_schema
    from rerun_ros.stream.tcp import StreamClient

    def cdr(v: int) -> bytes:
        return b"\x00\x01\x00\x00" + struct.pack("<i", v)

    def batch(seq, payloads, schema=0):
        n = len(payloads)
        t = np.arange(n, dtype=np.int64) + 1_700_000_000 * 10**9
        return b"".join(encode_batch(RawBatch(seq, "/n", "std_msgs/msg/Int32", schema, payloads, t, t)))

    good_schema = encode_schema(0, "/n", "std_msgs/msg/Int32", "int32 data", "node clock")
    lying = bytearray(batch(3, [cdr(1), cdr(2)]))
    lying[-1:] = b""  # one byte short of what the sizes say
    lying[:16] = MSG_HEADER.pack(KIND_ROS_BATCH, len(lying) - 16)
    huge = bytearray(batch(4, [cdr(1)]))
    struct.pack_into("<I", huge, 16 + 12, 2**32 - 1)  # the message count
    messages = [
        batch(1, [cdr(7)]),                                      # no definition yet
        MSG_HEADER.pack(KIND_ROS_SCHEMA, 5) + b"{oops",            # not JSON
        good_schema,
        bytes(huge), bytes(lying),
        batch(5, [b"\x00", b"\x00\x01"]),                         # not CDR
        batch(6, [cdr(10), cdr(11), cdr(12)]),                   # good
    ]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        conn.recv(200)  # the token line
        conn.sendall(stream_header(False) + b"".join(messages))
        time.sleep(1.0)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    got = []
    client = StreamClient(f"127.0.0.1:{srv.getsockname()[1]}", got.append, reconnect_delay=30, token="x")
    t = time.monotonic()
    while time.monotonic() - t < 10 and not any(c.entity_path == "/n" for c in got):
        time.sleep(0.05)
    time.sleep(0.3)
    client.close()
    srv.close()
    errors = "\n".join(client.errors)
    assert "/n: messages without their definition on the stream, skipped" in errors
    assert errors.count("damaged message") == 3, errors
    assert "does not decode" in errors, errors
    vals = [r["data"] for c in got if c.entity_path == "/n" for d, col in c.components.items()
            if d.field == "message" for row in col.to_pylist() if row for r in row]
    assert vals == [10, 11, 12], (vals, errors)


def test_a_latched_topic_resent_for_ever_does_not_grow_the_streams_history():
    """A latched topic's serialized batches are kept for viewers that connect later, but only the
    newest of each topic (256 batches, 64 MiB): a /map re-sent every second for hours must not
    grow the bridge's memory. 300 batches sent: a late viewer decodes the newest 256, in order."""
    import struct

    import numpy as np
    from rerun_ros.stream.raw import RawBatch
    from rerun_ros.stream.tcp import KEPT_BATCHES, StreamClient, StreamServer
    server = StreamServer("127.0.0.1:0")
    try:
        server.write_raw_schema(0, "/latched", "std_msgs/msg/Int32", "int32 data", "node clock")
        t0 = 1_700_000_000 * 10**9
        for i in range(300):
            t = np.array([t0 + i * 10**9], np.int64)
            server.write_raw(RawBatch(i + 1, "/latched", "std_msgs/msg/Int32", 0,
                                      [b"\x00\x01\x00\x00" + struct.pack("<i", i)], t, t, kept=True))
        got = []
        client = StreamClient(server.address, got.append, reconnect_delay=0.1)
        t = time.monotonic()
        while time.monotonic() - t < 10 and sum(len(c) for c in got if c.entity_path == "/latched") < KEPT_BATCHES:
            time.sleep(0.05)
        time.sleep(0.3)
        client.close()
    finally:
        server.close()
    vals = [r["data"] for c in got if c.entity_path == "/latched" for d, col in c.components.items()
            if d.field == "message" for row in col.to_pylist() if row for r in row]
    assert vals == list(range(300 - KEPT_BATCHES, 300)), vals[:5]
