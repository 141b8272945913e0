"""``rerun-ros filter``: a small reproducer cut out of a big recording.

Keeps the chunks of the selected entities (globs) within ``[start, end]`` on one timeline:
chunks entirely inside the window are copied verbatim (no decode/re-encode of their payload);
boundary chunks are decoded and cut; chunks entirely outside are dropped — except that the
output keeps the latest-at state at ``start`` (every static chunk, and for each entity and
component the last row before ``start``, at its own time) so it shows the same thing at
``start`` as the input. Input chunks without the timeline are copied as they are.
Uses the footer's manifest to decide without reading chunk data (files without a footer are
streamed).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..model.chunk import Chunk
from .recording import entity_glob
from ..rrd.manifest import component_of
from ..rrd.reader import RrdReader
from ..rrd.output import commit, discard, staged_output
from ..rrd.writer import RrdWriter
from ..store.chunk_store import ChunkStore
from ..model.names import ROS_TIME_NAME

__all__ = ["filter_rrd", "FilterReport"]


@dataclass
class FilterReport:
    chunks_in: int = 0
    copied: int = 0
    cut: int = 0
    state_rows: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    #: damaged chunks left out (each also in ``warnings``)
    skipped: int = 0
    warnings: list = field(default_factory=list)


def filter_rrd(src: str | os.PathLike, dst: str | os.PathLike, *, entities: list[str] | None = None,
               timeline: str = ROS_TIME_NAME, start: int | None = None, end: int | None = None) -> FilterReport:
    """Write the selected part of ``src`` to ``dst`` (see module doc).

    Raises:
        FileNotFoundError, RrdError: unreadable input; FileNotFoundError: output dir missing.
    """
    globs = [entity_glob(g) for g in (entities or ["/**"])]
    lo = -2**63 + 1 if start is None else start
    hi = 2**63 - 1 if end is None else end
    rep = FilterReport()
    staged = staged_output(dst, [src])
    with RrdReader(src) as r:
        w = RrdWriter(staged, application_id="filtered")
        try:
            _filter(r, w, rep, globs, timeline, lo, hi, start)
            w.close()
        except BaseException:
            try:
                w.close(write_footer=False)
            except OSError:
                pass
            discard(staged)
            raise
        rep.warnings.extend(r.warnings)
        rep.bytes_written = w.bytes_written
    commit(staged, dst)
    return rep


def _read(r: RrdReader, rep: FilterReport, off: int, size: int) -> Chunk | None:
    """A chunk by its manifest entry, fully validated (the reader checks every offset before
    use); a damaged one is reported and left out, not copied."""
    try:
        return r.read_chunk(off, size)
    except Exception as e:
        rep.skipped += 1
        rep.warnings.append(f"{r.path}: damaged chunk at byte {off} left out ({str(e).splitlines()[0][:160]})")
        return None


def _filter(r, w, rep, globs, timeline, lo, hi, start) -> None:
    """The work of :func:`filter_rrd`: copy, cut and the latest-at state at the start."""
    man = r.manifest
    if man is not None:
        ents = man.column("chunk_entity_path").to_pylist()
        offs = man.column("chunk_byte_offset").to_pylist()
        sizes = man.column("chunk_byte_size").to_pylist()
        static = man.column("chunk_is_static").to_pylist()
        has_tl = f"{timeline}:start" in man.column_names
        tstart = man.column(f"{timeline}:start").cast("int64").to_pylist() if has_tl else [None] * len(ents)
        tend = man.column(f"{timeline}:end").cast("int64").to_pylist() if has_tl else [None] * len(ents)
        items = list(zip(ents, offs, sizes, static, tstart, tend))
        # the components each entity has on the timeline (so the state search can stop early)
        entity_comps: dict[str, set] = {}
        for n in man.column_names:
            if n.startswith(f"{timeline}:") and n.endswith(":num_rows"):
                comp = component_of(man.schema.field(n))
                for ent, k in zip(ents, man.column(n).to_pylist()):
                    if k:
                        entity_comps.setdefault(ent, set()).add(comp)
    else:
        items = None
    rep.chunks_in = len(items) if items is not None else 0
    before: dict[str, list] = {}  # entity -> chunks entirely before the window (for the state)
    if items is not None:
        for ent, off, size, st, s, e in items:
            if not any(g.match(ent) for g in globs):
                continue
            body = None
            if st or s is None or (lo <= s and e <= hi):
                body = r._buf[off:off + size]
                rep.bytes_read += size
                chunk = _read(r, rep, off, size)
                if chunk is None:
                    continue
                w.write_encoded(chunk, bytes(body))  # verified above: copied verbatim
                rep.copied += 1
            elif e < lo:
                before.setdefault(ent, []).append((s, e, off, size))
            elif s > hi:
                continue
            else:
                rep.bytes_read += size
                chunk = _read(r, rep, off, size)
                if chunk is None:
                    continue
                if _write_cut(w, chunk, timeline, lo, hi):
                    rep.cut += 1
                if s < lo:  # the part before the window also feeds the state at start
                    before.setdefault(ent, []).append((s, e, off, size))
    else:
        for chunk in r.iter_chunks():
            rep.chunks_in += 1
            if not any(g.match(chunk.entity_path) for g in globs):
                continue
            rng = chunk.time_range(timeline)
            if chunk.is_static or rng is None or (lo <= rng[0] and rng[1] <= hi):
                w.write_chunk(chunk)
                rep.copied += 1
            else:
                if rng[1] >= lo and rng[0] <= hi:
                    rep.cut += int(_write_cut(w, chunk, timeline, lo, hi))
                if rng[0] < lo:
                    before.setdefault(chunk.entity_path, []).append(chunk)
    # the latest-at state just before the window, per entity and component: load the
    # chunks before the window newest first, only until every component has been found
    if start is not None:
        for ent, parts in before.items():
            loaded: list[Chunk] = []
            found: set[str] = set()
            needed: set[str] | None = None
            ordered = parts if isinstance(parts[0], Chunk) else sorted(parts, key=lambda p: -p[1])
            for p in ordered:
                c = p if isinstance(p, Chunk) else _read(r, rep, p[2], p[3])
                if c is None:
                    continue
                if not isinstance(p, Chunk):
                    rep.bytes_read += p[3]
                loaded.append(c)
                found |= {d.column for d, col in c.components.items() if len(col) > col.null_count}
                if needed is None and man is not None:
                    needed = entity_comps.get(ent, set())
                if needed is not None and needed <= found:
                    break
            st = ChunkStore.from_chunks(loaded, compact_max_rows=0)
            rows: dict[bytes, list[str]] = {}
            for col, v in st.latest_at(ent, timeline, lo - 1).items():
                if v.time is not None:
                    rows.setdefault(v.row_id, []).append(col)
            for rid, cols in rows.items():
                for c in loaded:
                    hit = np.flatnonzero((c.row_ids == np.frombuffer(rid, np.uint8)).all(axis=1))
                    if len(hit):
                        row = c.take(hit)
                        keep = {d: col for d, col in row.components.items() if d.column in cols}
                        w.write_chunk(Chunk(ent, row.id, row.row_ids, row.timelines, keep, False))
                        rep.state_rows += 1
                        break


def _write_cut(w: RrdWriter, chunk: Chunk, timeline: str, lo: int, hi: int) -> bool:
    t = chunk.timelines[timeline][1]
    idx = np.flatnonzero((t >= lo) & (t <= hi))
    if not len(idx):
        return False
    w.write_chunk(chunk.take(idx))
    return True
