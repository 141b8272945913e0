"""Rerun 0.41's archetypes made from its definitions (rerun_ros/model/archetype_table.py, generated
by .ci/gen_archetype_table.py from the official SDK, whose classes Rerun generates from the
release's .fbs files). The table is checked against the installed official SDK; programs in the
style of Rerun's documented examples, one per family, run through both SDKs and store the same
entities, components, Arrow types and values."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_sdk_parity import _both, _program

ROOT = Path(__file__).resolve().parents[1]


def _rows(components: dict) -> dict:
    """entity → column → (type, the rows that set it): a row whose cell is null sets nothing
    (our batcher may join rows of other components into one chunk; Rerun's splits them)."""
    return {e: {c: (t, [v for v in vals if v is not None]) for c, (t, vals) in cols.items()}
            for e, cols in components.items()}


def test_the_table_is_what_the_installed_official_sdk_defines():
    p = subprocess.run([sys.executable, str(ROOT / ".ci" / "gen_archetype_table.py"), "--check"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_every_hand_written_archetype_uses_the_tables_components():
    from rerun_ros.model import archetypes as A
    from rerun_ros.model.archetype_table import ARCHETYPES

    for name in A.__all__:
        cls = getattr(A, name)
        if not (isinstance(cls, type) and issubclass(cls, A.Archetype)) or cls is A.Archetype or name == "AnyValues":
            continue
        table = {f: ct for f, ct, _ in ARCHETYPES[cls.NAME]}
        for field, ctype in cls.FIELDS.items():
            assert table.get(field) == ctype, f"{cls.NAME}:{field}: ours {ctype}, Rerun 0.41 {table.get(field)}"


PRIMITIVES_2D = _program("prims2d", '''
    rr.set_time("frame", sequence=0)
    rr.log("image/boxes", rr.Boxes2D(half_sizes=[[20, 10], [5, 5]], centers=[[40, 30], [80, 60]],
                                     colors=[[255, 0, 0], [0, 255, 0]], labels=["car", "cone"], draw_order=2.0))
    rr.log("image/strips", rr.LineStrips2D([[[0, 0], [10, 20], [30, 5]], [[50, 50], [60, 70]]], radii=0.5,
                                           colors=[0, 0, 255]))
    rr.log("image/arrows", rr.Arrows2D(vectors=[[10, 0], [0, 10]], origins=[[5, 5], [5, 5]], colors=[[255, 255, 0]]))
    rr.log("image/ellipses", rr.Ellipses2D(half_sizes=[[8, 4]], centers=[[20, 20]], colors=[255, 0, 255]))
    rr.log("image/points", rr.Points2D([[1, 2], [3, 4]], class_ids=[1, 2], radii=[1.5, 2.5]))
    rr.log("image/boxes_mins", rr.Boxes2D(mins=[[10, 10], [0, 5]], sizes=[[20, 4], [6, 6]]))
    rr.log("image/boxes_xyxy", rr.Boxes2D(array=[[10, 10, 30, 14]], array_format=rr.Box2DFormat.XYXY))
    rr.log("image/boxes_yxhw", rr.Boxes2D(array=[[10, 20, 4, 8]], array_format=rr.Box2DFormat.YXHW))
    rr.log("image/boxes_c", rr.Boxes2D(array=[[20, 12, 3, 2]], array_format=rr.Box2DFormat.XCYCW2H2))
''')

SHAPES_3D = _program("shapes3d", '''
    rr.set_time("frame", sequence=0)
    rr.log("world/capsules", rr.Capsules3D(lengths=[1.0, 2.0], radii=[0.2, 0.3], translations=[[0, 0, 0], [1, 0, 0]],
                                           colors=[[0, 128, 255], [255, 128, 0]], labels=["a", "b"]))
    rr.log("world/poses", rr.InstancePoses3D(translations=[[0, 0, 0], [2, 0, 0]], scales=[[1, 1, 1], [2, 2, 2]]))
    rr.log("world/axes", rr.TransformAxes3D(0.5, show_frame=True))
''')

CHARTS_GRAPHS_GEO = _program("charts", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("chart", rr.BarChart([8, 4, 0, 9, 1, 4, 1, 6, 9, 0], color=[200, 100, 0]))
    rr.log("tensor", rr.Tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4), dim_names=["batch", "row", "col"]))
    rr.log("tensor_u8", rr.Tensor(np.arange(6, dtype=np.uint8).reshape(2, 3)))
    rr.log("graph", rr.GraphNodes(node_ids=["a", "b", "c"], labels=["A", "B", "C"], positions=[[0, 0], [1, 1], [2, 0]]))
    rr.log("graph", rr.GraphEdges(edges=[("a", "b"), ("b", "c")], graph_type="directed"))
    rr.log("geo/route", rr.GeoLineStrings(lat_lon=[[[47.6344, 19.1397], [47.6334, 19.1399]]], radii=2.0,
                                          colors=[[0, 0, 255]]))
    rr.log("plot", rr.SeriesPoints(colors=[255, 0, 0], markers="cross", marker_sizes=4.0, names="pos"), static=True)
''')


MAPS_STATES_SPLATS = _program("maps", '''
    rr.set_time("frame", sequence=0)
    rr.log("voxels", rr.VoxelGridMap(voxel_indices=[[0, 0, 0], [1, 2, 3]], voxel_size=[0.1, 0.1, 0.1], values=[0.5, 1.0],
                                     colors=[[255, 0, 0], [0, 255, 0]]))
    rr.log("meas", rr.Measurements([1.0, 2.5], variances=[0.1, 0.2], units=["m", "m"], names=["x", "y"]))
    rr.log("state", rr.StateChange(state="driving"))
    rr.log("states", rr.StateConfiguration(values=["idle", "driving"], labels=["Idle", "Driving"],
                                           colors=[[128, 128, 128], [0, 200, 0]]))
    rr.log("splats", rr.GaussianSplats3D([[0, 0, 0], [1, 0, 0]], scales=[[0.1, 0.1, 0.1], [0.2, 0.2, 0.2]],
                                         colors=[[255, 0, 0], [0, 0, 255]]))
    import numpy as np
    grid = np.full((4, 6), -1, np.int8)
    grid[1:3, 1:5] = 0
    rr.log("map", rr.GridMap(data=grid.tobytes(), format=rr.components.ImageFormat(width=6, height=4, color_model="L",
                                                                                  channel_datatype="U8"),
                             cell_size=0.05, translation=[-0.15, -0.1, 0.0], colormap=rr.components.Colormap.RvizMap))
''')


MEDIA_AND_RECORDS = _program("media", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("mcap/channel", rr.McapChannel(id=3, topic="/imu", message_encoding="cdr"))
    rr.log("mcap/schema", rr.McapSchema(id=1, name="sensor_msgs/msg/Imu", encoding="ros2msg", data=b"float64 x"))
    rr.log("mcap/message", rr.McapMessage(b"\\x00\\x01\\x00\\x00abcd"))
    rr.log("vol", rr.Volume3D(np.arange(8, dtype=np.float32).reshape(2, 2, 2), voxel_size=[0.1, 0.1, 0.1]))
    rr.log("stream", rr.VideoStream(codec="h264", sample=b"\\x00\\x00\\x00\\x01\\x67", is_keyframe=True))
    rr.log("depthenc", rr.EncodedDepthImage(b"\\x89PNG....", media_type="image/png", meter=1000.0))
    rr.log("audio", rr.AssetAudio(contents=b"RIFF....WAVE", media_type="audio/wav"))
    rr.log("frame_ref", rr.VideoFrameReference(nanoseconds=1_000_000, video_reference="video"))
    rr.log("frame_ref2", rr.VideoFrameReference(seconds=2.5, video_reference="video"))
    rr.log("cyl", rr.Cylinders3D(lengths=[1.0], radii=[0.2], centers=[[0, 0, 1]], colors=[[10, 20, 30]]))
    rr.log("mesh", rr.Mesh3D(vertex_positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], triangle_indices=[[0, 1, 2]],
                             albedo_factor=[255, 0, 0]))
    rr.log("clear", rr.Clear(recursive=True))
    rr.log("log", rr.TextLog("hi", level="INFO"))
''')


COMMON = _program("common", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("pts", rr.Points3D([[0, 0, 0], [1, 2, 3]], colors=[[255, 0, 0], [0, 255, 0]], radii=[0.1, 0.2], labels=["a", "b"]))
    rr.log("strips", rr.LineStrips3D([[[0, 0, 0], [1, 1, 1]], [[2, 2, 2], [3, 3, 3], [4, 4, 4]]], colors=[0, 0, 255]))
    rr.log("arrows", rr.Arrows3D(vectors=[[1, 0, 0]], origins=[[0, 0, 0]], colors=[[255, 255, 0]]))
    rr.log("boxes", rr.Boxes3D(half_sizes=[[1, 2, 3]], centers=[[0, 0, 1]], colors=[[0, 255, 255]], labels=["box"]))
    rr.log("img", rr.Image(np.arange(24, dtype=np.uint8).reshape(2, 4, 3)))
    rr.log("enc", rr.EncodedImage(contents=b"\\x89PNG\\r\\n\\x1a\\nabc", media_type="image/png"))
    rr.log("scalar", rr.Scalars([1.5, 2.5]))
    rr.log("doc", rr.TextDocument("hello", media_type="text/markdown"))
    rr.log("geo", rr.GeoPoints(lat_lon=[[47.6, 19.1]], radii=rr.Radius.ui_points(5.0), colors=[[255, 0, 0]]))
    rr.log("asset", rr.Asset3D(contents=b"solid x\\nendsolid x\\n", media_type="model/stl"))
    rr.log("video", rr.AssetVideo(contents=b"\\x00\\x00\\x00\\x18ftypmp42", media_type="video/mp4"))
    rr.log("stats", rr.McapStatistics(message_count=10, schema_count=1, channel_count=1, attachment_count=0,
                                      metadata_count=0, chunk_count=1, message_start_time=0, message_end_time=100))
''')


@pytest.mark.parametrize("program", [PRIMITIVES_2D, SHAPES_3D, CHARTS_GRAPHS_GEO, MAPS_STATES_SPLATS, MEDIA_AND_RECORDS,
                                     COMMON], ids=["2d", "3d", "charts", "maps", "media", "common"])
def test_archetypes_made_from_the_table_store_what_rerun_stores(tmp_path, program):
    theirs, ours = _both(tmp_path, program)
    assert _rows(ours) == _rows(theirs)
    assert theirs and all(cols for cols in theirs.values())


def test_arguments_rerun_refuses_are_refused_and_values_it_cannot_store_warn():
    """Wrong arguments raise (as Python does for the official constructors); values that do not
    convert warn and log the field empty (the official SDK outside strict mode), raise in strict
    mode."""
    import rerun_ros.sdk as rr
    with pytest.raises(TypeError, match="vectors"):
        rr.Arrows2D(origins=[[0, 0]])  # vectors is required
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        rr.Boxes2D(half_sizes=[[1, 1]], colour=[255, 0, 0])
    with pytest.warns(rr.RerunWarning, match="GraphType"):
        e = rr.GraphEdges(edges=[("a", "b")], graph_type="sideways")
    assert len(e["graph_type"]) == 0 and len(e["edges"]) == 1
    with pytest.warns(rr.RerunWarning, match="shape"):
        rr.Boxes2D(half_sizes=[[1, 2, 3]])
    rr.set_strict_mode(True)
    try:
        with pytest.raises(ValueError, match="shape"):
            rr.Boxes2D(half_sizes=[[1, 2, 3]])
    finally:
        rr.set_strict_mode(False)


PARTIAL_UPDATES_AND_CLASSES = _program("partial", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("pts", rr.Points3D([[0, 0, 0], [1, 1, 1]], radii=rr.Radius.ui_points(3.0), colors=[255, 0, 0]))
    rr.set_time("frame", sequence=1)
    rr.log("pts", rr.Points3D.from_fields(radii=[0.5]))
    rr.set_time("frame", sequence=2)
    rr.log("pts", rr.Points3D.from_fields(clear_unset=True, colors=[0, 255, 0]))
    rr.set_time("frame", sequence=3)
    rr.log("pts", rr.Points3D.cleared())
    rr.log("boxes", rr.Boxes2D.from_fields(half_sizes=[[1, 2]]))
    rr.log("ann", rr.AnnotationContext([(1, "car", [255, 0, 0]),
                                        rr.AnnotationInfo(id=2, label="person", color=[0, 0, 255]),
                                        rr.ClassDescription(info=rr.AnnotationInfo(id=3, label="arm"),
                                                            keypoint_annotations=[rr.AnnotationInfo(id=0, label="wrist")],
                                                            keypoint_connections=[(0, 1)])]), static=True)
    rr.log("seg", rr.SegmentationImage(np.array([[1, 2], [2, 3]], np.uint8), opacity=0.5, draw_order=1.0))
    rr.log("logs", rr.TextLog("hello", level=rr.TextLogLevel.WARN))
    rr.log("caps", rr.Capsules3D(lengths=[1.0], radii=[0.1],
                                 rotation_axis_angles=[rr.RotationAxisAngle(axis=[0, 1, 0], angle=rr.Angle(deg=45))]))
    rr.log("edges", rr.GraphEdges(edges=[("a", "b")], graph_type=rr.components.GraphType.Undirected))
''')


def _by_time(path) -> dict:
    """(entity, column, frame or None) → (type, value): rows placed by their time, whatever the
    chunking."""
    from rerun_ros.rrd.reader import read_chunks
    chunks, _ = read_chunks(path)
    out = {}
    for c in chunks:
        if c.entity_path.startswith("/__"):
            continue
        frames = c.timelines["frame"][1].tolist() if "frame" in c.timelines else [None] * len(c)
        for d, col in c.components.items():
            for t, v in zip(frames, col.to_pylist()):
                if v is not None:
                    out[(c.entity_path, d.column, t)] = (str(col.type), v)
    return out


def test_partial_updates_clears_annotations_angles_and_ui_radii_store_what_rerun_stores(tmp_path):
    from test_sdk_parity import _run
    for which in ("official", "ours"):
        _run(which, tmp_path / f"{which}.rrd", PARTIAL_UPDATES_AND_CLASSES)
    theirs, ours = _by_time(tmp_path / "official.rrd"), _by_time(tmp_path / "ours.rrd")
    assert ours == theirs
    assert theirs[("/pts", "Points3D:radii", 0)][1] == [-3.0]        # UI points: negative radii
    assert theirs[("/pts", "Points3D:positions", 3)][1] == []        # cleared
    assert theirs[("/pts", "Points3D:keypoint_ids", 2)][1] == []     # clear_unset: every field of 0.41's Points3D


DRAWN_2D = _program("drawn2d", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("image", rr.Image(np.full((120, 160, 3), 30, np.uint8)))
    rr.log("image/boxes", rr.Boxes2D(half_sizes=[[20, 10]], centers=[[40, 30]], colors=[[255, 0, 0]]))
    rr.log("image/strips", rr.LineStrips2D([[[100, 10], [150, 10], [150, 60]]], colors=[0, 255, 0]))
    rr.log("image/arrows", rr.Arrows2D(vectors=[[0, 40]], origins=[[20, 70]], colors=[[0, 0, 255]]))
    rr.log("image/ellipses", rr.Ellipses2D(half_sizes=[[15, 10]], centers=[[110, 90]], colors=[255, 255, 0]))
    rr.log("seg", rr.AnnotationContext([(1, "road", [255, 0, 255]), (2, "car", [0, 255, 255])]), static=True)
    ids = np.zeros((40, 60), np.uint8)
    ids[:, 30:] = 2
    ids[:20, :30] = 1
    rr.log("seg", rr.SegmentationImage(ids))
''')


def test_2d_primitives_and_annotated_segmentation_are_drawn(qapp, tmp_path):
    """A program's image with boxes, a line strip, an arrow and an ellipse over it, and a
    segmentation image coloured by its annotation context: each drawn where and in the colour
    the program logged (pixels of the rendered views)."""
    import numpy as np
    from test_sdk_parity import _run
    from test_viewer_robot import open_window, pump
    from rerun_ros.viewer.views.spatial2d import Spatial2DView

    out = tmp_path / "ours.rrd"
    _run("ours", out, DRAWN_2D)
    win = open_window(qapp, out)
    views = {v.view_spec.origin: v for v in win.views if isinstance(v, Spatial2DView)}
    v = views["/image"]
    v.update_at("frame", 0)
    pump(qapp, 5)
    img = v.canvas.render()[..., :3].astype(int)
    tr = v.viewbox.scene.node_transform(v.canvas.scene)

    def px(x, y):
        q = tr.map([x + 0.5, y + 0.5, 0, 1])
        return int(round(q[0] / q[3])), int(round(q[1] / q[3]))

    def near(x, y, rgb, r=3):
        cx, cy = px(x, y)
        patch = img[max(cy - r, 0):cy + r + 1, max(cx - r, 0):cx + r + 1].reshape(-1, 3)
        return (np.abs(patch - np.array(rgb)).max(axis=1) < 60).any()

    assert near(20, 30, (255, 0, 0)) and near(40, 20, (255, 0, 0))        # the box's left and top edges
    assert not near(40, 30, (255, 0, 0))                                   # not filled
    assert near(125, 10, (0, 255, 0)) and near(150, 35, (0, 255, 0))      # the strip's two segments
    assert near(20, 90, (0, 0, 255))                                       # the arrow's shaft
    assert near(125, 90, (255, 255, 0)) and near(110, 80, (255, 255, 0))  # the ellipse's outline
    s = views["/seg"]
    s.update_at("frame", 0)
    pump(qapp, 5)
    assert (s.rgba[5, 5, :3] == [255, 0, 255]).all()    # class 1: the context's colour
    assert (s.rgba[30, 45, :3] == [0, 255, 255]).all()  # class 2
    assert (s.rgba[30, 5, :3] == [0, 0, 0]).all()       # class 0: background
    win.close()


def test_geo_line_strings_are_drawn_on_the_map_with_the_fixes(qapp, tmp_path):
    """A planned route (GeoLineStrings) beside the field run's GPS fixes: the map view draws the
    route's vertices where WGS-84 puts them, in the route's colour."""
    import numpy as np
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from test_sdk_parity import _run
    from test_viewer_robot import open_window, pump
    from conftest import FIELD
    from rerun_ros.viewer import geo as G
    from rerun_ros.viewer.views import MapView

    with open(FIELD, "rb") as fh:
        fixes = [(m.latitude, m.longitude) for _s, _c, _m, m in make_reader(fh, decoder_factories=[DecoderFactory()])
                 .iter_decoded_messages(topics=["/coug2/fix"]) if np.isfinite(m.latitude)]
    lat, lon = fixes[0]
    route = [[lat, lon], [lat + 0.0003, lon], [lat + 0.0003, lon + 0.0004]]  # ~33 m north, then ~30 m east
    program = _program("route", f'''
        rr.set_time("frame", sequence=0)
        rr.log("mission/route", rr.GeoLineStrings(lat_lon=[{route!r}], radii=2.0, colors=[[255, 0, 255]]))
        rr.log("mission/fixes", rr.GeoPoints(lat_lon={fixes!r}))
    ''')
    out = tmp_path / "ours.rrd"
    _run("ours", out, program)
    win = open_window(qapp, out)
    v = next(v for v in win.views if isinstance(v, MapView))
    v.update_at("frame", 0)
    pump(qapp, 5)
    assert [r.entity for r in v.routes] == ["/mission/route"]
    np.testing.assert_allclose(v.routes[0].strings[0], route)
    img = v.canvas.render()[..., :3].astype(int)
    tr = v.viewbox.scene.node_transform(v.canvas.scene)
    en = G.to_local(np.array(route), v.reference)
    mid = (en[1] + en[2]) / 2
    for e, n in [*en, mid]:
        q = tr.map([e, n, 0, 1])
        x, y = int(round(q[0] / q[3])), int(round(q[1] / q[3]))
        patch = img[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4].reshape(-1, 3)
        assert (np.abs(patch - [255, 0, 255]).max(axis=1) < 60).any(), (e, n)
    win.close()


def _drawn_3d(qapp, tmp_path, program):
    """Our SDK runs ``program``; the recording opens in the viewer; returns (window, its 3D view,
    ``near(p, rgb, r)``: a pixel within ``r`` of where the fixed-frame point ``p`` is drawn has
    about that colour, ``at(p)``: the pixel there)."""
    import numpy as np
    from test_sdk_parity import _run
    from test_viewer_robot import open_window, pump
    from rerun_ros.viewer.views.spatial3d import Spatial3DView

    out = tmp_path / "ours.rrd"
    _run("ours", out, program)
    win = open_window(qapp, out)
    v = next(v for v in win.views if isinstance(v, Spatial3DView))
    v.update_at("frame", 0)
    pump(qapp, 5)
    img = v.canvas.render()[..., :3].astype(int)

    def at(p):
        x, y = (int(round(c)) for c in v.pixel_of(p))
        return img[y, x]

    def near(p, rgb, r=2):
        x, y = (int(round(c)) for c in v.pixel_of(p))
        patch = img[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1].reshape(-1, 3)
        return (np.abs(patch - np.array(rgb)).max(axis=1) < 70).any()

    return win, v, near, at


DRAWN_3D = _program("drawn3d", '''
    rr.set_time("frame", sequence=0)
    rr.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    rr.log("world/capsule", rr.Capsules3D(lengths=[2.0], radii=[0.25], translations=[[0, 0, 0]],
                                          rotation_axis_angles=[rr.RotationAxisAngle(axis=[0, 1, 0], angle=rr.Angle(deg=90))],
                                          colors=[[255, 0, 255]]))
    rr.log("world/frame", rr.Transform3D(translation=[0, 2, 0]))
    rr.log("world/frame", rr.TransformAxes3D(1.0))
''')


def test_capsules_and_transform_axes_are_drawn_in_3d(qapp, tmp_path):
    """A capsule turned onto +x (90 deg about y) from the origin, 2 m long, and a frame's axes of
    1 m at (0, 2, 0): the capsule's colour along x from 0 to 2 m (not along z), the frame's red x
    axis from (0, 2, 0) to (1, 2, 0)."""
    win, v, near, at = _drawn_3d(qapp, tmp_path, DRAWN_3D)
    magenta = (255, 0, 255)
    assert near([1.0, 0.25, 0.0], magenta) and near([1.0, -0.25, 0.0], magenta)  # its sides along x
    assert near([2.25, 0.0, 0.0], magenta)                                       # the end's hemisphere
    assert not near([0.0, 0.0, 1.5], magenta)                                    # not along z
    assert near([0.5, 2.0, 0.0], (255, 60, 60))                                  # the x axis of the frame
    assert near([0.0, 2.0, 0.5], (70, 110, 255))                                 # its z axis
    win.close()


CHART_TENSOR_DOC = _program("chart", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("histogram", rr.BarChart([8, 4, 0, 9, 1], color=[255, 128, 0]))
    rr.log("weights", rr.Tensor(np.arange(12, dtype=np.float32).reshape(3, 4), dim_names=["row", "col"]))
    rr.log("notes", rr.TextDocument("# Run 12\\n\\nThe **left** wheel slipped.", media_type=rr.MediaType.MARKDOWN))
''')


def test_bar_charts_tensors_and_text_documents_are_shown(qapp, tmp_path):
    """A program's BarChart drawn as bars of its values in its colour, its Tensor shown as an
    image (values scaled over their range), its Markdown TextDocument rendered."""
    import numpy as np
    from test_sdk_parity import _run
    from test_viewer_robot import open_window, pump
    from rerun_ros.viewer.views import BarChartView, Spatial2DView, TextDocumentView

    out = tmp_path / "ours.rrd"
    _run("ours", out, CHART_TENSOR_DOC)
    win = open_window(qapp, out)
    for v in win.views:
        v.update_at("frame", 0)
    pump(qapp, 5)
    from test_viewer_real import _show
    chart = next(v for v in win.views if isinstance(v, BarChartView))
    _show(chart)
    pump(qapp, 5)
    chart.update_at("frame", 0)
    pump(qapp, 5)
    x, y = chart.drawn["/histogram"]
    assert x.tolist() == [0, 1, 2, 3, 4] and y.tolist() == [8, 4, 0, 9, 1]
    img = chart.canvas.render()[..., :3].astype(int)
    tr = chart.viewbox.scene.node_transform(chart.canvas.scene)

    def at(px, py):
        q = tr.map([px, py, 0, 1])
        return img[int(round(q[1] / q[3])), int(round(q[0] / q[3]))]

    assert np.abs(at(3, 4.5) - [255, 128, 0]).max() < 40      # inside the tallest bar
    assert np.abs(at(2, 4.5) - [255, 128, 0]).max() > 100     # above the empty one
    t = next(v for v in win.views if isinstance(v, Spatial2DView))
    assert t.rgba.shape == (3, 4, 4)
    assert t.rgba[0, 0, 0] == 0 and t.rgba[2, 3, 0] == 255 and t.rgba[1, 1, 0] == round(5 / 11 * 255)
    doc = next(v for v in win.views if isinstance(v, TextDocumentView))
    assert doc.media_type == "text/markdown"
    assert "Run 12" in doc.browser.toPlainText() and "**" not in doc.browser.toPlainText()  # rendered
    win.close()


DRAWN_VOXELS = _program("voxels", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    rr.log("world/map", rr.VoxelGridMap(np.array([[0, 0, 0], [2, 0, 0]], np.int32), voxel_size=[0.5, 0.5, 0.5],
                                        colors=[[255, 0, 0], [0, 255, 0]], translation=[1.0, 0.0, 0.0]))
    rr.log("world/heat", rr.VoxelGridMap(np.array([[0, 4, 0], [1, 4, 0]], np.int32), voxel_size=[0.5, 0.5, 0.5],
                                         values=[0.0, 1.0]))
''')


def test_voxel_grid_maps_are_drawn_where_rerun_puts_them(qapp, tmp_path):
    """Voxel (i, j, k) spans [index, index + 1) * voxel_size from the grid's translation: the red
    voxel's edges on x in [1, 1.5], the green one's in [2, 2.5], nothing between; voxels with values
    take the Turbo colormap over their range (the lowest dark blue-purple, the highest dark red)."""
    win, v, near, at = _drawn_3d(qapp, tmp_path, DRAWN_VOXELS)
    assert near([1.25, 0.0, 0.0], (255, 0, 0)) and near([1.5, 0.25, 0.5], (255, 0, 0))
    assert near([2.25, 0.0, 0.0], (0, 255, 0)) and not near([1.75, 0.0, 0.0], (0, 255, 0))
    assert not near([1.75, 0.0, 0.0], (255, 0, 0))
    from rerun_ros.mappers.pointcloud import TURBO
    from rerun_ros.model.components import unpack_colors
    lo, hi = unpack_colors(TURBO[[0, 255]])[:, :3]
    assert near([0.25, 2.0, 0.0], lo) and near([0.75, 2.5, 0.5], hi)
    win.close()


DRAWN_GRID = _program("grid", '''
    import numpy as np
    rr.set_time("frame", sequence=0)
    rr.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    w, h, cell = 40, 20, 0.1
    grid = np.full((h, w), -1, dtype=np.int8)   # ROS occupancy: -1 unknown, 0 free, 100 occupied
    grid[:, :20] = 0
    grid[:, 30:] = 100
    rr.log("world/map", rr.GridMap(data=grid.tobytes(),
                                   format=rr.components.ImageFormat(width=w, height=h, color_model="L",
                                                                    channel_datatype="U8"),
                                   cell_size=cell, translation=[1.0, 0.0, 0.0],
                                   colormap=rr.components.Colormap.RvizMap))
''')


def test_grid_maps_are_drawn_with_the_map_colours(qapp, tmp_path):
    """An occupancy grid (ROS values) of 40 x 20 cells of 0.1 m from (1, 0): free cells white on
    x in [1, 3), unknown grey on [3, 4), occupied black on [4, 5); nothing before x = 1."""
    win, v, near, at = _drawn_3d(qapp, tmp_path, DRAWN_GRID)
    # (points off the ground grid's lines, which lie on whole metres)
    assert (at([2.3, 0.7, 0.0]) > 220).all()               # free: white
    assert (np.abs(at([3.6, 0.7, 0.0]) - 205) < 20).all()  # unknown: grey 205
    assert (at([4.6, 0.7, 0.0]) < 40).all()                # occupied: black
    assert (at([0.6, 0.7, 0.0]) < 40).all()                # before the map: the background
    win.close()


DRAWN_POSES = _program("poses", '''
    rr.set_time("frame", sequence=0)
    rr.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    rr.log("world/box", rr.Boxes3D(half_sizes=[[0.5, 0.5, 0.5]], colors=[[255, 0, 0]]))
    rr.log("world/box", rr.InstancePoses3D(translations=[[3, 0, 0], [0, 3, 0]]))  # a box: the first pose only
    rr.log("world/tri", rr.Mesh3D(vertex_positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], vertex_colors=[[0, 255, 0]] * 3))
    rr.log("world/tri", rr.InstancePoses3D(translations=[[0, -3, 0], [3, -3, 0]], scales=[[1, 1, 1], [2, 2, 2]]))
''')


def test_instance_poses_move_boxes_and_instance_meshes(qapp, tmp_path):
    """InstancePoses3D as Rerun 0.41 draws them: a box under its first pose only (at x = 3, not at
    the origin nor at y = 3), a mesh once per pose (a triangle at (0, -3) and one twice as large at
    (3, -3))."""
    win, v, near, at = _drawn_3d(qapp, tmp_path, DRAWN_POSES)
    red, green = (255, 0, 0), (0, 255, 0)
    assert near([3.5, 0.0, 0.5], red) and not near([0.5, 0.0, 0.5], red) and not near([0.5, 3.0, 0.5], red)
    assert near([0.25, -2.75, 0.0], green)      # inside the first triangle
    assert near([4.2, -2.6, 0.0], green)        # inside the second, scaled 2x (outside a 1x one)
    assert not near([1.6, -2.6, 0.0], green)
    win.close()
