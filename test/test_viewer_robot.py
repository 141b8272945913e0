"""The viewer on real robot runs as a robotics engineer uses it (issue 23): the 3D camera follows
the robot (rviz's target frame) so its frames and the data near it stay in view as it drives;
frame names never overlap (the ones left out show on hover); per-frame toggles hide exactly that
frame; the text log shows whole messages; a NavSatFix run draws its track on a map; XY plots and
fields dropped from the inspector; every ``--help`` works without a display. Real windows under
Xvfb, pixels checked."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import DATA, FIELD, LIDAR
from test_viewer_real import _show

WALKER = DATA / "sim" / "walker"  # a Gazebo TurtleBot3 run: odom -> base_footprint -> 10 more frames
FIELD_DB3 = DATA / "field" / "rosbag2_2024_09_04-17_15_57_0.db3"  # an underwater vehicle's 150 s run, no TF
BG = np.array([16, 16, 20])
ONE_3D = "root: {view: spatial3d, name: 3D}"


def pump(app, n=10):
    for _ in range(n):
        app.processEvents()
        time.sleep(0.005)


def open_window(qapp, bag, blueprint=None, size=(1280, 800), **kw):
    from rerun_ros.store.open import open_source
    from rerun_ros.viewer import blueprint as B
    from rerun_ros.viewer.window import ViewerWindow
    bp = B.load(blueprint) if blueprint else None
    win = ViewerWindow(open_source(str(bag)).store, bp, source_name=str(bag), **kw)
    win.resize(*size)
    win.show()
    pump(qapp, 20)
    win.build_all_views()
    pump(qapp, 5)
    return win


def _view_at_the_end(qapp, bag, cls):
    """(window, its first view of ``cls``) of the default layout, shown, the cursor at the end."""
    win = open_window(qapp, bag)
    v = next(v for v in win.views if isinstance(v, cls))
    _show(v)
    pump(qapp, 10)
    win.set_time(win.time_range()[1])
    pump(qapp, 10)
    return win, v


def _data_share(v) -> float:
    """Share of the 3D canvas that is not background, the ground grid hidden (it is not data)."""
    v.grid.visible = False
    img = v.canvas.render()[..., :3].astype(int)
    v.grid.visible = True
    return float((np.abs(img - BG).sum(axis=2) > 30).mean())


def _robot_span(win, entity):
    """Times inside the span of an entity's data."""
    lo, hi = win.store.time_range(win.timeline, entity)
    return [lo + int(f * (hi - lo)) for f in (0.05, 0.3, 0.5, 0.7, 0.95)]


# -- the camera follows the robot --------------------------------------------------------------

def test_turtlebot_stays_in_view_with_its_frames_and_scan(qapp):
    """One 3D view, no fixed frame given: the camera follows base_footprint (the odometry's child
    frame); at five times the robot's frames are drawn at the centre of the canvas and the scan
    around it covers a share of the canvas."""
    from rerun_ros.viewer.views import Spatial3DView
    win = open_window(qapp, WALKER, ONE_3D)
    v = win.views[0]
    assert isinstance(v, Spatial3DView)
    assert win.fixed_frame == "odom" and v.target_frame == "base_footprint"
    w, h = v.canvas.size
    seen = []
    for t in _robot_span(win, "/tf/base_footprint"):
        win.set_time(t)
        pump(qapp, 3)
        g = v.geometry
        assert {"base_footprint", "base_link", "base_scan", "wheel_left_link"} <= set(g.axis_names)
        # the robot's origin is drawn where the camera looks: the middle of the canvas
        px = v._project(v.target_position(t)[None])[0]
        assert abs(px[0] - w / 2) < 0.1 * w and abs(px[1] - h / 2) < 0.1 * h, px
        # it is where TF says at that time (odom -> base_footprint latest-at t)
        tf = win.graph().lookup("odom", "base_footprint", t)
        base = g.axes[g.axis_names.index("base_footprint"), 0]
        assert np.allclose(base, tf.translation, atol=1e-4)
        share = _data_share(v)
        assert share > 0.008, (t, share)
        seen.append(tuple(np.round(tf.translation[:2], 2)))
    assert len(set(seen)) >= 4  # the robot drove: the camera moved with it
    win.close()


