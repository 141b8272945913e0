"""``rerun-ros diff`` on a real run (the Gazebo TurtleBot walker bag) against itself and against
copies rewritten with rosbags: one topic cut for 3 s, one signal offset from a known time, the
trajectory bent from a known time, a new error log, and a copy that starts 2.5 s later on a clock
100 s ahead. Trajectory errors are checked against evo's APE/RPE on the same pair of bags."""
from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, RERUN_ROS, ROOT

WALKER = DATA / "sim" / "walker"
CUT = (8.0, 11.0)       # s after the bag's start (log time): /joint_states messages dropped
OFFSET_FROM = 12.0      # s after the first IMU stamp: /imu linear_acceleration.x + 0.5
OFFSET = 0.5
BEND_FROM = 5.0         # s after the first odom stamp: y += BEND * (t - from), in /odom and TF
BEND = 0.2              # m/s
ERROR_AT = 15.0         # s after the bag's start: a new ERROR log
TRIM = 2.5              # s cut from the start of the late copy
SHIFT = 100 * 10**9     # ns: the late copy's clock (stamps, /clock, log times) runs ahead by this


def _stamp(h) -> int:
    return h.stamp.sec * 10**9 + h.stamp.nanosec


def _shift_times(msg, ns: int):
    """Every builtin_interfaces/Time inside a rosbags message moved by ``ns``."""
    if type(msg).__name__ == "builtin_interfaces__msg__Time":
        t = msg.sec * 10**9 + msg.nanosec + ns
        return dataclasses.replace(msg, sec=t // 10**9, nanosec=t % 10**9)
    if dataclasses.is_dataclass(msg):
        return dataclasses.replace(msg, **{f.name: _shift_times(getattr(msg, f.name), ns)
                                           for f in dataclasses.fields(msg) if f.name != "__msgtype__"})
    if isinstance(msg, list):
        return [_shift_times(m, ns) for m in msg]
    return msg


def _rewrite(dst: Path, edit) -> Path:
    """Copy the walker bag through rosbags; ``edit(topic, t, msg, t0)`` returns [(t, msg)] (an
    empty list drops it). /performance_metrics (gazebo_msgs, recorded without its definition:
    neither rosbags nor we can decode it) is left out of the copies."""
    from rosbags.highlevel import AnyReader
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS2_HUMBLE)
    with AnyReader([WALKER], default_typestore=ts) as r, Writer(dst, version=8) as w:
        t0 = r.start_time
        conns = {c.id: w.add_connection(c.topic, c.msgtype, typestore=ts,
                                        offered_qos_profiles=c.ext.offered_qos_profiles)
                 for c in r.connections if c.msgtype in ts.types}
        for c, t, raw in r.messages():
            wc = conns.get(c.id)
            if wc is None:
                continue
            msg = ts.deserialize_cdr(raw, c.msgtype)
            for tt, m in edit(c.topic, t, msg, t0):
                w.write(wc, tt, ts.serialize_cdr(m, c.msgtype))
    return dst


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS2_HUMBLE)
    first = {}
    with AnyReader([WALKER], default_typestore=ts) as r:
        for c, t, raw in r.messages([c for c in r.connections if c.topic in ("/imu", "/odom")]):
            first.setdefault(c.topic, _stamp(r.deserialize(raw, c.msgtype).header))
    imu_from = first["/imu"] + int(OFFSET_FROM * 1e9)
    bend_from = first["/odom"] + int(BEND_FROM * 1e9)
    tmp = tmp_path_factory.mktemp("diff")

    def changed(topic, t, msg, t0):
        if topic == "/joint_states" and t0 + CUT[0] * 1e9 <= t < t0 + CUT[1] * 1e9:
            return []
        out = [(t, msg)]
        if topic == "/imu" and _stamp(msg.header) >= imu_from:
            la = msg.linear_acceleration
            out = [(t, dataclasses.replace(msg, linear_acceleration=dataclasses.replace(la, x=la.x + OFFSET)))]
        elif topic == "/odom" and _stamp(msg.header) > bend_from:
            p = msg.pose.pose.position
            dy = BEND * (_stamp(msg.header) - bend_from) / 1e9
            pose = dataclasses.replace(msg.pose.pose, position=dataclasses.replace(p, y=p.y + dy))
            out = [(t, dataclasses.replace(msg, pose=dataclasses.replace(msg.pose, pose=pose)))]
        elif topic == "/tf":
            tfs = []
            for tr in msg.transforms:
                if tr.child_frame_id == "base_footprint" and _stamp(tr.header) > bend_from:
                    v = tr.transform.translation
                    dy = BEND * (_stamp(tr.header) - bend_from) / 1e9
                    tr = dataclasses.replace(tr, transform=dataclasses.replace(
                        tr.transform, translation=dataclasses.replace(v, y=v.y + dy)))
                tfs.append(tr)
            out = [(t, dataclasses.replace(msg, transforms=tfs))]
        elif topic == "/rosout" and t0 + ERROR_AT * 1e9 <= t and not getattr(changed, "logged", False):
            changed.logged = True
            err = dataclasses.replace(msg, level=40, name="walker", msg="Bumper pressed: collision at 0.35 m/s")
            out = [(t, msg), (t + 1, err)]
        return out

    def late(topic, t, msg, t0):
        if t < t0 + TRIM * 1e9 and topic not in ("/tf_static", "/robot_description"):
            return []
        return [(t + SHIFT, _shift_times(msg, SHIFT))]

    return {"changed": _rewrite(tmp / "changed", changed), "late": _rewrite(tmp / "late", late),
            "imu_from": imu_from, "bend_from": bend_from, "tmp": tmp}


