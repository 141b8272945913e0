"""RecordingStream: ``set_time`` + ``log(entity, archetype)``; a batcher groups rows into chunks
and hands each chunk to every sink (RRD file, ChunkStore, network stream...).

Batching follows Rerun's batcher: rows are grouped per entity (and per set of timelines and
static flag) and a group is flushed as one chunk when it reaches ``max_rows`` rows or
``max_bytes`` bytes, or when its oldest row is older than ``max_age`` seconds (checked by a
background ticker thread). Thread-safe: any thread may log; sinks are called under one lock in
the order chunks were made.

Under pressure (``max_pending_bytes`` of rows waiting, e.g. a slow sink), rows logged with
``droppable=True`` are dropped and counted in :attr:`RecordingStream.stats`, never blocking the
caller; other rows always get in.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np
import pyarrow as pa

from ..model import tuid
from ..model.archetypes import Archetype
from ..model.chunk import Chunk, PendingRow, Timeline
from ..model.components import ComponentDescriptor

__all__ = ["RecordingStream", "BatcherConfig", "ChunkSink", "CallbackSink"]


class ChunkSink(Protocol):
    """Anything that consumes chunks: ``write_chunk(chunk)``, ``flush()``, ``close()``."""

    def write_chunk(self, chunk: Chunk) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class CallbackSink:
    """A sink that calls ``fn(chunk)`` for each chunk (e.g. to feed a ChunkStore)."""

    def __init__(self, fn):
        self.fn = fn

    def write_chunk(self, chunk: Chunk) -> None:
        self.fn(chunk)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class BatcherConfig:
    """When a pending group becomes a chunk: ``max_rows`` rows, ``max_bytes`` bytes, or
    ``max_age`` seconds since its first row (0 disables the ticker). ``max_pending_bytes``
    bounds what waits in the batcher before droppable rows are dropped."""

    max_rows: int = 4096
    max_bytes: int = 1 << 20
    max_age: float = 0.05
    max_pending_bytes: int = 512 << 20
    #: a row of at least this many bytes (an image, a cloud) is flushed with its group at once:
    #: it is a good chunk on its own, and waiting only adds latency (0 = off)
    flush_row_bytes: int = 0
    #: build chunks and call sinks on a batcher thread (the logging thread only queues rows)
    threaded: bool = False


@dataclass
class _Group:
    rows: list = field(default_factory=list)
    #: chunks logged column-wise (``log_columns``), in log order after/between the rows
    chunks: list = field(default_factory=list)
    nbytes: int = 0
    first_time: float = 0.0
    nrows: int = 0


@dataclass
class StreamStats:
    rows_logged: int = 0
    rows_dropped: int = 0
    chunks_flushed: int = 0
    bytes_flushed: int = 0
    sink_errors: int = 0
    #: entity → rows of chunks a sink failed to take (e.g. the disk is full)
    rows_lost: dict = field(default_factory=dict)


def _int64(value, timeline: str, what: str) -> int:
    """A time as an int64 (a timeline's index is int64: ns or a sequence number).

    Raises:
        TypeError: not a number, or a sequence with a fraction (1.7). ValueError: NaN/inf, or
        outside int64 (2**63 and beyond; 1e30 s).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"set_time({timeline!r}): {what} must be a number, got {type(value).__name__}")
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if f != f or f in (float("inf"), float("-inf")):
            raise ValueError(f"set_time({timeline!r}): {what} {value} is not finite")
        if what == "sequence" and not f.is_integer():
            raise TypeError(f"set_time({timeline!r}): a sequence is an integer, got {value}")
        if not -2.0**63 <= f < 2.0**63:
            raise ValueError(f"set_time({timeline!r}): {what} {value} is outside int64")
        return int(round(f))
    v = int(value)
    if not -2**63 <= v < 2**63:
        raise ValueError(f"set_time({timeline!r}): {what} {value} is outside int64 (-2**63 .. 2**63 - 1)")
    return v


