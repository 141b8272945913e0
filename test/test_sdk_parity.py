"""The SDK face against Rerun 0.41's own (issue 25): programs in the style of Rerun's documented
examples, each run once with ``import rerun as rr`` (the official SDK, the oracle) and once with
``import rerun_ros.sdk as rr``; both recordings hold the same entities, components (descriptors,
Arrow types) and values, and ours passes ``rerun rrd verify``. One test per family: coordinate
conventions and rotations (and that our viewer's transforms follow what is stored), timelines and
properties, cameras, depth images and styling."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import rerun_verify


def _program(app: str, body: str) -> str:
    """A program that imports the official SDK (argv[1] "official") or ours as ``rr``, starts
    recording ``app`` to the file argv[2], then runs ``body``."""
    return textwrap.dedent('''
        import sys
        if sys.argv[1] == "official":
            import rerun as rr
        else:
            import rerun_ros.sdk as rr
        rr.init("%s", spawn=False)
        rr.save(sys.argv[2])
    ''') % app + textwrap.dedent(body)
from rerun_ros.rrd.reader import read_chunks

PROGRAM = _program("view_coordinates", '''
    rr.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)   # Rerun's docs: a Z-up world
    rr.log("world/robot", rr.ViewCoordinates.FLU, static=True)         # REP 103 body frame
    rr.log("world/robot/camera", rr.ViewCoordinates.RDF, static=True)  # the optical frame
    rr.log("world/ui", rr.ViewCoordinates.LEFT_HAND_Y_DOWN, static=True)
    rr.log("world/custom", rr.ViewCoordinates(xyz=rr.ViewCoordinates.LUF), static=True)
    rr.set_time("step", sequence=1)
    rr.log("world/robot/base", rr.Transform3D(translation=[1, 2, 3], rotation=rr.Quaternion.identity()))
    rr.log("world/arm", rr.Transform3D(rotation=rr.RotationAxisAngle(axis=[0, 0, 2], degrees=90)))
    rr.log("world/arm/hand", rr.Transform3D(translation=[1, 0, 0],
                                            rotation_axis_angle=rr.RotationAxisAngle(axis=[1, 0, 0], radians=0.5)))
    rr.log("world/arm/hand/tip", rr.Transform3D(rotation=rr.Quaternion(xyzw=[0, 0, 0, 2])))  # stored as given
    rr.log("world/arm/hand/tip/point", rr.Points3D([[0, 1, 0]]))
''')


def _components(path) -> dict:
    """entity -> {column: values} of what a recording holds (recording properties left out)."""
    chunks, warnings = read_chunks(path)
    assert not warnings
    if "ours" in str(path):
        assert rerun_verify(path).returncode == 0
    out: dict = {}
    for c in chunks:
        if c.entity_path.startswith("/__"):
            continue
        for d, col in c.components.items():
            out.setdefault(c.entity_path, {})[d.column] = (str(col.type), col.to_pylist())
    return out


def _run(which: str, out, program: str = PROGRAM) -> None:
    p = subprocess.run([sys.executable, "-c", program, which, str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-1500:]


def _both(tmp_path, program: str) -> tuple[dict, dict]:
    """(official, ours): what each SDK's run of ``program`` stored (:func:`_components`)."""
    for which in ("official", "ours"):
        _run(which, tmp_path / f"{which}.rrd", program)
    return _components(tmp_path / "official.rrd"), _components(tmp_path / "ours.rrd")


def test_view_coordinates_constants_and_identity_rotation_store_what_rerun_stores(tmp_path):
    theirs, ours = _both(tmp_path, PROGRAM)
    assert ours == theirs
    assert theirs["/world"]["ViewCoordinates:xyz"][1] == [[[3, 5, 1]]]  # R, F, U
    assert "Transform3D:rotation_axis_angle" in theirs["/world/arm"]
    assert theirs["/world/arm/hand/tip"]["Transform3D:quaternion"][1] == [[[0.0, 0.0, 0.0, 2.0]]]


