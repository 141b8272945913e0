"""Open any recording into a store: the one function the viewer, queries and reports use.

- ``.rrd`` (ours or the official SDK's): loaded into a :class:`ChunkStore`, or, when larger than
  ``lazy_threshold`` and it has a footer, a :class:`LazyRrdStore` that loads chunks on demand;
- a bag (MCAP file, rosbag2 directory, ``.db3``): converted in memory through the same ingest
  as ``rerun-ros convert`` (lossless struct columns and archetypes).

Every warning of the reader or the conversion (a truncated file, a damaged chunk, a topic that
did not decode) reaches the caller in :attr:`Opened.warnings`, one line each.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .chunk_store import ChunkStore

__all__ = ["open_source", "Opened", "LAZY_THRESHOLD"]

LAZY_THRESHOLD = 256 << 20  # .rrd files larger than this open lazily


@dataclass
class Opened:
    """A source opened into a store: ``store``, its ``warnings`` (one line each), and
    ``lazy`` when chunks load on demand."""

    store: ChunkStore
    warnings: list = field(default_factory=list)
    lazy: bool = False


def _new_store() -> ChunkStore:
    return ChunkStore(compact_max_rows=4096, compact_max_bytes=8 << 20)


def open_source(path: str | os.PathLike, *, store: ChunkStore | None = None,
                lazy_threshold: int = LAZY_THRESHOLD, warn: Callable[[str], None] | None = None,
                distro: str | None = None) -> Opened:
    """Open an ``.rrd`` or a bag into a store.

    Args:
        path: the file or rosbag2 directory.
        store: fill this store (never lazy) instead of a new one.
        lazy_threshold: bytes above which an ``.rrd`` with a footer opens lazily.
        warn: also called with each warning as it happens.
        distro: ROS 2 distribution for bags recorded without message definitions.

    Raises:
        FileNotFoundError: no such path. BagError / RrdError: not a readable recording (the
        message names the file and the problem).
    """
    p = Path(path)
    warnings: list[str] = []

    def _warn(s: str) -> None:
        warnings.append(s)
        if warn is not None:
            warn(s)

    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such file or directory") from None
    if p.suffix == ".rrd":
        from ..rrd.reader import RrdError, RrdReader

        if not stat.S_ISREG(mode):
            raise RrdError(f"{p}: not a regular file (a FIFO or device cannot be read as a recording)")
        if store is None and p.stat().st_size > lazy_threshold:
            from .lazy import LazyRrdStore
            try:
                return Opened(LazyRrdStore(p), warnings, lazy=True)
            except ValueError as e:
                _warn(f"{p}: {e}; loading everything")
        store = store if store is not None else _new_store()
        with RrdReader(p) as r:
            for c in r.iter_chunks():
                store.add_chunk(c)
            for w in r.warnings:
                _warn(w)
        return Opened(store, warnings)
    from ..ingest import Ingestor, ingest_source
    from ..sources import open_bag
    from ..stream.recording import BatcherConfig, RecordingStream

    store = store if store is not None else _new_store()
    src = open_bag(p, warn=_warn)
    rec = RecordingStream(p.stem, batcher=BatcherConfig(max_age=0), sinks=[store])
    ing = Ingestor(rec, warn=_warn, source=str(p), distro=distro or src.distro)
    try:
        ingest_source(src, ing)
    finally:
        rec.close()
    for ch, got, want in src.stats.shortfalls(src.channels):
        _warn(f"{p}: topic {ch.topic}: {got} of the {want} messages the file's statistics count could be read")
    return Opened(store, warnings)