def test_field_run_without_tf_follows_its_pose_topic(qapp):
    """An underwater field run whose TF names no robot frame: the camera follows the pose topic
    that moves (GPS odometry in map, 4.7 km from map's origin); before, the 3D view showed a
    depth sensor's frame and nothing of the robot (0.06-0.28 % of the canvas)."""
    win = open_window(qapp, FIELD_DB3, ONE_3D)
    v = win.views[0]
    assert win.fixed_frame == "map" and v.follow_entity == "/gps_odom"
    w, h = v.canvas.size
    msgs = _decoded_db3(FIELD_DB3, "/gps_odom")
    for t in _robot_span(win, "/gps_odom"):
        win.set_time(t)
        pump(qapp, 3)
        last = [m for s, m in msgs if s <= t][-1].pose.pose.position
        # the followed position is the message's position at the cursor, drawn mid-canvas
        assert np.allclose(v.target_position(t), [last.x, last.y, last.z], atol=1e-3)
        px = v._project(np.array([[last.x, last.y, last.z]]))[0]
        assert abs(px[0] - w / 2) < 0.1 * w and abs(px[1] - h / 2) < 0.1 * h
        assert _data_share(v) > 0.008
        assert "following /gps_odom" in v.title.text()
    win.close()


def _decoded_db3(path, topic):
    """(header stamp ns, message) of a topic of a sqlite3 rosbag2 (rosbags as the oracle)."""
    out = []
    with _any_reader(path) as r:
        conns = [c for c in r.connections if c.topic == topic]
        for c, _t, raw in r.messages(connections=conns):
            m = r.deserialize(raw, c.msgtype)
            out.append((m.header.stamp.sec * 10**9 + m.header.stamp.nanosec, m))
    return out


def _any_reader(path):
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore
    return AnyReader([path], default_typestore=get_typestore(Stores.ROS2_HUMBLE))


def test_lidar_bag_without_tf_frames_its_clouds(qapp):
    """The lidar bag (three 80k-point clouds in frame ``test``, no TF): nothing to follow; the
    camera frames the clouds."""
    win = open_window(qapp, LIDAR, ONE_3D)
    v = win.views[0]
    assert v.target_frame == v.fixed_frame == "test" and v.follow_entity is None
    for frac in (0.1, 0.5, 0.9):
        rng = win.time_range()
        win.set_time(rng[0] + int(frac * (rng[1] - rng[0])))
        pump(qapp, 3)
        assert _data_share(v) > 0.1
    win.close()


def test_target_frame_from_the_blueprint_and_a_saved_camera(qapp, tmp_path):
    """A blueprint names the target frame and a camera (eye and look-at from the target's origin):
    the view starts there and keeps that offset as the robot drives; the camera written back
    (the view's menu, then Save blueprint) loads to the same place."""
    from rerun_ros.viewer import blueprint as B
    bp = ("root: {view: spatial3d, name: 3D, target_frame: base_scan, "
          "camera: {eye: [-3.0, -2.0, 2.5], look_at: [0.5, 0.0, 0.0], fov: 50}}")
    win = open_window(qapp, WALKER, bp)
    v = win.views[0]
    assert v.target_frame == "base_scan"
    for t in _robot_span(win, "/tf/base_footprint")[1:4]:
        win.set_time(t)
        pump(qapp, 3)
        at = win.graph().lookup("odom", "base_scan", t).translation
        c = v.viewbox.camera
        assert np.allclose(c.center, at + [0.5, 0.0, 0.0], atol=1e-6)
        assert c.fov == 50
        spec = v.camera_spec()
        assert np.allclose(spec["eye"], [-3.0, -2.0, 2.5], atol=1e-3), spec
        assert np.allclose(spec["look_at"], [0.5, 0.0, 0.0], atol=1e-3)
    # the camera as the user left it goes into the saved blueprint
    v.viewbox.camera.azimuth += 30
    v.keep_camera()
    path = tmp_path / "bp.yaml"
    win.save_blueprint(path)
    saved = B.load(path).views()[0]
    assert saved.target_frame == "base_scan" and saved.camera == v.camera_spec()
    win.close()
    # the target frame from the command line, and from the view's menu
    win = open_window(qapp, WALKER, ONE_3D, target_frame="wheel_left_link")
    v = win.views[0]
    assert v.target_frame == "wheel_left_link"
    v.set_target_frame("base_link")
    t = win.t
    assert np.allclose(v.viewbox.camera.center, win.graph().lookup("odom", "base_link", t).translation, atol=1e-6)
    v._fill_menu()
    names = [a.text() for a in v.menu.actions()]
    assert {"Target frame", "Fixed frame", "Frame names", "Reset view"} <= set(names)
    win.close()