def test_the_viewer_places_entities_by_axis_angle_rotations(tmp_path):
    """What the program stores, read back by our viewer's transform hierarchy: the point (0, 1, 0)
    of /world/arm/hand/tip/point is turned 0.5 rad about x by the hand, moved 1 m along x, then
    turned 90 deg about z by the arm (the tip's quaternion (0, 0, 0, 2) is the identity)."""
    import math

    import numpy as np
    from rerun_ros.store.open import open_source
    from rerun_ros.viewer.spatial import hierarchy_transform
    _run("ours", tmp_path / "ours.rrd")
    store = open_source(tmp_path / "ours.rrd").store
    tf = hierarchy_transform(store, "/world/arm/hand/tip/point", "step", 1)
    p = np.array([0.0, math.cos(0.5), math.sin(0.5)]) + [1.0, 0.0, 0.0]  # the hand
    want = np.array([-p[1], p[0], p[2]])                                  # the arm: +90 deg about z
    np.testing.assert_allclose(tf.apply(np.array([[0.0, 1.0, 0.0]]))[0], want, atol=1e-5)


def test_view_coordinates_given_as_a_string_is_refused():
    """Rerun 0.41 cannot convert ``xyz="FLU"``: a warning and the field logged empty (strict mode:
    an error); before, ours stored it."""
    import rerun_ros.sdk as rr
    with pytest.warns(rr.RerunWarning, match="ViewCoordinates.FLU"):
        assert len(rr.ViewCoordinates(xyz="FLU")["xyz"]) == 0
    with pytest.warns(rr.RerunWarning, match="three view directions"):
        rr.ViewCoordinates(xyz=[1, 2, 9])
    rr.set_strict_mode(True)
    try:
        with pytest.raises(ValueError, match="ViewCoordinates.FLU"):
            rr.ViewCoordinates(xyz="FLU")
    finally:
        rr.set_strict_mode(False)
    assert len([n for n in dir(rr.ViewCoordinates) if n.isupper() and len(n) == 3]) == 48


BAD_VALUES = _program("bad_values", '''
    rr.set_time("frame", sequence=0)
    rr.log("a", rr.Points3D([[1, 2]], colors=[[255, 0, 0]]))      # positions of 2: warned, logged empty
    rr.log("b", rr.Boxes2D(half_sizes=[[1, 2, 3]], centers=[[0, 0]]))
    rr.log("c", rr.Scalars("abc"))
    rr.log("d", rr.ViewCoordinates(xyz="FLU"), static=True)
    rr.log("e", rr.Points3D([[1, 2, 3]]))
''')


def test_values_rerun_cannot_store_warn_and_log_the_field_empty_as_rerun_does(tmp_path):
    """Rerun's SDK outside strict mode warns about a value it cannot store and logs that field
    empty, keeping the archetype's other fields; the program goes on. Ours stores the same, and
    says each problem as a RerunWarning naming the archetype and field."""
    for which in ("official", "ours"):
        p = subprocess.run([sys.executable, "-W", "always", "-c", BAD_VALUES, which, str(tmp_path / f"{which}.rrd")],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-1500:]
        assert p.stderr.count("RerunWarning") == 4, p.stderr  # one per value it cannot store
    theirs, ours = _components(tmp_path / "official.rrd"), _components(tmp_path / "ours.rrd")
    assert ours == theirs
    assert theirs["/a"]["Points3D:positions"][1] == [[]] and theirs["/a"]["Points3D:colors"][1] == [[4278190335]]


TIMES = _program("timelines", '''
    rr.log("untimed", rr.Scalars(1.0))
    rr.set_time("step", sequence=5)
    rr.log("stepped", rr.Scalars(2.0))
    rr.log("always", rr.TextDocument("static"), static=True)
    rr.send_columns("columns", indexes=[rr.TimeColumn("step", sequence=[1, 2])],
                    columns=rr.Scalars.columns(scalars=[1.0, 2.0]))
''')


def _timelines(path) -> dict:
    """entity -> sorted (timeline, kind) pairs of its rows, and static or not; properties' columns."""
    chunks, _ = read_chunks(path)
    out: dict = {}
    for c in chunks:
        if c.entity_path.startswith("/__"):
            out.setdefault(c.entity_path, set()).update(d.column for d in c.components)
            continue
        out.setdefault(c.entity_path, set()).add(
            (c.is_static, tuple(sorted((name, tl.kind) for name, (tl, _) in c.timelines.items()))))
    return out


