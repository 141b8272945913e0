"""/robot_description (URDF) with primitive and mesh links; joints follow /joint_states
through the frame graph."""
from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import header, rerun_verify
from rerun_ros.convert import convert, exit_code
from rerun_ros.query.frames import FrameGraph
from rerun_ros.rrd.reader import read_chunks
from rerun_ros.store.chunk_store import ChunkStore
from rerun_ros.mappers.urdf import UrdfError, parse_urdf, rpy_to_quat

T0 = 1_700_000_000_000_000_000
S = 10**9

URDF = """<?xml version="1.0"?>
<robot name="arm">
  <material name="blue"><color rgba="0 0 1 1"/></material>
  <link name="base_link">
    <visual><origin xyz="0 0 0.05"/><geometry><box size="0.4 0.2 0.1"/></geometry><material name="blue"/></visual>
  </link>
  <link name="upper">
    <visual><origin xyz="0 0 0.25"/><geometry><cylinder radius="0.05" length="0.5"/></geometry>
      <material name="red"><color rgba="1 0 0 1"/></material></visual>
  </link>
  <link name="slider"><visual><geometry><sphere radius="0.1"/></geometry></visual></link>
  <link name="tool">
    <visual><geometry><mesh filename="package://my_robot/meshes/tool.stl" scale="2 2 2"/></geometry></visual>
    <visual><origin xyz="0 0 0.1"/><geometry><mesh filename="package://my_robot/meshes/cap.dae"/></geometry></visual>
    <visual><geometry><mesh filename="package://my_robot/meshes/tip.obj"/></geometry></visual>
    <visual><geometry><mesh filename="package://my_robot/meshes/missing.stl"/></geometry></visual>
  </link>
  <joint name="shoulder" type="revolute"><parent link="base_link"/><child link="upper"/>
    <origin xyz="0 0 0.1"/><axis xyz="0 0 1"/><limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
  <joint name="slide" type="prismatic"><parent link="upper"/><child link="slider"/>
    <origin xyz="0 0 0.5" rpy="0 1.5707963267948966 0"/><axis xyz="1 0 0"/></joint>
  <joint name="tool_mount" type="fixed"><parent link="slider"/><child link="tool"/><origin xyz="0.1 0 0"/></joint>
</robot>
"""


@pytest.fixture
def prefix(tmp_path, monkeypatch):
    import trimesh
    share = tmp_path / "install" / "share" / "my_robot" / "meshes"
    share.mkdir(parents=True)
    box = trimesh.creation.box(extents=[0.1, 0.1, 0.1])
    box.export(share / "tool.stl")
    trimesh.creation.icosphere(subdivisions=1, radius=0.05).export(share / "cap.dae")
    trimesh.creation.cone(radius=0.02, height=0.05).export(share / "tip.obj")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "install") + os.pathsep + os.environ.get("AMENT_PREFIX_PATH", ""))
    return share


def test_parse_and_errors():
    m = parse_urdf(URDF)
    assert set(m.visuals) == {"base_link", "upper", "slider", "tool"}
    assert [j.type for j in m.joints] == ["revolute", "prismatic", "fixed"]
    assert m.visuals["base_link"][0].rgba == (0, 0, 1, 1)
    np.testing.assert_allclose(rpy_to_quat([0, 0, np.pi / 2]), [0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    with pytest.raises(UrdfError, match="not valid XML"):
        parse_urdf("<robot><link")
    with pytest.raises(UrdfError, match="joint j needs"):
        parse_urdf('<robot name="r"><joint name="j" type="fixed"/></robot>')


def test_robot_follows_joint_states(bag_builder, tmp_path, prefix):
    b = bag_builder()
    b.write("/robot_description", "std_msgs/msg/String", {"data": URDF}, T0)
    for i, (q, d) in enumerate([(0.0, 0.0), (np.pi / 2, 0.2), (np.pi, 0.4)]):
        b.write("/joint_states", "sensor_msgs/msg/JointState", {
            "header": header(T0 + (i + 1) * S, ""), "name": ["shoulder", "slide"], "position": [q, d],
            "velocity": [], "effort": []}, T0 + (i + 1) * S)
    b.close()
    warnings = []
    out = tmp_path / "robot.rrd"
    r = convert(b.path, out, warn=warnings.append)
    assert exit_code(r) == 0
    assert any("missing.stl" in w and "not found" in w for w in warnings)  # reported, not fatal
    assert rerun_verify(out).returncode == 0
    chunks = read_chunks(out)[0]
    store = ChunkStore.from_chunks(chunks)
    box = store.latest_at("/robot_description/base_link/visual_0", "ros_time", T0)
    assert box["Boxes3D:half_sizes"].values.flatten().to_numpy().tolist() == pytest.approx([0.2, 0.1, 0.05])
    assert box["Boxes3D:colors"].to_numpy().tolist() == [0x0000FFFF]
    assert box["CoordinateFrame:frame"].to_numpy().tolist() == ["base_link"]
    cyl = store.latest_at("/robot_description/upper/visual_0", "ros_time", T0)
    assert cyl["Cylinders3D:colors"].to_numpy().tolist() == [0xFF0000FF]
    stl = store.latest_at("/robot_description/tool/visual_0", "ros_time", T0)["Mesh3D:vertex_positions"]
    v = stl.values.flatten().to_numpy().reshape(-1, 3)
    np.testing.assert_allclose(v.max(axis=0) - v.min(axis=0), [0.2, 0.2, 0.2], atol=1e-6)  # scale 2 applied
    for i in (1, 2):  # DAE and OBJ loaded too
        assert "Mesh3D:triangle_indices" in store.columns(f"/robot_description/tool/visual_{i}")
    g = FrameGraph.from_chunks(chunks)
    # at the 2nd joint state: shoulder 90° about z, slider 0.2 m along its x (= -z of upper after pitch 90°)
    t = T0 + 2 * S
    tool_origin = g.lookup("base_link", "tool", t).apply([0, 0, 0])
    # upper at z=0.1; slider frame at z=0.6, pitched 90° about y so its x axis points down (-z)
    # slide 0.2 along it -> z=0.4; tool 0.1 further along slider x -> z=0.3
    np.testing.assert_allclose(tool_origin, [0, 0, 0.3], atol=1e-9)
    # the shoulder rotation shows in the tool's orientation: slider y axis = upper y rotated 90° about z
    slider = g.lookup("base_link", "slider", t)
    np.testing.assert_allclose(slider.apply([0, 1, 0]) - slider.apply([0, 0, 0]), [-1, 0, 0], atol=1e-9)
    # at t3 (180°, 0.4 m): tool at z = 0.6 - 0.4 - 0.1
    np.testing.assert_allclose(g.lookup("base_link", "tool", T0 + 3 * S).apply([0, 0, 0]), [0, 0, 0.1], atol=1e-9)
    # joint positions are also plotted
    js = store.latest_at("/joint_states", "ros_time", T0 + 3 * S)["Scalars:scalars"].to_numpy()
    np.testing.assert_allclose(js, [np.pi, 0.4])