def test_camera_blueprint_keys_are_validated():
    from rerun_ros.viewer import blueprint as B
    for bad, why in (("camera: {eye: [1, 2]}", "camera.eye"), ("camera: {eye: [0, 0, 0]}", "same point"),
                     ("camera: {eye: [1, 2, 3], up: sideways}", "camera.up"),
                     ("camera: {eye: [1, 2, 3], fov: 0}", "camera.fov"), ("target_frame: 3", "frame id"),
                     ("frame_names: maybe", "frame_names"), ("hidden_frames: odom", "hidden_frames")):
        with pytest.raises(B.BlueprintError, match=why):
            B.load(f"root: {{view: spatial3d, {bad}}}")
    with pytest.raises(B.BlueprintError, match="spatial3d"):
        B.load("root: {view: timeseries, target_frame: base_link}")
    with pytest.raises(B.BlueprintError, match="tile_url"):
        B.load("root: {view: map, tile_url: 'https://example.org/tiles.png'}")
    with pytest.raises(B.BlueprintError, match="xy"):
        B.load("root: {view: timeseries, xy: ['/odom:message.x']}")


def test_camera_angles_invert_the_turntable_camera():
    from vispy import scene

    from rerun_ros.viewer.views.spatial3d import camera_angles, camera_eye
    for up in ("+z", "+y", "-x"):
        cam = scene.cameras.TurntableCamera(fov=45, distance=7.0, up=up)
        for az, el in ((0, 0), (30, 20), (-120, 60), (170, -45)):
            cam.azimuth, cam.elevation = az, el
            cam.center = (1.0, -2.0, 0.5)
            eye = camera_eye(cam.center, 7.0, az, el, up)
            # VisPy's own transform: the camera's origin is the eye
            cam._actual_distance = 7.0
            cam._update_camera_pos()
            assert np.allclose(cam.transform.map([0, 0, 0, 1])[:3], eye, atol=1e-9), (up, az, el)
            d, a2, e2 = camera_angles(eye, cam.center, up)
            assert d == pytest.approx(7.0) and e2 == pytest.approx(el) and (a2 - az + 180) % 360 - 180 == pytest.approx(0)


# -- frame names and toggles --------------------------------------------------------------------

def _only_labels(v):
    """Render the canvas with the labels alone (every other visual hidden)."""
    keep = {v.labels}
    hidden = []
    for node in v.viewbox.scene.children:
        if node not in keep and node.visible:
            node.visible = False
            hidden.append(node)
    img = v.canvas.render()[..., :3].astype(int)
    for node in hidden:
        node.visible = True
    return img


def test_frame_names_do_not_overlap_and_the_rest_show_on_hover(qapp):
    """The TurtleBot's 12 frames sit within 30 cm: their names are drawn where they fit (text
    boxes disjoint, every drawn pixel of text inside its box), the robot's base first; a name
    left out shows when the cursor is on its frame."""
    win = open_window(qapp, WALKER, ONE_3D)
    v = win.views[0]
    for t in _robot_span(win, "/tf/base_footprint")[::2]:
        win.set_time(t)
        pump(qapp, 3)
        names = v.placed_labels
        assert names[0] == "base_footprint" and "odom" in names
        assert len(names) < len(v.geometry.axis_names)  # not all 12: they would overlap
        b = v.label_boxes
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                disjoint = b[i, 2] <= b[j, 0] or b[j, 2] <= b[i, 0] or b[i, 3] <= b[j, 1] or b[j, 3] <= b[i, 1]
                assert disjoint, (names[i], names[j], b[i], b[j])
        img = _only_labels(v)
        lit = np.argwhere(np.abs(img - BG).sum(axis=2) > 60)  # (row, col)
        assert len(lit) > 50
        inside = np.zeros(len(lit), bool)
        for x0, y0, x1, y1 in b:
            inside |= (lit[:, 1] >= x0 - 2) & (lit[:, 1] <= x1 + 2) & (lit[:, 0] >= y0 - 2) & (lit[:, 0] <= y1 + 2)
        assert inside.mean() > 0.99, inside.mean()
    # hovering a frame whose name was left out shows it
    left_out = [n for n in v.geometry.axis_names if n not in v.placed_labels]
    i = v.geometry.axis_names.index(left_out[0])
    px = v._project(v.geometry.axes[i:i + 1, 0])[0]

    class Ev:
        pos = px
    v._hover(Ev)
    assert v.hovered is not None and v.hovered in left_out
    assert v.hover_label.visible and v.canvas.native.toolTip() == v.hovered
    # names off: none drawn
    v.set_frame_names(False)
    assert v.placed_labels == [] and not v.labels.visible
    win.close()


