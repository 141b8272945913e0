"""geometry_msgs and nav_msgs mappers: poses as arrows (the pose's x axis, as rviz draws them),
paths as line strips, twists as scalars. Positions in metres in the header's frame."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..model import archetypes as A
from ..model import components as C
from ..model import entity_path
from ..model.rotations import matrices_to_quats, quat_rotate
from .base import Columns, MapContext, MappedRow, MessageBatch, struct_field, xyz, xyzw
from .registry import register
from .rows import per_message

ARROW_LENGTH = 0.5  # m, like rviz's default pose arrow


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
    return [A.Ellipsoids3D([sigmas * np.sqrt(w)], centers=[position], quaternions=[matrices_to_quats(v[None])[0]],
                           colors=[[255, 0, 255, 96]])]





@register("geometry_msgs/msg/PoseArray", archetypes="Arrows3D")
@per_message
def pose_array(msg, ctx: MapContext) -> list[MappedRow]:
    p = np.array([xyz(x.position) for x in msg.poses], dtype=np.float64).reshape(-1, 3)
    q = np.array([xyzw(x.orientation) for x in msg.poses], dtype=np.float64).reshape(-1, 4)
    n = np.linalg.norm(q, axis=1, keepdims=True)
    ok = np.isfinite(p).all(1) & np.isfinite(q).all(1) & (n[:, 0] > 0)
    v = quat_rotate(q[ok] / n[ok], np.tile([[ARROW_LENGTH, 0.0, 0.0]], (int(ok.sum()), 1)))
    return [MappedRow(ctx.entity, [A.Arrows3D(v, origins=p[ok])])]


def _polygon(poly) -> A.LineStrips3D:
    pts = np.array([xyz(p) for p in poly.points], dtype=np.float32).reshape(-1, 3)
    closed = np.concatenate([pts, pts[:1]]) if len(pts) > 2 else pts
    return A.LineStrips3D([closed])


@register("geometry_msgs/msg/Polygon", archetypes="LineStrips3D")
@per_message
def polygon(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [_polygon(msg)])]


@register("geometry_msgs/msg/PolygonStamped", archetypes="LineStrips3D")
@per_message
def polygon_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [_polygon(msg.polygon)])]


TWIST_NAMES = ["linear x [m/s]", "linear y [m/s]", "linear z [m/s]", "angular x [rad/s]",
               "angular y [rad/s]", "angular z [rad/s]"]
WRENCH_NAMES = ["force x [N]", "force y [N]", "force z [N]", "torque x [N·m]", "torque y [N·m]", "torque z [N·m]"]
ACCEL_NAMES = ["linear x [m/s²]", "linear y [m/s²]", "linear z [m/s²]", "angular x [rad/s²]",
               "angular y [rad/s²]", "angular z [rad/s²]"]


# ---- column mappers (whole batches at once) ---------------------------------------------------

def pose_columns(batch: MessageBatch, ctx: MapContext, path: str, cov: str | None = None) -> dict:
    """Arrows3D (and the covariance Ellipsoids3D) of the pose at ``path`` of every message."""
    from .columns import covariance_ellipsoids, list_values, pose_arrows
    p = batch.vectors(f"{path}.position" if path else "position")
    q = batch.vectors(f"{path}.orientation" if path else "orientation", "xyzw")
    comps, drawn, bad = pose_arrows(p, q)
    if bad.any():
        ctx.reject(int(bad.sum()), "pose orientation is not a rotation (zero or not finite)")
    if cov is not None:
        vals, off = list_values(batch.field(cov))
        c = np.zeros((len(p), 36))
        full = np.diff(off) == 36
        if full.any():
            idx = off[:-1][full][:, None] + np.arange(36)
            c[full] = vals[idx]
        comps.update(covariance_ellipsoids(p, c, drawn & full, ctx.state.setdefault(("covariances", path), {})))
    return comps


def _pose_mapper(path: str, cov: str | None = None):
    def fn(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
        return [Columns(ctx.entity, pose_columns(batch, ctx, path, cov))]
    return fn


register("geometry_msgs/msg/Pose", archetypes="Arrows3D")(_pose_mapper(""))
register("geometry_msgs/msg/PoseStamped", archetypes="Arrows3D")(_pose_mapper("pose"))
register("geometry_msgs/msg/PoseWithCovariance", archetypes="Arrows3D + Ellipsoids3D")(
    _pose_mapper("pose", "covariance"))
register("geometry_msgs/msg/PoseWithCovarianceStamped", archetypes="Arrows3D + Ellipsoids3D")(
    _pose_mapper("pose.pose", "pose.covariance"))


@register("geometry_msgs/msg/Transform", archetypes="Arrows3D")
def transform_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """A bare Transform (no frames to attach it to) drawn as a pose arrow at its translation."""
    from .columns import pose_arrows
    comps, _, bad = pose_arrows(batch.vectors("translation"), batch.vectors("rotation", "xyzw"))
    if bad.any():
        ctx.reject(int(bad.sum()), "rotation is not a rotation (zero or not finite)")
    return [Columns(ctx.entity, comps)]


@register("geometry_msgs/msg/Quaternion", archetypes="Arrows3D + Scalars")
def quaternion_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """A bare orientation as an arrow from the origin along its x axis and roll/pitch/yaw (rad)."""
    from .columns import pose_arrows, scalars_columns, series_names
    from ..model.rotations import quat_to_rpy
    q = batch.vectors("", "xyzw")
    comps, drawn, bad = pose_arrows(np.zeros((len(q), 3)), q)
    rpy = quat_to_rpy(np.where(drawn[:, None], q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-300), 0))
    rpy[~drawn] = np.nan
    comps.update(scalars_columns(rpy))
    return series_names(ctx, ctx.entity, ["roll [rad]", "pitch [rad]", "yaw [rad]"]) + [Columns(ctx.entity, comps)]


@register("geometry_msgs/msg/Pose2D", archetypes="Arrows3D + Scalars")
def pose2d_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """x, y (m), theta (rad) as a pose arrow in the plane and three scalars."""
    from .columns import pose_arrows, scalars_columns, series_names
    x, y, th = batch.numbers("x"), batch.numbers("y"), batch.numbers("theta")
    p = np.stack([x, y, np.zeros_like(x)], axis=1)
    q = np.stack([np.zeros_like(th), np.zeros_like(th), np.sin(th / 2), np.cos(th / 2)], axis=1)
    comps, _, _ = pose_arrows(p, q)
    comps.update(scalars_columns(np.stack([x, y, th], axis=1)))
    return series_names(ctx, ctx.entity, ["x [m]", "y [m]", "theta [rad]"]) + [Columns(ctx.entity, comps)]


def _points_mapper(path: str):
    def fn(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
        from .columns import fixed, per_row
        p = batch.vectors(path)
        ok = np.isfinite(p).all(axis=1)
        return [Columns(ctx.entity, {A.Points3D.column("positions"): per_row(fixed(np.where(ok[:, None], p, 0), 3), ok)})]
    return fn


register("geometry_msgs/msg/Point", "geometry_msgs/msg/Point32", archetypes="Points3D")(_points_mapper(""))
register("geometry_msgs/msg/PointStamped", archetypes="Points3D")(_points_mapper("point"))


def _vector_mapper(path: str):
    def fn(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
        from .columns import fixed, per_row
        v = batch.vectors(path)
        ok = np.isfinite(v).all(axis=1)
        return [Columns(ctx.entity, {A.Arrows3D.column("vectors"): per_row(fixed(np.where(ok[:, None], v, 0), 3), ok),
                                     A.Arrows3D.column("origins"): per_row(fixed(np.zeros_like(v), 3), ok)})]
    return fn


register("geometry_msgs/msg/Vector3", archetypes="Arrows3D")(_vector_mapper(""))
register("geometry_msgs/msg/Vector3Stamped", archetypes="Arrows3D")(_vector_mapper("vector"))


def _pair_mapper(a: str, b: str, names: list[str]):
    def fn(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
        from .columns import vector_pair
        return vector_pair(batch, ctx, a, b, names, ctx.entity)
    return fn


for _t, (_a, _b, _names) in {
        "geometry_msgs/msg/Twist": ("linear", "angular", TWIST_NAMES),
        "geometry_msgs/msg/TwistStamped": ("twist.linear", "twist.angular", TWIST_NAMES),
        "geometry_msgs/msg/TwistWithCovariance": ("twist.linear", "twist.angular", TWIST_NAMES),
        "geometry_msgs/msg/TwistWithCovarianceStamped": ("twist.twist.linear", "twist.twist.angular", TWIST_NAMES),
        "geometry_msgs/msg/Wrench": ("force", "torque", WRENCH_NAMES),
        "geometry_msgs/msg/WrenchStamped": ("wrench.force", "wrench.torque", WRENCH_NAMES),
        "geometry_msgs/msg/Accel": ("linear", "angular", ACCEL_NAMES),
        "geometry_msgs/msg/AccelStamped": ("accel.linear", "accel.angular", ACCEL_NAMES),
        "geometry_msgs/msg/AccelWithCovariance": ("accel.linear", "accel.angular", ACCEL_NAMES),
        "geometry_msgs/msg/AccelWithCovarianceStamped": ("accel.accel.linear", "accel.accel.angular", ACCEL_NAMES),
}.items():
    register(_t, archetypes="Arrows3D + Scalars")(_pair_mapper(_a, _b, _names))


@register("nav_msgs/msg/Odometry", archetypes="Arrows3D + Ellipsoids3D + Scalars")
def odometry_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Pose as an arrow with its position covariance ellipsoid (1 σ) on the topic's entity (a
    NaN pose keeps its row, without arrow); twist (in child_frame_id) as arrows and scalars on
    ``<entity>/twist``."""
    from .columns import vector_pair
    comps = pose_columns(batch, ctx, "pose.pose", "pose.covariance")
    tw = entity_path.join(ctx.entity, "twist")
    return [Columns(ctx.entity, comps)] + vector_pair(batch, ctx, "twist.twist.linear", "twist.twist.angular",
                                                      TWIST_NAMES, tw)


@register("nav_msgs/msg/Path", archetypes="LineStrips3D")
def path_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Each path as one line strip through its poses' positions."""
    from .columns import fixed
    poses = batch.field("poses")
    flat = C.list_flat(poses)
    off = C.list_offsets(poses)
    pts = np.stack([np.asarray(C.to_numpy(struct_field(flat, f"pose.position.{c}")), np.float32)
                    for c in "xyz"], axis=1) if len(flat) else np.zeros((0, 3), np.float32)
    strips = pa.ListArray.from_arrays(C.offsets_array(off - off[0]), fixed(pts, 3), type=C.LINE_STRIP3D)
    return [Columns(ctx.entity, {A.LineStrips3D.column("strips"): C.list_column(strips)})]
