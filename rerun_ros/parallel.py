"""One bag over all cores: a conversion cut into units of work, run in worker processes, their
parts written in order by one writer (``rerun-ros convert --jobs N``; ``docs/parallel.md``).

How the work is cut (the same whatever the number of jobs, so one job and many write the same
chunks):

- **segments**: the bag's chunks in ranges of about :data:`SEGMENT_BYTES` of message data, in
  file order (:meth:`McapSource.segments <rerun_ros.sources.mcap.McapSource.segments>`, by
  chunk index; ``.db3``: timestamp ranges of equal message counts). Each segment is a unit.
- **topics with history** (a mapper whose output depends on the topic's earlier messages:
  markers, whose DELETE needs their ADD; the URDF of ``robot_description`` and the joint states
  that move it) are not cut: they are one unit of their own over the whole bag (started first,
  the longest; written last).
- each unit has its own :class:`~rerun_ros.ingest.Ingestor` on the robot clock decided
  beforehand from the bag's first messages, its own batcher flushed at the unit's end, and
  TUIDs ``(base + k, 0..)`` (:class:`rerun_ros.model.tuid.fixed_time`), so row ids sort in unit
  order and are the same in any process. Per-topic mapper memory that only saves repeats (the
  series names logged once) starts afresh in each unit: a static row again per unit.
- a unit in a worker encodes its chunks into memory (a temp file past :data:`SPOOL_BYTES`) and,
  when the units before it are in the output, writes them at its end itself (units take turns:
  the output is in unit order, no part is copied again); the parent merges their manifests,
  counts and warnings (each problem said once, as one job says it) and ends the file.

A robot clock that is tracked through the bag (sim time from ``/clock``, clocks offset from the
header stamps) places each message with what came before it: such a bag is one unit (one job).
ROS-free.
"""
from __future__ import annotations

import copy
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa

from .ingest import Ingestor, TimeWindow, TopicStats, read_filter
from .mappers.registry import entry
from .model import tuid
from .model.clock import OffClock, RobotClock
from .rrd.manifest import ManifestBuilder
from .sources.base import SourceStats
from .stream.recording import BatcherConfig, RecordingStream

__all__ = ["SEGMENT_BYTES", "Unit", "UnitResult", "Job", "plan_units", "history_topics", "run_unit",
           "run_units", "default_jobs"]

#: message data per segment (bytes): large enough that a unit's fixed cost (a batcher flush,
#: decoders met again) is small, small enough to keep every core busy on a bag of a few GiB
SEGMENT_BYTES = 48 << 20
#: why a conversion is one unit when the bag is small (:func:`plan_units`)
ONE_SEGMENT = "the bag is one segment"
#: the batcher of a conversion: chunks of up to 4096 rows / 2 MiB, no timer (bench/convert.py)
BATCHER = BatcherConfig(max_rows=4096, max_bytes=2 << 20, max_age=0)


def default_jobs() -> int:
    """The cores this process may run on (``os.sched_getaffinity``; ``taskset`` respected)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Unit:
    """One unit of work: ``segment`` of the bag (None: all of it), the topics it owns: ``only``
    those (None: any) and none of ``without``. ``index`` ≥ 1 orders the units' output."""

    index: int
    segment: tuple | None = None
    only: frozenset | None = None
    without: frozenset = frozenset()

    def owns(self, topic: str) -> bool:
        return (self.only is None or topic in self.only) and topic not in self.without

    def describe(self) -> str:
        if self.only is not None:
            return f"topics {', '.join(sorted(self.only))}"
        return "the whole bag" if self.segment is None else f"segment {self.index} {self.segment}"


@dataclass
class UnitResult:
    """What one unit did (picklable: it comes back from a worker).

    Attributes:
        messages: messages read of the topics kept. topics: per-topic counts. warnings: the
        one-line problems in order. read: channel id → messages read (owned topics only).
        damaged: the source met damage. off_clock: publishers placed by log time.
        rows_lost: entity → rows not written. errors: write errors. part/start/end: the output
        and the unit's bytes in it (a worker; None in-process). manifest: its chunks' manifest.
        failed: the unit could not run (one line), nothing of it was written.
    """

    index: int
    messages: int = 0
    topics: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    read: Counter = field(default_factory=Counter)
    damaged: bool = False
    off_clock: dict = field(default_factory=dict)
    rows_lost: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    part: str | None = None
    start: int = 0
    end: int = 0
    manifest: ManifestBuilder | None = None
    chunks: int = 0
    failed: str = ""
    #: where the unit's chunks are in the output minus where they were in its own encoding
    shift: int = 0


