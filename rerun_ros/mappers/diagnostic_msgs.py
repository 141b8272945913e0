"""diagnostic_msgs/DiagnosticArray: each status on ``<topic>/<status name>`` as a TextLog line
(level OK→INFO, WARN→WARN, ERROR→ERROR, STALE→WARN) and its numeric key/values as Scalars
(series named by key)."""
from __future__ import annotations

import math

from ..model import archetypes as A
from ..model import entity_path
from .base import MapContext, MappedRow
from .registry import register
from .rows import per_message

LEVELS = {0: "INFO", 1: "WARN", 2: "ERROR", 3: "WARN"}
LEVEL_NAMES = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}


def _level(v) -> int:
    if isinstance(v, (bytes, bytearray)):
        return v[0] if v else 0
    return int(v)


def _number(s: str) -> float | None:
    try:
        f = float(s)
    except (TypeError, ValueError):
        low = str(s).strip().lower()
        return {"true": 1.0, "false": 0.0}.get(low)
    return f if math.isfinite(f) else None


@register("diagnostic_msgs/msg/DiagnosticArray", archetypes="TextLog + Scalars")
@per_message
def diagnostic_array(msg, ctx: MapContext) -> list[MappedRow]:
    rows = []
    for st in msg.status:
        name = str(st.name).strip("/ ") or "_"
        ent = entity_path.format_parts([*entity_path.parse(ctx.entity), *[p for p in name.split("/") if p]])
        lvl = _level(st.level)
        hw = f" [{st.hardware_id}]" if st.hardware_id else ""
        rows.append(MappedRow(ent, [A.TextLog(f"{LEVEL_NAMES.get(lvl, lvl)}: {st.message}{hw}",
                                              level=LEVELS.get(lvl, "WARN"))]))
        nums = [(kv.key, _number(kv.value)) for kv in st.values]
        nums = [(k, v) for k, v in nums if v is not None]
        if nums:
            keys = [k for k, _ in nums]
            skey = "names:" + ent
            vent = ent + "/values"
            if ctx.state.get(skey) != keys:
                ctx.state[skey] = keys
                rows.append(MappedRow(vent, [A.SeriesLines(names=keys)], static=True))
            rows.append(MappedRow(vent, [A.Scalars([v for _, v in nums])]))
    return rows
