"""geometry_msgs and nav_msgs mappers: poses as arrows (the pose's x axis, as rviz draws them),
paths as line strips, twists as scalars. Positions in metres in the header's frame."""
from __future__ import annotations

import numpy as np

from .. import archetypes as A
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


@register("geometry_msgs/msg/PoseStamped", archetypes="Arrows3D")
def pose_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _rows(ctx, _pose_arrow(msg.pose))


@register("geometry_msgs/msg/Pose", archetypes="Arrows3D")
def pose(msg, ctx: MapContext) -> list[MappedRow]:
    return _rows(ctx, _pose_arrow(msg))


@register("geometry_msgs/msg/PoseWithCovarianceStamped", archetypes="Arrows3D")
def pose_with_covariance_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _rows(ctx, _pose_arrow(msg.pose.pose))


def _twist_scalars(ctx: MapContext, twist) -> list[MappedRow]:
    vals = xyz(twist.linear) + xyz(twist.angular)
    names = ["linear x [m/s]", "linear y [m/s]", "linear z [m/s]", "angular x [rad/s]",
             "angular y [rad/s]", "angular z [rad/s]"]
    rows = []
    if ctx.state.get("twist_names") is None:
        ctx.state["twist_names"] = True
        rows.append(MappedRow(ctx.entity + "/twist" if ctx.type_name.endswith("Odometry") else ctx.entity,
                              [A.SeriesLines(names=names)], static=True))
    ent = ctx.entity + "/twist" if ctx.type_name.endswith("Odometry") else ctx.entity
    rows.append(MappedRow(ent, [A.Scalars(vals)]))
    return rows


@register("geometry_msgs/msg/TwistStamped", archetypes="Scalars")
def twist_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _twist_scalars(ctx, msg.twist)


@register("geometry_msgs/msg/TwistWithCovarianceStamped", archetypes="Scalars")
def twist_with_covariance_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return _twist_scalars(ctx, msg.twist.twist)


@register("geometry_msgs/msg/Twist", archetypes="Scalars")
def twist(msg, ctx: MapContext) -> list[MappedRow]:
    return _twist_scalars(ctx, msg)


@register("nav_msgs/msg/Odometry", archetypes="Arrows3D + Scalars")
def odometry(msg, ctx: MapContext) -> list[MappedRow]:
    """Pose as an arrow on the topic's entity; twist (in child_frame_id) as scalars on
    ``<entity>/twist``."""
    return _rows(ctx, _pose_arrow(msg.pose.pose)) + _twist_scalars(ctx, msg.twist.twist)


@register("nav_msgs/msg/Path", archetypes="LineStrips3D")
def path(msg, ctx: MapContext) -> list[MappedRow]:
    pts = np.array([xyz(p.pose.position) for p in msg.poses], dtype=np.float32).reshape(-1, 3)
    return [MappedRow(ctx.entity, [A.LineStrips3D([pts])])]
