"""The viewer in real windows under Xvfb: pixels are checked against the data."""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from conftest import RERUN_ROS, SENSORS
from rerun_ros.model import archetypes as A
from rerun_ros.model.chunk import Timeline
from rerun_ros.convert import convert
from rerun_ros.stream.recording import BatcherConfig, RecordingStream
from rerun_ros.rrd.reader import read_chunks
from rerun_ros.store.chunk_store import ChunkStore
from rerun_ros.viewer import blueprint as B
from rerun_ros.viewer.series import decimate_minmax
from rerun_ros.viewer.spatial import scene_3d

T = Timeline("ros_time")
S = 10**9


def pump(app, n=10):
    for _ in range(n):
        app.processEvents()
        time.sleep(0.01)


def synthetic_store() -> ChunkStore:
    """A robot frame moving along x, a red point cloud in the sensor frame, a 4-colour image,
    a sine scalar and log lines."""
    store = ChunkStore()
    rec = RecordingStream(batcher=BatcherConfig(max_age=0), sinks=[store])
    rec.log("/tf_static", A.Transform3D(translation=[0, 0, 1], quaternion=[0, 0, 0, 1], parent_frame="base",
                                        child_frame="sensor"), static=True)
    img = np.zeros((48, 64, 3), np.uint8)
    img[:24, :32] = [255, 0, 0]
    img[:24, 32:] = [0, 255, 0]
    img[24:, :32] = [0, 0, 255]
    img[24:, 32:] = [255, 255, 0]
    for i in range(10):
        tp = {T: i * S}
        rec.log("/tf", A.Transform3D(translation=[i, 0, 0], quaternion=[0, 0, 0, 1], parent_frame="map",
                                     child_frame="base"), timepoints=tp)
        rec.log("/cloud", A.Points3D([[0, 0, 0]], colors=[255, 0, 0], radii=0.2), A.CoordinateFrame("sensor"),
                timepoints=tp)
        rec.log("/camera", A.Image.from_array(np.roll(img, i, axis=1) if i else img), timepoints=tp)
        rec.log("/signal", A.Scalars([np.sin(i)]), timepoints=tp)
        rec.log("/log", A.TextLog(f"step {i}", level="WARN" if i % 3 == 0 else "INFO"), timepoints=tp)
    rec.close()
    return store


BP = """
root:
  container: horizontal
  children:
    - {view: spatial3d, name: world, include: ["/cloud", "/tf", "/tf_static"], fixed_frame: map}
    - container: vertical
      children:
        - {view: spatial2d, name: cam, origin: /camera}
        - {view: timeseries, name: signal, include: ["/signal"]}
        - {view: textlog, name: log, include: ["/log"]}
"""


def test_scene_places_cloud_through_the_frame_graph():
    s = synthetic_store()
    g = scene_3d(s, ["/cloud"], "ros_time", 4 * S, "map")
    np.testing.assert_allclose(g.points, [[4, 0, 1]])  # map -> base (x=4) -> sensor (z=1)
    g2 = scene_3d(s, ["/cloud"], "ros_time", 4 * S, "nowhere")
    assert "/cloud" in g2.problems and "'nowhere' is not in TF" in g2.problems["/cloud"]


