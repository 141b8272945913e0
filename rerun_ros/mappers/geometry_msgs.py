"""geometry_msgs and nav_msgs mappers: poses as arrows (the pose's x axis, as rviz draws them),
paths as line strips, twists as scalars. Positions in metres in the header's frame."""
from __future__ import annotations

import numpy as np

from ..model import archetypes as A
from .base import MapContext, MappedRow, MappingError, quat_rotate, xyz, xyzw
from .registry import register

ARROW_LENGTH = 0.5  # m, like rviz's default pose arrow


def _pose_arrow(pose) -> list[A.Arrows3D]:
    """The pose as one arrow, or no archetype for an unknown (NaN) position."""
    p = np.array(xyz(pose.position), dtype=np.float64)
    q = np.array(xyzw(pose.orientation), dtype=np.float64)
    if not np.isfinite(p).all():
        return []
    n = np.linalg.norm(q)
    if not np.isfinite(q).all() or n == 0:
        raise MappingError(f"pose orientation {q.tolist()} is not a rotation")
    v = quat_rotate(q / n, np.array([[ARROW_LENGTH, 0.0, 0.0]]))
    return [A.Arrows3D(v, origins=p.reshape(1, 3))]


def _rows(ctx: MapContext, archs: list) -> list[MappedRow]:
    return [MappedRow(ctx.entity, archs)] if archs else []


