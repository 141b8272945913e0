"""The live bridge and recorder as real processes over loopback DDS (each test its own domain)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import rclpy  # noqa: F401  - the ROS 2 wheels must be installed (.ci/ros_setup.sh); no silent skip

from conftest import RERUN_ROS, free_port, official_table, rerun_verify
from rerun_ros.ros.launch_spec import LAUNCHES, LaunchError, parse_launch_args, resolve, ros_args
from rerun_ros.ros.launcher import commands
from rerun_ros.rrd.reader import read_chunks
from rerun_ros.store.chunk_store import ChunkStore
from rerun_ros.stream.tcp import StreamClient

HERE = Path(__file__).parent
ROOT = HERE.parent
TOPICS = ["/tf", "/tf_static", "/camera/image", "/camera/compressed", "/camera/info", "/lidar/points", "/scan",
          "/odom", "/app_log", "/value", "/count"]


def start_bridge(env, *params, node="bridge"):
    args = [RERUN_ROS, node, "--ros-args"]
    for p in params:
        args += ["-p", p]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def publish(env, n, *extra, timeout=120):
    return subprocess.run([sys.executable, str(HERE / "ros_publisher.py"), str(n), *extra], env=env,
                          capture_output=True, text=True, timeout=timeout)


def stop(proc, sig=signal.SIGINT, timeout=30):
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return out, err


def shm_segment_bytes(pid: int) -> list[int]:
    """Sizes of the Fast DDS shared-memory segments a process has mapped (from /proc/PID/maps)."""
    sizes: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[5].startswith("/dev/shm/fastdds_") and "_port" not in parts[5]:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            sizes[parts[5]] = sizes.get(parts[5], 0) + hi - lo
    return list(sizes.values())


def row_contents(chunks) -> dict:
    """Per entity, the multiset of its rows as (timeline values, {column: value}) — what the
    rows hold, whatever chunks they were cut into and whoever built them (the bridge for its
    file, a viewer decoding the serialized stream); static rows by their values."""
    import hashlib
    out: dict = {}
    for c in chunks:
        times = sorted(c.timelines)
        cols = {d.column: col for d, col in c.components.items()}
        for i in range(len(c)):
            key = tuple((name, int(c.timelines[name][1][i])) for name in times)
            vals = tuple(sorted((k, hashlib.sha1(repr(col[i].as_py()).encode()).hexdigest())
                                for k, col in cols.items() if col[i].is_valid))
            out.setdefault(c.entity_path, []).append((c.is_static, key, vals))
    return {e: sorted(rows) for e, rows in out.items()}


def reliable_specs():
    specs = [f"{t} qos=reliable" for t in TOPICS if t != "/tf_static"]
    return "topics:=[" + ",".join(f'"{s}"' for s in specs + ["/tf_static"]) + "]"


@pytest.mark.parametrize("executor,dds_profile", [("auto", None), ("single", "fastdds_large_data.xml")])
def test_bridge_records_and_streams_exact_values(ros_env, tmp_path, executor, dds_profile):
    """The default executor (the EventsExecutor here) on Fast DDS's built-in transports; then the
    SingleThreadedExecutor with every process on the shipped large-data profile."""
    if dds_profile:
        ros_env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(ROOT / "config" / dds_profile)
    out = tmp_path / "live.rrd"
    port = free_port()
    bridge = start_bridge(ros_env, f"rrd_path:={out}", f"stream_address:=127.0.0.1:{port}", reliable_specs(),
                          "auto_discover:=false", "discover_period:=0.2", "stats_period:=0.0",
                          f"executor:={executor}")
    got = []
    client = StreamClient(f"127.0.0.1:{port}", got.append, reconnect_delay=0.1)
    t_start = time.time_ns()
    t0 = int(time.time())  # stamps on the wall clock, as a live robot's
    try:
        n = 12
        pub = publish(ros_env, n, "--points", "100000", "--t0", str(t0))
        assert pub.returncode == 0, pub.stderr
        time.sleep(0.5)
        shm = shm_segment_bytes(bridge.pid)
    finally:
        _, err = stop(bridge)
        client.close()
    assert bridge.returncode == 0, err
    assert "/lidar/points: received 12, converted 12, dropped 0, failed 0" in err
    # the profile was loaded: the bridge's shared-memory segment has its 64 MiB, not Fast DDS's 512 KiB
    assert shm and ((max(shm) >= 64 << 20) if dds_profile else (max(shm) < 8 << 20)), shm
    assert rerun_verify(out).returncode == 0
    chunks, warnings = read_chunks(out)
    assert not warnings
    store = ChunkStore.from_chunks(chunks)
    for topic in ["/camera/image", "/camera/compressed", "/camera/info", "/lidar/points", "/scan", "/odom",
                  "/app_log", "/value", "/count", "/tf/base_link"]:
        # every message is one row holding it whole (and, on the same row, its archetypes)
        rows = sum(len(c) - col[1].null_count for c in store.chunks(topic) if not c.is_static
                   for col in [next((x for x in c.components.items() if x[0].field == "message"), None)] if col)
        assert rows == n, (topic, err)
    # exact values, as the official reader sees them
    sys.path.insert(0, str(HERE))
    from ros_publisher import messages
    for i in (0, 7, 11):
        m = messages(i, 100000, t0)
        t_ns = (t0 + i // 10) * 10**9 + (i % 10) * 10**8
        la = store.latest_at("/lidar/points", "ros_time", t_ns)
        np.testing.assert_array_equal(la["Points3D:positions"].values.flatten().to_numpy(),
                                      np.frombuffer(bytes(m["/lidar/points"].data), np.float32))
        assert bytes(store.latest_at("/camera/image", "ros_time", t_ns)["Image:buffer"].values[0].values.to_numpy()) \
            == bytes(m["/camera/image"].data)
        assert bytes(store.latest_at("/camera/compressed", "ros_time", t_ns)["EncodedImage:blob"].values[0].values.to_numpy()) \
            == bytes(m["/camera/compressed"].data)
        assert store.latest_at("/value", "log_time", 2**62)  # numbers have no header: log time
    vals = official_table(out, "/value", index="log_time").column("/value:Scalars:scalars").to_pylist()
    assert [v[0] for v in vals] == [i * 0.25 for i in range(n)]
    logs = official_table(out, "/app_log").column("/app_log:TextLog:text").to_pylist()
    assert [v[0] for v in logs] == [f"[pub] message {i}" for i in range(n)]
    # one entity per TF child frame, each transform at its own stamp
    tf = official_table(out, "/tf/base_link").column("/tf/base_link:Transform3D:translation").to_pylist()
    assert [v[0][0] for v in tf] == [float(i) for i in range(n)]
    # the latched /tf_static, published before the bridge subscribed, arrived (late joiner)
    st = [c for c in store.chunks("/tf_static/lidar") if c.is_static]
    assert st and st[0].component("Transform3D:child_frame")[1].to_pylist() == [["lidar"]]
    # the publisher's source timestamps (wall clock at publish): rclpy passes them to the
    # SingleThreadedExecutor's callbacks only
    odom_chunks = [c for c in store.chunks("/odom") if not c.is_static]
    if executor == "single":
        assert all("publish_time" in c.timelines for c in odom_chunks)
        pub_t = np.concatenate([c.timelines["publish_time"][1] for c in odom_chunks])
        assert len(pub_t) == n and (pub_t >= t_start).all() and (pub_t <= time.time_ns()).all()
    else:
        assert not any("publish_time" in c.timelines for c in odom_chunks)
    # the stream carried exactly the same rows as the file (the viewer decoded them itself)
    assert row_contents(got) == row_contents(chunks)


def test_viewer_reconnect_loses_nothing(ros_env, tmp_path):
    out = tmp_path / "r.rrd"
    port = free_port()
    bridge = start_bridge(ros_env, f"rrd_path:={out}", f"stream_address:=127.0.0.1:{port}", reliable_specs(),
                          "auto_discover:=false", "stats_period:=0.0")
    got = []
    client = StreamClient(f"127.0.0.1:{port}", got.append, reconnect_delay=0.2)
    pub = subprocess.Popen([sys.executable, str(HERE / "ros_publisher.py"), "40", "--points", "1000", "--hz", "20"],
                           env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert pub.stdout.readline().strip() == "matched"
        time.sleep(0.6)
        client.disconnect()  # the viewer's connection drops mid-stream...
        time.sleep(0.5)       # ...and comes back by itself
        pub.wait(timeout=60)
        time.sleep(0.5)
    finally:
        stop(bridge)
        client.close()
    assert client.connections >= 2
    chunks, _ = read_chunks(out)
    assert row_contents(got) == row_contents(chunks)  # every row once: none lost, none twice


def test_sim_time_from_clock(ros_env, tmp_path):
    out = tmp_path / "sim.rrd"
    bridge = start_bridge(ros_env, f"rrd_path:={out}", "stream_address:=''", reliable_specs(), "auto_discover:=false",
                          "use_sim_time:=true", "stats_period:=0.0")
    try:
        # stamps on the sim clock (5000 s + i / 10), but /scan's publisher stamps 6 days off it
        pub = publish(ros_env, 5, "--clock", "--points", "10", "--hz", "5", "--t0", "5000", "--skew", "/scan=-515220")
        assert pub.returncode == 0, pub.stderr
    finally:
        stop(bridge)
    s = ChunkStore.from_chunks(read_chunks(out)[0])
    t = s.range("/value", "log_time", 0, 2**62, "Scalars:scalars", include_latest_at=False).times
    assert len(t) == 5
    # log_time is the simulated clock (5000 s + i), not the wall clock
    assert all(5000 * 10**9 <= x < 6000 * 10**9 for x in t)
    # every temporal row lies on the robot (sim) clock: the /clock values it saw, 5000..5004 s
    for c in s.chunks():
        if not c.is_static and "ros_time" in c.timelines:
            rt = c.timelines["ros_time"][1]
            assert ((rt >= 5000 * 10**9) & (rt <= 5005 * 10**9)).all(), (c.entity_path, rt)
    # rows with a stamp on the clock keep it; a row without one is placed at its receipt
    odom = s.range("/odom", "ros_time", 0, 2**62, "nav_msgs.msg.Odometry:message", include_latest_at=False).times
    assert sorted(odom.tolist()) == [5000 * 10**9 + i * 10**8 for i in range(5)]
    # the publisher off the clock: placed by receipt, its raw stamp kept, and named
    scan = s.range("/scan", "ros_time", 0, 2**62, "sensor_msgs.msg.LaserScan:message", include_latest_at=False)
    assert len(scan.times) == 5
    assert scan.values.values.field("header").field("stamp").field("sec").to_pylist()[0] == 5000 - 515220
    clock = read_clock(s)
    assert clock["kind"] == "node clock (sim time from /clock)"
    assert [o["source"] for o in clock["off_clock"]] == ["/scan"]


def read_clock(store) -> dict:
    from rerun_ros.report import clock_property
    return clock_property(store)


def test_recorder_sigterm_footer_and_sigkill_readable(ros_env, tmp_path):
    out = tmp_path / "rec.rrd"
    rec = start_bridge(ros_env, f"rrd_path:={out}", "stream_address:=''", reliable_specs(), "auto_discover:=false",
                       "stats_period:=0.0", node="recorder")
    try:
        assert publish(ros_env, 5, "--points", "1000").returncode == 0
    finally:
        _, err = stop(rec, signal.SIGTERM)
    assert "recording written" in err
    assert rerun_verify(out).returncode == 0  # footer written on SIGTERM
    out2 = tmp_path / "killed.rrd"
    rec = start_bridge(ros_env, f"rrd_path:={out2}", "stream_address:=''", reliable_specs(), "auto_discover:=false",
                       "stats_period:=0.0", node="recorder")
    try:
        assert publish(ros_env, 8, "--points", "1000").returncode == 0
        time.sleep(1.5)  # no viewer: rows reach the file once per file_flush_period (1 s)
    finally:
        rec.kill()
        rec.wait()
    chunks, warnings = read_chunks(out2)
    assert any("no end-of-stream" in w or "truncated" in w for w in warnings)
    store = ChunkStore.from_chunks(chunks)
    assert sum(len(c) for c in store.chunks("/value")) == 8  # everything flushed before the kill is there
    from rerun.chunk import RrdReader as Official
    assert {c.entity_path for c in Official(str(out2)).stream().to_chunks()} >= {"/value", "/lidar/points"}


def test_auto_discover_rate_limit_and_rotation(ros_env, tmp_path):
    out = tmp_path / "rot.rrd"
    bridge = start_bridge(ros_env, f"rrd_path:={out}", "stream_address:=''", "discover_period:=0.2",
                          "rate_limit_hz:=5.0", "rotate_bytes:=60000", "stats_period:=0.0",
                          'exclude:=["^/parameter_events$", "^/rosout$"]')
    try:
        assert publish(ros_env, 20, "--points", "5000", "--hz", "20").returncode == 0
    finally:
        _, err = stop(bridge)
    files = sorted(tmp_path.glob("rot_*.rrd"))
    assert len(files) >= 2, err
    for f in files:
        assert rerun_verify(f).returncode == 0
    counts = {}
    for line in err.splitlines():
        if "received" in line and line.startswith("[rerun_bridge] /"):
            topic, rest = line.split("] ", 1)[1].split(": ", 1)
            counts[topic] = rest
    assert "/value" in counts and "/rosout" not in counts
    rec, conv = (int(x.split()[-1]) for x in counts["/value"].split(", ")[:2])
    assert rec == 20 and conv < 20  # 20 Hz publisher, 5 Hz limit


def test_launch_argument_mapping():
    nodes, cfg = resolve("bringup", {"output": "run.rrd", "topics": "/tf;/camera/image qos=sensor_data",
                                     "fixed_frame": "odom", "use_sim_time": "true"})
    (b, bp), (v, vp) = nodes
    assert (b.executable, v.executable) == ("bridge", "viewer")
    assert bp == {"rrd_path": "run.rrd", "topics": ["/tf", "/camera/image qos=sensor_data"],
                  "stream_address": "127.0.0.1:9877", "use_sim_time": True}
    assert vp["fixed_frame"] == "odom" and vp["stream_address"] == "127.0.0.1:9877"
    (r, rp), = resolve("record", {"rotate_bytes": "1e9", "split": "false"})[0]
    assert rp["rotate_bytes"] == 1_000_000_000 and rp["split"] is False
    assert ros_args(r, {"topics": ["/a", "/b c=d"]}, "x.yaml") == [
        "--ros-args", "-r", "__node:=rerun_recorder", "--params-file", "x.yaml", "-p", 'topics:=["/a","/b c=d"]']
    with pytest.raises(LaunchError, match="unknown argument.*fixed_frame"):
        resolve("bridge", {"fixed_frame": "map"})
    with pytest.raises(LaunchError, match="expected true or false"):
        resolve("bridge", {"use_sim_time": "maybe"})
    with pytest.raises(LaunchError, match="name:=value"):
        parse_launch_args(["output=x"])
    cmd = commands("bridge", {"output": "o.rrd"})
    tail = cmd[0][cmd[0].index("--ros-args"):]
    assert tail == ["--ros-args", "-r", "__node:=rerun_bridge", "-p", "rrd_path:=o.rrd", "-p",
                    "stream_address:=127.0.0.1:9877", "-p", "use_sim_time:=false"]
    assert cmd[0][1:4] == ["-m", "rerun_ros.cli", "bridge"]
    # every launch file is the standard ROS 2 form built from this spec
    for name in LAUNCHES:
        text = (ROOT / "launch" / f"{name}.launch.py").read_text()
        assert "def generate_launch_description" in text and f'launch_description("{name}")' in text


def test_config_documents_every_parameter():
    from rerun_ros.ros.bridge import PARAMS
    cfg = yaml.safe_load((ROOT / "config" / "bridge.yaml").read_text())
    assert set(cfg["rerun_bridge"]["ros__parameters"]) == set(PARAMS) | {"use_sim_time"}
    assert set(cfg["rerun_recorder"]["ros__parameters"]) <= set(PARAMS) | {"use_sim_time"}


def test_rerun_ros_launch_runs_the_nodes(ros_env, tmp_path):
    out = tmp_path / "l.rrd"
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump({"rerun_bridge": {"ros__parameters": {"stats_period": 0.0, "auto_discover": False}}}))
    proc = subprocess.Popen([RERUN_ROS, "launch", "bridge", f"output:={out}", f"config:={cfg}",
                             "stream_address:=127.0.0.1:0", "topics:=/value qos=reliable;/count qos=reliable"],
                            env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pub = subprocess.run([sys.executable, "-c", """