def _diff(*args, expect=(0,)):
    p = subprocess.run([RERUN_ROS, "diff", *map(str, args), "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode in expect, (p.returncode, p.stderr[-2000:])
    assert "Traceback" not in p.stderr
    return json.loads(p.stdout), p


def test_a_run_against_itself_has_no_difference(tmp_path):
    out, p = _diff(WALKER, WALKER, "--fail-on", "any", "-o", tmp_path / "page")
    assert out["findings"] == [] and out["fired"] == []
    assert len(out["signals"]) > 100 and all(s["max_diff"] == 0 for s in out["signals"])
    names = {t["trajectory"] for t in out["trajectories"]}
    assert {"tf:odom -> base_footprint", "/odom"} <= names
    assert all(t["ape_m"]["max"] == 0 for t in out["trajectories"])
    assert (tmp_path / "page" / "index.html").read_text().count("<tr>") > 20
    # a recording converted from the run is the same run
    rrd = tmp_path / "walker.rrd"
    conv = subprocess.run([RERUN_ROS, "convert", str(WALKER), "-o", str(rrd), "-q"], capture_output=True, text=True)
    assert conv.returncode == 3 and rrd.exists()  # 3: /performance_metrics has no definition to decode by
    out, _ = _diff(rrd, WALKER, "--fail-on", "any")
    assert out["findings"] == [] and len(out["signals"]) > 100


def test_cut_offset_bend_and_new_error_found_at_their_times(bags, tmp_path):
    out, p = _diff(WALKER, bags["changed"], "-o", tmp_path / "page", "--fail-on", "signal,trajectory,gap,log_new",
                   expect=(4,))
    a0 = out["anchors_ns"][0]
    by = {}
    for f in out["findings"]:
        by.setdefault((f["kind"], f["name"]), f)
    # the signal offset: found on that field alone, by its size, from its time
    sig = {s["signal"]: s for s in out["signals"]}
    acc = sig["/imu:linear_acceleration.x"]
    assert acc["max_diff"] == pytest.approx(OFFSET, abs=1e-6)
    assert acc["first_over_s"] == pytest.approx((bags["imu_from"] - a0) / 1e9, abs=0.01)
    assert sig["/imu:linear_acceleration.y"]["max_diff"] == 0 and sig["/imu:angular_velocity.z"]["max_diff"] == 0
    # the bend: /odom's y grows from its time, x is untouched
    y = sig["/odom:pose.pose.position.y"]
    assert y["first_over_s"] == pytest.approx((bags["bend_from"] - a0) / 1e9, abs=0.05)
    assert sig["/odom:pose.pose.position.x"]["max_diff"] == 0
    traj = {t["trajectory"]: t for t in out["trajectories"]}
    span = (out["span_a_s"][1] - (bags["bend_from"] - a0) / 1e9)
    for name in ("/odom", "tf:odom -> base_footprint"):
        assert traj[name]["ape_m"]["max"] == pytest.approx(BEND * span, rel=0.02), name
        assert traj[name]["ape_rad"]["max"] < 1e-9
        f = by[("trajectory", name)]
        assert f["time_s"] == pytest.approx((bags["bend_from"] - a0) / 1e9 + 0.01 / BEND, abs=0.1)
    # the cut: a 3 s gap of /joint_states where it was cut (log time ~ sim time here, within 0.5 s)
    gap = by[("gap", "/joint_states")]
    js = next(t for t in out["topics"] if t["topic"] == "/joint_states")
    assert js["max_gap_b"] == pytest.approx(CUT[1] - CUT[0], abs=0.5)
    assert js["messages_a"] - js["messages_b"] > 50
    assert abs(gap["time_s"] - CUT[0]) < 1.5
    # the new error log, its level and time
    new = out["logs"]["new"]
    assert [(x["level"], x["text"]) for x in new] == [("ERROR", "Bumper pressed: collision at # m/s")]
    assert abs(new[0]["first_s"] - ERROR_AT) < 1.5
    assert out["logs"]["gone"] == []
    # what did not change did not show up
    # (nor the cut topic's signals: A's samples inside B's gap are not compared across it)
    assert sorted(f["name"] for f in out["findings"] if f["kind"] == "signal") == [
        "/imu:linear_acceleration.x", "/odom:pose.pose.position.y"]
    assert "rule fired" in p.stderr
    page = (tmp_path / "page" / "index.html").read_text()
    assert "/imu:linear_acceleration.x" in page and "rerun-ros view" in page
    assert len(list((tmp_path / "page").glob("*.png"))) >= 3


def _evo_trajectory(bag: Path):
    from evo.core.trajectory import PoseTrajectory3D
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore
    ts, xyz, wxyz = [], [], []
    with AnyReader([bag], default_typestore=get_typestore(Stores.ROS2_HUMBLE)) as r:
        for c, t, raw in r.messages([c for c in r.connections if c.topic == "/odom"]):
            m = r.deserialize(raw, c.msgtype)
            p, q = m.pose.pose.position, m.pose.pose.orientation
            ts.append(_stamp(m.header) / 1e9)
            xyz.append([p.x, p.y, p.z])
            wxyz.append([q.w, q.x, q.y, q.z])
    return PoseTrajectory3D(np.array(xyz), np.array(wxyz), np.array(ts))


def test_trajectory_errors_equal_evo(bags):
    from evo.core import metrics, sync
    out, _ = _diff(WALKER, bags["changed"])
    ours = next(t for t in out["trajectories"] if t["trajectory"] == "/odom")
    ref, est = sync.associate_trajectories(_evo_trajectory(WALKER), _evo_trajectory(bags["changed"]), max_diff=0.01)
    assert ours["pairs"] == ref.num_poses
    ape = metrics.APE(metrics.PoseRelation.translation_part)
    ape.process_data((ref, est))
    rpe = metrics.RPE(metrics.PoseRelation.translation_part, delta=1, delta_unit=metrics.Unit.frames)
    rpe.process_data((ref, est))
    for key in ("rmse", "mean", "max", "median"):
        assert ours["ape_m"][key] == pytest.approx(ape.get_statistic(metrics.StatisticsType[key]), rel=0.01), key
        assert ours["rpe_m"][key] == pytest.approx(rpe.get_statistic(metrics.StatisticsType[key]), rel=0.01, abs=1e-9), key


def test_runs_of_different_start_times_align_by_event(bags):
    late = bags["late"]
    # from their starts, the late copy is 2.5 s off: every moving signal differs
    out, _ = _diff(WALKER, late, "--align", "start")
    assert any(f["kind"] == "signal" and f["name"].startswith("/odom:") for f in out["findings"])
    # on one robot clock they do not even overlap (100 s apart)
    out, _ = _diff(WALKER, late, "--align", "ros_time")
    assert out["window_s"] == [0.0, 0.0]
    # on the first "Obstacle detected" log message the same data lines up exactly
    out, p = _diff(WALKER, late, "--align", "log:Obstacle detected", "--fail-on", "signal,trajectory")
    assert out["anchors_ns"][1] - out["anchors_ns"][0] == SHIFT
    assert [f for f in out["findings"] if f["kind"] in ("signal", "trajectory")] == []
    assert out["window_s"][0] < 0 < out["window_s"][1]
    assert max(s["max_diff"] for s in out["signals"]) == 0
    # an event one run never has: a one-line error naming the run, exit 1
    p = subprocess.run([RERUN_ROS, "diff", str(WALKER), str(late), "--align", "/no_such_topic"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "/no_such_topic" in p.stderr and "A (" in p.stderr


def test_tolerance_file_and_bad_inputs(bags, tmp_path):
    tol = tmp_path / "tol.yaml"
    tol.write_text("signals:\n  '/imu:linear_acceleration.*': 0.6\n  '/odom:*': 10\n  '/joint_states:*': 1000\n"
                   "trajectory: {ape: 10, ape_rot: 1, rpe: 1}\ntopics: {gap: 5, count: 1, rate: 1}\n"
                   "logs: {levels: [FATAL]}\n")
    out, _ = _diff(WALKER, bags["changed"], "--tolerance", tol, "--fail-on", "any")
    assert [f["message"] for f in out["findings"]] == []
    # the example shipped in config/ is valid and flags the bend, the cut and the new error
    out, _ = _diff(WALKER, bags["changed"], "--tolerance", ROOT / "config" / "diff_tolerance.yaml")
    assert {f["kind"] for f in out["findings"]} >= {"trajectory", "gap", "log_new"}
    for bad, what in (("signals: [1, 2]", "signals"), ("nope: 1", "unknown key"), ("topics: {gap: -1}", "gap"),
                      ("a: &x 1\nb: *x", "alias")):
        tol.write_text(bad)
        p = subprocess.run([RERUN_ROS, "diff", str(WALKER), str(WALKER), "--tolerance", str(tol)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 1 and "Traceback" not in p.stderr and what in p.stderr, (bad, p.stderr)
    p = subprocess.run([RERUN_ROS, "diff", str(WALKER), str(tmp_path / "missing.mcap")], capture_output=True, text=True)
    assert p.returncode == 1 and "missing.mcap" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([RERUN_ROS, "diff", str(WALKER), str(WALKER), "--fail-on", "everything"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "everything" in p.stderr


def test_catalog_diffs_a_run_against_its_robots_previous_run(bags, tmp_path):
    """Runs converted into the fleet catalog: `catalog diff RUN` finds the robot's previous run as
    the baseline (or takes --baseline) and diffs the two .rrd files."""
    from rerun_ros.catalog import Catalog
    from rerun_ros.fleet.inputs import BagInput
    from rerun_ros.fleet.runs import process_bag
    db = tmp_path / "catalog.duckdb"
    with Catalog(db) as cat:
        for bag in (WALKER, bags["changed"], bags["late"]):
            res = process_bag(BagInput(str(bag), bag.name, 1), str(tmp_path / "out" / bag.name))
            assert res.status in ("ok", "partial"), res.reason
            cat.record(res, converter="test", source_key=str(bag))
        ids = dict(cat.sql("SELECT source, run_id FROM runs").fetchall())
    late, walker = ids[str(bags["late"])], ids[str(WALKER)]
    # the late copy started last: its baseline is the changed copy or the walker run (same start)
    p = subprocess.run([RERUN_ROS, "catalog", "diff", late, "--catalog", str(db), "--align", "log:Obstacle detected",
                        "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-1500:]
    assert "against baseline" in p.stderr
    out = json.loads(p.stdout)
    assert out["b"].endswith(".rrd") and out["a"].endswith(".rrd")
    # by name, with an explicit baseline: the walker run against the changed copy finds the bend
    p = subprocess.run([RERUN_ROS, "catalog", "diff", "changed", "--baseline", walker, "--catalog", str(db),
                        "--fail-on", "trajectory", "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 4, p.stderr[-1500:]
    assert any(f["kind"] == "trajectory" for f in json.loads(p.stdout)["findings"])
    p = subprocess.run([RERUN_ROS, "catalog", "diff", "nope", "--catalog", str(db)], capture_output=True, text=True)
    assert p.returncode == 1 and "no run 'nope'" in p.stderr and "Traceback" not in p.stderr


# -- the viewer: runs overlaid on one timeline (`rerun-ros view A B --align ...`) -------------

ONE_RUN_LAYOUT = ("root: {container: horizontal, children: [{view: spatial3d, name: 3D}, "
                  "{view: timeseries, name: y, include: [], series: ['/odom:message.pose.pose.position.y']}]}")


def _trail_blue(img) -> int:
    """Pixels of the first run's frame trail (light blue, faded over the dark background)."""
    r, g, b = (img[..., i] for i in range(3))
    return int(((b > r + 40) & (g > r + 25) & (b > g)).sum())


def _orange(img) -> int:
    """Pixels of B's trail tint (orange, faded over the dark background)."""
    r, g, b = (img[..., i] for i in range(3))
    return int(((r > 2 * b + 40) & (g > b + 15) & (r > g + 30)).sum())


def _overlay_window(qapp, paths, align, blueprint=ONE_RUN_LAYOUT):
    from rerun_ros.compare.overlay import overlay_runs
    from rerun_ros.store.open import open_source
    from rerun_ros.viewer import blueprint as B
    from rerun_ros.viewer.window import ViewerWindow
    from test_viewer_robot import pump
    stores = [open_source(str(p)).store for p in paths]
    ov = overlay_runs(stores, align, names=[str(p) for p in paths])
    bp = B.overlay_blueprint(stores[0], ov.labels, base=B.load(blueprint))
    win = ViewerWindow(ov.store, bp, frame_tints=ov.tints)
    win.resize(1280, 800)
    win.show()
    pump(qapp, 20)
    win.build_all_views()
    pump(qapp, 5)
    return win, ov


def test_view_overlays_a_run_and_its_bent_copy(qapp, bags):
    """The walker run and its copy whose trajectory bends from 5 s (rewritten with rosbags), from
    their starts: both robots are drawn, B's frames under B/ hang from the same odom and sit
    where B's TF puts them (the bend's size away from A's), B's trail tinted orange; the plot of
    /odom's y draws both runs on one axis, equal before the bend and apart by the bend after."""
    from rerun_ros.viewer.views import Spatial3DView, TimeSeriesView
    from test_viewer_real import _show
    from test_viewer_robot import pump
    win, ov = _overlay_window(qapp, [WALKER, bags["changed"]], "start")
    assert ov.labels == ["A", "B"] and {e.split("/")[1] for e in win.store.entities()} == {"A", "B"}
    v3 = next(v for v in win.views if isinstance(v, Spatial3DView))
    ts = next(v for v in win.views if isinstance(v, TimeSeriesView))
    assert win.fixed_frame == "odom" and v3.target_frame == "base_footprint"
    t = bags["bend_from"] + 10 * 10**9
    win.set_time(t)
    pump(qapp, 5)
    g = win.graph()
    a, b = g.lookup("odom", "base_footprint", t), g.lookup("odom", "B/base_footprint", t)
    d = b.translation - a.translation
    assert abs(d[0]) < 0.02 and abs(d[1] - BEND * 10) < 0.05, d  # stamps ~10 s after the bend
    geo = v3.geometry
    assert {"base_footprint", "B/base_footprint", "B/base_scan", "base_scan"} <= set(geo.axis_names)
    assert np.allclose(geo.axes[geo.axis_names.index("B/base_footprint"), 0], b.translation, atol=1e-4)
    img = v3.canvas.render()[..., :3].astype(int)
    orange = _orange(img)
    assert orange > 100, orange  # B's trail
    assert _trail_blue(img) > 40, _trail_blue(img)  # A's trail (the frame trail's colour)
    # one plot, both runs: B - A is 0 before the bend and BEND * (t - bend) after it
    ya, yb = (ts.data[f"/{r}/odom:message.pose.pose.position.y"] for r in "AB")
    assert len(ya[0]) > 50 and len(yb[0]) > 50
    diff = np.interp(ya[0], yb[0], yb[1]) - ya[1]
    before, after = ya[0] < bags["bend_from"] - 10**8, ya[0] > bags["bend_from"] + 2 * 10**9
    assert np.abs(diff[before]).max() < 1e-6
    want = BEND * (ya[0][after] - bags["bend_from"]) / 1e9
    assert np.abs(diff[after] - want).max() < 0.02
    from rerun_ros.viewer.views.timeseries import PALETTE
    _show(ts)
    pump(qapp, 5)
    plot = ts.canvas.render()[..., :3].astype(int)
    for k in (0, 1):  # both plot lines drawn, each in its colour
        n = int((np.abs(plot - np.asarray(PALETTE[k][:3]) * 255).sum(axis=2) < 40).sum())
        assert n > 100, (k, n)
    # the same run alone: no orange trail anywhere
    win.close()
    from test_viewer_robot import open_window
    alone = open_window(qapp, WALKER, "root: {view: spatial3d, name: 3D}")
    alone.set_time(t)
    pump(qapp, 5)
    img = alone.views[0].canvas.render()[..., :3].astype(int)
    assert _orange(img) < 5
    alone.close()


def test_view_aligns_a_late_run_by_a_log_message(qapp, bags):
    """The copy that starts 2.5 s later on a clock 100 s ahead, aligned by a log message both
    runs print: the two robots coincide at every time (B's TF at the same aligned time as A's),
    and the message is at the same time in both; from their starts they do not."""
    from test_viewer_robot import pump
    win, ov = _overlay_window(qapp, [WALKER, bags["late"]], "log:Obstacle detected")
    # (log_time: by the median lag of log times behind stamps, which the cut start moves a little)
    assert ov.shifts[1]["ros_time"] == -SHIFT and abs(ov.shifts[1]["log_time"] + SHIFT) < 10**7
    g = win.graph()
    lo, hi = win.store.time_range("ros_time", "/B/tf/base_footprint")
    for f in (0.1, 0.5, 0.9):
        t = lo + int(f * (hi - lo))
        a, b = g.lookup("odom", "base_footprint", t), g.lookup("odom", "B/base_footprint", t)
        assert np.allclose(a.translation, b.translation, atol=1e-6), t
    logs = [win.store.range(f"/{r}/rosout", "ros_time", -2**62, 2**62, "TextLog:text", include_latest_at=False)
            for r in "AB"]
    at = [r.times[[i for i, x in enumerate(r.values.to_pylist()) if "Obstacle detected" in x[0]][0]] for r in logs]
    assert at[0] == at[1]
    win.close()
    win, ov = _overlay_window(qapp, [WALKER, bags["late"]], "start")
    pump(qapp, 2)
    g = win.graph()
    t = lo + (hi - lo) // 2
    far = g.lookup("odom", "base_footprint", t).translation - g.lookup("odom", "B/base_footprint", t).translation
    assert np.linalg.norm(far) > 0.05
    win.close()


def test_view_of_two_runs_from_the_command_line(bags, tmp_path):
    """`rerun-ros view A B --screenshot`: both runs in the picture, the groups printed; an event
    that one run lacks is a one-line error (exit 1)."""
    png = tmp_path / "two.png"
    p = subprocess.run([RERUN_ROS, "view", str(WALKER), str(bags["changed"]), "--time", "15", "--screenshot", str(png)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and png.stat().st_size > 10_000, p.stderr[-1500:]
    assert f"/A: {WALKER}" in p.stderr and f"/B: {bags['changed']}" in p.stderr
    p = subprocess.run([RERUN_ROS, "view", str(WALKER), str(bags["changed"]), "--align", "/no_such_topic",
                        "--screenshot", str(png)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "no message on '/no_such_topic'" in p.stderr and "Traceback" not in p.stderr
