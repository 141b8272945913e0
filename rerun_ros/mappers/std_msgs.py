"""std_msgs numbers/strings and rcl_interfaces/Log (``/rosout``) mappers."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..model import archetypes as A
from ..model import components as C
from .base import Columns, MapContext, MappedRow, MessageBatch
from .registry import register
from .rows import per_message

_NUMBER_TYPES = ["Float32", "Float64", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
                 "UInt32", "UInt64", "Byte", "Char", "Bool"]



@register("std_msgs/msg/String", archetypes="TextDocument (URDF on */robot_description)")
@per_message
def string(msg, ctx: MapContext) -> list[MappedRow]:
    """A TextDocument; on a ``robot_description`` topic, the URDF robot model (see ``robot``)."""
    if ctx.topic.rstrip("/").endswith("robot_description"):
        from .robot import robot_description
        return robot_description(str(msg.data), ctx)
    return [MappedRow(ctx.entity, [A.TextDocument(str(msg.data), media_type="text/plain")])]


# rcl_interfaces/msg/Log levels: DEBUG=10 INFO=20 WARN=30 ERROR=40 FATAL=50
LOG_LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARN", 40: "ERROR", 50: "CRITICAL"}


# ---- column mappers ---------------------------------------------------------------------------

def number_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    from .columns import scalars_columns
    return [Columns(ctx.entity, scalars_columns(batch.numbers("data")[:, None]))]


for _t in _NUMBER_TYPES:
    register(f"std_msgs/msg/{_t}", archetypes="Scalars")(number_columns)

_MULTI = ["Float32", "Float64", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Byte"]


@register(*[f"std_msgs/msg/{t}MultiArray" for t in _MULTI], archetypes="Scalars")
def multi_array_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """Every element of ``data`` as one series (``data[i]``), whatever the layout says."""
    from .columns import list_values
    vals, off = list_values(batch.field("data"))
    v = C.array(np.asarray(vals, np.float64), pa.float64())
    col = C.list_column(v.slice(int(off[0]), int(off[-1] - off[0])), off - off[0], np.diff(off) > 0)
    return [Columns(ctx.entity, {A.Scalars.column("scalars"): col})]


@register("rcl_interfaces/msg/Log", archetypes="TextLog")
def rosout_columns(batch: MessageBatch, ctx: MapContext) -> list[Columns]:
    """``[node] message`` lines with their level (DEBUG 10 … FATAL 50 → CRITICAL)."""
    name, msg = batch.field("name"), batch.field("msg")
    has = C.string_lengths(name) > 0
    text = C.join_strings([("[", has), name, ("] ", has), msg], len(batch))
    lv = batch.numbers("level", np.int64)
    codes = np.searchsorted(np.array([10, 20, 30, 40, 50]), lv)
    known = np.isin(lv, [10, 20, 30, 40, 50])
    names = np.array(["DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"])
    level = np.where(known, names[np.clip(codes, 0, 4)], "INFO")
    levels = C.array(level.tolist(), pa.utf8())
    return [Columns(ctx.entity, {A.TextLog.column("text"): C.list_column(text),
                                 A.TextLog.column("level"): C.list_column(levels)})]