import rclpy, time
from std_msgs.msg import Float64
rclpy.init(); n = rclpy.create_node('p'); pub = n.create_publisher(Float64, '/value', 10)
t = time.time()
while pub.get_subscription_count() == 0 and time.time() - t < 30: time.sleep(0.05)
for i in range(7): pub.publish(Float64(data=float(i))); time.sleep(0.05)
time.sleep(0.5)
"""], env=ros_env, timeout=60)
        assert pub.returncode == 0
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err
    s = ChunkStore.from_chunks(read_chunks(out)[0])
    assert [v[0] for v in s.range("/value", "log_time", 0, 2**62, "Scalars:scalars").values.to_pylist()] == \
        [float(i) for i in range(7)]


def test_viewer_node_shows_the_bridge_stream(ros_env, tmp_path, xdisplay):
    port = free_port()
    bridge = start_bridge(ros_env, f"stream_address:=127.0.0.1:{port}", reliable_specs(), "auto_discover:=false",
                          "stats_period:=0.0")
    try:
        assert publish(ros_env, 6, "--points", "2000").returncode == 0
        shot = tmp_path / "viewer.png"
        env = dict(ros_env, DISPLAY=xdisplay, QT_QPA_PLATFORM="xcb")
        p = subprocess.run([RERUN_ROS, "viewer", "--ros-args", "-r", "__node:=rerun_viewer", "-p",
                            f"stream_address:=127.0.0.1:{port}", "-p", "fixed_frame:=odom", "-p",
                            f"screenshot:={shot}", "-p", "size:=900x600"], env=env, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr
    finally:
        stop(bridge)
    from PIL import Image
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (600, 900, 3) and img.std() > 10


def test_bridge_process_to_viewer_window_within_a_second(ros_env, qapp, monkeypatch):
    from rerun_ros.stream.tcp import StreamClient
    from rerun_ros.viewer import blueprint as B
    from rerun_ros.viewer.window import ViewerWindow
    for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        monkeypatch.setenv(k, ros_env[k])
    port = free_port()
    bridge = start_bridge(ros_env, f"stream_address:=127.0.0.1:{port}", 'topics:=["/value qos=reliable"]',
                          "auto_discover:=false", "stats_period:=0.0")
    store = ChunkStore()
    client = StreamClient(f"127.0.0.1:{port}", store.add_chunk, reconnect_delay=0.05)
    win = ViewerWindow(store, B.load("root: {view: timeseries, name: v, include: ['/value']}"))
    win.live.setChecked(True)
    win.show()
    from std_msgs.msg import Float64
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("viewer_latency_pub", context=ctx)
    pub = node.create_publisher(Float64, "/value", 10)
    try:
        t0 = time.time()
        while pub.get_subscription_count() == 0 and time.time() - t0 < 30:
            time.sleep(0.05)
        assert client.connected.wait(10)
        time.sleep(0.3)
        t0 = time.monotonic()
        pub.publish(Float64(data=3.5))
        while time.monotonic() - t0 < 2.0 and "/value" not in store.entities():
            qapp.processEvents()
            time.sleep(0.005)
        while time.monotonic() - t0 < 2.0 and win.time_range() is None:
            qapp.processEvents()
        for _ in range(5):
            qapp.processEvents()
            time.sleep(0.04)
        elapsed = time.monotonic() - t0
        assert "/value" in store.entities() and elapsed < 1.0, elapsed
        assert win.t == win.time_range()[1]  # follow-live jumped to the new data
    finally:
        node.destroy_node()
        rclpy.shutdown(context=ctx)
        client.close()
        win.close()
        stop(bridge)


def test_replay_into_bridge_matches_direct_conversion(ros_env, tmp_path):
    from conftest import SENSORS
    from rerun_ros.convert import convert
    out = tmp_path / "replayed.rrd"
    bridge = start_bridge(ros_env, f"rrd_path:={out}", "stream_address:=''", "discover_period:=0.1",
                          "use_sim_time:=true", "stats_period:=0.0",
                          'exclude:=["^/parameter_events$", "^/rosout_agg$", "^/events/"]')
    try:
        time.sleep(1.0)
        p = subprocess.run([RERUN_ROS, "replay", SENSORS, "--rate", "2", "--clock", "--wait-for-subscribers", "5",
                            "--exclude-topic", "^/rosout$"], env=ros_env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        time.sleep(0.5)
    finally:
        stop(bridge)
    direct = tmp_path / "direct.rrd"
    convert(SENSORS, direct, exclude=["^/rosout$"])
    a = ChunkStore.from_chunks(read_chunks(direct)[0])
    b = ChunkStore.from_chunks(read_chunks(out)[0])
    for ent in ("/battery_state", "/fluid_pressure", "/joint_state", "/illuminance", "/range"):
        ra = a.range(ent, "ros_time", 0, 2**62, "Scalars:scalars", include_latest_at=False)
        rb = b.range(ent, "ros_time", 0, 2**62, "Scalars:scalars", include_latest_at=False)
        assert ra.values.to_pylist() == rb.values.to_pylist(), ent
        assert ra.times.tolist() == rb.times.tolist(), ent  # header stamps survive the trip
    img_a = a.latest_at("/image", "ros_time", 2**62)["Image:buffer"].values[0].values.to_numpy()
    img_b = b.latest_at("/image", "ros_time", 2**62)["Image:buffer"].values[0].values.to_numpy()
    assert (img_a == img_b).all()
    # with --clock and use_sim_time, the bridge's log_time is the bag's time (not the wall clock)
    la = a.range("/battery_state", "log_time", 0, 2**62, "Scalars:scalars", include_latest_at=False).times
    lb = b.range("/battery_state", "log_time", 0, 2**62, "Scalars:scalars", include_latest_at=False).times
    # (the sim clock advances as /clock messages are processed, so allow its lag: < 0.5 s of bag time)
    assert len(lb) == len(la) and np.abs(lb - la).max() < 500_000_000
    assert lb.min() >= la.min() - 500_000_000 and lb.max() <= la.max() + 500_000_000


def test_replay_latches_tf_static_for_late_joiners(ros_env):
    from conftest import FIELD
    proc = subprocess.Popen([RERUN_ROS, "replay", FIELD, "--rate", "1", "--include-topic", "^/tf_static$",
                             "--include-topic", "^/coug2/pressure/data$"], env=ros_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3.0)  # /tf_static was published at the start; join late
        got = subprocess.run([sys.executable, "-c", """
