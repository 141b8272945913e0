"""std_msgs numbers/strings and rcl_interfaces/Log (``/rosout``) mappers."""
from __future__ import annotations

from ..model import archetypes as A
from .base import MapContext, MappedRow
from .registry import register

_NUMBER_TYPES = ["Float32", "Float64", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16",
                 "UInt32", "UInt64", "Byte", "Char", "Bool"]


def number(msg, ctx: MapContext) -> list[MappedRow]:
    return [MappedRow(ctx.entity, [A.Scalars([float(msg.data)])])]


for _t in _NUMBER_TYPES:
    register(f"std_msgs/msg/{_t}", archetypes="Scalars")(number)


@register("std_msgs/msg/String", archetypes="TextDocument (URDF on */robot_description)")
def string(msg, ctx: MapContext) -> list[MappedRow]:
    """A TextDocument; on a ``robot_description`` topic, the URDF robot model (see ``robot``)."""
    if ctx.topic.rstrip("/").endswith("robot_description"):
        from .robot import robot_description
        return robot_description(str(msg.data), ctx)
    return [MappedRow(ctx.entity, [A.TextDocument(str(msg.data), media_type="text/plain")])]


# rcl_interfaces/msg/Log levels: DEBUG=10 INFO=20 WARN=30 ERROR=40 FATAL=50
LOG_LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARN", 40: "ERROR", 50: "CRITICAL"}


@register("rcl_interfaces/msg/Log", archetypes="TextLog")
def rosout(msg, ctx: MapContext) -> list[MappedRow]:
    level = LOG_LEVELS.get(int(msg.level), "INFO")
    text = f"[{msg.name}] {msg.msg}" if msg.name else str(msg.msg)
    return [MappedRow(ctx.entity, [A.TextLog(text, level=level)])]
