"""tf2_msgs/TFMessage: one Transform3D row per TransformStamped, on the entity ``/tf`` (or the
topic's entity), each at its own header.stamp; ``/tf_static`` rows are static. The transform
maps child-frame coordinates into the parent frame (tf2's convention: parent ← child)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..model import archetypes as A
from ..model import components as C
from .base import Columns, MapContext, MessageBatch, struct_field
from .registry import register_columns


def is_static_topic(topic: str) -> bool:
    return topic.rstrip("/").endswith("tf_static")


# ---- columns ---------------------------------------------------------------------------------

def _transform_columns(tf, parents, children, rows: np.ndarray, stamps: np.ndarray, entity: str,
                       static: bool, ctx: MapContext) -> list[Columns]:
    """Transform3D rows from a StructArray of geometry_msgs/Transform and frame ids (m,)."""
    from .columns import fixed, per_row, unit_quaternions
    t = np.stack([np.asarray(C.to_numpy(struct_field(tf, f"translation.{c}")), np.float64)
                  for c in "xyz"], axis=1)
    q = np.stack([np.asarray(C.to_numpy(struct_field(tf, f"rotation.{c}")), np.float64)
                  for c in "xyzw"], axis=1)
    qn, qok = unit_quaternions(q)
    ok = qok & np.isfinite(t).all(axis=1) & (C.string_lengths(parents) > 0) & (C.string_lengths(children) > 0)
    if not ok.all():
        ctx.reject(len(np.unique(rows[~ok])), "transform with an empty frame id or a non-finite or zero rotation")
        idx = np.nonzero(ok)[0]
        pidx = C.array(idx, pa.int64())
        t, qn, rows, stamps = t[idx], qn[idx], rows[idx], stamps[idx]
        parents, children = parents.take(pidx), children.take(pidx)
    if not len(rows):
        return []
    comps = {A.Transform3D.column("translation"): per_row(fixed(t, 3)),
             A.Transform3D.column("quaternion"): per_row(fixed(qn, 4)),
             A.Transform3D.column("parent_frame"): per_row(parents),
             A.Transform3D.column("child_frame"): per_row(children)}
    if static:
        return [Columns(entity, comps, static=True)]
    return [Columns(entity, comps, rows=rows, time_ns=stamps)]


@register_columns("tf2_msgs/msg/TFMessage", archetypes="Transform3D")
def tf_message_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Every TransformStamped of every message as one Transform3D row at its own stamp."""
    tfs = batch.field("transforms")
    flat = C.list_flat(tfs)
    counts = np.diff(C.list_offsets(tfs))
    rows = np.repeat(np.arange(len(tfs), dtype=np.int64), counts)
    if not len(rows):
        return []
    sec = np.asarray(C.to_numpy(struct_field(flat, "header.stamp.sec")), np.int64)
    nsec = np.asarray(C.to_numpy(struct_field(flat, "header.stamp.nanosec")), np.int64)
    return _transform_columns(struct_field(flat, "transform"), struct_field(flat, "header.frame_id"),
                              struct_field(flat, "child_frame_id"), rows, sec * 1_000_000_000 + nsec,
                              ctx.entity, is_static_topic(ctx.topic), ctx)


@register_columns("geometry_msgs/msg/TransformStamped", archetypes="Transform3D")
def transform_stamped_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    n = len(batch)
    return _transform_columns(batch.field("transform"), batch.field("header.frame_id"), batch.field("child_frame_id"),
                              np.arange(n, dtype=np.int64), batch.ros_time, ctx.entity, is_static_topic(ctx.topic), ctx)