import rclpy, time
from rclpy.qos import QoSProfile, DurabilityPolicy, ReliabilityPolicy
from tf2_msgs.msg import TFMessage
rclpy.init(); n = rclpy.create_node('late'); got = []
q = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
n.create_subscription(TFMessage, '/tf_static', lambda m: got.append(m), q)
t = time.time()
while not got and time.time() - t < 10: rclpy.spin_once(n, timeout_sec=0.1)
print(len(got[0].transforms) if got else 0)
"""], env=ros_env, capture_output=True, text=True, timeout=60)
        assert int(got.stdout.strip().splitlines()[-1]) > 0, got.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_replay_loop_until_interrupted(ros_env):
    from conftest import SENSORS
    proc = subprocess.Popen([RERUN_ROS, "replay", SENSORS, "--rate", "25", "--loop", "--include-topic", "^/illuminance$",
                             "--wait-for-subscribers", "0"],
                            env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)  # a pass takes ~0.2 s at 25x (plus start-up)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    n = int(out.split("/illuminance: ")[1].split()[0])
    assert n > 10 * 2  # the bag has 10 /illuminance messages: it went round more than twice
    assert "interrupted during pass" in out


def test_rclpy_cloud_is_viewed_not_copied():
    """rclpy gives ``uint8[]`` as ``array.array``: the mapper must view it, not copy it."""
    from sensor_msgs.msg import PointCloud2, PointField

    from rerun_ros.mappers.pointcloud import cloud_points
    xyz = np.arange(30, dtype=np.float32).reshape(10, 3)
    msg = PointCloud2(height=1, width=10, point_step=12, row_step=120, is_dense=True,
                      fields=[PointField(name=c, offset=4 * i, datatype=PointField.FLOAT32, count=1)
                              for i, c in enumerate("xyz")])
    msg.data = xyz.tobytes()
    pts = cloud_points(msg)
    np.testing.assert_array_equal(np.stack([pts["x"], pts["y"], pts["z"]], axis=1), xyz)
    assert np.shares_memory(pts, np.frombuffer(msg.data, dtype=np.uint8))


def test_bridge_streams_live_topics_into_the_official_proxy(ros_env, tmp_path):
    """The bridge's gRPC sink into `rerun --serve-grpc --save OUT.rrd` (what the official viewer
    hosts): the values the official reader finds in OUT.rrd are the ones published, and the
    blueprint given to the bridge is the official viewer's layout."""
    sys.path.insert(0, str(HERE))
    from test_grpc_sdk import Proc, official, official_rows
    port = free_port()
    out = tmp_path / "official.rrd"
    proxy = Proc([str(Path(sys.executable).parent / "rerun"), "--serve-grpc", "--port", str(port), "--save", str(out)],
                 port)
    bp = tmp_path / "layout.yaml"
    bp.write_text("root: {container: vertical, children: [{view: spatial3d, name: robot, fixed_frame: odom}, "
                  "{view: timeseries, name: values, include: ['/value', '/count']}]}")
    bridge = start_bridge(ros_env, f"grpc_url:={proxy.url}", f"blueprint:={bp}", "stream_address:=''",
                          reliable_specs(), "auto_discover:=false", "stats_period:=0.0")
    try:
        n = 12
        pub = publish(ros_env, n, "--points", "1000")
        assert pub.returncode == 0, pub.stderr
        time.sleep(0.5)
    finally:
        _, err = stop(bridge)
        proxy.stop()
    assert bridge.returncode == 0, err
    assert f"rerun proxy {proxy.url}: " in err and " 0 chunks (0 rows) dropped" in err, err
    vals = official_rows(out, "/value", "log_time", "Scalars:scalars")
    assert [v[0] for v in vals] == [i * 0.25 for i in range(n)]
    logs = official_rows(out, "/app_log", "ros_time", "TextLog:text")
    assert [v[0] for v in logs] == [f"[pub] message {i}" for i in range(n)]
    tf = official_rows(out, "/tf/base_link", "ros_time", "Transform3D:translation")
    assert [v[0][0] for v in tf] == [float(i) for i in range(n)]
    r = official(out)
    b = r.blueprints()
    assert len(b) == 1 and b[0].application_id == "rerun_ros"
    t = r.stream(store=b[0]).collect().reader(index="blueprint", contents="/**").to_arrow_table()
    names = {v for c in t.column_names if c.endswith("ViewBlueprint:display_name")
             for row in t.column(c).to_pylist() if row for v in row}
    assert names == {"robot", "values"}
