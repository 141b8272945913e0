"""Bag → ``.rrd`` conversion: MCAP/rosbag2 in, an RRD file the official Rerun viewer opens out.

Streams: messages are decoded one chunk of the bag at a time, mapped, batched into chunks and
written (Arrow IPC with zstd-compressed buffers by default) as they come, so memory stays bounded
whatever the size of the bag.

Exit status of ``rerun-ros convert`` (see :func:`exit_code`): 0 everything supported was
converted; 3 something was skipped (a damaged chunk or file tail, messages that did not decode
or map, or, with ``--strict``, topics of unsupported types); 1 nothing could be converted or the
input/output could not be opened; 2 usage error.
"""
from __future__ import annotations

import copy
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .ingest import Ingestor, TimeWindow, TopicStats, watch_clock
from .sources import open_bag
from .rrd.output import commit, discard, staged_output
from .stream.recording import RecordingStream
from .rrd.writer import RrdWriter

__all__ = ["convert", "ConvertReport", "exit_code", "parse_time", "parse_bound"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


@dataclass
class ConvertReport:
    """What a conversion did: per-topic stats, warnings, output size, wall time."""

    input: str
    output: str
    topics: list[TopicStats] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    damaged: bool = False
    #: writing the output failed (disk full, directory removed...): it holds what was written
    write_failed: bool = False
    messages: int = 0
    converted: int = 0
    chunks: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    #: with ``connect``: chunks that did not reach the gRPC proxy (unreachable, too slow)
    stream_dropped: int = 0
    #: the robot clock the rows were placed on (:meth:`RobotClock.to_dict`)
    clock: dict = field(default_factory=dict)
    #: the robot clock in one line (e.g. "sim time from /clock")
    clock_text: str = ""
    #: processes that converted (1: this one) and units the bag was cut into (rerun_ros.parallel)
    jobs: int = 1
    units: int = 1
    #: units that could not run (a worker died): their messages were not converted
    failed_units: int = 0

    @property
    def skipped_errors(self) -> int:
        """Messages not kept (did not decode, no definition) or kept but not drawn (their
        archetypes could not be made)."""
        return sum(t.skipped + t.unmapped for t in self.topics)

    @property
    def unsupported(self) -> list[TopicStats]:
        return [t for t in self.topics if t.unsupported]

    def to_dict(self) -> dict:
        return {"input": self.input, "output": self.output, "messages": self.messages,
                "converted": self.converted, "chunks": self.chunks, "bytes_written": self.bytes_written,
                "seconds": round(self.seconds, 3), "damaged": self.damaged, "write_failed": self.write_failed,
                "stream_dropped": self.stream_dropped, "clock": self.clock, "jobs": self.jobs, "units": self.units,
                "warnings": self.warnings, "topics": [t.to_dict() for t in self.topics]}


def exit_code(report: ConvertReport, strict: bool = False) -> int:
    if report.converted == 0 or report.write_failed:
        return EXIT_FAILED
    if report.damaged or report.skipped_errors or report.stream_dropped or (strict and report.unsupported):
        return EXIT_PARTIAL
    return EXIT_OK


def parse_bound(text: str | None) -> tuple[bool, int] | None:
    """A ``--start``/``--end`` value → ``(relative, ns)``: seconds from the recording's first
    ``ros_time`` (``2.5``, ``2.5s``, ``+2.5``: relative) or an absolute time as ns since the
    epoch (an integer ≥ 1e15) or seconds since the epoch with ``@`` (``@1757502238.48``).

    Raises:
        ValueError: an unreadable value.
    """
    if text is None:
        return None
    t = text.strip()
    try:
        if t.startswith("@"):
            rel, ns = False, _ns(float(t[1:]) * 1e9)
        elif re.fullmatch(r"\d{15,}", t):
            rel, ns = False, int(t)
        else:
            rel, ns = True, _ns(float(t.lstrip("+").rstrip("s")) * 1e9)
    except (ValueError, OverflowError):
        raise ValueError(f"cannot read time {text!r}: use seconds from the recording's start (2.5), "
                         "@<seconds since epoch>, or integer ns since epoch") from None
    if not -2**62 <= ns <= 2**62:
        raise ValueError(f"time {text!r} is out of range (more than 146 years from the epoch)")
    return rel, ns


def _ns(v: float) -> int:
    """A float of ns as int (ValueError for NaN/inf)."""
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("not a finite time")
    return int(round(v))


def parse_time(text: str | None, bag_start: int | None) -> int | None:
    """A ``--start``/``--end``/``--time`` value → ns since the epoch: seconds from ``bag_start``
    (a timeline's first value; ``2.5``, ``2.5s``, ``+2.5``), or an absolute time as ns since the
    epoch (an integer ≥ 1e15) or seconds since the epoch with ``@`` (``@1757502238.48``).

    Raises:
        ValueError: an unreadable value, or one more than 146 years from the epoch.
    """
    b = parse_bound(text)
    if b is None:
        return None
    rel, ns = b
    return (bag_start or 0) + ns if rel else ns


def convert(input_path: str | os.PathLike, output_path: str | os.PathLike, *,
            include: Sequence[str] = (), exclude: Sequence[str] = (), start: str | None = None,
            end: str | None = None, warn: Callable[[str], None] | None = None,
            progress: Callable[[int, int | None], None] | None = None,
            application_id: str | None = None, compress: bool | str = "zstd",
            distro: str | None = None, connect: str | None = None, blueprint=None,
            jobs: int | None = 1, segment_bytes: int | None = None) -> ConvertReport:
    """Convert a bag to ``.rrd``.

    Args:
        input_path: MCAP file or rosbag2 directory.
        output_path: the ``.rrd`` to write (its directory must exist).
        include / exclude: regular expressions on topic names (``re.search``); a topic is kept
            if it matches any include (or there are none) and no exclude.
        start / end: time window on ``ros_time``, the robot clock (see :func:`parse_bound`):
            seconds from the recording's first ros_time, or absolute.
        warn: called with each one-line warning as it happens (once per problem).
        compress: ``"zstd"`` (default: Arrow buffers zstd-compressed inside each chunk's IPC
            stream, the smallest file the official tools read), ``"lz4"``/``True`` (LZ4 blocks,
            as Rerun's SDKs write), ``False``/``"none"`` (see :data:`rerun_ros.rrd.writer.CODECS`).
        progress: called as ``progress(messages_done, total_or_None)``.
        distro: the ROS 2 distribution whose standard types decode messages recorded without
            a definition (default: the bag's ``ros_distro``, else found by fit).
        connect: also stream the recording to this Rerun gRPC proxy
            (``rerun+http://127.0.0.1:9876/proxy``: the official viewer, ``rerun-ros serve``);
            chunks it does not take are counted in ``stream_dropped`` (exit status 3).
        blueprint: a :class:`rerun_ros.blueprint.model.Blueprint`: written beside the output as
            ``<output>.rbl`` (a Rerun blueprint file) and sent with ``connect``.
        jobs: worker processes (None or 0: one per core; 1: this process). The bag is cut into
            units the same way whatever the number (:mod:`rerun_ros.parallel`), so the output
            is the same chunk for chunk; a bag of one segment, a robot clock tracked through
            the bag, or ``connect`` run in this process (``report.jobs`` says how many ran).
        segment_bytes: message data per segment (default :data:`rerun_ros.parallel.SEGMENT_BYTES`;
            smaller cuts small bags into several units, for tests).

    Raises:
        FileNotFoundError, BagError: unreadable input. FileNotFoundError/PermissionError:
        output directory missing or not writable. ValueError: a bad regex or time, an unknown
        ``compress``.
    """
    t0 = time.perf_counter()
    from .rrd.writer import codec_of
    compress = codec_of(compress)
    pool = _lean_memory_pool()
    try:
        return _convert(input_path, output_path, include=include, exclude=exclude, start=start, end=end, warn=warn,
                        progress=progress, application_id=application_id, compress=compress, distro=distro,
                        connect=connect, blueprint=blueprint, jobs=jobs, segment_bytes=segment_bytes, t0=t0)
    finally:
        if pool is not None:
            import pyarrow as pa
            pa.set_memory_pool(pool)


def _lean_memory_pool():
    """Arrow's jemalloc pool for a conversion when this pyarrow has it (returns the pool to put
    back): it hands freed memory back sooner than the default mimalloc pool — the 10x mix's
    peak memory 172 -> 138 MiB in one process, 265 -> 200 MiB over two workers, the same speed
    (bench/convert.py)."""
    import pyarrow as pa
    try:
        lean = pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError, AttributeError):
        return None
    old = pa.default_memory_pool()
    if old.backend_name == lean.backend_name:
        return None
    pa.set_memory_pool(lean)
    return old


