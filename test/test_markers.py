"""visualization_msgs Marker/MarkerArray: every type and action, lifetime, namespaces."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import MARKERS, header, rerun_verify, schemas_from
from rerun_ros.convert import convert, exit_code
from rerun_ros.rrd.reader import read_chunks
from rerun_ros.store.chunk_store import ChunkStore

T0 = 1_732_290_379_000_000_000
S = 10**9
SEP = "\n" + "=" * 80 + "\n"
MARKER_DEF = schemas_from(MARKERS)["visualization_msgs/msg/Marker"][1].decode()
ARRAY_DEF = "visualization_msgs/Marker[] markers" + SEP + "MSG: visualization_msgs/Marker\n" + MARKER_DEF


def mk(id, type, *, ns="shapes", action=0, pose=(0, 0, 0), yaw=0.0, scale=(1, 1, 1), color=(1, 0, 0, 1),
       points=(), colors=(), text="", mesh="", lifetime=0.0, t=T0, frame="map"):
    return {"header": header(t, frame), "ns": ns, "id": id, "type": type, "action": action,
            "pose": {"position": dict(zip("xyz", map(float, pose))),
                     "orientation": {"x": 0.0, "y": 0.0, "z": float(np.sin(yaw / 2)), "w": float(np.cos(yaw / 2))}},
            "scale": dict(zip("xyz", map(float, scale))),
            "color": dict(zip("rgba", map(float, color))),
            "lifetime": {"sec": int(lifetime), "nanosec": int(round((lifetime % 1) * 1e9))},
            "frame_locked": False, "points": [dict(zip("xyz", map(float, p))) for p in points],
            "colors": [dict(zip("rgba", map(float, c))) for c in colors], "text": text, "mesh_resource": mesh,
            "mesh_use_embedded_materials": False}


@pytest.fixture
def store(bag_builder, tmp_path, monkeypatch):
    monkeypatch.setenv("RERUN_ROS_MESH_PATH", str(tmp_path))  # file:// meshes only from an allowed root
    stl = tmp_path / "tri.stl"
    stl.write_text("solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
                   "endloop\nendfacet\nendsolid t\n")
    b = bag_builder()
    b.schema("visualization_msgs/msg/MarkerArray", ARRAY_DEF)
    b.schema("visualization_msgs/msg/Marker", MARKER_DEF)
    every = [
        mk(0, 0, pose=(1, 0, 0), yaw=np.pi / 2, scale=(2, 0.2, 0.2)),                 # ARROW from pose
        mk(1, 0, points=[(0, 0, 0), (0, 0, 3)], scale=(0.1, 0.2, 0)),                   # ARROW from points
        mk(2, 1, pose=(1, 2, 3), scale=(2, 4, 6)),                                       # CUBE
        mk(3, 2, pose=(0, 0, 1), scale=(1, 1, 2)),                                       # SPHERE
        mk(4, 3, pose=(5, 0, 0), scale=(0.5, 0.5, 2)),                                   # CYLINDER
        mk(5, 4, pose=(10, 0, 0), points=[(0, 0, 0), (1, 0, 0), (1, 1, 0)], scale=(0.1, 0, 0)),  # LINE_STRIP
        mk(6, 5, points=[(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 1, 1)], scale=(0.1, 0, 0)),        # LINE_LIST
        mk(7, 6, points=[(0, 0, 0), (2, 0, 0)], colors=[(0, 1, 0, 1), (0, 0, 1, 1)], scale=(0.2, 0.2, 0.2)),  # CUBE_LIST
        mk(8, 7, points=[(0, 0, 0), (0, 2, 0)], scale=(0.4, 0.4, 0.4)),                  # SPHERE_LIST
        mk(9, 8, pose=(0, 0, 1), points=[(1, 0, 0), (2, 0, 0)], scale=(0.05, 0.05, 0)),  # POINTS
        mk(10, 9, pose=(0, 0, 2), text="hello robot", scale=(0, 0, 0.3)),                # TEXT
        mk(11, 10, pose=(1, 1, 0), scale=(2, 2, 2), mesh=f"file://{stl}"),               # MESH_RESOURCE
        mk(12, 11, points=[(0, 0, 0), (1, 0, 0), (0, 1, 0)], colors=[(1, 0, 0, 1)] * 3),  # TRIANGLE_LIST
    ]
    b.write("/markers", "visualization_msgs/msg/MarkerArray", {"markers": every}, T0)
    # lifetime 1 s on /temp/0, re-added at +0.5 s (so it must survive to +1.5 s); /temp/1 expires at +1 s
    b.write("/m", "visualization_msgs/msg/Marker", mk(0, 1, ns="temp", lifetime=1.0, t=T0), T0)
    b.write("/m", "visualization_msgs/msg/Marker", mk(1, 1, ns="temp", lifetime=1.0, t=T0), T0)
    b.write("/m", "visualization_msgs/msg/Marker", mk(0, 1, ns="temp", lifetime=1.0, t=T0 + S // 2), T0 + S // 2)
    b.write("/m", "visualization_msgs/msg/Marker", mk(2, 1, ns="keep", t=T0 + 3 * S), T0 + 3 * S)
    b.write("/m", "visualization_msgs/msg/Marker", mk(2, 1, ns="keep", action=2, t=T0 + 4 * S), T0 + 4 * S)
    b.write("/m", "visualization_msgs/msg/Marker", mk(3, 2, ns="keep", t=T0 + 5 * S), T0 + 5 * S)
    b.write("/m", "visualization_msgs/msg/Marker", mk(3, 1, ns="keep", t=T0 + 6 * S), T0 + 6 * S)  # type change
    b.write("/m", "visualization_msgs/msg/Marker", mk(0, 0, ns="x", action=3, t=T0 + 7 * S), T0 + 7 * S)
    b.write("/m", "visualization_msgs/msg/Marker", mk(0, 1, ns="bad", mesh="", t=T0 + 8 * S, points=[(0, 0, 0)] * 3) | {"type": 42}, T0 + 8 * S)
    b.close()
    out = tmp_path / "markers.rrd"
    r = convert(b.path, out)
    assert exit_code(r) == 3  # the type-42 marker is skipped with a reason
    assert any("unknown marker type 42" in k for t in r.topics for k in t.reasons)
    assert rerun_verify(out).returncode == 0
    return ChunkStore.from_chunks(read_chunks(out)[0])


def at(store, ent, t=T0):
    return store.latest_at(ent, "ros_time", t)


def flat(la, key):
    return la[key].values.flatten().to_numpy() if hasattr(la[key].values, "flatten") else la[key].to_numpy()


def test_every_marker_type(store):
    a = at(store, "/markers/shapes/0")
    np.testing.assert_allclose(flat(a, "Arrows3D:vectors"), [0, 2, 0], atol=1e-6)  # scale.x along rotated x
    np.testing.assert_allclose(flat(a, "Arrows3D:origins"), [1, 0, 0])
    assert a["CoordinateFrame:frame"].to_numpy().tolist() == ["map"]
    np.testing.assert_allclose(flat(at(store, "/markers/shapes/1"), "Arrows3D:vectors"), [0, 0, 3])
    c = at(store, "/markers/shapes/2")
    np.testing.assert_allclose(flat(c, "Boxes3D:half_sizes"), [1, 2, 3])
    np.testing.assert_allclose(flat(c, "Boxes3D:centers"), [1, 2, 3])
    assert c["Boxes3D:colors"].to_numpy().tolist() == [0xFF0000FF]
    np.testing.assert_allclose(flat(at(store, "/markers/shapes/3"), "Ellipsoids3D:half_sizes"), [0.5, 0.5, 1])
    cy = at(store, "/markers/shapes/4")
    assert cy["Cylinders3D:lengths"].to_numpy().tolist() == [2.0] and cy["Cylinders3D:radii"].to_numpy().tolist() == [0.25]
    strip = at(store, "/markers/shapes/5")["LineStrips3D:strips"].values.to_pylist()
    assert strip == [[[10, 0, 0], [11, 0, 0], [11, 1, 0]]]  # pose applied
    lines = at(store, "/markers/shapes/6")["LineStrips3D:strips"].values.to_pylist()
    assert lines == [[[0, 0, 0], [1, 0, 0]], [[0, 1, 0], [0, 1, 1]]]
    cl = at(store, "/markers/shapes/7")
    assert flat(cl, "Boxes3D:centers").tolist() == [0, 0, 0, 2, 0, 0]
    assert cl["Boxes3D:colors"].to_numpy().tolist() == [0x00FF00FF, 0x0000FFFF]
    assert len(at(store, "/markers/shapes/8")["Ellipsoids3D:centers"].values) == 2
    pts = at(store, "/markers/shapes/9")
    assert flat(pts, "Points3D:positions").tolist() == [1, 0, 1, 2, 0, 1]
    assert pts["Points3D:radii"].to_numpy().tolist() == [pytest.approx(0.025)]
    tx = at(store, "/markers/shapes/10")
    assert tx["Points3D:labels"].to_numpy().tolist() == ["hello robot"] and tx["Points3D:show_labels"].to_numpy().tolist() == [True]
    mesh = at(store, "/markers/shapes/11")
    v = flat(mesh, "Mesh3D:vertex_positions").reshape(-1, 3)
    np.testing.assert_allclose(sorted(map(tuple, v)), [(1, 1, 0), (1, 3, 0), (3, 1, 0)])  # scaled x2, moved
    assert flat(mesh, "Mesh3D:triangle_indices").tolist() == [0, 1, 2]
    tri = at(store, "/markers/shapes/12")
    assert tri["Mesh3D:vertex_colors"].to_numpy().tolist() == [0xFF0000FF] * 3


def test_lifetime_delete_deleteall(store):
    # /m/temp/1 expires at +1 s; /m/temp/0 was re-added at +0.5 s so it lives until +1.5 s
    assert "Boxes3D:half_sizes" in at(store, "/m/temp/1", T0 + S - 1)
    assert "Boxes3D:half_sizes" not in at(store, "/m/temp/1", T0 + S)
    assert "Boxes3D:half_sizes" in at(store, "/m/temp/0", T0 + S + S // 4)
    assert "Boxes3D:half_sizes" not in at(store, "/m/temp/0", T0 + S + S // 2)
    # DELETE
    assert "Boxes3D:half_sizes" in at(store, "/m/keep/2", T0 + 3 * S)
    assert "Boxes3D:half_sizes" not in at(store, "/m/keep/2", T0 + 4 * S)
    # type change sphere -> cube: the old sphere is gone, the cube is there
    k3 = at(store, "/m/keep/3", T0 + 6 * S)
    assert "Boxes3D:half_sizes" in k3 and "Ellipsoids3D:half_sizes" not in k3
    assert "Ellipsoids3D:half_sizes" in at(store, "/m/keep/3", T0 + 5 * S)
    # DELETEALL clears every marker of the topic
    assert at(store, "/m/keep/3", T0 + 7 * S) == {} or "Boxes3D:half_sizes" not in at(store, "/m/keep/3", T0 + 7 * S)


def test_real_marker_bag(tmp_path):
    out = tmp_path / "real.rrd"
    r = convert(MARKERS, out)
    assert exit_code(r) == 0 and r.converted == 118
    store = ChunkStore.from_chunks(read_chunks(out)[0])
    ents = [e for e in store.entities() if e.startswith("/cube/test/")]
    assert ents and all("Boxes3D:half_sizes" in store.columns(e) for e in ents)
