"""Query and dataframe API: ``rerun_ros.open(path)`` → :class:`Recording`.

Works on ``.rrd`` files (big ones lazily through the footer manifest) and on bags (``.mcap``,
rosbag2 directories, ``.db3``: converted in memory through the same mappers).

Dataframe semantics follow the official reader (rerun-sdk 0.41 ``ChunkStore.reader``): one row
per distinct value of the chosen timeline among the selected entities; each ``entity:Archetype:field``
column holds that entity's value logged at exactly that time (the last row by row id when
several share the time), or null; static components appear on every row; with
``fill_latest_at=True`` nulls are filled with the latest-at value instead.
"""
from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from ..model.components import array, indices, repeat_column, validity
from ..model.entity_path import entity_glob  # noqa: F401  (also this module's name)
from ..store.chunk_store import ChunkStore, LatestAt

__all__ = ["open", "Recording", "entity_glob"]


class Recording:
    """A recording opened for queries. Times are int ns (timestamps) or ints (sequences).

    Attributes:
        store: the underlying ChunkStore (lazy for large ``.rrd`` files).
        warnings: problems met while opening (damaged chunks, skipped messages).
    """

    def __init__(self, store: ChunkStore, path: str = "", warnings: list[str] | None = None):
        self.store = store
        self.path = path
        self.warnings = warnings or []

    def entities(self, pattern: str = "/**") -> list[str]:
        rx = entity_glob(pattern)
        return [e for e in self.store.entities() if rx.match(e)]

    def timelines(self) -> dict[str, str]:
        """Timeline name → kind (``timestamp``, ``sequence``, ``duration``)."""
        return {n: t.kind for n, t in sorted(self.store.timelines().items())}

    def time_range(self, timeline: str) -> tuple[int, int] | None:
        return self.store.time_range(timeline)

    def latest_at(self, timeline: str, t: int, entities: str = "/**") -> dict[str, dict[str, LatestAt]]:
        """entity → column → LatestAt, for every matching entity with data at ``t``."""
        out = {}
        for e in self.entities(entities):
            la = self.store.latest_at(e, timeline, t)
            if la:
                out[e] = la
        return out

    def range(self, timeline: str, start: int, end: int, entities: str = "/**") -> pa.Table:
        """The rows of matching entities with ``start <= time <= end`` (no latest-at row before
        ``start``), as a dataframe (see :meth:`dataframe`)."""
        return self.dataframe(timeline, entities=entities, start=start, end=end)

    def dataframe(self, timeline: str, entities: str = "/**", start: int | None = None, end: int | None = None,
                  fill_latest_at: bool = False) -> pa.Table:
        """A ``pyarrow.Table``: the timeline columns (the chosen one and the others' values of the
        same rows) then one list column per ``entity:Archetype:field`` (module doc).

        Raises:
            KeyError: an unknown timeline.
        """
        tls = self.store.timelines()
        if timeline not in tls:
            raise KeyError(f"unknown timeline {timeline!r}; known: {', '.join(sorted(tls)) or 'none'}")
        lo = -2**63 + 1 if start is None else start
        hi = 2**63 - 1 if end is None else end
        others = sorted(n for n in tls if n != timeline)
        cols: dict[str, tuple] = {}
        statics: dict[str, pa.Array] = {}
        keys: dict[str, tuple] = {}  # column name -> sort key (entity, full archetype, field), as Rerun orders
        empty_types: dict[str, pa.DataType] = {}
        sel_t, sel_o = [], []  # per column: its rows' index times, and their other timelines
        for e in self.entities(entities):
            per_col: dict[str, list] = {}
            for c in self.store.chunks(e):
                if c.is_static:
                    for d, col in c.components.items():
                        valid = np.flatnonzero(validity(col))
                        if len(valid):
                            statics[f"{e}:{d.column}"] = col[int(valid[-1])].values
                            keys[f"{e}:{d.column}"] = (e, d.archetype_full, d.field)
                    continue
                if timeline not in c.timelines or not len(c):
                    continue
                for d, col in c.components.items():  # a column the entity has, even if all null
                    k = f"{e}:{d.column}"
                    if k not in keys:
                        keys[k] = (e, d.archetype_full, d.field)
                        empty_types[k] = col.type
                t = c.timelines[timeline][1]
                inwin = (t >= lo) & (t <= hi)
                whole = bool(inwin.all())
                if not whole and not inwin.any():
                    continue
                oth = np.stack([c.timelines[n][1] if n in c.timelines else np.full(len(c), np.iinfo(np.int64).min)
                                for n in others], 1) if others else np.zeros((len(c), 0), np.int64)
                for d, col in c.components.items():
                    if whole and not col.null_count:  # the whole column: no copy
                        per_col.setdefault(d.column, []).append((t, c, None, oth, col))
                    else:
                        m = inwin if not col.null_count else inwin & validity(col)
                        idx = np.flatnonzero(m)
                        if not len(idx):
                            continue
                        per_col.setdefault(d.column, []).append((t[idx], c, idx, oth[idx], col.take(indices(idx))))
                    keys[f"{e}:{d.column}"] = (e, d.archetype_full, d.field)
            for colname, parts in per_col.items():
                # chunks in time order: then the rows usually are already (chunks are sorted inside)
                parts.sort(key=lambda p: int(p[0][0]))
                t = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
                oth = np.concatenate([p[3] for p in parts]) if len(parts) > 1 else parts[0][3]
                typ = parts[0][4].type
                vals = pa.concat_arrays([p[4] if p[4].type == typ else p[4].cast(typ) for p in parts]) \
                    if len(parts) > 1 else parts[0][4]
                if len(t) < 2 or bool((t[1:] > t[:-1]).all()):
                    lastpos = None  # strictly increasing times: each row is its time's only (and last) row
                else:  # ties or disorder: time, then row id; the last row of each time wins
                    rid = np.concatenate([_row_keys(p[1], p[2]) for p in parts])
                    order = np.lexsort((rid[:, 1], rid[:, 0], t))
                    t, oth = t[order], oth[order]
                    lastpos = np.flatnonzero(np.r_[t[1:] != t[:-1], True])
                    vals = vals.take(indices(order[lastpos]))
                    t, oth = t[lastpos], oth[lastpos]
                cols[f"{e}:{colname}"] = (t, vals)
                sel_t.append(t)
                sel_o.append(oth)
        if sel_t and all(x is sel_t[0] or (len(x) == len(sel_t[0]) and np.array_equal(x, sel_t[0])) for x in sel_t):
            times = sel_t[0]  # every column at the same times (one archetype logged whole): no union to make
        elif sel_t:  # sorted distinct times (sort-based: numpy's hash unique is slow here)
            x = np.sort(np.concatenate(sel_t))
            times = x[np.r_[True, x[1:] != x[:-1]]] if len(x) else x
        else:
            times = np.zeros(0, np.int64)
        arrays, names = [], []
        if others and sel_t:
            at = np.concatenate(sel_t)
            ao = np.concatenate(sel_o)
            # each other timeline: its greatest value among the rows at that index time (as
            # the official reader fills them)
            order = np.argsort(at, kind="stable")
            ats = at[order]
            starts = np.flatnonzero(np.r_[True, ats[1:] != ats[:-1]])
            other_vals = np.maximum.reduceat(ao[order], starts, axis=0) if len(ao) else ao
        for n in sorted(set(others) | {timeline}):
            if n == timeline:
                arrays.append(array(np.ascontiguousarray(times, np.int64), tls[timeline].arrow_type))
            else:
                v = other_vals[:, others.index(n)] if sel_t else np.zeros(0, np.int64)
                arrays.append(indices(v, null=v == np.iinfo(np.int64).min).view(tls[n].arrow_type))
            names.append(n)
        for name in sorted(set(cols) | set(statics) | set(empty_types), key=lambda k: keys.get(k, (k,))):
            if name not in cols and name not in statics:
                arrays.append(pa.nulls(len(times), empty_types[name]))
                names.append(name)
                continue
            if name in cols and not fill_latest_at and name not in statics and \
                    (cols[name][0] is times or (len(cols[name][0]) == len(times) and np.array_equal(cols[name][0], times))):
                arrays.append(cols[name][1])  # a row at every index time: the column as it is
                names.append(name)
                continue
            if name in cols:
                t, vals = cols[name]
                idx = np.searchsorted(times, t)
                take = np.full(len(times), -1, np.int64)
                take[idx] = np.arange(len(t))
                if fill_latest_at:
                    filled = np.maximum.accumulate(np.where(take >= 0, np.arange(len(times)), -1))
                    take = np.where(filled >= 0, take[np.maximum(filled, 0)], -1)
                mask = take < 0
                col = vals.take(indices(take, null=mask)) if len(vals) else \
                    pa.nulls(len(times), vals.type)
                if name in statics:  # static wins (Rerun semantics)
                    col = repeat_column(statics[name], len(times))
                    if col.type != vals.type:
                        col = col.cast(vals.type)
            else:
                sv = statics[name]
                col = repeat_column(sv, len(times))
            arrays.append(col)
            names.append(name)
        return pa.Table.from_arrays(arrays, names=names)

    def to_pandas(self, timeline: str, **kw):
        """The dataframe as pandas (needs pandas)."""
        return self.dataframe(timeline, **kw).to_pandas()

    def to_polars(self, timeline: str, **kw):
        """The dataframe as polars (needs polars)."""
        import polars as pl
        return pl.from_arrow(self.dataframe(timeline, **kw))

    def to_parquet(self, path, timeline: str, **kw) -> None:
        """Write the dataframe to a Parquet file."""
        import pyarrow.parquet as pq
        pq.write_table(self.dataframe(timeline, **kw), str(path))


def _row_keys(chunk, idx) -> np.ndarray:
    """(n, 2) uint64 sort keys of a chunk's row ids (all rows, or rows ``idx``): time-ordered Tuids."""
    rid = np.ascontiguousarray(chunk.row_ids).view(">u8").reshape(-1, 2).astype(np.uint64)
    return rid if idx is None else rid[idx]


def open(path: str | os.PathLike, lazy_threshold: int = 256 << 20) -> Recording:  # noqa: A001
    """Open an ``.rrd`` or a bag for queries.

    Raises:
        FileNotFoundError, RrdError, BagError: unreadable input (message names it).
    """
    from ..store.open import open_source
    opened = open_source(path, lazy_threshold=lazy_threshold)
    return Recording(opened.store, str(path), opened.warnings)
