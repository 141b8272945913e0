"""The SDK face against Rerun 0.41's own (issue 25): one program in the style of Rerun's
documented examples, run once with ``import rerun as rr`` (the official SDK, the oracle) and once
with ``import rerun_ros.sdk as rr``; the official reader finds the same entities, components and
values in both recordings. This file: coordinate conventions and rotations."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from rerun_ros.rrd.reader import read_chunks

PROGRAM = textwrap.dedent('''
    import sys
    if sys.argv[1] == "official":
        import rerun as rr
    else:
        import rerun_ros.sdk as rr
    rr.init("view_coordinates", spawn=False)
    rr.save(sys.argv[2])
    rr.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)   # Rerun's docs: a Z-up world
    rr.log("world/robot", rr.ViewCoordinates.FLU, static=True)         # REP 103 body frame
    rr.log("world/robot/camera", rr.ViewCoordinates.RDF, static=True)  # the optical frame
    rr.log("world/ui", rr.ViewCoordinates.LEFT_HAND_Y_DOWN, static=True)
    rr.log("world/custom", rr.ViewCoordinates(xyz=rr.ViewCoordinates.LUF), static=True)
    rr.log("world/robot/base", rr.Transform3D(translation=[1, 2, 3], rotation=rr.Quaternion.identity()))
''')


def _components(path) -> dict:
    """entity -> {column: values} of what a recording holds (recording properties left out)."""
    chunks, warnings = read_chunks(path)
    assert not warnings
    out: dict = {}
    for c in chunks:
        if c.entity_path.startswith("/__"):
            continue
        for d, col in c.components.items():
            out.setdefault(c.entity_path, {})[d.column] = (str(col.type), col.to_pylist())
    return out


def _run(which: str, out) -> None:
    p = subprocess.run([sys.executable, "-c", PROGRAM, which, str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-1500:]


def test_view_coordinates_constants_and_identity_rotation_store_what_rerun_stores(tmp_path):
    _run("official", tmp_path / "official.rrd")
    _run("ours", tmp_path / "ours.rrd")
    theirs, ours = _components(tmp_path / "official.rrd"), _components(tmp_path / "ours.rrd")
    assert ours == theirs
    assert theirs["/world"]["ViewCoordinates:xyz"][1] == [[[3, 5, 1]]]  # R, F, U


def test_view_coordinates_given_as_a_string_is_refused():
    """Rerun 0.41 cannot convert ``xyz="FLU"`` (a warning, nothing stored); before, ours stored it."""
    import rerun_ros.sdk as rr
    with pytest.raises(ValueError, match="ViewCoordinates.FLU"):
        rr.ViewCoordinates(xyz="FLU")
    with pytest.raises(ValueError, match="three view directions"):
        rr.ViewCoordinates(xyz=[1, 2, 9])
    assert len([n for n in dir(rr.ViewCoordinates) if n.isupper() and len(n) == 3]) == 48
