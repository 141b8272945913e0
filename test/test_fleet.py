"""Fleet scale on a real local Ray runtime (2 CPUs, started by `rerun-ros fleet convert` in its own
process): a directory of the bundled real bags plus a damaged one and a ROS 1 bag; outputs equal
single-process conversion; the bad ones reported, the rest done; a rerun skips everything; the
catalog's rows equal values computed directly from the bags."""
from __future__ import annotations

import json
import math
import shutil
import subprocess

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import BAD, DATA, FIELD, MARKERS, RERUN_ROS, header

import duckdb  # noqa: E402  - the fleet extra (.ci/setup.sh installs it): no silent skip
import ray  # noqa: E402,F401

FIELD_DB3 = DATA / "field" / "rosbag2_2024_09_04-17_15_57_0.db3"


def _rectangle_bag(bag_builder, speed=1.0):
    """A robot driving a 10 m x 5 m rectangle at ``speed`` m/s, its Odometry at 10 Hz (the
    Odometry definition from the real field bag): 30 m driven, top speed ``speed``."""
    b = bag_builder("rect.mcap")
    t0 = 1_700_000_000 * 10**9
    corners = np.array([[0, 0], [10, 0], [10, 5], [0, 5], [0, 0]], float)
    seg = np.linalg.norm(np.diff(corners, axis=0), axis=1)
    total = seg.sum()
    n = int(total / speed * 10) + 1
    for i in range(n):
        s = min(i * speed / 10.0, total)
        k = min(np.searchsorted(np.cumsum(seg), s, side="right"), 3)
        start = np.cumsum(np.r_[0, seg])[k]
        d = (corners[k + 1] - corners[k]) / seg[k]
        x, y = corners[k] + d * (s - start)
        v = d * speed if s < total else np.zeros(2)
        t = t0 + i * 100_000_000
        b.write("/odom", "nav_msgs/msg/Odometry", {
            "header": header(t, "odom"), "child_frame_id": "base_link",
            "pose": {"pose": {"position": {"x": float(x), "y": float(y), "z": 0.0},
                              "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}, "covariance": [0.0] * 36},
            "twist": {"twist": {"linear": {"x": float(v[0]), "y": float(v[1]), "z": 0.0},
                                "angular": {"x": 0.0, "y": 0.0, "z": 0.0}}, "covariance": [0.0] * 36}}, t)
    b.close()
    return b.path


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bags")
    (d / "robot_1" / "2025-04-10").mkdir(parents=True)
    shutil.copy(FIELD, d / "robot_1" / "2025-04-10" / "field_run.mcap")
    shutil.copy(FIELD_DB3, d / "robot_1" / "2025-04-10" / "field_db3.db3")
    (d / "robot_2" / "2024-11-22").mkdir(parents=True)
    shutil.copy(MARKERS, d / "robot_2" / "2024-11-22" / "markers.mcap")
    shutil.copytree(DATA / "compressed" / "soccer_goal", d / "robot_2" / "2024-11-22" / "soccer_goal")
    # a damaged bag: the field run cut at 60 % (its whole chunks are readable) and a ROS 1 bag
    raw = FIELD.read_bytes()
    (d / "broken").mkdir()
    (d / "broken" / "cut.mcap").write_bytes(raw[: int(len(raw) * 0.6)])
    shutil.copy(BAD / "test.mcap", d / "broken" / "ros1.mcap")
    return d


def fleet(*args, timeout=600):
    return subprocess.run([RERUN_ROS, "fleet", "convert", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def _mcap_stats(path):
    with open(path, "rb") as f:
        r = make_reader(f, decoder_factories=[DecoderFactory()])
        s = r.get_summary()
        return s.statistics.message_count, (s.statistics.message_end_time - s.statistics.message_start_time) / 1e9


def test_fleet_convert_on_ray_with_a_catalog(fleet_dir, tmp_path, bag_builder):
    rect = _rectangle_bag(bag_builder)
    (fleet_dir / "robot_3" / "2025-01-01").mkdir(parents=True, exist_ok=True)
    shutil.copy(rect, fleet_dir / "robot_3" / "2025-01-01" / "rect.mcap")
    out = tmp_path / "out"
    p = fleet(fleet_dir, "-o", out, "--workers", "2", "--tag", "site=utah_lake", "--json")
    assert p.returncode == 3, p.stderr  # some bags failed: said, the rest converted
    s = json.loads(p.stdout)
    assert s["total"] == 7 and s["workers"] == 2, s
    assert (s["ok"], s["partial"], s["failed"]) == (5, 1, 1), s
    probs = {pr["source"].rsplit("/", 1)[-1]: pr for pr in s["problems"]}
    assert probs["cut.mcap"]["status"] == "partial" and "cut.mcap" in probs["cut.mcap"]["reason"]
    assert probs["ros1.mcap"]["status"] == "failed" and "ros1" in probs["ros1.mcap"]["reason"]
    # outputs keep the inputs' layout and equal what a single-process conversion writes
    conv = tmp_path / "single.rrd"
    q = subprocess.run([RERUN_ROS, "convert", str(FIELD), "-o", str(conv), "-q"], capture_output=True, text=True,
                       timeout=120)
    assert q.returncode == 0, q.stderr
    import rerun_ros
    a = rerun_ros.open(out / "robot_1" / "2025-04-10" / "field_run.rrd")
    b = rerun_ros.open(conv)
    assert a.entities() == b.entities()
    for e in a.entities():
        ta, tb = a.dataframe("log_time", e), b.dataframe("log_time", e)
        assert ta.column_names == tb.column_names
        for c in ta.column_names:
            assert ta.column(c).to_pylist() == tb.column(c).to_pylist() or \
                json.dumps(ta.column(c).to_pylist(), default=str) == json.dumps(tb.column(c).to_pylist(), default=str), (e, c)
    # the catalog: rows equal what the bags hold
    from rerun_ros import catalog
    cat = catalog.open(out / "catalog.duckdb")
    runs = {r["source"].rsplit("/", 1)[-1]: r for r in cat.sql("SELECT * FROM runs").pl().to_dicts()}
    n, dur = _mcap_stats(FIELD)
    fr = runs["field_run.mcap"]
    assert (fr["messages"], fr["topics"], fr["robot"], fr["status"]) == (n, 25, "robot_1", "ok")
    assert fr["duration_s"] == pytest.approx(dur, abs=1e-6)
    tags = cat.sql("SELECT map_keys(tags), map_values(tags) FROM runs WHERE source LIKE '%field_run.mcap'").fetchall()[0]
    assert dict(zip(*tags)) == {"site": "utah_lake"}
    rr = runs["rect.mcap"]
    assert rr["distance_m"] == pytest.approx(30.0, abs=1e-6) and rr["max_speed_mps"] == pytest.approx(1.0)
    assert rr["motion_source"].startswith("odometry ") and rr["robot"] == "robot_3"
    # the field run's distance: its pose topic (Odometry, PoseWithCovarianceStamped in a named
    # frame) with the most finite positions — the DVL dead reckoning — decoded by mcap-ros2
    with open(FIELD, "rb") as f:
        per: dict = {}
        for _, ch, m, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            if msg.__class__.__name__ in ("Odometry", "PoseWithCovarianceStamped") and msg.header.frame_id:
                p_ = msg.pose.pose.position
                per.setdefault(ch.topic, []).append((m.log_time, p_.x, p_.y, p_.z))
    best = max(per.values(), key=lambda v: sum(all(math.isfinite(x) for x in r[1:]) for r in v))
    pts = np.array([r[1:] for r in sorted(best) if all(math.isfinite(x) for x in r[1:])])
    assert fr["distance_m"] == pytest.approx(float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()), rel=1e-9)
    topics = cat.sql("SELECT t.topic, t.messages FROM topics t JOIN runs r USING (run_id) "
                     "WHERE r.source LIKE '%field_run.mcap'").fetchall()
    with open(FIELD, "rb") as f:
        s2 = make_reader(f).get_summary()
        want = {s2.channels[c].topic: k for c, k in s2.statistics.channel_message_counts.items()}
    assert {t: k for t, k in topics if k} == {t: k for t, k in want.items() if k}
    ev = cat.sql("SELECT e.kind, e.message FROM events e JOIN runs r USING (run_id) "
                 "WHERE r.source LIKE '%cut.mcap'").fetchall()
    assert any("cut.mcap" in m for _, m in ev)
    cat.close()
    # SQL through the CLI
    c = subprocess.run([RERUN_ROS, "catalog", "query", "SELECT robot, count(*) AS runs, round(sum(distance_m), 3) AS m "
                        "FROM runs WHERE status = 'ok' GROUP BY robot ORDER BY robot", "--catalog",
                        str(out / "catalog.duckdb"), "--format", "json"], capture_output=True, text=True, timeout=60)
    assert c.returncode == 0, c.stderr
    rows = {r["robot"]: r for r in json.loads(c.stdout)}
    assert rows["robot_2"]["runs"] == 2 and rows["robot_3"]["m"] == pytest.approx(30.0)
    # runs selected by SQL, opened lazily as one dataframe
    cat = catalog.open(out / "catalog.duckdb")
    many = cat.open_runs("SELECT path FROM runs WHERE robot = 'robot_1' AND status = 'ok' ORDER BY path")
    assert len(many) == 2 and many.opened() == 0
    df = many.dataframe("log_time", "/coug2/imu/data")
    assert many.opened() == 2 and set(df.column("run").to_pylist()) <= set(many.paths)
    assert df.num_rows == a.dataframe("log_time", "/coug2/imu/data").num_rows + \
        rerun_ros.open(out / "robot_1" / "2025-04-10" / "field_db3.rrd").dataframe("log_time", "/coug2/imu/data").num_rows
    cat.close()
    # a rerun skips everything (the failures too: the same bytes fail the same way)
    p2 = fleet(fleet_dir, "-o", out, "--workers", "2", "--json")
    s2 = json.loads(p2.stdout)
    assert s2["skipped"] == 7 and s2["ok"] == s2["failed"] == s2["partial"] == 0 and p2.returncode == 0
    # a changed bag is converted again, and only it; its old rows go
    changed = bag_builder("rect2.mcap")
    changed.write("/odom", "nav_msgs/msg/Odometry", {
        "header": header(1_700_000_000 * 10**9, "odom"), "child_frame_id": "base_link",
        "pose": {"pose": {"position": {"x": 0.0, "y": 0.0, "z": 0.0},
                          "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}}, "covariance": [0.0] * 36},
        "twist": {"twist": {"linear": {"x": 0.0, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": 0.0}},
                  "covariance": [0.0] * 36}}, 1_700_000_000 * 10**9)
    changed.close()
    shutil.copy(changed.path, fleet_dir / "robot_3" / "2025-01-01" / "rect.mcap")
    s3 = json.loads(fleet(fleet_dir, "-o", out, "--workers", "1", "--json").stdout)
    assert (s3["ok"], s3["skipped"]) == (1, 6)
    con = duckdb.connect(str(out / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 7
    assert con.execute("SELECT messages, distance_m FROM runs WHERE source LIKE '%rect.mcap'").fetchall() == [(1, 0.0)]
    assert con.execute("SELECT count(*) FROM topics WHERE run_id NOT IN (SELECT run_id FROM runs)").fetchone()[0] == 0


def test_inputs_globs_rosbag2_dirs_and_uris(fleet_dir, tmp_path):
    from rerun_ros.fleet.inputs import InputError, expand_inputs
    got = expand_inputs([str(fleet_dir / "robot_*" / "*" / "*.mcap")])
    assert sorted(b.relative for b in got) == ["robot_1/2025-04-10/field_run", "robot_2/2024-11-22/markers"] + \
        (["robot_3/2025-01-01/rect"] if (fleet_dir / "robot_3").exists() else [])
    dirs = expand_inputs([str(fleet_dir / "robot_2")])
    assert {b.relative for b in dirs} == {"2024-11-22/markers", "2024-11-22/soccer_goal"}
    uri = expand_inputs([f"local://{fleet_dir / 'robot_2'}"])  # fsspec's local protocol: fetched by the task
    assert all(b.remote for b in uri) and {b.relative for b in uri} == {"2024-11-22/markers", "2024-11-22/soccer_goal"}
    for bad in (str(tmp_path / "nothing"), str(tmp_path / "*.mcap")):
        with pytest.raises(InputError):
            expand_inputs([bad])
    p = fleet(tmp_path / "nothing", "-o", tmp_path / "o")
    assert p.returncode == 1 and p.stderr.strip().count("\n") == 0 and "no such file" in p.stderr


def test_a_uri_input_is_fetched_and_converted(fleet_dir, tmp_path):
    out = tmp_path / "o"
    p = fleet(f"local://{fleet_dir / 'robot_2'}", "-o", out, "--workers", "2", "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["ok"] == 2
    assert (out / "2024-11-22" / "markers.rrd").exists() and (out / "2024-11-22" / "soccer_goal.rrd").exists()
    c = subprocess.run([RERUN_ROS, "catalog", "paths", "SELECT path FROM runs ORDER BY path", "--catalog",
                        str(out / "catalog.duckdb")], capture_output=True, text=True, timeout=60)
    assert c.stdout.split() == sorted(str(out / "2024-11-22" / f) for f in ("markers.rrd", "soccer_goal.rrd"))
    bad = subprocess.run([RERUN_ROS, "catalog", "query", "SELEC nonsense", "--catalog", str(out / "catalog.duckdb")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "SQL" in bad.stderr