def test_tf_panel_toggle_hides_exactly_that_frame(qapp, tmp_path):
    from rerun_ros.viewer import blueprint as B
    win = open_window(qapp, WALKER, ONE_3D)
    v = win.views[0]
    win.left_tabs.setCurrentWidget(win.tf_tree)
    win.refresh()
    pump(qapp, 3)
    before = dict(zip(v.geometry.axis_names, v.geometry.axes))
    win.tf_tree.set_visible("wheel_left_link", False)
    pump(qapp, 3)
    after = dict(zip(v.geometry.axis_names, v.geometry.axes))
    assert set(before) - set(after) == {"wheel_left_link"}
    assert all(np.array_equal(before[f], after[f]) for f in after)
    assert "wheel_left_link" not in v._cands[0]
    # pixels: the frame's axes are gone where they were drawn
    win.tf_tree.set_visible("wheel_left_link", True)
    pump(qapp, 3)
    assert "wheel_left_link" in v.geometry.axis_names
    # kept in a saved blueprint, and read back
    win.tf_tree.set_visible("caster_back_left_link", False)
    win.save_blueprint(tmp_path / "bp.yaml")
    assert B.load(tmp_path / "bp.yaml").views()[0].hidden_frames == ["caster_back_left_link"]
    win.close()
    win = open_window(qapp, WALKER, (tmp_path / "bp.yaml").read_text())
    assert "caster_back_left_link" not in win.views[0].geometry.axis_names
    win.close()