def test_window_views_match_the_data(qapp):
    from rerun_ros.viewer.window import (Spatial2DView, Spatial3DView, TextLogView, TimeSeriesView, ViewerWindow)
    s = synthetic_store()
    win = ViewerWindow(s, B.load(BP), fixed_frame="map")
    win.resize(1400, 900)
    win.show()
    pump(qapp, 20)
    v3 = next(v for v in win.views if isinstance(v, Spatial3DView))
    v2 = next(v for v in win.views if isinstance(v, Spatial2DView))
    ts = next(v for v in win.views if isinstance(v, TimeSeriesView))
    log = next(v for v in win.views if isinstance(v, TextLogView))
    win.set_time(0)
    pump(qapp)
    # 2D: the four quadrants come out in their colours (y down, unscaled image)
    img = v2.canvas.render()[..., :3]
    h, w = img.shape[:2]
    # find the drawn image area: rows/cols that are not the background
    bg = np.array([16, 16, 20])
    mask = np.abs(img.astype(int) - bg).sum(axis=2) > 30
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    q = lambda fy, fx: img[int(y0 + fy * (y1 - y0)), int(x0 + fx * (x1 - x0))]
    np.testing.assert_array_equal(q(0.25, 0.25), [255, 0, 0])
    np.testing.assert_array_equal(q(0.25, 0.75), [0, 255, 0])
    np.testing.assert_array_equal(q(0.75, 0.25), [0, 0, 255])
    np.testing.assert_array_equal(q(0.75, 0.75), [255, 255, 0])
    assert abs((x1 - x0 + 1) / (y1 - y0 + 1) - 64 / 48) < 0.05  # aspect kept
    # 3D: the red point is where the transforms put it, projected to the canvas
    for t in (2 * S, 7 * S):
        win.set_time(t)
        pump(qapp)
        np.testing.assert_allclose(v3.geometry.points, [[t / S, 0, 1]], atol=1e-6)
        frame = v3.canvas.render()
        px = v3.markers.get_transform("visual", "canvas").map(np.array([[t / S, 0, 1]]))[0]
        x, y = px[0] / px[3], px[1] / px[3]
        ps = v3.canvas.pixel_scale
        patch = frame[int(y * ps) - 3:int(y * ps) + 4, int(x * ps) - 3:int(x * ps) + 4, :3].reshape(-1, 3)
        assert any(p[0] > 200 and p[1] < 80 and p[2] < 80 for p in patch), (t, patch[:5])
    # time series: lines drawn, cursor at the current time; text log filtered by level
    # (no time_range: the whole recording, as PlotJuggler; the cursor line at 7 s)
    assert "/signal[0]" in ts.data and len(ts.data["/signal[0]"][0]) == 10
    assert np.allclose(ts.cursor.pos[:, 0], 7.0)
    assert len(log.rows) == 8
    log.level.setCurrentText("WARN")
    pump(qapp)
    assert [r[3] for r in log.rows] == ["step 0", "step 3", "step 6"]
    log._jump(1, 0)
    assert win.t == 3 * S  # click a row: jump to its time
    # selection panel shows the latest-at values at the cursor
    win.select("/tf")
    win.set_time(5 * S)
    pump(qapp)
    assert "Transform3D:translation" in win.selection.toPlainText() and "[5.0, 0.0, 0.0]" in win.selection.toPlainText()
    # hiding an entity in the tree removes it from the views
    win.hidden.add("/cloud")
    win.refresh()
    assert len(v3.geometry.points) == 0
    win.close()


def test_scrubbing_changes_pixels(qapp):
    from rerun_ros.viewer.window import ViewerWindow
    s = synthetic_store()
    win = ViewerWindow(s, B.load(BP), fixed_frame="map")
    win.resize(1200, 800)
    win.show()
    pump(qapp, 20)
    win.slider.setValue(0)
    pump(qapp)
    a = win.grab().toImage()
    win.slider.setValue(10000)
    pump(qapp)
    b = win.grab().toImage()
    assert win.t == 9 * S
    to_np = lambda im: np.frombuffer(im.constBits().asstring(im.sizeInBytes()), np.uint8).reshape(im.height(), -1)
    da, db = to_np(a), to_np(b)
    assert (da != db).mean() > 0.01 and da.std() > 5
    win.close()


def test_play_and_step(qapp):
    from rerun_ros.viewer.window import ViewerWindow
    s = synthetic_store()
    win = ViewerWindow(s, B.load(BP), fixed_frame="map")
    win.set_time(0)
    win.step(+1)
    assert win.t == 1 * S
    win.step(-1)
    assert win.t == 0
    win.speed.setValue(10.0)
    win.toggle_play()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.6:
        pump(qapp, 1)
    assert win.t >= 3 * S  # 10x speed for ~0.6 s
    win.close()


