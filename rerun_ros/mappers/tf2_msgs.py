"""tf2_msgs/TFMessage: one Transform3D row per TransformStamped, on the entity ``/tf`` (or the
topic's entity), each at its own header.stamp; ``/tf_static`` rows are static. The transform
maps child-frame coordinates into the parent frame (tf2's convention: parent ← child)."""
from __future__ import annotations

from ..model import archetypes as A
from .base import MapContext, MappedRow, MappingError, stamp_ns, xyz, xyzw
from .registry import register


def is_static_topic(topic: str) -> bool:
    return topic.rstrip("/").endswith("tf_static")


@register("tf2_msgs/msg/TFMessage", archetypes="Transform3D")
def tf_message(msg, ctx: MapContext) -> list[MappedRow]:
    static = is_static_topic(ctx.topic)
    rows = []
    for t in msg.transforms:
        rows.append(transform_row(t, ctx.entity, static))
    return rows


def transform_row(t, entity: str, static: bool) -> MappedRow:
    parent = t.header.frame_id
    child = t.child_frame_id
    if not parent or not child:
        raise MappingError(f"TransformStamped with empty frame id (parent {parent!r}, child {child!r})")
    try:
        arch = A.Transform3D(translation=xyz(t.transform.translation), quaternion=xyzw(t.transform.rotation),
                             parent_frame=parent, child_frame=child)
    except ValueError as e:
        raise MappingError(f"transform {parent} -> {child}: {e}") from None
    ts = stamp_ns(t.header.stamp)
    return MappedRow(entity, [arch], static=static, time_ns=ts if ts else None)


@register("geometry_msgs/msg/TransformStamped", archetypes="Transform3D")
def transform_stamped(msg, ctx: MapContext) -> list[MappedRow]:
    return [transform_row(msg, ctx.entity, is_static_topic(ctx.topic))]