def test_text_markers_are_labels_that_do_not_overlap(qapp, bag_builder):
    """TEXT_VIEW_FACING markers (rviz's text) become labels, placed like frame names: 40 texts
    30 cm apart, as a planner's debug labels are."""
    from test_markers import ARRAY_DEF, MARKER_DEF, T0, mk
    b = bag_builder()
    b.schema("visualization_msgs/msg/MarkerArray", ARRAY_DEF)
    b.schema("visualization_msgs/msg/Marker", MARKER_DEF)
    texts = [mk(i, 9, pose=(0.3 * (i % 8), 0.3 * (i // 8), 0), text=f"label {i}", scale=(0, 0, 0.2))
             for i in range(40)]
    b.write("/debug", "visualization_msgs/msg/MarkerArray", {"markers": texts}, T0)
    b.close()
    win = open_window(qapp, b.path, ONE_3D)
    v = win.views[0]
    pump(qapp, 3)
    texts = [n for n in v.placed_labels if n.startswith("label ")]
    assert texts and len(v.geometry.texts) == 40
    b = v.label_boxes
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            assert b[i, 2] <= b[j, 0] or b[j, 2] <= b[i, 0] or b[i, 3] <= b[j, 1] or b[j, 3] <= b[i, 1]
    win.close()


# -- panels ----------------------------------------------------------------------------------

def test_text_log_shows_whole_messages_at_the_default_size(qapp):
    """The field run's /rosout in the default layout and window size: every message is whole —
    on one line, or wrapped onto as many as its row is tall — and its tooltip has all of it."""
    from PyQt6 import QtCore

    from rerun_ros.viewer.views import TextLogView
    win, v = _view_at_the_end(qapp, FIELD, TextLogView)
    tab = v.table
    assert tab.rowCount() > 20
    col = 3
    width = tab.columnWidth(col)
    assert width > 0.5 * tab.viewport().width()  # the message takes the free width
    fm = tab.fontMetrics()
    for r in range(tab.rowCount()):
        it = tab.item(r, col)
        need = fm.boundingRect(QtCore.QRect(0, 0, width - 8, 100000),
                               int(QtCore.Qt.TextFlag.TextWordWrap | QtCore.Qt.AlignmentFlag.AlignLeft), it.text()).height()
        assert tab.rowHeight(r) >= need, (r, it.text(), tab.rowHeight(r), need)
        assert it.text() in it.toolTip()
    # level filter and search
    v.level.setCurrentText("WARN")
    pump(qapp)
    assert all(r[2] in ("WARN", "ERROR", "CRITICAL") for r in v.rows)
    v.level.setCurrentText("TRACE")
    v.search.setText("dead_reckoning")
    pump(qapp)
    assert v.rows and all("dead_reckoning" in r[3] for r in v.rows)
    win.close()


def test_help_works_without_a_display_and_lists_every_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    run = lambda *a: subprocess.run([sys.executable, "-m", "rerun_ros.cli", *a], capture_output=True,  # noqa: E731
                                    text=True, timeout=120, env=env)
    out = run("--help")
    assert out.returncode == 0
    for cmd in ("convert", "bridge", "recorder", "viewer", "replay", "launch", "view", "query", "filter", "report",
                "serve", "fleet", "catalog", "info"):
        assert f"    {cmd} " in out.stdout or f"    {cmd}\n" in out.stdout, cmd
    for args in (("viewer", "--help"), ("view", "--help"), ("viewer", "-h"), ("launch", "--help"), ("bridge", "--help")):
        out = run(*args)
        assert out.returncode == 0, (args, out.returncode, out.stderr[-500:])
        assert "usage:" in out.stdout
    assert "target_frame" in run("viewer", "--help").stdout
    assert "--target-frame" in run("view", "--help").stdout
    # a window without a display: one line, exit 1 (Qt would abort with 134)
    out = run("view", str(WALKER))
    assert out.returncode == 1 and "no display" in out.stderr and "Traceback" not in out.stderr


# -- map view ----------------------------------------------------------------------------------

def test_map_view_draws_the_gps_track(qapp, tmp_path):
    """The field run's NavSatFix fixes (6 valid of 30) as a track on the local east-north plane:
    every fix drawn where WGS-84 puts it relative to the first, a scale bar of a round length,
    no tile fetched without a tile_url."""
    from rerun_ros.viewer import geo as G
    from rerun_ros.viewer.views import MapView
    win, v = _view_at_the_end(qapp, FIELD, MapView)
    fixes = []
    with open(FIELD, "rb") as fh:
        for _s, _c, _m, msg in make_reader(fh, decoder_factories=[DecoderFactory()]).iter_decoded_messages(
                topics=["/coug2/fix"]):
            if np.isfinite(msg.latitude) and np.isfinite(msg.longitude):
                fixes.append((msg.latitude, msg.longitude))
    tr = v.tracks[0]
    assert tr.entity == "/coug2/fix" and len(tr.latlon) == len(fixes) == 6
    assert np.allclose(tr.latlon, fixes)
    assert v.reference == pytest.approx(fixes[0])
    en = G.to_local(np.array(fixes), fixes[0])
    # pixels: the track's colour is drawn at each fix
    img = v.canvas.render()[..., :3].astype(int)
    tr_scene = v.viewbox.scene.node_transform(v.canvas.scene)
    for e, n in en:
        q = tr_scene.map([e, n, 0, 1])
        x, y = int(round(q[0] / q[3])), int(round(q[1] / q[3]))
        patch = img[max(y - 4, 0):y + 5, max(x - 4, 0):x + 5]
        assert (patch.max(axis=2) - patch.min(axis=2) > 60).any(), (e, n)
    assert v.scale_m in {k * 10.0 ** p for k in (1, 2, 5) for p in range(-3, 6)}
    assert v.tiles == {} and v._pool is None  # nothing fetched
    win.close()


def test_map_view_tiles_from_a_tile_url(qapp, tmp_path):
    """A tile_url (here file://, as a local tile cache) draws the tiles covering the track under it."""
    from PIL import Image

    from rerun_ros.viewer import geo as G
    tdir = tmp_path / "tiles"
    bp = f"root: {{view: map, name: GPS, include: ['/coug2/fix'], tile_url: 'file://{tdir}/{{z}}/{{x}}/{{y}}.png'}}"
    # the tiles the view will ask for: made as flat green squares
    fixes = np.array([[40.071751667, -111.600213333]])
    want = G.tiles_covering(40.0717 - 2e-4, -111.6003 - 2e-4, 40.0718 + 2e-4, -111.6001 + 2e-4, max_tiles=16)
    for z in range(0, 20):
        for x, y in {(k[1], k[2]) for k in want if k[0] == z}:
            p = tdir / str(z) / str(x)
            p.mkdir(parents=True, exist_ok=True)
            Image.new("RGBA", (256, 256), (40, 160, 60, 255)).save(p / f"{y}.png")
    win = open_window(qapp, FIELD, bp)
    v = win.views[0]
    v.wait_for_tiles(20)
    pump(qapp, 5)
    drawn = [k for k, img in v.tiles.items() if img is not None]
    assert drawn, v.tile_errors
    img = v.canvas.render()[..., :3].astype(int)
    green = ((img[..., 1] > 130) & (img[..., 0] < 80)).mean()
    assert green > 0.2  # the tiles fill the view around the track
    assert fixes.shape == (1, 2)
    win.close()


# -- plots -------------------------------------------------------------------------------------

def test_xy_plot_of_the_odometry_track(qapp):
    """``xy: [x, y]`` of /odom's position: the curve is the odometry's positions up to the cursor,
    a dot at the latest, metres equal on both axes."""
    bp = ("root: {view: timeseries, name: track, include: [], xy: ['/odom:message.pose.pose.position.x', "
          "'/odom:message.pose.pose.position.y']}")
    win = open_window(qapp, WALKER, bp)
    v = win.views[0]
    rng = win.time_range()
    t = rng[0] + (rng[1] - rng[0]) // 2
    win.set_time(t)
    pump(qapp, 3)
    msgs = [m for s, m in _decoded_db3(WALKER / "bag_list_0.db3", "/odom") if s <= t]
    (name, (tt, yy)), = v.data.items()
    assert len(yy) == len(msgs) and np.allclose(yy, [m.pose.pose.position.y for m in msgs])
    assert v.xy_marker.visible
    assert v.viewbox.camera.aspect == 1.0
    assert "position.x" in v.hover(0.5, 0.25)
    img = v.canvas.render()[..., :3].astype(int)
    assert ((img.max(axis=2) - img.min(axis=2)) > 60).mean() > 0.0005
    win.close()


def test_a_field_dragged_from_the_inspector_onto_a_plot_is_plotted(qapp):
    from PyQt6 import QtCore, QtGui

    from rerun_ros.viewer.views import TimeSeriesView
    from rerun_ros.viewer.views.timeseries import SERIES_MIME
    win = open_window(qapp, WALKER)
    win.select("/odom")
    pump(qapp, 3)
    insp = win.selection

    def find(it):
        if it.data(0, QtCore.Qt.ItemDataRole.UserRole) == "message.twist.twist.angular.z":
            return it
        for i in range(it.childCount()):
            got = find(it.child(i))
            if got is not None:
                return got
    item = next(x for x in (find(insp.topLevelItem(i)) for i in range(insp.topLevelItemCount())) if x is not None)
    md = insp.mimeData([item])
    assert bytes(md.data(SERIES_MIME)).decode() == "/odom:message.twist.twist.angular.z"
    v = next(v for v in win.views if isinstance(v, TimeSeriesView))
    _show(v)
    pump(qapp, 3)
    pos = QtCore.QPointF(v.width() / 2, v.height() / 2)
    for kind in (QtCore.QEvent.Type.DragEnter, QtCore.QEvent.Type.Drop):
        if kind == QtCore.QEvent.Type.DragEnter:
            ev = QtGui.QDragEnterEvent(pos.toPoint(), QtCore.Qt.DropAction.CopyAction, md,
                                       QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
        else:
            ev = QtGui.QDropEvent(pos, QtCore.Qt.DropAction.CopyAction, md, QtCore.Qt.MouseButton.LeftButton,
                                  QtCore.Qt.KeyboardModifier.NoModifier)
        QtCore.QCoreApplication.sendEvent(v, ev)
        assert ev.isAccepted()
    pump(qapp, 3)
    assert "/odom:message.twist.twist.angular.z" in v.view_spec.series
    assert "/odom:message.twist.twist.angular.z" in v.legend_entries()
    win.close()