@dataclass
class Job:
    """What every unit of one conversion shares (inherited by forked workers, not pickled)."""

    src: object
    input: str
    keep: Callable[[str], bool] | None
    window: TimeWindow | None
    clock: RobotClock
    first_ros_time: int | None
    lo: int | None
    hi: int | None
    distro: str | None
    fixed_distro: bool
    application_id: str
    recording_id: str
    compress: str | None  # (rerun_ros.rrd.writer.CODECS)
    base_ns: int
    batcher: BatcherConfig = field(default_factory=lambda: BATCHER)


def history_topics(channels) -> frozenset:
    """The topics whose messages must be mapped in order in one unit: types whose mapper keeps
    history (:attr:`MapperEntry.history <rerun_ros.mappers.registry.MapperEntry>`), a
    ``robot_description`` and, when there is one, the joint states (they move its model)."""
    out = set()
    robot = any(c.topic.rstrip("/").endswith("robot_description") for c in channels)
    for c in channels:
        e = entry(c.type_name) if c.type_name else None
        if (e is not None and e.history) or c.topic.rstrip("/").endswith("robot_description") or \
                (robot and c.type_name.replace("/msg/", "/") == "sensor_msgs/JointState"):
            out.add(c.topic)
    return frozenset(out)


def plan_units(src, clock: RobotClock, segment_bytes: int = SEGMENT_BYTES) -> tuple[list[Unit], str]:
    """The units of a conversion, and why it is one unit when it is (empty: it is cut).

    The cut depends on the bag and ``segment_bytes`` only, never on the number of jobs."""
    if clock.tracked:
        return [Unit(1)], f"the robot clock ({clock.kind}) is tracked through the bag"
    segs = src.segments(segment_bytes) if hasattr(src, "segments") else []
    if len(segs) <= 1:
        return [Unit(1)], ONE_SEGMENT
    hist = history_topics(src.channels.values())
    units = [Unit(1 + i, s, None, hist) for i, s in enumerate(segs)]
    if hist:  # (started first, the longest; written last)
        units.append(Unit(len(units) + 1, None, hist))
    return units, ""


def run_unit(job: Job, unit: Unit, sink, warn: Callable[[str], None] | None = None,
             progress: Callable[[int], None] | None = None) -> UnitResult:
    """Read, decode, map and log one unit into ``sink`` (a chunk sink or a list of them: the
    output's :class:`~rerun_ros.rrd.writer.RrdWriter` in-process, a part writer in a worker;
    flushed at the unit's end, not closed).

    Returns:
        its :class:`UnitResult` (``part``/``manifest`` are the caller's to fill).
    """
    src = job.src
    res = UnitResult(unit.index)
    saved = (src.stats, src.warn)
    src.stats = SourceStats(expected=dict(saved[0].expected))

    def _warn(s: str) -> None:
        res.warnings.append(s)
        if warn is not None:
            warn(s)

    src.warn = _warn
    keep = job.keep
    try:
        with tuid.fixed_time(job.base_ns + unit.index):
            rec = RecordingStream(job.application_id, job.recording_id, batcher=job.batcher,
                                  sinks=[_Borrowed(sink if isinstance(sink, (list, tuple)) else [sink])])
            ing = Ingestor(rec, warn=_warn, source=job.input, distro=job.distro, fixed_distro=job.fixed_distro,
                           clock=copy.deepcopy(job.clock), window=job.window, log_clock=False)
            ing.first_ros_time = job.first_ros_time
            ing.decide_clock()
            base = read_filter(keep)
            whole = unit.only is None and not unit.without
            filt = base if whole else (lambda t: unit.owns(t) and (base is None or base(t)))
            n = 0
            for b in src.batches(topic_filter=filt, start_ns=job.lo, end_ns=job.hi, segment=unit.segment):
                k = keep is None or keep(b.channel.topic)
                if k:
                    n += len(b)
                    if progress is not None:
                        progress(len(b))
                ing.ingest_batch(b, keep=k)
                del b  # (not held while the source reads and merges the next group)
            ing.finish()
            rec.close()
        res.messages = n
        res.topics = ing.stats()
        res.off_clock = ing.clock.off_clock
        res.rows_lost = dict(rec.stats.rows_lost)
        res.errors = list(rec.errors)
        res.read = Counter({g: k for g, k in src.stats.read.items()
                            if whole or (g in src.channels and unit.owns(src.channels[g].topic))})
        res.damaged = src.stats.damaged
    finally:
        src.stats, src.warn = saved
    return res


