"""visualization_msgs Marker and MarkerArray, as rviz draws them.

Each marker lives on the entity ``<topic>/<ns>/<id>`` (an empty ns is ``_``) in its
``header.frame_id`` (a ``CoordinateFrame``), with the marker pose applied to its geometry:

| type | archetype |
|---|---|
| ARROW (0) | Arrows3D: from ``points[0]`` to ``points[1]``, else ``scale.x`` along the pose's x |
| CUBE (1), CUBE_LIST (6) | Boxes3D (solid), half sizes ``scale / 2`` |
| SPHERE (2), SPHERE_LIST (7) | Ellipsoids3D, half sizes ``scale / 2`` |
| CYLINDER (3) | Cylinders3D along z, length ``scale.z``, radius ``scale.x / 2`` |
| LINE_STRIP (4), LINE_LIST (5) | LineStrips3D, radius ``scale.x / 2`` |
| POINTS (8) | Points3D, radius ``scale.x / 2`` |
| TEXT_VIEW_FACING (9) | Points3D with the text as a shown label |
| MESH_RESOURCE (10) | Mesh3D of the resolved mesh file (scaled, posed), or a labelled point if not found |
| TRIANGLE_LIST (11) | Mesh3D |

Actions: ADD/MODIFY (0) replace the marker (a Clear first when its type changed); DELETE (2)
clears it; DELETEALL (3) clears every marker of the topic. ``lifetime`` > 0 clears the marker
at ``stamp + lifetime`` unless it was re-added before then (deferred until the stream passes
that time). ``frame_locked`` is kept as ``Marker:frame_locked``; our viewer places unlocked
markers with the transform at their stamp (they stay put in the fixed frame, as in rviz) and
locked ones with the transform at the cursor time (they follow their frame).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..model import archetypes as A
from ..model import components as C
from ..model import entity_path
from .meshes import MeshError, load_mesh
from ..model.rotations import quat_rotate
from .base import MapContext, MappedRow, MappingError, stamp_ns, xyz, xyzw
from .registry import register
from .rows import mapped_rows_to_columns, per_message
from ..model.names import ROS_TIME_NAME

ARROW, CUBE, SPHERE, CYLINDER, LINE_STRIP, LINE_LIST, CUBE_LIST, SPHERE_LIST, POINTS, TEXT, MESH, TRIANGLES = range(12)
ADD, MODIFY, DELETE, DELETEALL = 0, 1, 2, 3


def _rgba(c) -> list[int]:
    return [int(round(max(0.0, min(1.0, float(v))) * 255)) for v in (c.r, c.g, c.b, c.a)]


def _colors(m, n: int):
    """Per-point colours if the marker has one per point, else its single colour."""
    cs = list(getattr(m, "colors", []) or [])
    if n and len(cs) == n:
        return np.array([_rgba(c) for c in cs], dtype=np.uint8)
    return [_rgba(m.color)]


def _pose(m) -> tuple[np.ndarray, np.ndarray]:
    p = np.array(xyz(m.pose.position), dtype=np.float64)
    q = np.array(xyzw(m.pose.orientation), dtype=np.float64)
    n = np.linalg.norm(q)
    if not np.isfinite(q).all() or not np.isfinite(p).all():
        raise MappingError(f"Marker {m.ns}/{m.id}: non-finite pose")
    q = np.array([0.0, 0.0, 0.0, 1.0]) if n == 0 else q / n  # rviz treats an all-zero quaternion as identity
    return p, q


def _points(m, p, q) -> np.ndarray:
    pts = np.array([xyz(v) for v in m.points], dtype=np.float64).reshape(-1, 3)
    return quat_rotate(q, pts) + p if len(pts) else pts


def marker_archetypes(m, search_paths=()) -> list:
    """The archetypes of one ADD/MODIFY marker, in the marker's frame.

    Raises:
        MappingError: an unknown type or malformed geometry.
    """
    p, q = _pose(m)
    s = np.array(xyz(m.scale), dtype=np.float64)
    t = int(m.type)
    if t == ARROW:
        if len(m.points) >= 2:
            pts = _points(m, p, q)
            return [A.Arrows3D(pts[1:2] - pts[0:1], origins=pts[0:1], radii=[s[0] / 2], colors=[_rgba(m.color)])]
        v = quat_rotate(q, np.array([[s[0], 0.0, 0.0]]))
        return [A.Arrows3D(v, origins=p.reshape(1, 3), radii=[s[1] / 2], colors=[_rgba(m.color)])]
    if t == CUBE:
        return [A.Boxes3D([s / 2], centers=[p], quaternions=[q], colors=[_rgba(m.color)], fill_mode="Solid")]
    if t == SPHERE:
        return [A.Ellipsoids3D([s / 2], centers=[p], quaternions=[q], colors=[_rgba(m.color)])]
    if t == CYLINDER:
        return [A.Cylinders3D([s[2]], [s[0] / 2], centers=[p], quaternions=[q], colors=[_rgba(m.color)],
                              fill_mode="Solid")]
    if t in (LINE_STRIP, LINE_LIST):
        pts = _points(m, p, q)
        if t == LINE_LIST:
            if len(pts) % 2:
                raise MappingError(f"Marker {m.ns}/{m.id}: LINE_LIST with an odd number of points ({len(pts)})")
            strips = list(pts.reshape(-1, 2, 3))
            cols = _colors(m, len(pts))
            cols = cols[::2] if isinstance(cols, np.ndarray) else cols
        else:
            strips = [pts]
            cols = _colors(m, len(pts))
            cols = cols[:1] if isinstance(cols, np.ndarray) else cols
        return [A.LineStrips3D(strips, radii=[s[0] / 2], colors=cols)]
    if t == CUBE_LIST:
        pts = _points(m, p, q)
        return [A.Boxes3D([s / 2], centers=pts, quaternions=[q], colors=_colors(m, len(pts)), fill_mode="Solid")]
    if t == SPHERE_LIST:
        pts = _points(m, p, q)
        return [A.Ellipsoids3D(np.repeat([s / 2], max(len(pts), 1), axis=0)[:len(pts)], centers=pts,
                               quaternions=np.repeat([q], len(pts), axis=0), colors=_colors(m, len(pts)))]
    if t == POINTS:
        pts = _points(m, p, q)
        return [A.Points3D(pts, radii=[s[0] / 2], colors=_colors(m, len(pts)))]
    if t == TEXT:
        return [A.Points3D([p], labels=[str(m.text)], radii=[s[2] / 2 if s[2] > 0 else 0.05],
                           colors=[_rgba(m.color)], show_labels=True)]
    if t == MESH:
        try:
            mesh = load_mesh(str(m.mesh_resource), search_paths)
        except MeshError as e:
            return [A.Points3D([p], labels=[f"mesh not found: {m.mesh_resource}"], show_labels=True)], str(e)
        v = quat_rotate(q, mesh.vertices * s) + p
        nrm = quat_rotate(q, mesh.normals) if mesh.normals is not None else None
        use_own = bool(getattr(m, "mesh_use_embedded_materials", False)) and mesh.colors is not None
        return [A.Mesh3D(v, triangle_indices=mesh.faces, vertex_normals=nrm,
                         vertex_colors=mesh.colors if use_own else None,
                         albedo_factor=None if use_own else [_rgba(m.color)])]
    if t == TRIANGLES:
        pts = _points(m, p, q)
        if len(pts) % 3:
            raise MappingError(f"Marker {m.ns}/{m.id}: TRIANGLE_LIST with {len(pts)} points (not a multiple of 3)")
        cols = _colors(m, len(pts))
        per_vertex = isinstance(cols, np.ndarray)
        return [A.Mesh3D(pts, triangle_indices=np.arange(len(pts)).reshape(-1, 3),
                         vertex_colors=cols if per_vertex else None, albedo_factor=None if per_vertex else cols)]
    raise MappingError(f"Marker {m.ns}/{m.id}: unknown marker type {t}")


def _entity(ctx: MapContext, m) -> str:
    return entity_path.format_parts([*entity_path.parse(ctx.entity), str(m.ns) or "_", str(int(m.id))])


def _marker_rows(m, ctx: MapContext, warnings: list) -> list[MappedRow]:
    st = ctx.state
    pending: dict = st.setdefault("expiry", {})
    types: dict = st.setdefault("types", {})
    action = int(m.action)
    stamp = stamp_ns(m.header.stamp) or ctx.now.get(ROS_TIME_NAME, 0)
    now = dict(ctx.now)
    now[ROS_TIME_NAME] = stamp
    if action == DELETEALL:
        pending.clear()
        types.clear()
        return [MappedRow(ctx.entity, [A.Clear(recursive=True)], times=now)]
    ent = _entity(ctx, m)
    if action == DELETE:
        pending.pop(ent, None)
        types.pop(ent, None)
        return [MappedRow(ent, [A.Clear(recursive=False)], times=now)]
    if action not in (ADD, MODIFY):
        raise MappingError(f"Marker {m.ns}/{m.id}: unknown action {action}")
    res = marker_archetypes(m, ctx.shared.mesh_search_paths)
    if isinstance(res, tuple):
        res, warning = res
        warnings.append(warning)
    rows = []
    if types.get(ent, int(m.type)) != int(m.type):
        rows.append(MappedRow(ent, [A.Clear(recursive=False)], times=now))
    types[ent] = int(m.type)
    frame_locked = A.AnyValues("Marker", frame_locked=C.array([bool(getattr(m, "frame_locked", False))], pa.bool_()))
    archs = res + [frame_locked]
    if m.header.frame_id:
        archs.append(A.CoordinateFrame(m.header.frame_id))
    rows.append(MappedRow(ent, archs, times=now))
    life = stamp_ns(m.lifetime)
    if life > 0:
        pending[ent] = {k: v + life for k, v in now.items()}
    else:
        pending.pop(ent, None)
    return rows


def _expired(ctx: MapContext, upto: int | None) -> list[MappedRow]:
    """Clears for markers whose lifetime ended at or before ``upto`` (all if None)."""
    pending: dict = ctx.state.get("expiry", {})
    out = []
    for ent, times in list(pending.items()):
        if upto is None or times[ROS_TIME_NAME] <= upto:
            out.append(MappedRow(ent, [A.Clear(recursive=False)], times=times))
            del pending[ent]
            ctx.state.get("types", {}).pop(ent, None)
    return out


def _map(markers, ctx: MapContext) -> list[MappedRow]:
    rows = _expired(ctx, ctx.now.get(ROS_TIME_NAME))
    warnings: list = []
    for m in markers:
        rows += _marker_rows(m, ctx, warnings)
    if warnings:  # the ingest path reports each distinct note once
        ctx.notes.extend(warnings)
    return rows


def _finish(ctx: MapContext) -> list:
    """At the end of a stream, the Clears of markers whose lifetime runs past it."""
    return mapped_rows_to_columns([(0, r) for r in _expired(ctx, None)])


@register("visualization_msgs/msg/Marker", archetypes="Marker → Boxes3D/Arrows3D/LineStrips3D/...",
          finish=_finish)
@per_message
def marker(msg, ctx: MapContext) -> list[MappedRow]:
    return _map([msg], ctx)


@register("visualization_msgs/msg/MarkerArray", archetypes="Marker → Boxes3D/Arrows3D/LineStrips3D/...",
          finish=_finish)
@per_message
def marker_array(msg, ctx: MapContext) -> list[MappedRow]:
    return _map(list(msg.markers), ctx)