class RecordingStream:
    """A stream of logged rows turned into chunks for one recording.

    Args:
        application_id: the Rerun application id (viewer title).
        recording_id: the recording id (random if None).
        batcher: batching thresholds.
        sinks: initial sinks (more with :meth:`add_sink`).
    """

    def __init__(self, application_id: str = "rerun_ros", recording_id: str | None = None,
                 batcher: BatcherConfig | None = None, sinks: Sequence[ChunkSink] = (),
                 on_error=None):
        self.application_id = application_id
        self.recording_id = recording_id or tuid.tuid_bytes(*tuid.new_tuid()).hex()
        self.config = batcher or BatcherConfig()
        self.sinks: list[ChunkSink] = list(sinks)
        self.stats = StreamStats()
        self._groups: dict[tuple, _Group] = {}
        self._pending_bytes = 0
        self._lock = threading.RLock()
        # groups taken out of _groups and not yet handed to the sinks (by any thread): a full
        # flush waits for them, so a sink removed right after it has everything logged before
        self._inflight = 0
        self._idle = threading.Condition(self._lock)
        self._sink_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        # the ticker sleeps without a deadline (no group pending): only then does a new group
        # wake it (a newer group is due after the one it waits for; a wake-up per group cost a
        # thread switch per entity per flush, measured in the bridge)
        self._ticker_idle = True
        self._ticker = None
        self.errors: list[str] = []
        #: called once with each distinct sink error as it happens (e.g. to print it at once)
        self.on_error = on_error
        self._chunk_queue: queue.Queue | None = None
        self._chunker = None
        if self.config.threaded:
            self._chunk_queue = queue.Queue()
            self._chunker = threading.Thread(target=self._chunk_loop, name="rerun_ros-chunker", daemon=True)
            self._chunker.start()
        if self.config.max_age > 0:
            self._ticker = threading.Thread(target=self._tick, name="rerun_ros-batcher", daemon=True)
            self._ticker.start()

    # -- time -------------------------------------------------------------------------------

    def _times(self) -> dict[Timeline, int]:
        t = getattr(self._local, "times", None)
        if t is None:
            t = self._local.times = {}
        return t

    def set_time(self, timeline: str, *, timestamp: float | int | None = None, timestamp_ns: int | None = None,
                 sequence: int | None = None, duration_ns: int | None = None) -> None:
        """Set this thread's current time on a timeline: ``timestamp`` seconds since the epoch,
        ``timestamp_ns`` ns since the epoch, ``sequence`` an int, ``duration_ns`` ns."""
        if timestamp is not None:
            tl, v = Timeline(timeline, "timestamp"), _int64(float(timestamp) * 1e9, timeline, "timestamp")
        elif timestamp_ns is not None:
            tl, v = Timeline(timeline, "timestamp"), _int64(timestamp_ns, timeline, "timestamp")
        elif sequence is not None:
            tl, v = Timeline(timeline, "sequence"), _int64(sequence, timeline, "sequence")
        elif duration_ns is not None:
            tl, v = Timeline(timeline, "duration"), _int64(duration_ns, timeline, "duration")
        else:
            raise ValueError("set_time: give one of timestamp, timestamp_ns, sequence, duration_ns")
        times = self._times()
        for k in [k for k in times if k.name == timeline]:
            del times[k]
        times[tl] = v

    def disable_timeline(self, timeline: str) -> None:
        times = self._times()
        for k in [k for k in times if k.name == timeline]:
            del times[k]

    def reset_time(self) -> None:
        self._times().clear()

    # -- logging ----------------------------------------------------------------------------

    def log(self, entity_path: str, *archetypes: Archetype, static: bool = False,
            timepoints: dict[Timeline, int] | None = None, droppable: bool = False) -> bool:
        """Log one row: the components of ``archetypes`` on ``entity_path`` at the current time
        (or at ``timepoints``). ``static`` rows have no time and hold at every time.

        Returns False when the row was dropped (only ``droppable`` rows under pressure).

        Raises:
            ValueError: the stream is closed, or the entity path is malformed.
        """
        comps: list[tuple[ComponentDescriptor, object]] = []
        for a in archetypes:
            comps.extend(a.component_batches())
        return self.log_components(entity_path, comps, static=static, timepoints=timepoints,
                                   droppable=droppable)

    def log_components(self, entity_path: str, components: list, *, static: bool = False,
                       timepoints: dict[Timeline, int] | None = None, droppable: bool = False,
                       row_id: tuple[int, int] | None = None) -> bool:
        """Like :meth:`log` with (descriptor, flat Arrow array) pairs."""
        if self._closed:
            raise ValueError("RecordingStream is closed")
        tp = {} if static else dict(self._times() if timepoints is None else timepoints)
        row = PendingRow(row_id or tuid.new_tuid(), tp, components)
        size = row.nbytes()
        key = (entity_path, static, tuple(sorted((t.name, t.kind) for t in tp)))
        flush: list[tuple[tuple, _Group]] = []
        with self._lock:
            if droppable and self._pending_bytes + size > self.config.max_pending_bytes:
                self.stats.rows_dropped += 1
                return False
            g = self._groups.get(key)
            if g is None:
                g = self._groups[key] = _Group(first_time=time.monotonic())
                self._new_group()
            g.rows.append(row)
            g.nbytes += size
            g.nrows += 1
            self._pending_bytes += size
            self.stats.rows_logged += 1
            if g.nrows >= self.config.max_rows or g.nbytes >= self.config.max_bytes or (
                    self.config.flush_row_bytes and size >= self.config.flush_row_bytes):
                flush.append((key, self._groups.pop(key)))
                self._pending_bytes -= g.nbytes
                self._inflight += 1
        for k, grp in flush:
            self._submit_taken(k, grp)
        return True

    def log_columns(self, entity_path: str, timelines: dict[Timeline, "np.ndarray"],
                    components: dict[ComponentDescriptor, "pa.Array"], *, static: bool = False) -> None:
        """Log n rows at once, column-wise (Rerun's ``send_columns``): ``timelines`` maps each
        timeline to int64 (n,) times (ns or sequence), ``components`` each descriptor to a list
        array of n rows (see :func:`rerun_ros.model.components.list_column`). The rows get new
        row ids now and join the entity's pending chunk like logged rows; a group that is large
        enough is flushed at once.

        Raises:
            ValueError: the stream is closed, or columns of different lengths.
        """
        if self._closed:
            raise ValueError("RecordingStream is closed")
        n = len(next(iter(components.values()))) if components else 0
        # a column null in every row sets nothing: left out, as if never logged
        components = {d: c for d, c in components.items() if c.null_count < n}
        if n == 0 or not components:
            return
        t_ns, inc = tuid.new_tuids(n)
        row_ids = tuid.consecutive_fixed16(t_ns, inc, n)
        tls = {} if static else {tl.name: (tl, np.asarray(v, np.int64)) for tl, v in timelines.items()}
        chunk = Chunk(entity_path, tuid.new_tuid(), row_ids, tls, dict(components), is_static=static)
        size = chunk.nbytes
        key = (entity_path, static, tuple(sorted((t.name, t.kind) for t in ([] if static else timelines))))
        flush = None
        with self._lock:
            g = self._groups.get(key)
            if g is None and size >= self.config.max_bytes // 2:
                # big enough on its own (images, clouds) and nothing pending: no concatenation
                flush = _Group(chunks=[chunk], first_time=time.monotonic(), nrows=n)
                self.stats.rows_logged += n
                self._inflight += 1
            else:
                if g is None:
                    g = self._groups[key] = _Group(first_time=time.monotonic())
                    self._new_group()
                if g.rows:  # keep log order: pending rows become a chunk before these columns
                    g.chunks.append(g.rows)
                    g.rows = []
                g.chunks.append(chunk)
                g.nbytes += size
                g.nrows += n
                self._pending_bytes += size
                self.stats.rows_logged += n
                if g.nrows >= self.config.max_rows or g.nbytes >= self.config.max_bytes:
                    flush = self._groups.pop(key)
                    self._pending_bytes -= g.nbytes
                    self._inflight += 1
        if flush is not None:
            self._submit_taken(key, flush)

    # -- flushing ---------------------------------------------------------------------------

    def _new_group(self) -> None:
        """A group started (under ``_lock``): the ticker schedules its flush; woken only when it
        sleeps without a deadline (else the group is due after the one it waits for)."""
        if self._ticker_idle:
            self._ticker_idle = False
            self._wake.set()

    def _submit_taken(self, key: tuple, group: _Group) -> None:
        """Submit a group taken out of ``_groups`` (counted in ``_inflight`` when taken)."""
        try:
            self._submit(key, group)
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def _submit(self, key: tuple, group: _Group) -> None:
        if self._chunk_queue is None:
            self._emit(key, group)
        else:
            self._chunk_queue.put((key, group))

    def _chunk_loop(self) -> None:
        assert self._chunk_queue is not None
        while True:
            item = self._chunk_queue.get()
            try:
                if item is None:
                    return
                self._emit(*item)
            finally:
                self._chunk_queue.task_done()

    def _emit(self, key: tuple, group: _Group) -> None:
        entity, static, _ = key
        try:
            parts = []
            for p in group.chunks + ([group.rows] if group.rows else []):
                parts.append(Chunk.from_rows(entity, p, is_static=static) if isinstance(p, list) else p)
            chunk = parts[0] if len(parts) == 1 else Chunk.concat(parts)
        except Exception as e:  # a bad row must not take its batch down: salvage the good ones
            chunk = self._salvage(entity, static, group, e)
            if chunk is None:
                return
        self._send(chunk)

    def _salvage(self, entity: str, static: bool, group, err: Exception):
        """The chunk of a group's parts and rows that can be built, one at a time; the rest are
        counted in ``stats.rows_lost`` and said (``errors``, ``on_error``) with the reason."""
        good: list = []
        lost = 0
        first_err = err
        for p in group.chunks + ([group.rows] if group.rows else []):
            if not isinstance(p, list):
                good.append(p)
                continue
            for row in p:
                try:
                    good.append(Chunk.from_rows(entity, [row], is_static=static))
                except Exception as e:  # noqa: BLE001 - counted and said below
                    lost += 1
                    first_err = e
        self.stats.sink_errors += 1
        if lost:
            self.stats.rows_lost[entity] = self.stats.rows_lost.get(entity, 0) + lost
            self._error(f"{entity}: {lost} row(s) refused ({type(first_err).__name__}: {first_err})")
        try:
            return good[0] if len(good) == 1 else (Chunk.concat(good) if good else None)
        except Exception as e:  # noqa: BLE001 - parts that do not concatenate go one by one
            for c in good:
                self._send(c)
            self._error(f"{entity}: rows sent as separate chunks ({e})")
            return None

    def _send(self, chunk: Chunk) -> None:
        with self._sink_lock:
            self.stats.chunks_flushed += 1
            self.stats.bytes_flushed += chunk.nbytes
            for s in self.sinks:
                try:
                    s.write_chunk(chunk)
                except Exception as e:
                    self.sink_failed(s, chunk, e)

    def sink_failed(self, sink, chunk: Chunk, err: Exception) -> None:
        """Count ``chunk``'s rows as not recorded by ``sink`` and say why (``errors``,
        ``on_error``): for sinks that write later than they are handed a chunk (a
        :class:`~rerun_ros.stream.sinks.CompactingSink`)."""
        self.stats.sink_errors += 1
        lost = self.stats.rows_lost
        lost[chunk.entity_path] = lost.get(chunk.entity_path, 0) + len(chunk)
        self._error(f"sink {type(sink).__name__}: {err}")

    def _error(self, msg: str) -> None:
        if msg not in self.errors:
            self.errors.append(msg)
            if self.on_error is not None:
                try:
                    self.on_error(msg)
                except Exception:  # a reporting callback must not take the stream down
                    pass

    def _each_sink(self, method: str) -> None:
        """Call ``flush``/``close`` on every sink; a failing sink is recorded in ``errors``."""
        with self._sink_lock:
            for s in self.sinks:
                try:
                    getattr(s, method)()
                except Exception as e:
                    self._error(f"sink {type(s).__name__}: {method} failed: {e}")

    def send_chunk(self, chunk: Chunk) -> None:
        """Hand an already built chunk to the sinks (e.g. when copying a recording)."""
        self._send(chunk)

    def flush(self, *, older_than: float | None = None) -> None:
        """Turn pending rows into chunks now (only groups older than ``older_than`` s if given),
        then flush the sinks."""
        now = time.monotonic()
        with self._lock:
            keys = [k for k, g in self._groups.items()
                    if older_than is None or now - g.first_time >= older_than]
            out = [(k, self._groups.pop(k)) for k in keys]
            for _, g in out:
                self._pending_bytes -= g.nbytes
            self._inflight += len(out)
        out.sort(key=lambda kg: kg[1].first_time)
        for k, g in out:
            self._submit_taken(k, g)
        if older_than is None:
            with self._idle:  # what other threads took (the ticker, a full group) reaches the sinks
                if not self._idle.wait_for(lambda: self._inflight <= 0, timeout=60):
                    self._error(f"flush: {self._inflight} chunk(s) still being built after 60 s")
            if self._chunk_queue is not None:
                self._chunk_queue.join()
            self._each_sink("flush")

    def _tick(self) -> None:
        """Flush groups as they reach ``max_age``; sleeps until the oldest one is due (woken when
        a new group starts), so an idle stream costs no wake-ups."""
        age = self.config.max_age
        while not self._stop.is_set():
            with self._lock:
                firsts = [g.first_time for g in self._groups.values()]
                self._ticker_idle = not firsts
            if firsts:
                delay = min(firsts) + age - time.monotonic()
                if delay > 0:
                    self._wake.wait(max(delay, 0.001))
                    self._wake.clear()
                    continue
                try:
                    self.flush(older_than=age)
                except Exception as e:  # pragma: no cover - keep the ticker alive
                    self.errors.append(f"batcher: {e}")
            else:
                self._wake.wait(1.0)
                self._wake.clear()

    def add_sink(self, sink: ChunkSink) -> None:
        with self._sink_lock:
            self.sinks.append(sink)

    def remove_sink(self, sink: ChunkSink) -> None:
        """Stop handing chunks to ``sink`` (not closed here; no error if it was not a sink)."""
        with self._sink_lock:
            if sink in self.sinks:
                self.sinks.remove(sink)

    @property
    def sink_lock(self) -> threading.Lock:
        """Held while chunks go to the sinks: hold it to change sinks between two chunks."""
        return self._sink_lock

    def close(self) -> None:
        """Flush everything and close every sink. Idempotent."""
        if self._closed:
            return
        self._stop.set()
        self._wake.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        self.flush()
        self._closed = True
        if self._chunker is not None:
            self._chunk_queue.put(None)
            self._chunker.join()
        self._each_sink("close")

    def __enter__(self) -> "RecordingStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