class _Borrowed:
    """Sinks a unit writes to but does not own: its end flushes them, never closes them."""

    def __init__(self, sinks: list):
        self.sinks = list(sinks)

    def write_chunk(self, chunk) -> None:
        for s in self.sinks:
            s.write_chunk(chunk)

    def flush(self) -> None:
        for s in self.sinks:
            s.flush()

    close = flush


# -- worker processes -----------------------------------------------------------------------

_JOB: Job | None = None
_TURNS = None
#: a unit's chunks wait in memory for the unit's turn to be written; past this, in a temp file
SPOOL_BYTES = 64 << 20


class _Turns:
    """Whose turn it is to write into the output (units write in unit order, each right after
    the one before: no part is copied) and where the output ends. Shared by forked workers.

    A turn is handed on by releasing the next position's semaphore: nothing waits on another
    process, so a worker killed at any moment (even while waiting for its turn) cannot block
    the others or the parent. (A ``multiprocessing.Condition`` did: its ``notify`` waits for
    every sleeper to wake, and a killed sleeper never does.)"""

    def __init__(self, ctx, end: int, n: int):
        self.go = [ctx.Semaphore(0) for _ in range(n)]  # go[pos]: released at unit pos's turn
        if n:
            self.go[0].release()
        self.head = ctx.Value("q", 0, lock=False)  # position (in unit order) of the unit to write next
        self.end = ctx.Value("q", end, lock=False)
        self.abort = ctx.Value("b", 0, lock=False)

    def wait(self, pos: int) -> int | None:
        """Block until it is unit ``pos``'s turn; the output's end offset (None: aborted)."""
        while not self.abort.value:
            if self.go[pos].acquire(timeout=0.5):
                break
        return None if self.abort.value else self.end.value

    def done(self, end: int) -> None:
        """The unit at the head is written up to ``end``: the next one's turn (the end is
        stored before the head moves: a reader that sees the new head sees the new end)."""
        self.end.value = end
        self.head.value += 1
        if self.head.value < len(self.go):
            self.go[self.head.value].release()

    def stop(self) -> None:
        self.abort.value = 1
        for g in self.go:
            g.release()


class _TurnFile:
    """The file a worker's :class:`~rerun_ros.rrd.writer.RrdWriter` writes a unit to: while the
    units before it are not all in the output, the bytes wait (in memory, past
    :data:`SPOOL_BYTES` in a temp file); once it is this unit's turn, each flush writes them at
    the output's end, so the unit at the head streams into the output while it converts."""

    closed = False

    def __init__(self, turns: _Turns, pos: int, out: str, spool_dir: str):
        self.turns, self.pos, self.out, self.spool_dir = turns, pos, out, spool_dir
        self.buf: list = []  # pieces waiting (a list: no reallocation of one growing buffer)
        self.waiting = 0
        self.spill = None  # temp file of bytes that waited past SPOOL_BYTES
        self.pos_logical = 0
        self.start_at: int | None = None  # output offset of this unit's first byte (its turn)
        self.at: int | None = None  # output offset of the next byte
        self.fd: int | None = None
        #: off while the writer writes its stream header (the output has one): nothing written
        self.ready = False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.pos_logical

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        n = view.nbytes
        if self.at is not None:  # this unit's turn: straight into the output, no copy kept
            self._drain()
            self.pos_logical += n
            self._pwrite(view)
            return n
        # immutable pieces (``bytes``; Arrow buffers: the chunk's own columns, which the IPC
        # writer hands over by reference) are kept as they are, not copied: a unit's ~45 MB of
        # camera images copied again cost fresh pages each unit (page faults: -10 % here)
        self.buf.append(data if isinstance(data, (bytes, pa.Buffer)) else bytes(view))
        self.waiting += n
        self.pos_logical += n
        if self.at is None and self.waiting > SPOOL_BYTES:
            if self.spill is None:
                import tempfile
                self.spill = tempfile.TemporaryFile(dir=self.spool_dir)
            for b in self.buf:
                self.spill.write(b)
            self.buf.clear()
            self.waiting = 0
        return n

    def flush(self) -> None:
        if not self.ready:
            return
        if self.at is None:
            if self.turns.head.value != self.pos:
                return
            self._take(self.turns.end.value)
        self._drain()

    def _take(self, at: int) -> None:
        self.start_at = self.at = at
        self.fd = os.open(self.out, os.O_WRONLY)
        if self.spill is not None:
            self.spill.flush()
            src, size, done = self.spill.fileno(), self.spill.tell(), 0
            while done < size:
                data = os.pread(src, min(8 << 20, size - done), done)
                done += self._pwrite(data)
            self.spill.close()
            self.spill = None

    def _pwrite(self, data) -> int:
        # in pieces of 4 MiB: one 45 MB write took 0.13 s here, the same bytes in 8 MiB
        # pieces 0.012 s (the kernel's cost of one huge write, measured on this VM)
        view, done = memoryview(data), 0
        while done < len(view):
            n = os.pwrite(self.fd, view[done:done + (4 << 20)], self.at)
            if n <= 0:
                raise OSError(5, "short write")
            done += n
            self.at += n
        return done

    def _drain(self) -> None:
        for b in self.buf:
            self._pwrite(b)
        self.buf.clear()
        self.waiting = 0

    def finish(self) -> int | None:
        """Wait for this unit's turn, write what waits; the output's end after it (None: the
        conversion was stopped)."""
        if self.at is None:
            at = self.turns.wait(self.pos)
            if at is None:
                return None
            self._take(at)
        self._drain()
        return self.at

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.spill is not None:
            self.spill.close()
            self.spill = None


