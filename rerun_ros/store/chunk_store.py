"""ChunkStore: chunks indexed per entity, component and timeline, with Rerun's query semantics.

- **latest-at** ``(entity, timeline, t)``: for each component, the value of the row with the
  greatest time ``<= t``; ties broken by the greater row id; rows that do not set the component
  are skipped. Static data of a component wins over all temporal data of it. A ``Clear`` row
  on the entity (or a recursive one on an ancestor) newer than the value hides it.
- **range** ``(entity, timeline, a, b)``: every row with ``a <= time <= b``, plus the latest-at
  state just before ``a``, sorted by (time, row id).
- **compaction**: a small chunk arriving for an entity whose last chunk is small too (same
  timelines and components) is merged into it.
- **GC**: with a memory budget, the oldest temporal chunks (by row id) are dropped first;
  static data is kept. ``drop_before`` keeps a time window.
- **subscribers** get every chunk added (the viewer redraws from them).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa

from ..model import entity_path as ep_mod
from ..model.chunk import Chunk, Timeline
from ..model.components import array, as_numpy, list_lengths, offsets_array, validity

__all__ = ["ChunkStore", "LatestAt", "RangeResult"]


@dataclass
class LatestAt:
    """A latest-at result for one component: the row's time (None for static data), its row id
    (16 bytes), and the instances (a flat Arrow array)."""

    time: int | None
    row_id: bytes
    values: pa.Array

    def to_numpy(self) -> np.ndarray:
        """The instances as numpy (n,): a view for primitive types, else pyarrow's conversion."""
        return as_numpy(self.values)


@dataclass
class RangeResult:
    """Rows of one component on a timeline: ``times`` (n,) int64, ``row_ids`` (n, 16) uint8,
    ``values`` a list array of n rows (each row's instances). Sorted by (time, row id)."""

    times: np.ndarray
    row_ids: np.ndarray
    values: pa.Array

    def __len__(self) -> int:
        return len(self.times)


@dataclass
class _Entity:
    static: list[Chunk] = field(default_factory=list)
    temporal: list[Chunk] = field(default_factory=list)


def _rid_key(raw: np.ndarray) -> tuple[int, int]:
    b = bytes(raw)
    return int.from_bytes(b[:8], "big"), int.from_bytes(b[8:], "big")


