"""A ChunkStore over a large ``.rrd`` that loads chunks only when a query needs them.

The RRD footer's chunk manifest (``rerun_ros.rrd.manifest``) says, per chunk, its byte range,
entity, static flag and, per timeline and component, the time range and row count. Queries pick
the chunks that can hold the answer from the manifest alone, read just those (random access),
and keep recently used ones in an LRU cache bounded by ``cache_bytes``. Files without footer
fall back to loading everything.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..model.chunk import Chunk, Timeline
from ..model.components import offsets_array
from ..rrd.manifest import component_of
from ..rrd.reader import RrdReader
from .chunk_store import ChunkStore, LatestAt, RangeResult

__all__ = ["LazyRrdStore", "open_store"]


class _Entry:
    __slots__ = ("idx", "entity", "static", "offset", "size", "ranges", "comps")

    def __init__(self, idx, entity, static, offset, size):
        self.idx, self.entity, self.static, self.offset, self.size = idx, entity, static, offset, size
        self.ranges: dict[str, tuple[int, int]] = {}
        self.comps: dict[tuple[str, str], tuple[int, int]] = {}  # (timeline, column) -> (start, end)


class LazyRrdStore(ChunkStore):
    """Read-only ChunkStore backed by an ``.rrd`` with a footer (see module doc)."""

    def __init__(self, path, cache_bytes: int = 192 << 20):
        super().__init__(compact_max_rows=0)
        self.reader = RrdReader(path)
        if not self.reader.has_footer:
            raise ValueError(f"{path}: no footer/manifest: open it with the full loader")
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._cached_bytes = 0
        man = self.reader.manifest
        cols = {n: man.column(n).to_pylist() if not n.endswith((":start", ":end")) else
                man.column(n).cast("int64").to_pylist() for n in man.column_names}
        self.entries: list[_Entry] = []
        self._rows = cols["chunk_num_rows"]
        self._by_entity: dict[str, list[_Entry]] = {}
        tl_names = sorted({n[:-len(":start")] for n in man.column_names
                           if n.endswith(":start") and n.count(":") == 1})
        for name in tl_names:
            typ = man.schema.field(f"{name}:start").type
            self._timelines[name] = Timeline(name, Timeline.kind_of(typ))
        comp_cols = [n for n in man.column_names if n.count(":") >= 3 and n.endswith(":start")]
        for i in range(man.num_rows):
            e = _Entry(i, cols["chunk_entity_path"][i], cols["chunk_is_static"][i], cols["chunk_byte_offset"][i],
                       cols["chunk_byte_size"][i])
            for name in tl_names:
                s, t = cols[f"{name}:start"][i], cols[f"{name}:end"][i]
                if s is not None:
                    e.ranges[name] = (s, t)
            for n in comp_cols:
                s = cols[n][i]
                if s is not None:
                    tl = n.split(":", 1)[0]
                    comp = component_of(man.schema.field(n))
                    e.comps[(tl, comp)] = (s, cols[n[:-len(":start")] + ":end"][i])
            self.entries.append(e)
            self._by_entity.setdefault(e.entity, []).append(e)
        self._ranges: dict = {}
        self._col_index: dict = {}
        self._static_cols: dict[str, set] = {}
        for n in man.column_names:
            if n.endswith(":has_static_data"):
                comp = component_of(man.schema.field(n))
                for i, v in enumerate(cols[n]):
                    if v:
                        self._static_cols.setdefault(self.entries[i].entity, set()).add(comp)

    # -- loading ----------------------------------------------------------------------------

    def _load(self, e: _Entry) -> Chunk:
        c = self._cache.get(e.idx)
        if c is not None:
            self._cache.move_to_end(e.idx)
            return c
        c = self.reader.read_chunk(e.offset, e.size)
        self._cache[e.idx] = c
        self._cached_bytes += c.nbytes
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.nbytes
        return c

    def _subset(self, entries) -> ChunkStore:
        return ChunkStore.from_chunks([self._load(e) for e in entries], compact_max_rows=0)

    # -- ChunkStore interface ---------------------------------------------------------------

    def add_chunk(self, chunk: Chunk) -> None:
        raise TypeError("LazyRrdStore is read-only")

    def entities(self) -> list[str]:
        return sorted(self._by_entity)

    def columns(self, entity: str) -> list[str]:
        cols = {c for e in self._by_entity.get(entity, []) for (_, c) in e.comps}
        cols |= self._static_cols.get(entity, set())
        return sorted(cols)

    def chunks(self, entity: str | None = None) -> list[Chunk]:
        """Loads the chunks asked for (all of an entity, or of the file): use sparingly."""
        ents = self._by_entity.get(entity, []) if entity is not None else self.entries
        return [self._load(e) for e in ents]

    def num_rows(self, entity: str) -> int:
        """From the manifest (no chunk loaded)."""
        return sum(self._rows[e.idx] for e in self._by_entity.get(entity, []))

    def chunks_with(self, column: str) -> list[Chunk]:
        """Loads only the chunks whose manifest lists the column (e.g. the transforms)."""
        return [self._load(e) for e in self.entries
                if any(c == column for (_, c) in e.comps) or column in self._static_cols.get(e.entity, set())
                and e.static]

    def data_times(self, timeline: str) -> np.ndarray:
        """Chunk start/end times from the manifest (a coarse set: no chunk is loaded)."""
        ts = {x for e in self.entries if timeline in e.ranges for x in e.ranges[timeline]}
        return np.array(sorted(ts), np.int64)

    def entity_times(self, entity: str, timeline: str) -> np.ndarray:
        """The entity's chunk start/end times from the manifest (coarse: no chunk is loaded)."""
        ts = {x for e in self._by_entity.get(entity, []) if timeline in e.ranges for x in e.ranges[timeline]}
        return np.array(sorted(ts), np.int64)

    def time_range(self, timeline: str, entity: str | None = None):
        key = (timeline, entity)
        if key not in self._ranges:  # the store is read-only: each answer is kept
            rs = [e.ranges[timeline] for e in (self._by_entity.get(entity, []) if entity else self.entries)
                  if timeline in e.ranges]
            self._ranges[key] = (min(r[0] for r in rs), max(r[1] for r in rs)) if rs else None
        return self._ranges[key]

    def _column_index(self, entity: str, timeline: str) -> dict:
        """column -> (starts (k,) int64, ends (k,) int64, entries) of the entity's chunks holding it."""
        key = (entity, timeline)
        idx = self._col_index.get(key)
        if idx is None:
            per: dict[str, list] = {}
            for e in self._by_entity.get(entity, []):
                for (tl, c), (s, end) in e.comps.items():
                    if tl == timeline:
                        per.setdefault(c, []).append((s, end, e))
            idx = {c: (np.array([x[0] for x in v], np.int64), np.array([x[1] for x in v], np.int64), [x[2] for x in v])
                   for c, v in per.items()}
            self._col_index[key] = idx
        return idx

    def latest_at(self, entity: str, timeline: str, t: int, columns=None) -> dict[str, LatestAt]:
        ents = self._by_entity.get(entity, [])
        needed = {e.idx: e for e in ents if e.static}
        index = self._column_index(entity, timeline)
        for col in (index if columns is None else [c for c in columns if c in index]):
            starts, ends, entries = index[col]
            before = starts <= t
            if not before.any():
                continue
            floor = starts[before].max()
            for i in np.flatnonzero(before & (np.minimum(ends, t) >= floor)):
                needed[entries[i].idx] = entries[i]
        return self._subset(needed.values()).latest_at(entity, timeline, t, columns)

    def range(self, entity: str, timeline: str, start: int, end: int, column: str,
              include_latest_at: bool = True) -> RangeResult:
        ents = [e for e in self._by_entity.get(entity, []) if (timeline, column) in e.comps
                and e.comps[(timeline, column)][0] <= end and e.comps[(timeline, column)][1] >= start]
        sub = self._subset(ents)
        r = sub.range(entity, timeline, start, end, column, include_latest_at=False)
        if include_latest_at:
            prev = self.latest_at(entity, timeline, start - 1, [column]).get(column)
            if prev is not None and prev.time is not None:
                import pyarrow as pa
                vals = pa.ListArray.from_arrays(offsets_array([0, len(prev.values)]), prev.values)
                typ = r.values.type if len(r) else vals.type
                return RangeResult(np.concatenate([[prev.time], r.times]).astype(np.int64),
                                   np.concatenate([np.frombuffer(prev.row_id, np.uint8).reshape(1, 16), r.row_ids]),
                                   pa.concat_arrays([vals.cast(typ), r.values]) if len(r) else vals)
        return r

    @property
    def cached_bytes(self) -> int:
        return self._cached_bytes


def open_store(path, lazy_threshold: int = 256 << 20) -> ChunkStore:
    """A store for an ``.rrd``: lazy (manifest + LRU) when it is larger than the threshold and
    has a footer, else everything loaded."""
    import os
    if os.path.getsize(path) > lazy_threshold:
        try:
            return LazyRrdStore(path)
        except ValueError:
            pass
    store = ChunkStore(compact_max_rows=4096, compact_max_bytes=8 << 20)
    with RrdReader(path) as r:
        for c in r.iter_chunks():
            store.add_chunk(c)
    return store