def test_rows_are_on_log_time_and_the_recording_has_its_start_time(tmp_path):
    """Rerun 0.41's SDK puts every logged row also on ``log_time`` (the wall clock), not static
    rows nor ``send_columns``, and writes the recording's start time as a property."""
    for which in ("official", "ours"):
        _run(which, tmp_path / f"{which}.rrd", TIMES)
    theirs, ours = _timelines(tmp_path / "official.rrd"), _timelines(tmp_path / "ours.rrd")
    assert ours == theirs
    assert theirs["/untimed"] == {(False, (("log_time", "timestamp"),))}
    assert theirs["/__properties"] == {"RecordingInfo:start_time"}


PINHOLES = _program("pinholes", '''
    rr.log("world/cam", rr.Pinhole(focal_length=500, width=640, height=480))   # Rerun's docs form
    rr.log("world/xy", rr.Pinhole(focal_length=[400, 300], principal_point=[320, 200], resolution=[640, 480]))
    rr.log("world/fov", rr.Pinhole(fov_y=0.8, aspect_ratio=1.5))
    rr.log("world/k", rr.Pinhole(image_from_camera=[[500, 0, 320], [0, 500, 240], [0, 0, 1]], resolution=[640, 480],
                                 camera_xyz=rr.ViewCoordinates.RDF))
    rr.log("world/tf", rr.Pinhole(focal_length=500, width=640, height=480, child_frame="camera_optical",
                                  parent_frame="camera_link", image_plane_distance=2.0))
''')


def test_pinhole_from_focal_length_size_or_field_of_view_stores_what_rerun_stores(tmp_path):
    """``Pinhole(focal_length=..., width=..., height=...)`` (refused before), (fx, fy) with a
    principal point, fov_y with aspect ratio, K with camera_xyz, TF frame ids: the same K
    (column-major), resolution and components as the official SDK."""
    theirs, ours = _both(tmp_path, PINHOLES)
    assert ours == theirs
    assert theirs["/world/cam"]["Pinhole:image_from_camera"][1] == [[[500, 0, 0, 0, 500, 0, 320, 240, 1]]]


IMAGES = _program("depth", '''
    import numpy as np
    depth = np.full((200, 300), 65535, dtype=np.uint16)      # Rerun's depth_image_simple example
    depth[50:150, 50:150] = 20000
    depth[130:180, 100:280] = 45000
    rr.log("depth", rr.DepthImage(depth, meter=10_000.0))
    rr.log("depth_f", rr.DepthImage(np.linspace(0, 2, 12, dtype=np.float32).reshape(3, 4), meter=1.0,
                                    colormap="Viridis", depth_range=[0.0, 2.0], point_fill_ratio=0.5))
    rr.log("series", rr.SeriesLines(colors=[255, 0, 0], names="sin(0.01t)", widths=2), static=True)
    rr.log("ellipsoids", rr.Ellipsoids3D(half_sizes=[[1, 2, 3]], fill_mode="solid"))
''')


def test_depth_images_series_widths_and_fill_modes_store_what_rerun_stores(tmp_path):
    """``DepthImage(array, meter=...)`` (before: width and height demanded), its colormap, range
    and fill ratio; ``SeriesLines(widths=)``; ``Ellipsoids3D(fill_mode=)`` (both refused before)."""
    theirs, ours = _both(tmp_path, IMAGES)
    assert ours == theirs
    assert theirs["/depth"]["DepthImage:meter"][1] == [[10000.0]]


COLORS = _program("colors", '''
    p = [[0, 0, 0], [1, 1, 1]]
    rr.log("packed", rr.Points3D(p, colors=0xFF0000FF))       # one packed colour for every point
    rr.log("rgb", rr.Points3D(p, colors=(255, 0, 0)))
    rr.log("floats", rr.Points3D(p, colors=(1.0, 0.5, 0.0, 1.0)))
    rr.log("each", rr.Points3D(p, colors=[0xFF0000FF, 0x00FF00FF]))
    rr.log("arrow", rr.Arrows3D(vectors=[[1, 0, 0]], origins=[[0, 0, 0]], colors=0x00FF00FF))
''')


def test_one_colour_for_many_instances_in_every_form_rerun_takes(tmp_path):
    """A packed integer colour (refused before), an RGB tuple, RGBA floats, one per instance."""
    theirs, ours = _both(tmp_path, COLORS)
    assert ours == theirs
    assert theirs["/packed"]["Points3D:colors"][1] == [[0xFF0000FF]]