def _convert(input_path, output_path, *, include, exclude, start, end, warn, progress, application_id, compress,
             distro, connect, blueprint, jobs, segment_bytes, t0) -> ConvertReport:
    from .model import tuid
    from .parallel import (BATCHER, ONE_SEGMENT, Job, default_jobs, merge_off_clock, merge_topics, plan_units, run_units,
                           warning_key)

    warnings: list[str] = []
    seen: set[str] = set()

    def _warn(s: str) -> None:
        key = warning_key(s)
        if key in seen:
            return
        seen.add(key)
        warnings.append(s)
        if warn:
            warn(s)

    try:
        inc = [re.compile(p) for p in include]
        exc = [re.compile(p) for p in exclude]
    except re.error as e:
        raise ValueError(f"bad topic regex: {e}") from None
    window = TimeWindow(parse_bound(start), parse_bound(end)) if (start is not None or end is not None) else None
    src = open_bag(input_path, warn=_warn)

    def keep(topic: str) -> bool:
        if inc and not any(p.search(topic) for p in inc):
            return False
        return not any(p.search(topic) for p in exc)

    staged = staged_output(output_path, [input_path], warn=_warn)
    try:
        # written in this thread: a writer thread was slower (GIL hand-offs, chunks waiting in
        # its queue: big bag 1.09-1.39x -> 0.94-1.05x the official converter, bench/convert.py),
        # but for a bag of one segment (below: start_thread)
        writer = RrdWriter(staged, application_id=application_id or Path(input_path).stem,
                           compress=compress, threads=0)
    except OSError as e:
        discard(staged)
        raise OSError(f"{output_path}: cannot write ({e.strerror or e})") from None
    app_id = writer.store_id.application_id
    sinks: list = [writer]
    grpc_sink = None
    if connect:
        from .stream.grpc import GrpcSink
        grpc_sink = GrpcSink(connect, application_id=app_id, recording_id=writer.store_id.recording_id,
                             blueprint=blueprint)
        sinks.append(grpc_sink)
    rec = RecordingStream(application_id=application_id or Path(input_path).stem, batcher=BATCHER, sinks=sinks)
    writer.on_error = lambda m: _warn(m.replace(str(staged), str(output_path)))
    ing = Ingestor(rec, warn=_warn, source=str(input_path), distro=distro or src.distro,
                   fixed_distro=distro is not None, window=window)
    report = ConvertReport(str(input_path), str(output_path))
    total = src.total_messages
    kept = keep if (inc or exc) else None
    filtered = bool(inc or exc) or window is not None
    base_ns = time.time_ns()
    topics: dict = {}
    done = [0]

    failed: dict[str, list[int]] = {}  # reason -> the parts it failed (said once, after the run)

    def on_result(r) -> None:
        for w in r.warnings:
            _warn(w)
        if r.failed:
            failed.setdefault(r.failed, []).append(r.index)
            report.failed_units += 1
        merge_topics(topics, r.topics)
        merge_off_clock(ing.clock, r.off_clock)
        for g, k in r.read.items():
            src.stats.read[g] += k
        src.stats.damaged |= r.damaged
        for ent, rows in r.rows_lost.items():
            rec.stats.rows_lost[ent] = rec.stats.rows_lost.get(ent, 0) + rows
        for e in r.errors:
            rec._error(e)
        report.messages += r.messages

    def on_progress(k: int) -> None:
        done[0] += k
        if progress is not None:
            progress(done[0], total)

    try:
        with tuid.fixed_time(base_ns):
            ing.log_metadata(getattr(src, "metadata", None) or [])
            rec.flush()
        lo, hi = watch_clock(src, ing, kept)
        units, why = plan_units(src, ing.clock, **({"segment_bytes": segment_bytes} if segment_bytes else {}))
        n_jobs = default_jobs() if not jobs else int(jobs)
        if connect:
            n_jobs, why = 1, why or "streaming to a viewer (--connect)"
        report.jobs = 1 if (n_jobs <= 1 or len(units) <= 1) else min(n_jobs, len(units))
        report.units = len(units)
        if n_jobs > 1 and len(units) == 1 and not connect and compress == "zstd" \
                and why == ONE_SEGMENT:
            # a small bag in one process, a core to spare: zstd beside the decoding
            writer.start_thread()
        job = Job(src, str(input_path), kept, window, copy.deepcopy(ing.clock), ing.first_ros_time, lo, hi, distro or src.distro,
                  distro is not None, app_id, writer.store_id.recording_id,
                  compress, base_ns)
        run_units(job, units, report.jobs, writer, Path(staged).parent, on_result, on_progress,
                  sinks=sinks, warn=_warn)
        for why, parts in failed.items():
            lost = f"{total - report.messages} messages" if total and not filtered else "their messages"
            ok = len(units) - report.failed_units
            _warn(f"{input_path}: {len(parts)} of the {len(units)} parts of the conversion failed ({why}): "
                  f"{_spans(parts)}; {lost} were not converted "
                  f"({f'the {ok} other parts are in the file' if ok else 'no part was converted'})")
        with tuid.fixed_time(base_ns + len(units) + 1):
            ing.log_clock_property()
            rec.flush()
    except BaseException:
        rec.close()
        discard(staged)
        raise
    rec.close()
    n = report.messages
    if grpc_sink is not None:
        if not grpc_sink.stats.messages_sent and not grpc_sink.connected.is_set():
            _warn(f"{connect}: no Rerun proxy answered (start `rerun` or `rerun-ros serve`)")
        grpc_sink.close()
        report.stream_dropped = grpc_sink.stats.chunks_dropped
        if report.stream_dropped:
            _warn(f"{connect}: {report.stream_dropped} chunks ({grpc_sink.stats.rows_dropped} rows) were not "
                  f"streamed{': ' + grpc_sink.stats.last_error if grpc_sink.stats.last_error else ''}")
    if blueprint is not None:
        from .blueprint.rerun import save_rbl
        rbl = Path(output_path).with_suffix(".rbl")
        try:
            save_rbl(blueprint, rbl, app_id)
        except OSError as e:
            _warn(f"{rbl}: cannot write the blueprint ({e.strerror or e})")
    report.write_failed = bool(rec.errors)
    if writer.num_chunks or not report.write_failed:
        commit(staged, output_path)  # (after a failed write: what was written, readable)
    else:
        discard(staged)
    for ent, rows in sorted(rec.stats.rows_lost.items()):
        _warn(f"{output_path}: {rows} rows of {ent} were not written")
    if not filtered and not report.failed_units:  # (a failed part's messages are said above)
        for ch, got, want in src.stats.shortfalls(src.channels):
            src.stats.damaged = True
            _warn(f"{input_path}: topic {ch.topic}: {got} of the {want} messages the file's statistics "
                  f"count could be read; {want - got} lost to damage")
    if progress is not None:
        progress(n, total)
    report.topics = [topics[k] for k in sorted(topics, key=lambda k: k[0])]
    if ing.clock is not None:
        report.clock = ing.clock.to_dict()
        report.clock_text = ing.clock.describe()
    report.warnings = warnings
    report.damaged = src.damaged or bool(report.failed_units)
    report.messages = n
    report.converted = sum(t.converted for t in report.topics)
    report.chunks = writer.num_chunks
    report.bytes_written = writer.bytes_written
    report.seconds = time.perf_counter() - t0
    return report


def _spans(parts: list[int]) -> str:
    """Part numbers as ranges: ``[3, 4, 5, 9]`` -> ``"parts 3-5, 9"``."""
    parts = sorted(parts)
    out, start = [], parts[0]
    for a, b in zip(parts, parts[1:] + [None]):
        if b != a + 1:
            out.append(str(a) if a == start else f"{start}-{a}")
            start = b
    return ("part " if len(parts) == 1 else "parts ") + ", ".join(out)
