"""The frame graph against poses computed by hand and tf2's semantics."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import FIELD
from rerun_ros.convert import convert
from rerun_ros.query.frames import (CycleError, DisconnectedError, ExtrapolationError, FrameGraph, MultipleParentsError, UnknownFrameError)
from rerun_ros.rrd.reader import read_chunks

S = 10**9


def yaw(a):
    return [0.0, 0.0, np.sin(a / 2), np.cos(a / 2)]


@pytest.fixture
def robot():
    """map -(static)-> odom -(dynamic)-> base_link -(static)-> laser, plus base_link -> camera -> optical."""
    g = FrameGraph()
    g.add_transform("map", "odom", None, [10, 0, 0], yaw(np.pi))        # odom origin at (10,0), rotated 180°
    g.add_transform("odom", "base_link", 0 * S, [0, 0, 0], yaw(0))
    g.add_transform("odom", "base_link", 2 * S, [2, 0, 0], yaw(np.pi / 2))
    g.add_transform("base_link", "laser", None, [0.5, 0, 0.2], yaw(0))
    g.add_transform("base_link", "camera", None, [0, 0.1, 1.0], yaw(0))
    # REP 103 optical frame: z forward, x right, y down (rotation of -90° about z then -90° about x)
    g.add_transform("camera", "camera_optical", None, [0, 0, 0], [-0.5, 0.5, -0.5, 0.5])
    return g


def test_chain_at_stamps_by_hand(robot):
    # t=0: base at odom origin; laser at (0.5,0,0.2) in odom; odom rotated 180° at (10,0) in map
    # (t=1 ns: time 0 would mean "latest", as in tf2)
    np.testing.assert_allclose(robot.lookup("map", "laser", 1).apply([0, 0, 0]), [10 - 0.5, 0, 0.2], atol=1e-6)
    # t=2: base at (2,0) in odom facing +y; laser 0.5 ahead -> (2,0.5) in odom -> map: (10-2, -0.5)
    np.testing.assert_allclose(robot.lookup("map", "laser", 2 * S).apply([0, 0, 0]), [8, -0.5, 0.2], atol=1e-9)
    # a point 1 m ahead of the laser at t=2 is at (2, 1.5) in odom
    np.testing.assert_allclose(robot.lookup("odom", "laser", 2 * S).apply([1, 0, 0]), [2, 1.5, 0.2], atol=1e-9)
    # inverse direction
    np.testing.assert_allclose(robot.lookup("laser", "odom", 2 * S).apply([2, 1.5, 0.2]), [1, 0, 0], atol=1e-9)
    # optical frame: its +z (forward) is the camera's +x
    np.testing.assert_allclose(robot.lookup("camera", "camera_optical").apply([0, 0, 1]), [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(robot.lookup("camera", "camera_optical").apply([1, 0, 0]), [0, -1, 0], atol=1e-9)


def test_interpolation_linear_and_slerp(robot):
    t = robot.lookup("odom", "base_link", 1 * S)
    np.testing.assert_allclose(t.translation, [1, 0, 0])
    np.testing.assert_allclose(t.rotation, yaw(np.pi / 4), atol=1e-12)  # halfway in angle, not in components
    # siblings under a dynamic parent: laser in camera doesn't depend on time
    np.testing.assert_allclose(robot.lookup("camera", "laser", 7 * S).translation, [0.5, -0.1, -0.8])


def test_extrapolation_is_an_error_with_tolerance(robot):
    with pytest.raises(ExtrapolationError, match="future.*odom -> base_link"):
        robot.lookup("map", "laser", 3 * S)
    with pytest.raises(ExtrapolationError, match="past"):
        robot.lookup("map", "laser", -1)
    robot.tolerance_ns = S
    np.testing.assert_allclose(robot.lookup("odom", "base_link", 3 * S).translation, [2, 0, 0])


def test_time_zero_is_latest_common(robot):
    np.testing.assert_allclose(robot.lookup("odom", "laser", 0).apply([0, 0, 0]), [2, 0.5, 0.2], atol=1e-9)
    # static-only chains need no time at all
    np.testing.assert_allclose(robot.lookup("base_link", "camera_optical", 123).translation, [0, 0.1, 1.0])


def test_errors_are_clear(robot):
    with pytest.raises(UnknownFrameError, match="'nowhere' does not exist"):
        robot.lookup("map", "nowhere", 0)
    robot.add_transform("world", "other", None, [0, 0, 0], yaw(0))
    with pytest.raises(DisconnectedError, match="not connected"):
        robot.lookup("map", "other", 0)
    robot.add_transform("map", "laser", None, [0, 0, 0], yaw(0))  # a second parent for laser
    with pytest.raises(MultipleParentsError, match="'laser' has more than one parent: base_link, map"):
        robot.lookup("map", "laser", S)
    g = FrameGraph()
    g.add_transform("a", "b", None, [0, 0, 0], yaw(0))
    g.add_transform("b", "c", None, [0, 0, 0], yaw(0))
    g.add_transform("c", "a", None, [0, 0, 0], yaw(0))
    with pytest.raises(CycleError, match="cycle"):
        g.lookup("a", "c", 0)
    with pytest.raises(ValueError, match="invalid rotation"):
        g.add_transform("x", "y", None, [0, 0, 0], [0, 0, 0, 0])


def test_from_real_bag(tmp_path):
    out = tmp_path / "f.rrd"
    convert(FIELD, out)
    chunks, _ = read_chunks(out)
    g = FrameGraph.from_chunks(chunks)
    assert g.frames() and not g.conflicts
    # every dynamic edge answers at its own stamps with its own values
    for child in g.frames():
        rng = g.time_range(child)
        if rng is None:
            continue
        t = g.lookup(g.parent(child), child, rng[1])
        assert np.isfinite(t.translation).all() and abs(np.linalg.norm(t.rotation) - 1) < 1e-9
    # static edges from /tf_static hold at any time
    statics = [c for c in g.frames() if g.is_static(c)]
    assert statics
    for c in statics:
        g.lookup(g.parent(c), c, 1)


def test_lookup_many_equals_lookup_on_a_real_tf_tree():
    """The vectorised lookup (trails) gives tf2's answer at every time, on the field run's TF."""
    from conftest import FIELD
    from rerun_ros.store.open import open_source
    from rerun_ros.viewer.spatial import frame_graph
    st = open_source(str(FIELD)).store
    g = frame_graph(st, "log_time")
    dyn = [f for f in g.frames() if len(g.sample_times(f))]
    assert dyn
    for target in sorted(g.frames()):
        for source in sorted(g.frames()):
            if not g.can_transform(target, source, 0):
                continue
            ts = g.sample_times(dyn[0])
            times = np.concatenate([ts[::7], (ts[:-1:5] + ts[1::5]) // 2, [ts[0] - 10**9, ts[-1] + 10**9]])
            many, ok = g.lookup_many(target, source, times)
            for i, t in enumerate(times.tolist()):
                try:
                    one = g.lookup(target, source, t)
                except ExtrapolationError:
                    assert not ok[i]
                    continue
                assert ok[i]
                np.testing.assert_allclose(many.translation[i], one.translation, atol=1e-9)
                # q and -q are one rotation
                d = min(np.abs(many.rotation[i] - one.rotation).max(), np.abs(many.rotation[i] + one.rotation).max())
                assert d < 1e-9