class ChunkStore:
    """An in-memory store of chunks with latest-at and range queries.

    Args:
        memory_budget: bytes; when exceeded after an insert, old temporal chunks are dropped.
        compact_max_rows / compact_max_bytes: chunks smaller than these are merged on insert.
    """

    def __init__(self, *, memory_budget: int | None = None, compact_max_rows: int = 1024,
                 compact_max_bytes: int = 1 << 20):
        self._entities: dict[str, _Entity] = {}
        self._timelines: dict[str, Timeline] = {}
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[Chunk], None]] = []
        self.memory_budget = memory_budget
        self.compact_max_rows = compact_max_rows
        self.compact_max_bytes = compact_max_bytes
        self.total_bytes = 0
        self.num_dropped = 0
        self.generation = 0
        self._index: dict = {}  # (entity, timeline) -> (generation, per-query index): _temporal_index

    # -- insertion --------------------------------------------------------------------------

    def add_chunk(self, chunk: Chunk) -> None:
        """Insert a chunk (compacting it into the entity's last chunk when both are small),
        notify subscribers, then enforce the memory budget."""
        with self._lock:
            ent = self._entities.setdefault(chunk.entity_path, _Entity())
            for name, (tl, _) in chunk.timelines.items():
                self._timelines.setdefault(name, tl)
            if chunk.is_static:
                ent.static.append(chunk)
                self.total_bytes += chunk.nbytes
            else:
                last = ent.temporal[-1] if ent.temporal else None
                if (last is not None and len(last) + len(chunk) <= self.compact_max_rows
                        and last.nbytes + chunk.nbytes <= self.compact_max_bytes
                        and set(last.timelines) == set(chunk.timelines)
                        and set(last.components) == set(chunk.components)
                        and all(last.components[d].type == chunk.components[d].type for d in chunk.components)):
                    merged = Chunk.concat([last, chunk])
                    self.total_bytes += merged.nbytes - last.nbytes
                    ent.temporal[-1] = merged
                else:
                    ent.temporal.append(chunk)
                    self.total_bytes += chunk.nbytes
            self.generation += 1
            subs = list(self._subscribers)
        for fn in subs:
            fn(chunk)
        if self.memory_budget is not None and self.total_bytes > self.memory_budget:
            self.gc(self.memory_budget)

    # a ChunkStore is a RecordingStream sink
    def write_chunk(self, chunk: Chunk) -> None:
        self.add_chunk(chunk)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def subscribe(self, fn: Callable[[Chunk], None]) -> None:
        """Call ``fn(chunk)`` for every chunk added from now on."""
        with self._lock:
            self._subscribers.append(fn)

    def unsubscribe(self, fn: Callable[[Chunk], None]) -> None:
        """Stop calling ``fn`` (no error if it was not subscribed)."""
        with self._lock:
            self._subscribers = [f for f in self._subscribers if f is not fn]

    # -- introspection ----------------------------------------------------------------------

    def entities(self) -> list[str]:
        with self._lock:
            return sorted(self._entities)

    def timelines(self) -> dict[str, Timeline]:
        with self._lock:
            return dict(self._timelines)

    def chunks(self, entity: str | None = None) -> list[Chunk]:
        """All chunks (of one entity if given), static first."""
        with self._lock:
            ents = ([self._entities[entity]] if entity in self._entities else []) if entity is not None \
                else list(self._entities.values())
            return [c for e in ents for c in e.static + e.temporal]

    def num_rows(self, entity: str) -> int:
        """Rows logged on an entity (static and temporal)."""
        return sum(len(c) for c in self.chunks(entity))

    def chunks_with(self, column: str) -> list[Chunk]:
        """Chunks holding a component column (``Archetype:field``), e.g. every Transform3D chunk."""
        return [c for c in self.chunks() if c.component(column) is not None]

    def data_times(self, timeline: str) -> np.ndarray:
        """Sorted distinct times (int64) at which any entity has data on ``timeline``."""
        parts = [c.timelines[timeline][1] for c in self.chunks() if timeline in c.timelines]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def entity_times(self, entity: str, timeline: str) -> np.ndarray:
        """Sorted distinct times (int64 ns) of one entity's rows on ``timeline``."""
        parts = [c.timelines[timeline][1] for c in self.chunks(entity) if timeline in c.timelines]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def columns(self, entity: str) -> list[str]:
        """Component columns (``Archetype:field``) present on an entity."""
        cols: set[str] = set()
        for c in self.chunks(entity):
            cols.update(d.column for d in c.components)
        return sorted(cols)

    def time_range(self, timeline: str, entity: str | None = None) -> tuple[int, int] | None:
        lo, hi = None, None
        for c in self.chunks(entity):
            r = c.time_range(timeline)
            if r is None:
                continue
            lo = r[0] if lo is None else min(lo, r[0])
            hi = r[1] if hi is None else max(hi, r[1])
        return None if lo is None else (lo, hi)

    # -- latest-at --------------------------------------------------------------------------

    def latest_at(self, entity: str, timeline: str, t: int,
                  columns: Iterable[str] | None = None) -> dict[str, LatestAt]:
        """Latest-at values of an entity's components at time ``t`` (int ns or sequence) on
        ``timeline``; ``columns`` restricts to some ``Archetype:field`` names. Components with
        no value at ``t`` are absent from the result."""
        with self._lock:
            ent = self._entities.get(entity)
            if ent is None:
                return {}
            static, temporal = list(ent.static), list(ent.temporal)
        want = set(columns) if columns is not None else None
        out: dict[str, LatestAt] = {}
        # static wins
        for c in static:
            for d, col in c.components.items():
                if want is not None and d.column not in want:
                    continue
                valid = np.flatnonzero(validity(col))
                if not len(valid):
                    continue
                i = valid[-1]
                cand = LatestAt(None, bytes(c.row_ids[i]), col[int(i)].values)
                prev = out.get(d.column)
                if prev is None or cand.row_id > prev.row_id:
                    out[d.column] = cand
        best: dict[str, tuple[int, bytes, Chunk, int, object]] = {}
        chunks, mins, maxs, columns, _ = self._temporal_index(entity, timeline)
        cand = np.flatnonzero(mins <= t)
        # newest first (by the latest time each chunk can offer at t); stop once every column has
        # a row newer than anything the remaining chunks hold
        ub = np.minimum(maxs[cand], t)
        order = np.argsort(-ub, kind="stable")
        need = {n for n in columns if n not in out and (want is None or n in want)}
        for k in order:
            bound = int(ub[k])
            if need and all(n in best and best[n][0] > bound for n in need):
                break
            c = chunks[cand[k]]
            times = c.timelines[timeline][1]
            if c.is_sorted(timeline):
                end = int(np.searchsorted(times, t, side="right"))
                if end == 0:
                    continue
                for d, col in c.components.items():
                    if d.column not in need:
                        continue
                    if col.null_count:
                        ok = np.flatnonzero(validity(col)[:end])
                        if not len(ok):
                            continue
                        j = int(ok[-1])
                    else:
                        ok, j = None, end - 1
                    top = times[j]
                    lo = int(np.searchsorted(times, top, side="left"))
                    if lo < j:  # rows at the same time: the greatest row id wins
                        cands = np.arange(lo, j + 1) if ok is None else ok[ok >= lo]
                        j = int(cands[int(np.lexsort(c.row_ids[cands].T[::-1])[-1])])
                    self._keep_best(best, d.column, int(top), c, j, col)
                continue
            base = times <= t
            for d, col in c.components.items():
                if d.column not in need:
                    continue
                mask = base if not col.null_count else base & validity(col)
                idx = np.flatnonzero(mask)
                if not len(idx):
                    continue
                tm = times[idx]
                top = tm.max()
                cands = idx[tm == top]
                # row ids: pick the greatest among rows at the top time
                rids = c.row_ids[cands]
                j = cands[int(np.lexsort(rids.T[::-1])[-1])] if len(cands) > 1 else cands[0]
                self._keep_best(best, d.column, int(top), c, int(j), col)
        clear = self._clear_time(entity, timeline, t, temporal) if best else None
        for name, (tm, rid, c, j, col) in best.items():
            if clear is not None and clear > (tm, rid):
                continue
            out[name] = LatestAt(tm, rid, col[j].values)
        return out

    @staticmethod
    def _keep_best(best: dict, name: str, top: int, c: Chunk, j: int, col) -> None:
        key = (top, bytes(c.row_ids[j]))
        prev = best.get(name)
        if prev is None or key > (prev[0], prev[1]):
            best[name] = (key[0], key[1], c, j, col)

    def _temporal_index(self, entity: str, timeline: str):
        """(chunks, min times, max times, column names, chunks with Clear) of an entity's temporal
        chunks on ``timeline``, kept until the store changes (latest-at reads it per query)."""
        key = (entity, timeline)
        with self._lock:
            hit = self._index.get(key)
            if hit is not None and hit[0] == self.generation:
                return hit[1]
            ent = self._entities.get(entity)
            chunks = [c for c in (ent.temporal if ent is not None else []) if timeline in c.timelines and len(c)]
            gen = self.generation
        ranges = [c.time_range(timeline) for c in chunks]
        mins = np.array([r[0] for r in ranges], np.int64)
        maxs = np.array([r[1] for r in ranges], np.int64)
        cols = {d.column for c in chunks for d in c.components}
        clears = [c for c in chunks if c.component("Clear:is_recursive") is not None]
        value = (chunks, mins, maxs, cols, clears)
        with self._lock:
            if len(self._index) > 4096:
                self._index.clear()
            self._index[key] = (gen, value)
        return value

    def _clear_time(self, entity: str, timeline: str, t: int, temporal: list[Chunk]) -> tuple[int, bytes] | None:
        """(time, row id) of the newest Clear at or before t affecting ``entity``."""
        newest = None
        path = entity
        own = True
        while path is not None:
            with self._lock:
                known = path in self._entities
            chunks = self._temporal_index(path, timeline)[4] if known else []
            for c in chunks:
                hit = c.component("Clear:is_recursive")
                if hit is None or timeline not in c.timelines:
                    continue
                _, col = hit
                times = c.timelines[timeline][1]
                flags = as_numpy(col.flatten())
                lengths = list_lengths(col)
                rec = np.zeros(len(c), bool)
                has = lengths > 0
                rec[has] = flags[np.cumsum(lengths)[has] - 1]
                ok = (times <= t) & has & (True if own else rec)
                for i in np.flatnonzero(ok):
                    key = (int(times[i]), bytes(c.row_ids[i]))
                    if newest is None or key > newest:
                        newest = key
            own = False
            path = ep_mod.parent(path)
        return newest

    # -- range ------------------------------------------------------------------------------

    def range(self, entity: str, timeline: str, start: int, end: int, column: str,
              include_latest_at: bool = True) -> RangeResult:
        """Rows of ``column`` on ``entity`` with ``start <= time <= end`` on ``timeline``, plus
        (if ``include_latest_at``) the latest row before ``start``; sorted by (time, row id)."""
        with self._lock:
            ent = self._entities.get(entity)
            temporal = list(ent.temporal) if ent is not None else []
        times_l, rids_l, vals_l = [], [], []
        for c in temporal:
            if timeline not in c.timelines:
                continue
            hit = c.component(column)
            if hit is None:
                continue
            _, col = hit
            rng = c.time_range(timeline)
            if rng is None or rng[0] > end or rng[1] < start:
                continue
            times = c.timelines[timeline][1]
            mask = (times >= start) & (times <= end)
            if col.null_count:
                mask &= validity(col)
            idx = np.flatnonzero(mask)
            if len(idx):
                times_l.append(times[idx])
                rids_l.append(c.row_ids[idx])
                vals_l.append(col.take(array(np.asarray(idx, dtype=np.int64), pa.int64())))
        if include_latest_at:
            prev = self.latest_at(entity, timeline, start - 1, [column])
            p = prev.get(column)
            if p is not None and p.time is not None:
                times_l.insert(0, np.array([p.time], np.int64))
                rids_l.insert(0, np.frombuffer(p.row_id, np.uint8).reshape(1, 16))
                vals_l.insert(0, pa.ListArray.from_arrays(offsets_array([0, len(p.values)]), p.values))
        if not times_l:
            return RangeResult(np.zeros(0, np.int64), np.zeros((0, 16), np.uint8), pa.array([], pa.list_(pa.null())))
        times = np.concatenate(times_l)
        rids = np.concatenate(rids_l)
        typ = vals_l[-1].type
        vals = pa.concat_arrays([v.cast(typ) if v.type != typ else v for v in vals_l])
        r = np.ascontiguousarray(rids).view(">u8").reshape(-1, 2)
        order = np.lexsort((r[:, 1], r[:, 0], times))
        return RangeResult(times[order], rids[order], vals.take(array(np.asarray(order, dtype=np.int64), pa.int64())))

    # -- GC ---------------------------------------------------------------------------------

    def gc(self, target_bytes: int) -> int:
        """Drop the oldest temporal chunks (smallest first row id) until the store holds at
        most ``target_bytes``; static chunks are kept. Returns the number of chunks dropped."""
        dropped = 0
        with self._lock:
            if self.total_bytes <= target_bytes:
                return 0
            allc = [(bytes(c.row_ids[0]) if len(c) else b"", e, c) for e in self._entities.values() for c in e.temporal]
            allc.sort(key=lambda x: x[0])
            for _, e, c in allc:
                if self.total_bytes <= target_bytes:
                    break
                e.temporal.remove(c)
                self.total_bytes -= c.nbytes
                dropped += 1
            self.num_dropped += dropped
            self.generation += 1
        return dropped

    def drop_before(self, timeline: str, t: int) -> int:
        """Drop temporal chunks whose every row is before ``t`` on ``timeline`` (a time window)."""
        dropped = 0
        with self._lock:
            for e in self._entities.values():
                keep = []
                for c in e.temporal:
                    r = c.time_range(timeline)
                    if r is not None and r[1] < t:
                        self.total_bytes -= c.nbytes
                        dropped += 1
                    else:
                        keep.append(c)
                e.temporal = keep
            self.num_dropped += dropped
            self.generation += 1
        return dropped

    @classmethod
    def from_chunks(cls, chunks: Iterable[Chunk], **kw) -> "ChunkStore":
        s = cls(**kw)
        for c in chunks:
            s.add_chunk(c)
        return s
