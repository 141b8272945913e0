"""Row views: one message of a decoded batch read by attribute, for row mappers.

``RowView(batch_struct_array, i).header.frame_id`` reads field values of row i lazily from the
Arrow columns: numbers and strings as Python values, sequences of numbers as numpy views of the
column (no copy; ``uint8``/``int8`` sequences as ``bytes``-like numpy arrays), sequences of
strings as lists, nested messages and sequences of messages as row views. Used by the ingest
for types whose mapper works one message at a time (see :mod:`rerun_ros.mappers.base`).
"""
from __future__ import annotations

import pyarrow as pa

from ..model.components import to_numpy
from ..model.names import LOG_TIME_NAME, PUBLISH_TIME_NAME, ROS_TIME_NAME

__all__ = ["RowView", "rows_of"]


class _Cols:
    """The children of a StructArray, flattened once (offset-aware), with their kinds."""

    __slots__ = ("arrays", "kinds", "sub", "index")

    def __init__(self, arr: pa.StructArray):
        self.arrays = {}
        self.kinds = {}
        self.sub = {}
        children = arr.flatten()
        for f, c in zip(arr.type, children):
            self.arrays[f.name] = c
            t = f.type
            if pa.types.is_struct(t):
                self.kinds[f.name] = "struct"
            elif pa.types.is_list(t) or pa.types.is_large_list(t):
                vt = t.value_type
                self.kinds[f.name] = ("lstruct" if pa.types.is_struct(vt) else
                                      "lstring" if pa.types.is_string(vt) else
                                      "lbool" if pa.types.is_boolean(vt) else "lnum")
            else:
                self.kinds[f.name] = "value"

    def child(self, name: str) -> "_Cols":
        c = self.sub.get(name)
        if c is None:
            arr = self.arrays[name]
            if self.kinds[name] == "lstruct":
                arr = arr.values
            c = self.sub[name] = _Cols(arr)
        return c


class RowView:
    """Row ``i`` of a StructArray, read by attribute (see the module docstring).

    Raises:
        AttributeError: no such field.
    """

    __slots__ = ("_c", "_i")

    def __init__(self, cols, i: int):
        self._c = cols if isinstance(cols, _Cols) else _Cols(cols)
        self._i = i

    def __getattr__(self, name: str):
        c = self._c
        kind = c.kinds.get(name)
        if kind is None:
            raise AttributeError(name)
        arr = c.arrays[name]
        i = self._i
        if kind == "value":
            return arr[i].as_py()
        if kind == "struct":
            return RowView(c.child(name), i)
        off = arr.offsets
        a, b = off[i].as_py(), off[i + 1].as_py()
        if kind == "lstruct":
            sub = c.child(name)
            return [RowView(sub, k) for k in range(a, b)]
        vals = arr.values
        if kind == "lstring":
            return vals.slice(a, b - a).to_pylist()
        if kind == "lbool":
            return to_numpy(vals.slice(a, b - a))
        return to_numpy(vals.slice(a, b - a))

    def get_fields_and_field_types(self) -> dict:
        return {k: "" for k in self._c.kinds}

    def __repr__(self) -> str:
        return f"RowView({', '.join(self._c.kinds)})"


def rows_of(arr: pa.StructArray) -> list[RowView]:
    """A view of every row of a decoded batch."""
    cols = _Cols(arr)
    return [RowView(cols, i) for i in range(len(arr))]



# ---- the per-message adapter of the mapper contract ---------------------------------------

def per_message(fn):
    """Wrap ``fn(msg, ctx) -> list[MappedRow]`` (one message at a time, read by attribute
    through :class:`RowView`) into the mapper contract ``fn(batch, ctx) -> list[Columns]``.

    Each message's first row on the topic's entity at the message's time joins the message's
    own row; the others (static rows, other entities, explicit times) become :class:`Columns`
    grouped per entity and kind, in order. ``ctx.now`` holds the current message's times
    (timeline name -> ns) while ``fn`` runs. A message ``fn`` cannot map (it raises
    :class:`MappingError`, or an attribute/type/value error on malformed content) is counted in
    ``ctx.unmapped`` and keeps its row.
    """
    from .base import MappingError

    def columns(batch, ctx):
        from .base import Columns
        from .columns import rows_to_columns
        n = len(batch)
        cols = _Cols(batch.messages)
        aligned: list = [None] * n
        rest: list = []
        pub = batch.publish_time
        for i in range(n):
            now = {ROS_TIME_NAME: int(batch.ros_time[i]), LOG_TIME_NAME: int(batch.log_time[i])}
            if pub is not None:
                now[PUBLISH_TIME_NAME] = int(pub[i])
            ctx.now = now
            try:
                rows = fn(RowView(cols, i), ctx)
            except MappingError as ex:
                ctx.reject(1, str(ex))
                continue
            except (AttributeError, TypeError, ValueError, IndexError, KeyError) as ex:
                ctx.reject(1, f"cannot map message: {type(ex).__name__}: {ex}")
                continue
            for r in rows:
                if (aligned[i] is None and r.entity == ctx.entity and not r.static and r.times is None
                        and r.time_ns is None):
                    aligned[i] = r.archetypes
                else:
                    rest.append((i, r))
        out = []
        if any(a for a in aligned):
            out.append(Columns(ctx.entity, rows_to_columns(aligned, ctx.entity)))
        return out + mapped_rows_to_columns(rest)

    columns.__name__ = fn.__name__
    columns.__doc__ = fn.__doc__
    columns.per_message = fn
    return columns


def mapped_rows_to_columns(rows: list) -> list:
    """``(message index, MappedRow)`` pairs → :class:`Columns`, one per run of rows that share
    entity, static-ness and kind of time (the message's, a ``time_ns`` of their own, or explicit
    ``times`` of the same timelines), in order (row order within an entity is kept: a ``Clear``
    before the row that follows it at the same time)."""
    import numpy as np

    from .base import Columns
    from .columns import rows_to_columns
    out = []
    group: list = []
    key = None

    def flush():
        if not group:
            return
        ent, static, kind = key
        idx = np.array([i for i, _ in group], np.int64)
        comps = rows_to_columns([r.archetypes for _, r in group], ent)
        if not comps:
            return
        c = Columns(ent, comps, rows=idx, static=static)
        if kind == "time_ns":
            c.time_ns = np.array([r.time_ns for _, r in group], np.int64)
        elif kind:
            c.times = {k: np.array([r.times[k] for _, r in group], np.int64) for k in kind}
        out.append(c)

    for i, r in rows:
        kind = () if r.static else ("time_ns" if r.times is None and r.time_ns is not None else
                                    tuple(sorted(r.times)) if r.times is not None else ())
        k = (r.entity, bool(r.static), kind)
        if k != key:
            flush()
            group, key = [], k
        group.append((i, r))
    flush()
    return out
