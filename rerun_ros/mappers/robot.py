"""``/robot_description`` (URDF in a std_msgs/String) and JointState → robot geometry and joint
transforms through the frame graph.

The robot description becomes static geometry per link visual on
``<topic>/<link>/visual_<i>`` in the link's frame (``CoordinateFrame`` = link name): boxes,
cylinders, spheres, and meshes (resolved from ``package://`` through AMENT_PREFIX_PATH,
RERUN_ROS_MESH_PATH or ROS_PACKAGE_PATH; see :mod:`rerun_ros.mappers.meshes`). Fixed joints become
static ``Transform3D`` rows (parent link → child link) on ``<topic>/joints``; movable joints
get a row at their zero position when the description arrives and a row per JointState message
afterwards (revolute/continuous rotate about the axis, prismatic translate), so links follow
``/joint_states`` through the frame graph.
"""
from __future__ import annotations

import numpy as np

from ..model import archetypes as A
from ..model import entity_path
from ..model.rotations import quat_rotate
from .meshes import MeshError, load_mesh
from .urdf import RobotModel, UrdfError, parse_urdf
from .base import MapContext, MappedRow, MappingError

DEFAULT_RGBA = (0.8, 0.8, 0.8, 1.0)


def _color(rgba) -> list[int]:
    return [int(round(max(0.0, min(1.0, float(c))) * 255)) for c in (rgba or DEFAULT_RGBA)]


def _visual_archetype(v, search_paths, notes: list):
    col = [_color(v.rgba)]
    if v.kind == "box":
        return A.Boxes3D([v.size / 2], centers=[v.xyz], quaternions=[v.quat], colors=col, fill_mode="Solid")
    if v.kind == "cylinder":
        return A.Cylinders3D([v.length], [v.radius], centers=[v.xyz], quaternions=[v.quat], colors=col,
                             fill_mode="Solid")
    if v.kind == "sphere":
        return A.Ellipsoids3D([[v.radius] * 3], centers=[v.xyz], quaternions=[v.quat], colors=col)
    try:
        mesh = load_mesh(v.filename, search_paths)
    except MeshError as e:
        notes.append(str(e))
        return None
    verts = quat_rotate(v.quat, mesh.vertices * v.scale) + v.xyz
    normals = quat_rotate(v.quat, mesh.normals) if mesh.normals is not None else None
    return A.Mesh3D(verts, triangle_indices=mesh.faces, vertex_normals=normals,
                    vertex_colors=mesh.colors if v.rgba is None and mesh.colors is not None else None,
                    albedo_factor=None if v.rgba is None and mesh.colors is not None else col)


def robot_description(text: str, ctx: MapContext) -> list[MappedRow]:
    try:
        model = parse_urdf(text)
    except UrdfError as e:
        raise MappingError(str(e)) from None
    ctx.shared.robot_model = model
    ctx.shared.robot_joints_entity = entity_path.join(ctx.entity, "joints")
    notes: list[str] = []
    rows = []
    base = entity_path.parse(ctx.entity)
    for link, visuals in model.visuals.items():
        for i, v in enumerate(visuals):
            arch = _visual_archetype(v, ctx.shared.mesh_search_paths, notes)
            if arch is None:
                continue
            ent = entity_path.format_parts([*base, link, f"visual_{i}"])
            rows.append(MappedRow(ent, [arch, A.CoordinateFrame(link)], static=True))
    jent = ctx.shared.robot_joints_entity
    for j in model.joints:
        t, q = j.transform(0.0)
        arch = A.Transform3D(translation=t, quaternion=q, parent_frame=j.parent, child_frame=j.child)
        rows.append(MappedRow(jent, [arch], static=not j.movable))
    if notes:
        ctx.notes.extend(sorted(set(notes)))
    return rows


def joint_transforms(names, positions, ctx: MapContext) -> list[MappedRow]:
    """Transform3D rows of the movable joints named in a JointState (when a robot model is known)."""
    model: RobotModel | None = ctx.shared.robot_model
    if model is None:
        return []
    rows = []
    jent = ctx.shared.robot_joints_entity
    for name, pos in zip(names, positions):
        j = model.joint(str(name))
        if j is None or not j.movable or not np.isfinite(pos):
            continue
        t, q = j.transform(float(pos))
        rows.append(MappedRow(jent, [A.Transform3D(translation=t, quaternion=q, parent_frame=j.parent,
                                                   child_frame=j.child)]))
    return rows