def _work(unit: Unit, pos: int, out: str, spool_dir: str) -> UnitResult:
    """In a worker: one unit, written into the output at its turn (:class:`_TurnFile`). Its
    turn is always taken and handed on (a failed unit writes nothing), so the units after it
    never wait for ever."""
    from .rrd.writer import RrdWriter
    job, turns = _JOB, _TURNS
    f = _TurnFile(turns, pos, out, spool_dir)
    end = None
    try:
        try:
            w = RrdWriter(f, application_id=job.application_id, recording_id=job.recording_id,
                          compress=job.compress, threads=0)
            f.buf.clear()  # (the stream header and store info: the output has them)
            f.waiting = 0
            f.ready = True
            start = f.pos_logical
            res = run_unit(job, unit, w)
            w.close(write_footer=False)
            res.manifest, res.chunks = w.manifest, w.num_chunks
            end = f.finish()
            if end is None:
                return UnitResult(unit.index, failed="the conversion was stopped")
            res.start, res.end, res.part = f.start_at, end, out
            res.shift = f.start_at - start
        except Exception as e:  # noqa: BLE001 - a write that failed, or a bug: not the other units
            cut = f.start_at
            res = UnitResult(unit.index, failed=f"{type(e).__name__}: {e}")
            if isinstance(e, OSError):
                res.failed = ""
                res.errors.append(f"{out}: writing failed ({e.strerror or e}); the chunks of part {unit.index} "
                                  "were not written")
            if cut is None:
                end = turns.wait(pos)
            else:
                end = cut
                try:
                    os.truncate(out, cut)  # (the file ends with the last whole unit)
                except OSError:
                    pass
    finally:
        f.close()
        if end is not None:
            turns.done(end)
    return res


def run_units(job: Job, units: list[Unit], jobs: int, writer, parts_dir: Path,
              on_result: Callable[[UnitResult], None], progress: Callable[[int], None] | None = None,
              sinks: list | None = None, warn: Callable[[str], None] | None = None) -> None:
    """Run the units (in ``index`` order, which is the order of the output): in this process
    into ``writer`` when ``jobs`` is 1; else in ``jobs`` forked worker processes, the longest
    (topics with history) first, each writing its chunks at the output's end when the units
    before it are written (``writer``'s file, by path). ``on_result`` gets each unit's result
    in unit order, after its chunks are in the file. A worker that dies (killed, out of memory)
    fails its unit and those not yet written, with the reason; what was written before stays.
    In-process, ``sinks`` (default: the writer) get the chunks and ``warn`` each warning as it
    happens.
    """
    global _JOB, _TURNS
    units = sorted(units, key=lambda u: u.index)
    if jobs <= 1 or len(units) <= 1 or writer.path is None:
        for u in units:
            on_result(run_unit(job, u, sinks or [writer], warn=warn, progress=progress))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork")
    good_end = writer.reserve()  # where the units the parent took in end (the file is cut there)
    _JOB, _TURNS = job, _Turns(ctx, good_end, len(units))
    broken = ""
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(units)), mp_context=ctx, initializer=_worker_start,
                                 initargs=(os.getpid(),)) as pool:
            # the topics with history span the whole bag: started first, written last
            first = sorted(range(len(units)), key=lambda i: units[i].only is None)
            futs = {}
            for i in first:
                futs[i] = pool.submit(_work, units[i], i, str(writer.path), str(parts_dir))
            try:
                for i, u in enumerate(units):
                    try:
                        res = futs[i].result() if not broken else _salvaged(futs[i], good_end, u.index, broken)
                    except BrokenProcessPool:
                        broken = f"a worker process died, {_death(pool)}"
                        _TURNS.stop()
                        res = UnitResult(u.index, failed=broken)
                    if not res.failed and res.manifest is not None:
                        writer.adopt(res.manifest, res.shift, res.chunks, res.end)
                        good_end = res.end
                    if progress is not None:
                        progress(res.messages)
                    on_result(res)
            except BaseException:  # (Ctrl-C, SIGTERM, a bug): the workers are stopped now, not
                _TURNS.stop()      # left to finish their units (or wait for a turn for ever)
                pool.shutdown(wait=False, cancel_futures=True)
                for p in list((getattr(pool, "_processes", None) or {}).values()):
                    p.terminate()
                raise
    finally:
        _TURNS.stop()
        # after a worker died, a unit may be in the file whose result never came back (or a
        # worker was stopped halfway through writing): the file ends with the last unit taken
        writer.resume(good_end if broken else _TURNS.end.value)
        _JOB = _TURNS = None