def covariance_ellipsoid(position, cov6x6, sigmas: float = 1.0) -> list:
    """An Ellipsoids3D of the position part (top-left 3x3, row-major, m²) of a 6x6 pose
    covariance, ``sigmas`` standard deviations wide; none for an all-zero or invalid one."""
    c = np.asarray(cov6x6, dtype=np.float64).reshape(6, 6)[:3, :3]
    if not np.isfinite(c).all() or not c.any():
        return []
    c = (c + c.T) / 2
    w, v = np.linalg.eigh(c)
    w = np.clip(w, 0.0, None)
    if np.linalg.det(v) < 0:
        v[:, 2] = -v[:, 2]
    return [A.Ellipsoids3D([sigmas * np.sqrt(w)], centers=[position], quaternions=[matrix_to_quat(v)],
                           colors=[[255, 0, 255, 96]])]


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) → unit quaternion xyzw."""
    tr = np.trace(m)
    if tr > 0:
        s = np.sqrt(tr + 1.0) * 2
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    q = np.asarray(q)
    return q / np.linalg.norm(q)


def _pose_with_cov(pwc) -> list:
    archs = _pose_arrow(pwc.pose)
    if archs:
        archs += covariance_ellipsoid(xyz(pwc.pose.position), pwc.covariance)
    return archs


@register("geometry_msgs/msg/PoseArray", archetypes="Arrows3D")
def pose_array(msg, ctx: MapContext) -> list[MappedRow]:
    p = np.array([xyz(x.position) for x in msg.poses], dtype=np.float64).reshape(-1, 3)
    q = np.array([xyzw(x.orientation) for x in msg.poses], dtype=np.float64).reshape(-1, 4)
    n = np.linalg.norm(q, axis=1, keepdims=True)
    ok = np.isfinite(p).all(1) & np.isfinite(q).all(1) & (n[:, 0] > 0)
    v = quat_rotate(q[ok] / n[ok], np.tile([[ARROW_LENGTH, 0.0, 0.0]], (int(ok.sum()), 1)))
    return [MappedRow(ctx.entity, [A.Arrows3D(v, origins=p[ok])])]


@register("geometry_msgs/msg/Point", "geometry_msgs/msg/Point32", archetypes="Points3D")
def point(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [A.Points3D([xyz(msg)])])]


@register("geometry_msgs/msg/PointStamped", archetypes="Points3D")
def point_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [A.Points3D([xyz(msg.point)])])]


def _polygon(poly) -> A.LineStrips3D:
    pts = np.array([xyz(p) for p in poly.points], dtype=np.float32).reshape(-1, 3)
    closed = np.concatenate([pts, pts[:1]]) if len(pts) > 2 else pts
    return A.LineStrips3D([closed])


@register("geometry_msgs/msg/Polygon", archetypes="LineStrips3D")
def polygon(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [_polygon(msg)])]


@register("geometry_msgs/msg/PolygonStamped", archetypes="LineStrips3D")
def polygon_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [_polygon(msg.polygon)])]


def _vector_pair(ctx: MapContext, a, b, names: list[str], entity: str | None = None) -> list[MappedRow]:
    """Two vectors (linear/angular, force/torque) as two arrows from the frame origin (red,
    blue) and six scalars."""
    ent = entity or ctx.entity
    vecs = np.array([xyz(a), xyz(b)], dtype=np.float64)
    rows = []
    key = "names:" + ent
    if ctx.state.get(key) is None:
        ctx.state[key] = True
        rows.append(MappedRow(ent, [A.SeriesLines(names=names)], static=True))
    archs = [A.Scalars(vecs.reshape(-1))]
    if np.isfinite(vecs).all():
        archs.insert(0, A.Arrows3D(vecs, origins=np.zeros((2, 3)), colors=[[230, 60, 60], [60, 90, 230]]))
    rows.append(MappedRow(ent, archs))
    return rows


TWIST_NAMES = ["linear x [m/s]", "linear y [m/s]", "linear z [m/s]", "angular x [rad/s]",
               "angular y [rad/s]", "angular z [rad/s]"]
WRENCH_NAMES = ["force x [N]", "force y [N]", "force z [N]", "torque x [N·m]", "torque y [N·m]", "torque z [N·m]"]
ACCEL_NAMES = ["linear x [m/s²]", "linear y [m/s²]", "linear z [m/s²]", "angular x [rad/s²]",
               "angular y [rad/s²]", "angular z [rad/s²]"]


@register("geometry_msgs/msg/Wrench", archetypes="Arrows3D + Scalars")
def wrench(msg, ctx: MapContext) -> list[MappedRow]:
    return _vector_pair(ctx, msg.force, msg.torque, WRENCH_NAMES)


@register("geometry_msgs/msg/WrenchStamped", archetypes="Arrows3D + Scalars")
def wrench_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _vector_pair(ctx, msg.wrench.force, msg.wrench.torque, WRENCH_NAMES)


@register("geometry_msgs/msg/Accel", archetypes="Arrows3D + Scalars")
def accel(msg, ctx: MapContext) -> list[MappedRow]:
    return _vector_pair(ctx, msg.linear, msg.angular, ACCEL_NAMES)


@register("geometry_msgs/msg/AccelStamped", archetypes="Arrows3D + Scalars")
def accel_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _vector_pair(ctx, msg.accel.linear, msg.accel.angular, ACCEL_NAMES)


@register("geometry_msgs/msg/AccelWithCovarianceStamped", archetypes="Arrows3D + Scalars")
def accel_with_cov(msg, ctx: MapContext) -> list[MappedRow]:
    return _vector_pair(ctx, msg.accel.accel.linear, msg.accel.accel.angular, ACCEL_NAMES)


@register("geometry_msgs/msg/Vector3", archetypes="Arrows3D")
def vector3(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [A.Arrows3D([xyz(msg)], origins=[[0, 0, 0]])])]


@register("geometry_msgs/msg/Vector3Stamped", archetypes="Arrows3D")
def vector3_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [A.Arrows3D([xyz(msg.vector)], origins=[[0, 0, 0]])])]


@register("geometry_msgs/msg/PoseStamped", archetypes="Arrows3D")
def pose_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _rows(ctx, _pose_arrow(msg.pose))


@register("geometry_msgs/msg/Pose", archetypes="Arrows3D")
def pose(msg, ctx: MapContext) -> list[MappedRow]:
    return _rows(ctx, _pose_arrow(msg))


@register("geometry_msgs/msg/PoseWithCovarianceStamped", archetypes="Arrows3D + Ellipsoids3D")
def pose_with_covariance_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _rows(ctx, _pose_with_cov(msg.pose))


def _twist_scalars(ctx: MapContext, twist) -> list[MappedRow]:
    ent = ctx.entity + "/twist" if ctx.type_name.endswith("Odometry") else ctx.entity
    return _vector_pair(ctx, twist.linear, twist.angular, TWIST_NAMES, entity=ent)


@register("geometry_msgs/msg/TwistStamped", archetypes="Scalars")
def twist_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _twist_scalars(ctx, msg.twist)


@register("geometry_msgs/msg/TwistWithCovarianceStamped", archetypes="Scalars")
def twist_with_covariance_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _twist_scalars(ctx, msg.twist.twist)


@register("geometry_msgs/msg/Twist", archetypes="Scalars")
def twist(msg, ctx: MapContext) -> list[MappedRow]:
    return _twist_scalars(ctx, msg)


@register("nav_msgs/msg/Odometry", archetypes="Arrows3D + Ellipsoids3D + Scalars")
def odometry(msg, ctx: MapContext) -> list[MappedRow]:
    """Pose as an arrow with its position covariance ellipsoid (1 σ) on the topic's entity;
    twist (in child_frame_id) as arrows and scalars on ``<entity>/twist``."""
    return _rows(ctx, _pose_with_cov(msg.pose)) + _twist_scalars(ctx, msg.twist.twist)


@register("nav_msgs/msg/Path", archetypes="LineStrips3D")
def path(msg, ctx: MapContext) -> list[MappedRow]:
    pts = np.array([xyz(p.pose.position) for p in msg.poses], dtype=np.float32).reshape(-1, 3)
    return [MappedRow(ctx.entity, [A.LineStrips3D([pts])])]
