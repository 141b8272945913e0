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

import fnmatch
import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from .chunk import Timeline
from .store import ChunkStore, LatestAt

__all__ = ["open", "Recording", "entity_glob"]


def entity_glob(pattern: str) -> re.Pattern:
    """Entity glob → regex: ``*`` one path part, ``**`` any depth; ``/a/**`` also matches ``/a``
    (as Rerun's entity filters); a plain path matches itself."""
    if pattern.endswith("/**"):
        base = entity_glob(pattern[:-3] or "/").pattern[1:-1]
        return re.compile("^" + (base if pattern[:-3] else "") + "(/.*)?$" if pattern[:-3] else "^/.*$|^/$")
    parts, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(parts) + "$")


def _load_bag(path: Path, store: ChunkStore) -> list[str]:
    from .convert import open_bag
    from .ingest import Ingestor
    from .recording import BatcherConfig, RecordingStream
    warnings: list[str] = []
    src = open_bag(path, warn=warnings.append)
    rec = RecordingStream(path.stem, batcher=BatcherConfig(max_age=0), sinks=[store])
    ing = Ingestor(rec, warn=warnings.append, source=str(path))
    for m in src.messages():
        if m.error is not None:
            ing.skip(m.topic, m.type_name, m.error, log_time=m.log_time)
        else:
            ing.ingest(m.topic, m.type_name, m.msg, m.log_time, m.publish_time)
    ing.finish()
    rec.close()
    return warnings


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
        cols: dict[str, tuple] = {}
        statics: dict[str, pa.Array] = {}
        all_times = []
        other: dict[str, dict[int, tuple]] = {n: {} for n in tls if n != timeline}  # tl -> time -> (rid, value)
        for e in self.entities(entities):
            rowtimes: dict[bytes, dict] = {}
            for c in self.store.chunks(e):
                if timeline not in c.timelines:
                    continue
                for n in other:
                    if n in c.timelines:
                        vals = c.timelines[n][1]
                        for rid, v in zip(c.row_ids, vals):
                            rowtimes.setdefault(bytes(rid), {})[n] = int(v)
            for col in self.store.columns(e):
                r = self.store.range(e, timeline, lo, hi, col, include_latest_at=False)
                st = self.store.latest_at(e, timeline, hi, [col]).get(col)
                if st is not None and st.time is None:
                    statics[f"{e}:{col}"] = st.values
                if not len(r):
                    continue
                # the last row (by row id) at each time: r is sorted by (time, row id)
                last = np.flatnonzero(np.r_[r.times[1:] != r.times[:-1], True])
                cols[f"{e}:{col}"] = (r.times[last], r.values.take(pa.array(last)))
                all_times.append(r.times[last])
                for i in last:
                    rid = bytes(r.row_ids[i])
                    for n, v in rowtimes.get(rid, {}).items():
                        prev = other[n].get(int(r.times[i]))
                        if prev is None or rid > prev[0]:
                            other[n][int(r.times[i])] = (rid, v)
        times = np.unique(np.concatenate(all_times)) if all_times else np.zeros(0, np.int64)
        arrays, names = [], []
        for n in sorted(set(other) | {timeline}):
            if n == timeline:
                arrays.append(pa.array(times, pa.int64()).view(tls[timeline].arrow_type))
            else:
                vals = [other[n].get(int(t), (None, None))[1] for t in times]
                arrays.append(pa.array(vals, pa.int64()).view(tls[n].arrow_type))
            names.append(n)
        for name in sorted(set(cols) | set(statics)):
            if name in cols:
                t, vals = cols[name]
                idx = np.searchsorted(times, t)
                take = np.full(len(times), -1, np.int64)
                take[idx] = np.arange(len(t))
                if fill_latest_at:
                    filled = np.maximum.accumulate(np.where(take >= 0, np.arange(len(times)), -1))
                    take = np.where(filled >= 0, take[np.maximum(filled, 0)], -1)
                mask = take < 0
                col = vals.take(pa.array(np.where(mask, 0, take), mask=mask)) if len(vals) else \
                    pa.nulls(len(times), vals.type)
                if name in statics:  # static wins (Rerun semantics)
                    col = pa.array([statics[name].to_pylist()] * len(times), type=vals.type)
            else:
                sv = statics[name]
                col = pa.array([sv.to_pylist()] * len(times), type=pa.list_(sv.type))
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


def open(path: str | os.PathLike, lazy_threshold: int = 256 << 20) -> Recording:  # noqa: A001
    """Open an ``.rrd`` or a bag for queries.

    Raises:
        FileNotFoundError, RrdError, BagError: unreadable input (message names it).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or directory")
    if p.suffix == ".rrd":
        from .lazy_store import open_store
        from .rrd_reader import RrdReader
        store = open_store(p, lazy_threshold=lazy_threshold)
        warnings = []
        if not hasattr(store, "reader"):
            with RrdReader(p) as r:
                warnings = list(r.warnings)
        return Recording(store, str(p), warnings)
    store = ChunkStore(compact_max_rows=4096, compact_max_bytes=8 << 20)
    return Recording(store, str(p), _load_bag(p, store))