def _worker_start(parent: int) -> None:
    """In each worker process, first: it dies with the parent (Linux ``PR_SET_PDEATHSIG``: a
    parent killed outright must not leave workers converting into a file nobody keeps), takes
    SIGTERM's default action (the pool stops its workers with it) and ignores SIGINT (a Ctrl-C
    reaches the whole process group; the parent stops the workers itself)."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # (not Linux: workers end when the pool's pipes close)
        pass
    if os.getppid() != parent:  # (the parent died before prctl took effect)
        os._exit(1)


def _salvaged(fut, good_end: int, index: int, broken: str) -> UnitResult:
    """After the pool broke: a unit's result if it came back whole and its bytes follow the
    units taken so far, else the unit failed."""
    try:
        done = fut.done() and not fut.cancelled() and fut.exception(0) is None
    except Exception:  # noqa: BLE001 - (a timeout, a cancellation: not back)
        done = False
    res = fut.result() if done else None
    if res is None or res.failed or res.start != good_end:
        return UnitResult(index, failed=broken)
    return res


def _death(pool) -> str:
    """How the worker that broke the pool ended: its signal (SIGKILL: killed, or the kernel's
    out-of-memory killer) or exit status, read from the pool's processes. The executor stops
    the other workers with SIGTERM and reaps them in its own thread (a dead worker's status can
    show up a moment late): up to ~0.5 s is given for it."""
    import signal
    import time
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for _ in range(10):
        codes = [p.exitcode for p in procs]
        cause = [c for c in codes if c not in (None, 0, -signal.SIGTERM)]
        if cause:
            c = cause[0]
            if c > 0:
                return f"exit status {c}"
            try:
                name = signal.Signals(-c).name
            except ValueError:
                name = f"signal {-c}"
            return f"{name}{': killed, or out of memory' if -c == signal.SIGKILL else ''}"
        if None not in codes:
            break
        time.sleep(0.05)
    return "killed"


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass


# -- merging --------------------------------------------------------------------------------

_AT = re.compile(r" at log time -?\d+")


def warning_key(text: str) -> str:
    """A warning without the log time of its first occurrence: the same problem met by two
    units is said once."""
    return _AT.sub("", text)


def merge_topics(into: dict, stats: list[TopicStats]) -> None:
    """Add a unit's per-topic counts into ``into`` ((topic, type) → TopicStats)."""
    for t in stats:
        key = (t.topic, t.type_name)
        m = into.get(key)
        if m is None:
            into[key] = copy.deepcopy(t)
            continue
        m.messages += t.messages
        m.converted += t.converted
        m.skipped += t.skipped
        m.unmapped += t.unmapped
        m.reasons.update(t.reasons)
        for r in t.reasons:  # (remembered notes count 0: keep them)
            m.reasons.setdefault(r, 0)


def merge_off_clock(clock: RobotClock, off: dict) -> None:
    """Add a unit's publishers placed by log time into the conversion's clock."""
    for src, o in off.items():
        m = clock.off_clock.get(src)
        if m is None:
            m = clock.off_clock[src] = OffClock(src)
            m.offset_s = o.offset_s
        m.rows += o.rows
        m.unset += o.unset
        if m.offset_s != m.offset_s:  # (NaN: none set yet)
            m.offset_s = o.offset_s