COLUMNS = _program("columns", '''
    import numpy as np
    v = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)   # 2 rows of 3 arrows
    rr.send_columns("arrows", indexes=[rr.TimeColumn("t", sequence=[0, 1])],
                    columns=rr.Arrows3D.columns(vectors=v, origins=np.zeros_like(v)).partition([3, 3]))
''')


def test_column_updates_of_t_rows_of_n_vectors(tmp_path):
    """``Arrows3D.columns(vectors=(T, N, 3))`` then ``.partition`` (refused before): the same rows."""
    theirs, ours = _both(tmp_path, COLUMNS)
    assert ours == theirs
    assert len(theirs["/arrows"]["Arrows3D:vectors"][1]) == 2


POINT_COLUMNS = _program("point_columns", '''
    import numpy as np
    times = np.arange(10, 15, 1.0)                         # Rerun's points3d_column_updates example
    positions = np.concatenate([np.full((n, 3), i, np.float32) for i, n in enumerate([2, 4, 4, 3, 4])])
    colors = [0xFF0000FF, 0x00FF00FF, 0x0000FFFF, 0xFFFF00FF, 0x00FFFFFF]
    radii = [0.05, 0.01, 0.2, 0.1, 0.3]
    rr.send_columns("points", indexes=[rr.TimeColumn("time", duration=times)],
                    columns=[*rr.Points3D.columns(positions=positions).partition(lengths=[2, 4, 4, 3, 4]),
                             *rr.Points3D.columns(colors=colors, radii=radii)])
''')


def test_column_updates_of_other_fields_than_the_required_one(tmp_path):
    """``Points3D.columns(colors=..., radii=...)`` without positions (refused before): the same rows."""
    theirs, ours = _both(tmp_path, POINT_COLUMNS)
    assert ours == theirs
    assert set(theirs["/points"]) == {"Points3D:positions", "Points3D:colors", "Points3D:radii"}


def test_blueprint_overrides_time_ranges_and_rerun_only_options_are_taken():
    """Rerun 0.41's blueprint vocabulary through our SDK: ``EntityBehavior(visible=False)`` in
    ``overrides`` leaves the entity out of the view, a ``VisibleTimeRange`` starting N s before
    the cursor is the view's time range, ``visible=False`` leaves the view out, options only the
    official viewer draws (``titlebar=``, ``VisualBounds2D``) are accepted; a range our views
    cannot show is refused with the reason. The same program runs with the official SDK."""
    import rerun_ros.sdk as rr
    rrb = rr.blueprint
    bp = rrb.Blueprint(rrb.Horizontal(
        rrb.Spatial3DView(origin="/", overrides={"/world/noise": rrb.EntityBehavior(visible=False)}, titlebar=False),
        rrb.TimeSeriesView(origin="/imu", time_ranges=rrb.VisibleTimeRange(
            "ros_time", start=rrb.TimeRangeBoundary.cursor_relative(seconds=-10.0),
            end=rrb.TimeRangeBoundary.cursor_relative())),
        rrb.Spatial2DView(origin="/camera", visual_bounds=rrb.VisualBounds2D(x_range=[0, 640], y_range=[0, 480])),
        rrb.TextLogView(origin="/rosout", visible=False),
    ))
    model = rrb.as_model(bp)
    views = model.root.children
    assert [v.kind for v in views] == ["spatial3d", "timeseries", "spatial2d"]
    assert "/world/noise" in views[0].exclude and not views[0].matches("/world/noise")
    assert views[1].time_range == 10.0
    with pytest.raises(ValueError, match="cursor"):
        rrb.TimeSeriesView(time_ranges=rrb.VisibleTimeRange("ros_time", start=rrb.TimeRangeBoundary.absolute(seconds=5),
                                                            end=rrb.TimeRangeBoundary.infinite()))
    import rerun.blueprint as official  # the same calls are valid for the official SDK
    official.Blueprint(official.Horizontal(
        official.Spatial3DView(origin="/", overrides={"/world/noise": official.EntityBehavior(visible=False)},
                               titlebar=False),
        official.TimeSeriesView(origin="/imu", time_ranges=official.VisibleTimeRange(
            "ros_time", start=official.TimeRangeBoundary.cursor_relative(seconds=-10.0),
            end=official.TimeRangeBoundary.cursor_relative())),
        official.Spatial2DView(origin="/camera", visual_bounds=official.VisualBounds2D(x_range=[0, 640], y_range=[0, 480])),
        official.TextLogView(origin="/rosout", visible=False)))