def test_view_cli_screenshots_a_real_bag(tmp_path, xdisplay):
    rrd = tmp_path / "s.rrd"
    convert(SENSORS, rrd)
    shots = []
    for t in ("0.2", "5.5"):
        out = tmp_path / f"shot_{t}.png"
        p = subprocess.run([RERUN_ROS, "view", rrd, "--time", t, "--screenshot", out, "--size", "1000x700",
                            "--fixed-frame", "base_link"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        shots.append(out)
    from PIL import Image
    a, b = (np.asarray(Image.open(s).convert("RGB")) for s in shots)
    assert a.shape == (700, 1000, 3) and a.std() > 10
    assert (a != b).any(axis=2).mean() > 0.01  # different times draw different things
    # an .mcap opens directly too, and a blueprint can be saved from the window
    bpf = tmp_path / "bp.yaml"
    p = subprocess.run([RERUN_ROS, "view", SENSORS, "--screenshot", tmp_path / "m.png", "--save-blueprint", bpf],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert [v.kind for v in B.load(bpf).views()][0] == "spatial3d"
    p = subprocess.run([RERUN_ROS, "view", tmp_path / "missing.rrd"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no such file" in p.stderr and "Traceback" not in p.stderr


def test_blueprint_validation_and_globs(tmp_path):
    with pytest.raises(B.BlueprintError, match="container must be one of"):
        B.load("root: {container: diagonal, children: []}")
    with pytest.raises(B.BlueprintError, match="unknown key"):
        B.load("root: {view: spatial3d, colour: red}")
    with pytest.raises(FileNotFoundError):
        B.load(str(tmp_path / "nope.yaml"))
    v = B.View("spatial3d", include=["/robot/**"], exclude=["/robot/*/debug"])
    assert v.matches("/robot/arm/link") and not v.matches("/robot/arm/debug") and not v.matches("/other")
    bp = B.default_blueprint(synthetic_store(), "map")
    kinds = sorted(v.kind for v in bp.views())
    assert kinds == ["spatial2d", "spatial3d", "textlog", "timeseries"]
    assert B.load(B.dump(bp)).to_dict() == bp.to_dict()


def test_minmax_decimation_keeps_the_envelope():
    x = np.linspace(0, 10, 1_000_000)
    y = np.sin(x * 50) + (x > 5) * 3
    xs, ys = decimate_minmax(x, y, 0, 10, 500)
    assert len(xs) <= 4 * 500 and ys.max() == y.max() and ys.min() == y.min()
    assert np.all(np.diff(xs) >= 0)


def test_minmax_pyramid_keeps_the_envelope_of_any_range():
    from rerun_ros.viewer.series import MinMaxPyramid
    rng = np.random.default_rng(3)
    x = np.arange(1_000_003) * 1e-3
    y = np.cumsum(rng.standard_normal(len(x)))
    y[1000:1500] = np.nan  # a gap
    p = MinMaxPyramid(x, y)
    for x0, x1 in ((0.0, 1000.0), (123.4, 567.8), (10.0, 10.5), (999.0, 1000.1)):
        xs, ys = p.query(x0, x1, 400)
        assert len(xs) <= 4 * 400 + 8 and np.all(np.diff(xs) >= 0)
        inside = (x >= x0) & (x <= x1)
        ok = np.isfinite(ys)
        # the drawn envelope covers the true one, and goes beyond it by at most one block each side
        assert np.nanmax(ys) >= np.nanmax(y[inside]) and np.nanmin(ys) <= np.nanmin(y[inside])
        lo, hi = xs[ok].min(), xs[ok].max()
        span = (x >= lo) & (x <= hi + (xs[1] - xs[0] if len(xs) > 1 else 0) * 4)
        assert np.nanmax(ys) <= np.nanmax(y[span | inside]) + 1e-12


def test_live_stream_appears_within_a_second(qapp):
    from rerun_ros.stream.tcp import StreamClient, StreamServer
    from rerun_ros.viewer.window import ViewerWindow
    server = StreamServer("127.0.0.1:0")
    rec = RecordingStream(batcher=BatcherConfig(max_age=0.01), sinks=[server])
    store = ChunkStore()
    client = StreamClient(server.address, store.add_chunk, reconnect_delay=0.05)
    assert client.connected.wait(5)
    win = ViewerWindow(store, B.load(BP), fixed_frame="map")
    win.live.setChecked(True)
    win.show()
    pump(qapp)
    t0 = time.monotonic()
    rec.log("/signal", A.Scalars([42.0]), timepoints={T: 123 * S})
    while time.monotonic() - t0 < 1.0 and win.t != 123 * S:
        pump(qapp, 1)
    elapsed = time.monotonic() - t0
    assert win.t == 123 * S and elapsed < 1.0  # follow-live moved the cursor to the new data
    assert "/signal" in win.tree.items and win.tree.items["/signal"].text(2) == "1"
    client.close()
    rec.close()
    win.close()


def test_lazy_store_answers_like_the_full_store(tmp_path):
    from conftest import FIELD, nan_safe
    from rerun_ros.viewer.lazy import LazyRrdStore, open_store
    out = tmp_path / "f.rrd"
    convert(FIELD, out)
    full = ChunkStore.from_chunks(read_chunks(out)[0])
    lazy = LazyRrdStore(out, cache_bytes=64 << 10)  # a tiny cache: chunks get evicted and reloaded
    assert lazy.entities() == full.entities()
    assert lazy.time_range("ros_time") == full.time_range("ros_time")
    lo, hi = full.time_range("ros_time")
    for ent in full.entities():
        assert set(lazy.columns(ent)) == set(full.columns(ent)), ent
        for t in np.linspace(lo - 10**9, hi + 10**9, 7).astype(np.int64):
            a, b = lazy.latest_at(ent, "ros_time", int(t)), full.latest_at(ent, "ros_time", int(t))
            assert a.keys() == b.keys(), (ent, t)
            for k in a:
                assert a[k].time == b[k].time and nan_safe(a[k].values.to_pylist()) == nan_safe(b[k].values.to_pylist()), (ent, k)
    for col in ("Scalars:scalars", "Transform3D:translation"):
        ent = next(e for e in full.entities() if col in full.columns(e))
        mid = (lo + hi) // 2
        ra, rb = lazy.range(ent, "ros_time", mid, hi, col), full.range(ent, "ros_time", mid, hi, col)
        assert ra.times.tolist() == rb.times.tolist() and ra.values.to_pylist() == rb.values.to_pylist()
    assert lazy.cached_bytes <= 64 << 10 or len(lazy._cache) == 1
    with pytest.raises(TypeError):
        lazy.add_chunk(None)
    assert not isinstance(open_store(out), LazyRrdStore)  # small files load fully


def test_frustums_shapes_meshes_overlays_and_marks(qapp, tmp_path):
    from rerun_ros.viewer.images import overlays_2d
    from rerun_ros.viewer.window import Spatial2DView, Spatial3DView, ViewerWindow
    store = ChunkStore()
    rec = RecordingStream(batcher=BatcherConfig(max_age=0), sinks=[store])
    tp = {T: 0}
    rec.log("/cam", A.Pinhole([[100, 0, 50], [0, 100, 40], [0, 0, 1]], resolution=[100, 80]), timepoints=tp)
    rec.log("/ball", A.Ellipsoids3D([[1, 2, 3]], centers=[[10, 0, 0]]), timepoints=tp)
    rec.log("/can", A.Cylinders3D([2.0], [0.5]), timepoints=tp)
    rec.log("/tri", A.Mesh3D([[0, 0, 0], [1, 0, 0], [0, 1, 0]], triangle_indices=[[0, 1, 2]], albedo_factor=[0, 255, 0]),
            timepoints=tp)
    rec.log("/big", A.Points3D([[0, 0, 5]], radii=0.5, colors=[255, 0, 255]), timepoints=tp)
    img = np.zeros((20, 30, 3), np.uint8)
    rec.log("/image", A.Image.from_array(img), timepoints=tp)
    rec.log("/image/keypoints", A.Points2D([[3, 4], [20, 10]], colors=[255, 255, 0]), timepoints=tp)
    rec.log("/image", A.Image.from_array(img), timepoints={T: 5 * S})
    rec.close()
    g = scene_3d(store, store.entities(), "ros_time", 0, None)
    # frustum: origin to the 4 corners at 0.5 m: corner (0,0) -> ((0-50)/100*.5, (0-40)/100*.5, .5)
    assert np.isclose(g.lines.reshape(-1, 3), [-0.25, -0.2, 0.5], atol=1e-6).all(axis=1).any()
    ball = g.lines.reshape(-1, 3)
    assert np.isclose(ball[:, 0].max(), 11.0) and np.isclose(np.abs(ball[:, 2]).max(), 3.0)  # ellipsoid extents
    assert g.mesh_faces.tolist() == [[0, 1, 2]] and g.mesh_colors[0].tolist() == [0, 255, 0, 255]
    assert g.point_radii.tolist() == [0.5]
    pos, col = overlays_2d(store, ["/image", "/image/keypoints"], "ros_time", 0)
    assert pos.tolist() == [[3, 4], [20, 10]] and col[0].tolist() == [255, 255, 0, 255]
    bp = B.load("root: {container: horizontal, children: [{view: spatial3d, name: w}, "
                "{view: spatial2d, name: i, origin: /image}]}")
    win = ViewerWindow(store, bp)
    win.resize(1000, 600)
    win.show()
    pump(qapp, 20)
    win.set_time(0)
    pump(qapp)
    v3 = next(v for v in win.views if isinstance(v, Spatial3DView))
    v2 = next(v for v in win.views if isinstance(v, Spatial2DView))
    assert v3.world_markers.visible and v3.mesh.visible and v2.overlay.visible
    frame = v2.canvas.render()[..., :3]
    assert ((frame[..., 0] > 200) & (frame[..., 1] > 200) & (frame[..., 2] < 60)).any()  # yellow keypoints drawn
    win.marks.recompute()
    assert sorted({int(c) for _, cols in win.marks.rows for c in cols}) == [0, win.marks.width() - 1]  # t=0 and t=5 s
    win.reset_views()
    out = tmp_path / "saved.yaml"
    win.save_blueprint(out)
    assert [v.kind for v in B.load(out).views()] == ["spatial3d", "spatial2d"]
    win.close()


def test_official_sdk_recording_opens_in_the_viewer(tmp_path, xdisplay):
    import sys
    p = tmp_path / "sdk.rrd"
    subprocess.run([sys.executable, "-c", f"""
import rerun as rr, numpy as np
rr.init("sdk", recording_id="r")
rr.save({str(p)!r})
for i in range(5):
    rr.set_time("ros_time", timestamp=1.0 + i)
    rr.log("/pts", rr.Points3D(np.random.default_rng(i).normal(size=(200, 3)), colors=[[0, 255, 0]]))
    rr.log("/img", rr.Image(np.full((40, 60, 3), 50 * i, np.uint8)))
"""], check=True, timeout=120)
    out = tmp_path / "sdk.png"
    r = subprocess.run([RERUN_ROS, "view", p, "--screenshot", out, "--size", "900x600"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    from PIL import Image
    img = np.asarray(Image.open(out).convert("RGB"))
    assert ((img[..., 1] > 200) & (img[..., 0] < 80)).any()  # the green points are drawn


def test_unlocked_markers_stay_where_they_were_drawn():
    import pyarrow as pa
    store = ChunkStore()
    rec = RecordingStream(batcher=BatcherConfig(max_age=0), sinks=[store])
    for i in range(6):
        rec.log("/tf", A.Transform3D(translation=[i, 0, 0], quaternion=[0, 0, 0, 1], parent_frame="map",
                                     child_frame="base"), timepoints={T: i * S})
    for name, locked in (("/m/locked", True), ("/m/unlocked", False)):
        rec.log(name, A.Points3D([[0, 0, 1]]), A.CoordinateFrame("base"),
                A.AnyValues("Marker", frame_locked=pa.array([locked])), timepoints={T: 1 * S})
    rec.close()
    at5 = {e: scene_3d(store, [e], "ros_time", 5 * S, "map").points.tolist() for e in ("/m/locked", "/m/unlocked")}
    assert at5["/m/locked"] == [[5, 0, 1]]    # follows base to x=5
    assert at5["/m/unlocked"] == [[1, 0, 1]]  # stays where base was at its stamp (t=1)
