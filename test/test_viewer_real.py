"""The viewer on the bundled real bags, as a new user opens them (default layout, default fixed
frame and timeline): every view has data at three times, plots carry tick labels and a legend,
the inspector shows a custom type's fields with the values mcap-ros2 decodes, the TF panel lists
the bag's frames, any message field plots, trails follow the robot. Real windows under Xvfb."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import DATA, FIELD, LIDAR, MARKERS, ROOT

DEMO = ROOT / "rerun_ros" / "data" / "demo_sensors.mcap"
FIELD_DB3 = DATA / "field" / "rosbag2_2024_09_04-17_15_57_0.db3"
PJ_DB3 = DATA / "db3" / "rosbag2_test_0.db3"
BAGS = {"field": FIELD, "field_db3": FIELD_DB3, "demo": DEMO, "markers": MARKERS, "lidar": LIDAR, "plotjuggler": PJ_DB3}
BG = np.array([16, 16, 20])


def pump(app, n=10):
    for _ in range(n):
        app.processEvents()
        time.sleep(0.005)


def open_window(qapp, bag, **kw):
    from rerun_ros.store.open import open_source
    from rerun_ros.viewer.window import ViewerWindow
    win = ViewerWindow(open_source(str(bag)).store, None, source_name=str(bag), **kw)
    win.resize(1400, 900)
    win.show()
    pump(qapp, 20)
    win.build_all_views()
    pump(qapp, 5)
    return win


def _share(img: np.ndarray, colored: bool = False) -> float:
    """Share of pixels that are not the background (``colored``: clearly coloured, not grey)."""
    rgb = img[..., :3].astype(int)
    if colored:
        return float(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).mean())
    return float((np.abs(rgb - BG).sum(axis=2) > 30).mean())


def _show(view) -> None:
    """Bring a view forward if it sits in a tab."""
    from PyQt6 import QtWidgets
    w = view
    while w is not None:
        p = w.parentWidget()
        if isinstance(p, QtWidgets.QStackedWidget) and isinstance(p.parentWidget(), QtWidgets.QTabWidget):
            p.parentWidget().setCurrentWidget(w)
        w = p


@pytest.mark.parametrize("name", sorted(BAGS))
def test_default_layout_has_data_in_every_view_at_three_times(qapp, name):
    from rerun_ros.viewer.views import MapView, Spatial2DView, Spatial3DView, TextLogView, TimeSeriesView
    win = open_window(qapp, BAGS[name])
    assert win.views, name
    empty = []
    for frac in (0.1, 0.5, 0.9):
        for v in win.views:
            # three times inside the span of the view's own data (before an entity's first
            # message a latest-at view is rightly empty)
            spans = [win.store.time_range(win.timeline, e) for e in v.entities()]
            spans = [s for s in spans if s]
            lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
            if isinstance(v, Spatial2DView):  # the first image's span
                lo, hi = max(s[0] for s in spans), max(s[1] for s in spans)
            t = lo + int(frac * (hi - lo))
            _show(v)
            pump(qapp, 3)
            win.set_time(t)
            pump(qapp, 3)
            if isinstance(v, Spatial3DView):
                v.grid.visible = False  # the grid alone is not data
                share = _share(v.canvas.render())
                v.grid.visible = True
                ok = share > 0.0005
            elif isinstance(v, Spatial2DView):
                share = _share(v.canvas.render())
                ok = share > 0.05
            elif isinstance(v, TimeSeriesView):
                share = _share(v.canvas.render(), colored=True)
                ok = share > 0.0001 and v.data
            elif isinstance(v, MapView):
                share = sum(len(tr.latlon) for tr in v.tracks)
                ok = share > 0 or frac == 0.1  # the first fix may come later than 10 %
            else:
                assert isinstance(v, TextLogView)
                share = len(v.rows)
                ok = share > 0 or frac == 0.1  # a log may start later than 10 %
            if not ok:
                empty.append((v.view_spec.name, frac, share))
    assert not empty, (name, empty)
    win.close()


def test_plots_have_tick_labels_and_a_legend(qapp):
    from rerun_ros.viewer.views import TimeSeriesView
    win = open_window(qapp, FIELD_DB3)
    ts = [v for v in win.views if isinstance(v, TimeSeriesView)]
    assert ts
    for v in ts:
        _show(v)
        pump(qapp, 3)
        v.canvas.render()
        xt, yt = v.tick_labels()
        assert len(xt) >= 3 and all(float(x) >= 0 for x in xt), xt  # seconds since the start
        assert len(yt) >= 3 and all(np.isfinite(float(y)) for y in yt), yt
        names = v.legend_entries()
        assert names and set(names) <= set(v.data) | v.hidden_series
        # a legend entry toggles its series
        first = names[0]
        v.set_series_visible(first, False)
        assert first not in v.data
        v.set_series_visible(first, True)
        assert first in v.data
        # every entry is inside the legend's width (elided if it must be) and whole on hover
        for n, it in v.legend_items.items():
            r = v.legend.visualItemRect(it)
            assert r.width() > 0 and r.right() <= v.legend.viewport().width() + 1, (n, r)
            assert it.toolTip().startswith(n)
        # hover readout: the value at the time under the mouse
        x = float(v.viewbox.camera.rect.center[0])
        text = v.hover(x)
        assert f"t = {x:.3f} s" in text and first.split("[")[0] in text
    win.close()


def _decoded(bag, topic, stamp=False):
    """(log time, or with ``stamp`` the header stamp, ns; message) of every message of a topic."""
    out = []
    with open(bag, "rb") as fh:
        for _s, ch, m, msg in make_reader(fh, decoder_factories=[DecoderFactory()]).iter_decoded_messages(topics=[topic]):
            t = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec if stamp else m.log_time
            out.append((t, msg))
    return out


def test_inspector_shows_a_custom_types_fields_with_their_values(qapp):
    win = open_window(qapp, FIELD)
    # ros_time, the robot clock: this run's stamps are 6 days behind its log, and coherent
    assert win.timeline == "ros_time"
    msgs = _decoded(FIELD, "/coug2/dvl/data", stamp=True)
    t = msgs[40][0]
    win.set_time(t)
    win.select("/coug2/dvl/data")
    pump(qapp)
    rows = dict(win.selection.texts())
    assert rows["dvl_msgs/msg/DVL"].startswith("received")
    m = msgs[40][1]
    assert float(rows["altitude"]) == pytest.approx(m.altitude, rel=1e-8)
    assert float(rows["fom"]) == pytest.approx(m.fom, rel=1e-8)
    assert rows["form"] == repr(m.form)
    assert rows["frame_id"] == repr(m.header.frame_id)
    texts = win.selection.texts()
    beams = [v for k, v in texts if k == "distance"]
    assert [float(b) for b in beams] == pytest.approx([b.distance for b in m.beams], rel=1e-8)
    # double-click a numeric field: it is plotted, every message's value
    v = win.plot_field("/coug2/dvl/data", "message.altitude")
    pump(qapp)
    win.reset_views()
    _, vals = v.data["/coug2/dvl/data:message.altitude"]
    assert vals == pytest.approx([mm.altitude for _, mm in msgs])
    assert "/coug2/dvl/data:message.altitude" in win.blueprint.to_dict()["root"]["children"][1]["series"]
    # nothing selected: the recording summary
    win.selection.show_entity(None)
    assert dict(win.selection.texts())["duration"].endswith(" s")
    win.close()


def test_blueprint_series_plots_nested_fields_and_names_bad_ones(qapp):
    from rerun_ros.store.open import open_source
    from rerun_ros.viewer import blueprint as B
    from rerun_ros.viewer.window import ViewerWindow
    bp = B.load("root: {view: timeseries, name: dvl, include: [], series: ['/coug2/dvl/data:message.beams[1].distance',"
                " '/coug2/dvl/data:message.nope']}")
    win = ViewerWindow(open_source(str(FIELD)).store, bp)
    win.show()
    pump(qapp, 10)
    v = win.views[0]
    msgs = _decoded(FIELD, "/coug2/dvl/data")
    _, vals = v.data["/coug2/dvl/data:message.beams[1].distance"]
    assert vals == pytest.approx([m.beams[1].distance for _, m in msgs])
    assert "no field 'nope'" in v.status.text() or "no field 'nope'" in v.status.toolTip()
    win.close()


def test_tf_panel_lists_the_frames_and_marks_what_is_missing(qapp):
    win = open_window(qapp, FIELD)
    win.left_tabs.setCurrentWidget(win.tf_tree)
    win.refresh()
    rows = {r[1]: r for r in win.tf_tree.rows}
    assert {"coug2.modem", "coug2.robot", "enu", "ned"} <= set(rows)
    # frames the data names but TF lacks are listed as missing (the field run's TF has no odom)
    assert rows["odom"][6] == "missing" and rows["dvl_A50/velocity_link"][6] == "missing"
    dyn = [r for r in rows.values() if r[3] == "dynamic"]
    assert dyn and all(r[4] is None or r[4] > 0 for r in dyn)
    # double-click makes a frame the fixed frame
    win.set_fixed_frame("enu")
    assert win.fixed_frame == "enu"
    win.close()


def test_default_fixed_frame_and_a_trail_of_the_robot(qapp):
    from rerun_ros.viewer.views import Spatial3DView
    win = open_window(qapp, FIELD)
    assert win.fixed_frame == "odom"  # where the dead reckoning is (TF never names it)
    v3 = next(v for v in win.views if isinstance(v, Spatial3DView))
    rng = win.time_range()
    win.set_time(rng[0] + int(0.9 * (rng[1] - rng[0])))
    pump(qapp)
    g = v3.geometry
    assert len(g.trails) > 10 and g.axis_names == ["odom"]
    # the trail passes through the dead-reckoning positions of the window (the latest ones)
    msgs = _decoded(FIELD, "/coug2/dvl/dead_reckoning", stamp=True)
    last = [m for t, m in msgs if t <= win.t][-1].pose.pose.position
    ends = g.trails.reshape(-1, 3)
    assert np.linalg.norm(ends - [last.x, last.y, last.z], axis=1).min() < 1e-3
    # what cannot be placed is named, with why
    assert "/coug2/gps_odom" in g.problems and "not in TF" in g.problems["/coug2/gps_odom"]
    assert "not drawn" in v3.status.text()
    win.close()


def test_rosout_node_filter_and_search(qapp):
    from rerun_ros.viewer.views import TextLogView
    win = open_window(qapp, FIELD)
    log = next(v for v in win.views if isinstance(v, TextLogView))
    _show(log)
    rng = win.time_range()
    win.set_time(rng[1])
    pump(qapp)
    msgs = _decoded(FIELD, "/rosout")
    assert len(log.rows) == len(msgs)
    nodes = [log.node.itemText(i) for i in range(1, log.node.count())]
    assert set(nodes) == {m.name for _, m in msgs}
    pick = max(nodes, key=lambda n: sum(m.name == n for _, m in msgs))
    log.node.setCurrentText(pick)
    pump(qapp)
    assert len(log.rows) == sum(m.name == pick for _, m in msgs) < len(msgs)
    word = next(m.msg for _, m in msgs if m.name == pick).split()[0]
    log.search.setText(word.upper())
    pump(qapp)
    assert log.rows and all(word.lower() in r[3].lower() for r in log.rows)
    win.close()


def test_diagnostics_view_shows_the_latest_status_per_name(qapp, tmp_path, bag_builder):
    """diagnostic_msgs/DiagnosticArray as a robot's diagnostic aggregator publishes it (no bundled
    bag has one: real-shaped messages written with mcap-ros2-support)."""
    from conftest import header
    from rerun_ros.viewer.views import DiagnosticsView
    b = bag_builder("diag.mcap")
    T0 = 1_700_000_000 * 10**9
    for i in range(10):
        b.write("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", {"header": header(T0 + i * 10**9, ""), "status": [
            {"level": 0 if i < 6 else 2, "name": "motors: left", "message": "ok" if i < 6 else "overcurrent",
             "hardware_id": "mc-1", "values": [{"key": "current", "value": f"{1.5 + i}"}]},
            {"level": 1, "name": "battery", "message": "low", "hardware_id": "bms",
             "values": [{"key": "voltage", "value": f"{11.0 - 0.1 * i:.1f}"}]}]}, T0 + i * 10**9)
    b.close()
    win = open_window(qapp, b.path)
    d = next(v for v in win.views if isinstance(v, DiagnosticsView))
    _show(d)
    win.set_time(T0 + 3 * 10**9)
    pump(qapp)
    rows = {r[1]: r for r in d.rows}
    assert rows["motors: left"][2:5] == ("OK", "ok", "mc-1") and rows["motors: left"][5] == {"current": "4.5"}
    assert rows["battery"][2] == "WARN" and rows["battery"][5] == {"voltage": "10.7"}
    win.set_time(T0 + 8 * 10**9)
    pump(qapp)
    rows = {r[1]: r for r in d.rows}
    assert rows["motors: left"][2:4] == ("ERROR", "overcurrent")
    item = d.tree.topLevelItem([d.tree.topLevelItem(i).text(0) for i in range(d.tree.topLevelItemCount())].index("motors: left"))
    assert item.foreground(1).color().name() == "#ff6060" and item.child(0).text(2) == "9.5"
    win.close()


def test_camera_view_projects_a_real_cloud_through_tf_and_camera_info(qapp, bag_builder):
    """rviz's Camera display: the lidar bag's real 80k-point cloud drawn over an image through
    CameraInfo and TF at the image stamp. No bundled bag has a camera next to a cloud: the
    cloud message is the real one; the camera (CameraInfo, Image, static TF) is written here."""
    from scipy.spatial.transform import Rotation
    from conftest import header
    from rerun_ros.viewer.views import Spatial2DView
    with open(LIDAR, "rb") as f:
        cloud = next(m for _s, ch, _m, m in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages()
                     if ch.topic == "cloud_1")
    T0 = 1_700_000_000 * 10**9
    b = bag_builder("camera.mcap")
    # camera 10 m behind the cloud's centre looking along +x of "test" (optical: z forward, x right, y down)
    q = Rotation.from_euler("xyz", [-90, 0, -90], degrees=True)  # optical axes in a REP 103 body frame
    qx, qy, qz, qw = q.as_quat()
    b.write("/tf_static", "tf2_msgs/msg/TFMessage", {"transforms": [{"header": header(T0, "test"),
            "child_frame_id": "cam_optical", "transform": {"translation": {"x": -10.0, "y": 0.0, "z": 1.0},
                                                           "rotation": {"x": qx, "y": qy, "z": qz, "w": qw}}}]}, T0)
    K = [400.0, 0.0, 320.0, 0.0, 400.0, 240.0, 0.0, 0.0, 1.0]
    b.write("/camera/camera_info", "sensor_msgs/msg/CameraInfo", {"header": header(T0, "cam_optical"), "height": 480,
            "width": 640, "distortion_model": "plumb_bob", "d": [0.0] * 5, "k": K, "r": [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
            "p": K[:3] + [0.0] + K[3:6] + [0.0] + K[6:] + [0.0], "binning_x": 0, "binning_y": 0,
            "roi": {"x_offset": 0, "y_offset": 0, "height": 0, "width": 0, "do_rectify": False}}, T0)
    b.write("/camera/image_raw", "sensor_msgs/msg/Image", {"header": header(T0, "cam_optical"), "height": 480,
            "width": 640, "encoding": "rgb8", "is_bigendian": 0, "step": 1920, "data": bytes(640 * 480 * 3)}, T0)
    b.write("/cloud", "sensor_msgs/msg/PointCloud2", {
        "header": header(T0, "test"), "height": cloud.height, "width": cloud.width,
        "fields": [{"name": f.name, "offset": f.offset, "datatype": f.datatype, "count": f.count} for f in cloud.fields],
        "is_bigendian": cloud.is_bigendian, "point_step": cloud.point_step, "row_step": cloud.row_step,
        "data": bytes(cloud.data), "is_dense": cloud.is_dense}, T0)
    b.close()
    win = open_window(qapp, b.path)
    v = next(x for x in win.views if isinstance(x, Spatial2DView) and "/camera/image_raw" in x.entities())
    _show(v)
    win.set_time(T0)
    pump(qapp, 10)
    assert v.camera is not None and v.camera.entity == "/camera/camera_info"
    # independent expectation: cloud points into the optical frame, then K
    xyz = np.frombuffer(bytes(cloud.data), np.float32).reshape(-1, 3).astype(float)
    cam_pts = q.inv().apply(xyz - [-10.0, 0.0, 1.0])
    z = cam_pts[:, 2]
    u, w = 400 * cam_pts[:, 0] / z + 320, 400 * cam_pts[:, 1] / z + 240
    on = (z > 0.05) & (u >= 0) & (u < 640) & (w >= 0) & (w < 480)
    expect = np.stack([u[on], w[on]], 1)
    got = v.projected.points
    assert 1000 < len(got) == len(expect)
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(expect, axis=0), atol=1e-2)
    # and they are drawn there: cloud-coloured pixels on the (black) image where points project
    img = v.canvas.render()[..., :3].astype(int)
    assert (img.max(axis=2) > 100).mean() > 0.01
    win.close()


@pytest.mark.parametrize("tool,topic", [("pose_estimate", "/initialpose"), ("goal_pose", "/goal_pose"),
                                        ("publish_point", "/clicked_point")])
def test_live_tools_publish_what_a_subscriber_receives(qapp, monkeypatch, tool, topic):
    """rviz's 2D Pose Estimate, 2D Goal Pose and Publish Point, clicked on the 3D view of a real bag:
    a real rclpy subscriber (loopback DDS) receives the message at the clicked ground point."""
    import random

    import rclpy
    import rclpy.executors
    from geometry_msgs.msg import PointStamped, PoseStamped, PoseWithCovarianceStamped
    from rerun_ros.viewer.views import Spatial3DView
    monkeypatch.setenv("ROS_DOMAIN_ID", str(random.randint(100, 200)))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    win = open_window(qapp, FIELD_DB3)
    win.enable_live_tools()
    v3 = next(v for v in win.views if isinstance(v, Spatial3DView))
    assert v3.tool_buttons[tool].isVisibleTo(win)
    typ = {"pose_estimate": PoseWithCovarianceStamped, "goal_pose": PoseStamped, "publish_point": PointStamped}[tool]
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("tool_listener", context=ctx)
    got = []
    node.create_subscription(typ, topic, got.append, 10)
    try:
        tools = win.ros_tools()
        t0 = time.time()
        while tools.subscribers(tool) == 0 and time.time() - t0 < 20:
            time.sleep(0.05)
        v3.tool_buttons[tool].setChecked(True)
        assert v3.tool == tool and not v3.viewbox.camera.interactive
        # near where the camera looks (it follows the robot's GPS track, kilometres from map's origin)
        c = np.round(np.asarray(v3.viewbox.camera.center, float)[:2])
        a, b = np.array([c[0] + 2.0, c[1] + 1.0, 0.0]), np.array([c[0] + 3.0, c[1] + 2.0, 0.0])
        if tool == "goal_pose":  # through the canvas' own mouse events, as a click and drag
            v3.canvas.events.mouse_press(pos=v3.pixel_of(a), button=1, modifiers=())
            v3.canvas.events.mouse_release(pos=v3.pixel_of(b), button=1, modifiers=())
        else:
            assert v3.apply_tool(v3.pixel_of(a), v3.pixel_of(b)) is not None
        ex = rclpy.executors.SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        t0 = time.time()
        while not got and time.time() - t0 < 10:
            ex.spin_once(timeout_sec=0.1)
        assert got, f"nothing received on {topic}"
        m = got[0]
        assert m.header.frame_id == win.fixed_frame == "map"  # REP 105: the GPS odometry frame
        if tool == "publish_point":
            assert [m.point.x, m.point.y, m.point.z] == pytest.approx(list(a), abs=1e-3)
        else:
            pose = m.pose.pose if tool == "pose_estimate" else m.pose
            assert [pose.position.x, pose.position.y] == pytest.approx(list(a[:2]), abs=1e-3)
            yaw = 2 * np.arctan2(pose.orientation.z, pose.orientation.w)
            assert yaw == pytest.approx(np.pi / 4, abs=1e-3)
            if tool == "pose_estimate":
                assert m.pose.covariance[0] == 0.25 and m.pose.covariance[35] == pytest.approx(0.0685, abs=1e-4)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=ctx)
        win.close()


def test_opening_and_drawing_a_real_bag_imports_neither_pandas_nor_matplotlib(xdisplay, tmp_path):
    """pyarrow imports pandas (~0.3 s) on its first ``pa.array``/``to_numpy`` conversion, and VisPy
    imports matplotlib (~0.3 s) for a colour given as a string; neither may sit between a user
    opening a bag and its first frame. A damaged glyph cache on disk is ignored (re-rendered)."""
    import os
    import subprocess
    import sys
    cache = tmp_path / "cache" / "rerun_ros"
    cache.mkdir(parents=True)
    for name in ("glyphs-OpenSans-Regular-217360-00-vispy0.17.0.npz",):
        (cache / name).write_bytes(b"not a zip file")
    code = ("import sys\nfrom PyQt6 import QtWidgets\napp = QtWidgets.QApplication([])\n"
            "from rerun_ros.store.open import open_source\nfrom rerun_ros.viewer.window import ViewerWindow\n"
            "win = ViewerWindow(open_source(sys.argv[1]).store, None)\nwin.resize(1280, 800)\nwin.show()\n"
            "[app.processEvents() for _ in range(5)]\n[v.canvas.render() for v in win.views if hasattr(v, 'canvas')]\n"
            "print('pandas' in sys.modules, 'matplotlib' in sys.modules)\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "QT_QPA_PLATFORM": "xcb"}
    out = subprocess.run([sys.executable, "-c", code, str(FIELD)], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "False"], out.stdout


def test_timeline_ruler_zoom_pan_and_scrub_on_the_strip(qapp):
    """The timeline strip (Rerun's timeline panel): a labelled ruler, one row of marks per entity,
    wheel zoom about the mouse, pan, scrub by click, double-click for the whole recording."""
    from PyQt6 import QtCore, QtGui
    from PyQt6.QtTest import QTest
    win = open_window(qapp, FIELD)
    strip = win.marks
    rng = win.time_range()
    labels = [lab for _, lab in strip.ticks()]
    assert labels[0] == "0 s" and len(labels) >= 5 and labels[-1].endswith(" s")
    assert float(labels[-1][:-2]) <= (rng[1] - rng[0]) / 1e9
    assert len(strip.rows) > 5  # one row per entity
    # every mark of a row is at the pixel of a message of its entity (whole recording)
    e, cols = strip.rows[0]
    times = win.store.entity_times(e, win.timeline)
    assert set(cols.tolist()) == {strip.x_of(t) for t in times}
    # wheel: zoom in 4 notches about the middle of the strip; the time under the mouse stays put
    mid = QtCore.QPointF(strip.width() / 2, 10)
    t_mid = strip.t_at(mid.x())
    ev = QtGui.QWheelEvent(mid, strip.mapToGlobal(mid), QtCore.QPoint(0, 0), QtCore.QPoint(0, 480),
                           QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier,
                           QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QtCore.QCoreApplication.sendEvent(strip, ev)
    lo, hi = strip.visible()
    assert strip.is_zoomed() and (hi - lo) == pytest.approx((rng[1] - rng[0]) / 1.25 ** 4, rel=1e-3)
    assert abs(strip.t_at(mid.x()) - t_mid) <= (hi - lo) / strip.width() * 2
    sub = [lab for _, lab in strip.ticks()]
    assert sub != labels and all(lo <= rng[0] + float(s[:-2]) * 1e9 <= hi + 1 for s in sub)
    # rows now hold only the window's messages
    e, cols = strip.rows[0]
    times = win.store.entity_times(e, win.timeline)
    assert set(cols.tolist()) == {strip.x_of(t) for t in times if lo <= t <= hi}
    # right-drag pans the window left by 100 px worth of time
    QTest.mousePress(strip, QtCore.Qt.MouseButton.RightButton, pos=QtCore.QPoint(300, 10))
    QTest.mouseMove(strip, QtCore.QPoint(400, 10))
    QTest.mouseRelease(strip, QtCore.Qt.MouseButton.RightButton, pos=QtCore.QPoint(400, 10))
    lo2, hi2 = strip.visible()
    assert hi2 - lo2 == hi - lo and lo2 < lo
    # a left click scrubs: the cursor goes to the time under the mouse, every view follows
    QTest.mouseClick(strip, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(200, 10))
    assert win.t == strip.t_at(200) and lo2 <= win.t <= hi2
    # play while zoomed: the window follows the cursor
    win.set_time(rng[1])
    assert strip.visible()[0] <= win.t <= strip.visible()[1]
    QTest.mouseDClick(strip, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(200, 10))
    assert not strip.is_zoomed() and strip.visible() == rng
    win.close()


def test_level_of_detail_only_while_the_camera_moves(qapp):
    """The lidar bag's three clouds (195k points): all are drawn while still; a moving camera draws
    a sample and says so; it goes back to every point when the camera stops, and at once for a
    screenshot."""
    from rerun_ros.viewer.views import Spatial3DView
    from rerun_ros.viewer.views.spatial3d import LOD_IDLE_S, LOD_POINTS
    win = open_window(qapp, LIDAR)
    v = next(x for x in win.views if isinstance(x, Spatial3DView))
    n = v._lod_n[0]
    assert n > LOD_POINTS
    assert not v.lod_active and v.markers.visible and "level of detail" not in v.status.text()
    # the view's own re-aiming (a resize before the user touched the camera) is no camera motion
    win.resize(1300, 850)
    pump(qapp, 3)
    v._resized(None)
    assert not v.lod_active and v.markers.visible
    v.viewbox.camera.azimuth += 15
    assert v.lod_active and v.markers_lod.visible and not v.markers.visible
    assert f"{LOD_POINTS:,} of {n:,} points" in v.status.text()
    time.sleep(LOD_IDLE_S + 0.2)
    pump(qapp, 5)
    assert not v.lod_active and v.markers.visible and "level of detail" not in v.status.text()
    v.viewbox.camera.azimuth += 15
    assert v.lod_active
    win.screenshot(str(Path(__import__("tempfile").mkdtemp()) / "shot.png"))
    assert not v.lod_active and "level of detail" not in v.status.text()
    win.close()
    # closing destroys the GL canvases at once (not whenever the garbage collector runs: inside
    # another window's paint that left no GL context current and crashed the process)
    from PyQt6 import sip
    assert all(sip.isdeleted(x.canvas.native) for x in win.views if hasattr(x, "canvas"))
