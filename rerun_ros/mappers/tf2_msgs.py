"""tf2_msgs/TFMessage and geometry_msgs/TransformStamped: one Transform3D row per transform,
on one entity per child frame (``/tf/<child_frame>``; ``/tf_static/<child_frame>``, static), at
the transform's own header.stamp.

One entity per child frame keeps every transform in latest-at queries, ranges and dataframes
(one entity for all of ``/tf`` lets transforms that share a stamp hide each other). Rerun 0.41
asks exactly this of named frames: the entity on which a child frame's transforms are logged
must not change over time (a static mention first, on another entity, is allowed). Each
``TFMessage``'s lossless struct rides on the row of its first transform; a message without
transforms keeps a row of its own on the topic's entity. The transform maps child-frame
coordinates into the parent frame (tf2's convention: parent ← child; REP 105 frame names).
"""
from __future__ import annotations

import numpy as np

from ..model import archetypes as A
from ..model import components as C
from ..model.names import tf_entity
from .base import Columns, MapContext, MessageBatch, struct_field
from .registry import register


def is_static_topic(topic: str) -> bool:
    return topic.rstrip("/").endswith("tf_static")


def _transform_columns(tf, parents, children, rows: np.ndarray, stamps: np.ndarray, first: np.ndarray,
                       static: bool, ctx: MapContext) -> list[Columns]:
    """Transform3D rows, one entity per child frame.

    Args:
        tf: StructArray (m,) of geometry_msgs/Transform. parents, children: string arrays (m,).
        rows: int64 (m,) the message of each transform. stamps: int64 (m,) ns (0: unset).
        first: bool (m,) the transform is its message's first (its row carries the message).
    """
    from .columns import fixed, per_row, unit_quaternions
    t = np.stack([np.asarray(C.to_numpy(struct_field(tf, f"translation.{c}")), np.float64)
                  for c in "xyz"], axis=1)
    q = np.stack([np.asarray(C.to_numpy(struct_field(tf, f"rotation.{c}")), np.float64)
                  for c in "xyzw"], axis=1)
    qn, qok = unit_quaternions(q)
    named = (C.string_lengths(parents) > 0) & (C.string_lengths(children) > 0)
    ok = qok & np.isfinite(t).all(axis=1) & named
    if not ok.all():
        ctx.reject(len(np.unique(rows[~ok])), "transform with an empty frame id or a non-finite or zero rotation")
    if not named.all():
        # a transform without a child frame has no entity: its message keeps its own row
        keep = np.flatnonzero(named)
        t, qn, ok, rows, stamps, first = t[keep], qn[keep], ok[keep], rows[keep], stamps[keep], first[keep]
        parents, children = C.take_strings(parents, keep), C.take_strings(children, keep)
    if not len(rows):
        return []
    codes, names = C.string_codes(children)
    out = []
    order = np.argsort(codes, kind="stable")
    sc = codes[order]
    bounds = np.flatnonzero(np.concatenate(([True], sc[1:] != sc[:-1], [True])))
    # every column built once in child-frame order, then sliced per child (zero-copy): a
    # live batch of a few transforms pays its per-column costs once, not once per frame
    if len(bounds) > 2 and not (order == np.arange(len(order))).all():
        t, qn, ok, rows, first, stamps = t[order], qn[order], ok[order], rows[order], first[order], stamps[order]
        parents, children = C.take_strings(parents, order), C.take_strings(children, order)
    cols = {A.Transform3D.column("translation"): per_row(fixed(t, 3), ok),
            A.Transform3D.column("quaternion"): per_row(fixed(qn, 4), ok),
            A.Transform3D.column("parent_frame"): per_row(parents, ok),
            A.Transform3D.column("child_frame"): per_row(children, ok)}
    msg_all = np.where(first, rows, -1)
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        name = names[int(sc[a])]
        comps = {d: col if b - a == len(order) else col.slice(a, b - a) for d, col in cols.items()}
        msg = msg_all[a:b]
        out.append(Columns(tf_entity(ctx.entity, name), comps, rows=rows[a:b],
                           time_ns=None if static else stamps[a:b], static=static,
                           message_of=msg if (msg >= 0).any() else None))
    return out


@register("tf2_msgs/msg/TFMessage", archetypes="Transform3D on /tf/<child_frame>")
def tf_message_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Every TransformStamped of every message as one Transform3D row at its own stamp, on the
    entity of its child frame."""
    tfs = batch.field("transforms")
    flat = C.list_flat(tfs)
    off = C.list_offsets(tfs)
    counts = np.diff(off)
    rows = np.repeat(np.arange(len(tfs), dtype=np.int64), counts)
    if not len(rows):
        return []
    first = np.zeros(len(rows), bool)
    first[(off[:-1] - off[0])[counts > 0]] = True
    sec = np.asarray(C.to_numpy(struct_field(flat, "header.stamp.sec")), np.int64)
    nsec = np.asarray(C.to_numpy(struct_field(flat, "header.stamp.nanosec")), np.int64)
    return _transform_columns(struct_field(flat, "transform"), struct_field(flat, "header.frame_id"),
                              struct_field(flat, "child_frame_id"), rows, sec * 1_000_000_000 + nsec, first,
                              is_static_topic(ctx.topic), ctx)


@register("geometry_msgs/msg/TransformStamped", archetypes="Transform3D on /<topic>/<child_frame>")
def transform_stamped_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    n = len(batch)
    sec = batch.numbers("header.stamp.sec", np.int64)
    nsec = batch.numbers("header.stamp.nanosec", np.int64)
    return _transform_columns(batch.field("transform"), batch.field("header.frame_id"), batch.field("child_frame_id"),
                              np.arange(n, dtype=np.int64), sec * 1_000_000_000 + nsec, np.ones(n, bool),
                              is_static_topic(ctx.topic), ctx)
