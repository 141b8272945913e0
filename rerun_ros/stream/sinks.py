"""Chunk sinks for recording: rotating ``.rrd`` files and a decimating filter.

:class:`RotatingRrdSink` writes ``<stem>.rrd`` (or ``<stem>_0001.rrd``, ``_0002``... when rotating
by size or duration); every file starts with the static data logged so far, so each opens on
its own. Closing writes the footer; a process killed hard leaves the current file readable up
to its last whole chunk (see :mod:`rerun_ros.rrd.writer`).

:class:`CompactingSink` merges the small chunks of an entity (a live bridge's 20 ms flushes) into
compact ones before a file gets them, as Rerun's batcher and ``rerun rrd compact`` do.

:class:`DecimatingSink` passes a lighter stream to another sink (the viewer stream in the
recorder's split mode): images at most ``image_hz`` per entity, point clouds subsampled to at
most ``max_points`` per row; everything else (scalars, text, transforms, static data) unchanged.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..model.chunk import Chunk
from ..model.components import array, offsets_array, to_numpy
from ..rrd.writer import RrdWriter
from ..model.names import ROS_TIME_NAME

__all__ = ["RotatingRrdSink", "DecimatingSink", "CompactingSink"]

IMAGE_COLUMNS = ("Image:buffer", "EncodedImage:blob", "DepthImage:buffer", "SegmentationImage:buffer")


class RotatingRrdSink:
    """Writes chunks to ``.rrd`` files, rotating by size and/or duration.

    Args:
        path: the output path (``out.rrd``); with rotation the files are ``out_0001.rrd``, ...
        max_bytes: start a new file past this size (0 = never).
        max_seconds: start a new file after this many seconds (0 = never).
        sync_bytes: sync to disk and drop from the page cache every this many bytes (see
            :class:`~rerun_ros.rrd.writer.RrdWriter`; 0 = never).
        direct_io: write with ``O_DIRECT`` where the filesystem allows it (see
            :class:`~rerun_ros.rrd.writer.RrdWriter`).

    Raises:
        FileNotFoundError: the output directory does not exist.
    """

    def __init__(self, path: str | os.PathLike, *, max_bytes: int = 0, max_seconds: float = 0.0,
                 application_id: str = "rerun_ros", recording_id: str | None = None, threads: int = 1,
                 sync_bytes: int = 0, overwrite: bool = False, on_error=None, retry_seconds: float = 5.0,
                 direct_io: bool = False):
        self.base = Path(path)
        if not self.base.parent.exists():
            raise FileNotFoundError(f"{self.base}: output directory {self.base.parent} does not exist")
        if max_bytes < 0 or max_seconds < 0:
            raise ValueError("rotation limits must be >= 0 (0 = never)")
        self.rotating = bool(max_bytes or max_seconds)
        if not overwrite:  # never over an earlier recording: out.rrd, then out-2.rrd, out-3.rrd...
            k, stem = 1, self.base.stem
            while self._taken(self.base):
                k += 1
                self.base = self.base.with_name(f"{stem}-{k}{self.base.suffix or '.rrd'}")
        self.on_error = on_error
        self.retry_seconds = retry_seconds
        self._retry_at: float | None = None
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.application_id = application_id
        self.recording_id = recording_id
        self.threads = threads
        self.sync_bytes = sync_bytes
        self.direct_io = direct_io
        self.files: list[Path] = []
        self._static: list[Chunk] = []
        self._lock = threading.Lock()
        self._writer: RrdWriter | None = None
        self._opened = 0.0
        self._open()

    def _taken(self, base: Path) -> bool:
        if self.rotating:
            return any(base.parent.glob(f"{base.stem}_[0-9][0-9][0-9][0-9]{base.suffix or '.rrd'}"))
        return base.exists()

    def _next_path(self) -> Path:
        if not self.rotating:
            return self.base
        return self.base.with_name(f"{self.base.stem}_{len(self.files) + 1:04d}{self.base.suffix or '.rrd'}")

    def _open(self) -> None:
        p = self._next_path()
        self._writer = RrdWriter(p, application_id=self.application_id, recording_id=self.recording_id,
                                 threads=self.threads, sync_bytes=self.sync_bytes, direct_io=self.direct_io)
        self._writer.on_error = self.on_error
        self._opened = time.monotonic()
        self.files.append(p)
        for c in self._static:
            self._writer.write_chunk(c)

    @property
    def path(self) -> Path:
        return self.files[-1]

    def write_chunk(self, chunk: Chunk) -> None:
        with self._lock:
            if chunk.is_static:
                self._static.append(chunk)
            w = self._writer
            if w is None:
                if self._retry_at is None or time.monotonic() < self._retry_at:
                    raise OSError(f"{self.path}: not recording (writing failed)")
                try:  # rotating after a failed write: a new file once there is room again
                    self._open()
                    self._retry_at = None
                    if self.on_error is not None:
                        self.on_error(f"{self.path}: recording again")
                except OSError as e:
                    self._writer = None
                    self._retry_at = time.monotonic() + self.retry_seconds
                    raise OSError(f"{self.path}: still cannot write ({e})") from None
                w = self._writer
            try:
                w.write_chunk(chunk)
            except OSError:
                try:
                    w.close()  # the writer kept what it could (whole chunks, footer if room)
                except OSError:
                    pass
                self._writer = None
                self._retry_at = time.monotonic() + self.retry_seconds if self.rotating else None
                raise
            if self.rotating and ((self.max_bytes and w.bytes_written >= self.max_bytes)
                                  or (self.max_seconds and time.monotonic() - self._opened >= self.max_seconds)):
                w.close()
                self._open()

    def flush(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def close(self) -> None:
        """Write the footer of the current file and close it. Idempotent.

        Raises:
            OSError: the footer could not be written (the file keeps its whole chunks).
        """
        with self._lock:
            if self._writer is not None:
                w, self._writer = self._writer, None
                w.close()


def _subsample_rows(col: pa.Array, keep_every: np.ndarray) -> pa.Array:
    """Keep every k-th instance of each row (k per row in ``keep_every``; 1 keeps all)."""
    offsets = to_numpy(col.offsets)
    values = col.values
    idx_parts, lengths = [], []
    for r in range(len(col)):
        if col[r].is_valid:
            lo, hi = offsets[r], offsets[r + 1]
            ii = np.arange(lo, hi, max(int(keep_every[r]), 1))
            idx_parts.append(ii)
            lengths.append(len(ii))
        else:
            lengths.append(0)
    idx = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
    new_off = np.zeros(len(col) + 1, np.int32)
    np.cumsum(lengths, out=new_off[1:])
    return pa.ListArray.from_arrays(offsets_array(new_off), values.take(array(idx.astype(np.int64), pa.int64())),
                                    type=col.type, mask=col.is_null())


class DecimatingSink:
    """Forwards a decimated copy of each chunk to ``target`` (see module doc).

    Args:
        target: the sink to feed (e.g. a StreamServer).
        image_hz: most image rows per second per entity (on the rows' ``timeline``).
        max_points: most points per Points3D row (uniform subsampling).
        timeline: the timeline used for image rates (default ``ros_time``, ns).
    """

    def __init__(self, target, *, image_hz: float = 5.0, max_points: int = 20_000, timeline: str = ROS_TIME_NAME):
        self.target = target
        self.min_gap = int(1e9 / image_hz) if image_hz > 0 else 0
        self.max_points = max_points
        self.timeline = timeline
        self._last_image: dict[str, int] = {}
        self.dropped_rows = 0

    def write_chunk(self, chunk: Chunk) -> None:
        if chunk.is_static:
            self.target.write_chunk(chunk)
            return
        out = chunk
        if self.min_gap and any(out.component(c) for c in IMAGE_COLUMNS) and self.timeline in out.timelines:
            times = out.timelines[self.timeline][1]
            keep = []
            last = self._last_image.get(out.entity_path)
            for i, t in enumerate(times):
                if last is None or t - last >= self.min_gap or t < last:
                    keep.append(i)
                    last = int(t)
            self._last_image[out.entity_path] = last
            self.dropped_rows += len(times) - len(keep)
            if not keep:
                return
            if len(keep) != len(times):
                out = out.take(np.array(keep))
        pos = out.component("Points3D:positions")
        if pos is not None and self.max_points:
            lens = to_numpy(pos[1].value_lengths().fill_null(0))
            if (lens > self.max_points).any():
                every = np.maximum(1, np.ceil(lens / self.max_points)).astype(np.int64)
                comps = {}
                for d, col in out.components.items():
                    if d.archetype == "Points3D" and len(col) and \
                            (to_numpy(col.value_lengths().fill_null(0)) == lens).all():
                        comps[d] = _subsample_rows(col, every)
                    else:
                        comps[d] = col
                out = Chunk(out.entity_path, out.id, out.row_ids, out.timelines, comps, out.is_static)
        self.target.write_chunk(out)

    def flush(self) -> None:
        self.target.flush()

    def close(self) -> None:
        self.target.close()


class CompactingSink:
    """Merges each entity's chunks before ``target`` gets them: pending chunks of an entity are
    concatenated into one and written when they reach ``max_rows`` rows or ``max_bytes``, when
    the oldest has waited ``max_age`` s (checked by :meth:`tick`, which the owner calls
    periodically), on a change of layout (other timelines or component types: a chunk holds one
    layout), and on :meth:`flush`/:meth:`close`. Static chunks pass at once. A process killed
    hard loses at most what is pending (``max_age`` s of rows).

    Args:
        target: the sink to feed (a :class:`RotatingRrdSink`).
        max_age: seconds a row may wait.
        max_rows / max_bytes: write an entity's pending rows past these.
        on_failure: see the attribute.
    """

    def __init__(self, target, *, max_age: float = 1.0, max_rows: int = 4096, max_bytes: int = 8 << 20,
                 on_failure=None):
        self.target = target
        #: ``on_failure(sink, chunk, error)`` for a write that fails after write_chunk returned
        #: (from :meth:`tick`/:meth:`flush`); without one the error is raised to the caller
        self.on_failure = on_failure
        self.max_age = max_age
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._pending: dict[str, list] = {}  # entity -> [first arrival (monotonic), rows, bytes, chunks, layout]
        self.chunks_in = 0
        self.chunks_out = 0
        self._lock = threading.Lock()

    @staticmethod
    def _layout(c: Chunk) -> tuple:
        """Timelines, component descriptors and Arrow types, in the chunk's order (one mapper
        logs an entity's columns in one order; another order only starts a new chunk)."""
        return (tuple(c.timelines), tuple(c.components), tuple(col.type for col in c.components.values()))

    def write_chunk(self, chunk: Chunk) -> None:
        out = []
        with self._lock:
            self.chunks_in += 1
            if chunk.is_static:
                out.append(chunk)
            else:
                p = self._pending.get(chunk.entity_path)
                layout = self._layout(chunk)
                if p is not None and p[4] != layout:
                    out.append(self._take(chunk.entity_path))
                    p = None
                if p is None:
                    p = self._pending[chunk.entity_path] = [time.monotonic(), 0, 0, [], layout]
                p[1] += len(chunk)
                p[2] += chunk.nbytes
                p[3].append(chunk)
                if p[1] >= self.max_rows or p[2] >= self.max_bytes:
                    out.append(self._take(chunk.entity_path))
        self._write(out)

    def _take(self, entity: str) -> Chunk:
        chunks = self._pending.pop(entity)[3]
        return chunks[0] if len(chunks) == 1 else Chunk.concat(chunks)

    def _write(self, chunks: list) -> None:
        for c in chunks:
            self.chunks_out += 1
            try:
                self.target.write_chunk(c)
            except Exception as e:
                if self.on_failure is None:
                    raise
                self.on_failure(self.target, c, e)

    def tick(self, max_age: float | None = None) -> None:
        """Write the entities whose oldest pending row has waited ``max_age`` s (default the sink's)."""
        age = self.max_age if max_age is None else max_age
        now = time.monotonic()
        with self._lock:
            due = [e for e, p in self._pending.items() if now - p[0] >= age]
            out = [self._take(e) for e in due]
        self._write(out)

    def flush(self) -> None:
        with self._lock:
            out = [self._take(e) for e in list(self._pending)]
        self._write(out)
        self.target.flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.target.close()

    def __getattr__(self, name):  # the file sink's path, files, ... through the wrapper
        if name == "target":
            raise AttributeError(name)
        return getattr(self.target, name)
