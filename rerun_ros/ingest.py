"""One path from recorded or live ROS messages to the recording, in columns.

:class:`Ingestor` takes batches of raw CDR messages of one topic (a bag's
:class:`~rerun_ros.sources.base.RawBatch`, or the bridge's raw subscriptions batched per flush
period), decodes each batch once into an Arrow ``StructArray`` (:mod:`rerun_ros.cdr`) and logs,
column-wise, on the topic's entity:

- every message, whole, as the ``<pkg>.msg.<Type>:message`` struct column (as the official
  converter names it), minus the byte blobs an archetype already carries (Image data, ...);
- a ``CoordinateFrame`` for messages with a ``header.frame_id``;
- the archetype columns of the type's mapper (:mod:`rerun_ros.mappers`), for all rows at once;

on the timelines ``ros_time`` (header.stamp, else the log time), ``log_time`` and
``publish_time`` (when known). It counts per topic what was read, kept, not decoded and not
drawn, and reports each distinct problem once with the topic and a log time. It never raises
for a bad message.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyarrow as pa

from .cdr import SchemaError, decoder_for
from .cdr.stamps import is_time, raw_stamps, stamp_offset
from .mappers import MapContext, MappingError, archetypes_of, normalize_type
from .mappers.base import Columns, MessageBatch, SharedState
from .mappers.registry import entry
from .model import archetypes as A
from .model import components as C
from .model import entity_path
from .model.clock import BOUND_NS, OFFSET, SIM_CLOCK, SIM_OFFSET, ClockEstimator, RobotClock
from .model.components import ComponentDescriptor
from .model.names import CLOCK_PROPERTY, METADATA_ENTITY, LOG_TIME, PUBLISH_TIME, ROS_TIME, TIMELINES as _TIMELINES
from .stream.recording import RecordingStream

__all__ = ["Ingestor", "TopicStats", "ROS_TIME", "LOG_TIME", "PUBLISH_TIME", "message_descriptor", "ingest_source",
           "TimeWindow"]

_FRAME = A.CoordinateFrame.column("frame")
#: the robot clock as JSON, beside its TextDocument on ``/__properties/ros_clock``
CLOCK_JSON = ComponentDescriptor("rerun_ros.RobotClock", "json", "")
CLOCK_TYPE = "rosgraph_msgs/msg/Clock"
#: how much of a recording is read before its robot clock is decided (whichever comes first)
PREFIX_BYTES = 4 << 20
PREFIX_MESSAGES = 10_000
#: batches held back after that, so /clock and stamps just ahead of a batch are known
LOOKAHEAD_BYTES = 4 << 20
LOOKAHEAD_BATCHES = 8


@dataclass
class TopicStats:
    """Per-topic counts.

    Attributes:
        messages: messages read. converted: kept as rows (their ``:message`` column at least).
        skipped: not kept (did not decode; no definition). unmapped: kept, but their
        archetypes could not be made (not drawn). reasons: problem → messages.
        unsupported: the type has no archetype mapper (kept as its struct column only).
    """

    topic: str
    type_name: str
    entity: str
    archetypes: str = ""
    messages: int = 0
    converted: int = 0
    skipped: int = 0
    unmapped: int = 0
    reasons: Counter = field(default_factory=Counter)
    unsupported: bool = False

    def to_dict(self) -> dict:
        return {"topic": self.topic, "type": self.type_name, "entity": self.entity,
                "archetypes": self.archetypes, "messages": self.messages, "converted": self.converted,
                "skipped": self.skipped, "unmapped": self.unmapped, "unsupported": self.unsupported,
                "reasons": dict(self.reasons)}


def message_descriptor(type_name: str) -> ComponentDescriptor:
    """``<pkg>.msg.<Type>:message``, the lossless column of a type (as ``rerun mcap convert``)."""
    return ComponentDescriptor(normalize_type(type_name).replace("/", "."), "message", "")


class _Topic:
    __slots__ = ("stats", "entry", "ctx", "decoder", "error", "desc", "keep_fields", "stamp",
                 "frame", "warned", "candidates", "stamp_at", "is_clock", "static")

    def __init__(self, stats: TopicStats, ent, ctx: MapContext):
        self.stats, self.entry, self.ctx = stats, ent, ctx
        self.decoder = None
        self.error: str | None = None
        self.desc = message_descriptor(stats.type_name)
        self.keep_fields: list[int] | None = None
        self.stamp: str | None = None
        self.frame: str | None = None
        self.warned: set = set()
        #: (distro, decoder) to choose from by fit, for a type recorded without its definition
        self.candidates: list | None = None
        #: byte offset of the first header stamp in a serialized message (None: not fixed)
        self.stamp_at: int | None = None
        #: rosgraph_msgs/Clock: its messages define the robot clock
        self.is_clock = stats.type_name == CLOCK_TYPE
        #: a latched static topic (/tf_static): its stamps say nothing of the clock
        self.static = stats.topic.rstrip("/").endswith("tf_static")


@dataclass
class TimeWindow:
    """A ``--start/--end`` window on ``ros_time``: each bound is ``(relative, ns)``, relative
    bounds counting from the recording's first ``ros_time`` (None: open)."""

    start: tuple[bool, int] | None = None
    end: tuple[bool, int] | None = None

    def resolve(self, first_ns: int) -> tuple[int, int]:
        lo = -2**63 if self.start is None else (first_ns + self.start[1] if self.start[0] else self.start[1])
        hi = 2**63 - 1 if self.end is None else (first_ns + self.end[1] if self.end[0] else self.end[1])
        return lo, hi


class Ingestor:
    """Maps batches of messages into a RecordingStream.

    Args:
        rec: the stream to log to.
        warn: called with a one-line message the first time each (topic, problem) occurs.
        entity_for: optional ``topic -> entity path`` override (default: the topic name).
        source: the input's name, prefixed to warnings.
        distro: the ROS 2 distribution whose standard types decode messages recorded without a
            definition (None: the newest known); unless ``fixed_distro``, a type whose messages
            do not fit that definition is decoded with the distribution whose definition they fit.
        clock: the robot clock (live: the node clock, log times on it). None: found from the
            first messages of a recording (:mod:`rerun_ros.model.clock`); :meth:`ingest_batch`
            then holds batches back until it is known.
        bound_ns: how far a stamp may stray from the robot clock (ns).
        window: keep only messages whose ``ros_time`` lies in this window.
        log_clock: log the robot clock as a recording property (``/__properties/ros_clock``).

    Attributes:
        clock: the :class:`~rerun_ros.model.clock.RobotClock` (None until decided).
        first_ros_time: the recording's first ``ros_time`` (ns) once the clock is decided.
    """

    def __init__(self, rec: RecordingStream, *, warn: Callable[[str], None] | None = None,
                 entity_for: Callable[[str], str] | None = None, source: str = "",
                 distro: str | None = None, fixed_distro: bool = False, clock: RobotClock | None = None,
                 bound_ns: int = BOUND_NS, window: TimeWindow | None = None, log_clock: bool = True):
        self.rec = rec
        self.warn = warn or (lambda s: None)
        self.entity_for = entity_for or entity_path.from_topic
        self.source = source
        self.distro = distro
        #: the distro was given by the user: no choosing by fit
        self.fixed_distro = fixed_distro
        self.topics: dict[tuple, _Topic] = {}
        self._watched: dict[tuple, _Topic] = {}
        self.shared = SharedState()
        self.clock = clock
        self.window = window
        self._bounds: tuple[int, int] | None = None
        self._estimator = ClockEstimator(bound_ns) if clock is None else None
        self._pending: list = []
        self._pending_bytes = 0
        self._prefix_msgs = 0
        self._prefix_bytes = 0
        self.first_ros_time: int | None = None
        self._clock_logged: str | None = None
        #: log the clock as a recording property (off: a part of a conversion; the whole says it)
        self.log_clock = log_clock
        if clock is not None and log_clock:  # live: said at once (and again at the end if it changed)
            self._log_clock()

    # -- topics -----------------------------------------------------------------------------

    def topic(self, topic: str, type_name: str, schema_encoding: str = "", schema_text: str = "",
              message_encoding: str = "cdr") -> _Topic:
        key = (topic, type_name)
        t = self.topics.get(key)
        if t is not None:
            return t
        t = self._watched.pop(key, None)  # met while finding the clock: its fit and warnings kept
        if t is not None:
            self.topics[key] = t
            return t
        tn = normalize_type(type_name) if type_name else "?"
        ent = entry(tn)
        ename = self.entity_for(topic)
        has_archetypes = ent is not None
        stats = TopicStats(topic, tn, ename, archetypes_of(tn), unsupported=not has_archetypes)
        t = self.topics[key] = _Topic(stats, ent, MapContext(topic, ename, tn, shared=self.shared))
        if message_encoding != "cdr":
            t.error = f"message encoding {message_encoding!r} is not ROS 2 CDR"
        elif not type_name:
            t.error = "channel has no schema"
        else:
            try:
                t.decoder = decoder_for(tn, schema_encoding, schema_text, self.distro)
            except SchemaError as e:
                t.error = str(e)
            if not schema_text.strip() and not self.fixed_distro:
                t.candidates = self._candidates(tn, schema_encoding)
                if t.decoder is None and t.candidates:
                    t.decoder, t.error = t.candidates[0][1], None
        if t.decoder is not None:
            self._plan(t)
        return t

    def _candidates(self, type_name: str, encoding: str) -> list:
        """The distinct standard definitions of a type across ROS 2 distributions (the bag's
        own distro first, then newest to oldest), for a type recorded without definition."""
        from .cdr.schema import distro_order
        out, seen = [], []
        for d in distro_order(self.distro):
            try:
                dec = decoder_for(type_name, encoding, "", d)
            except SchemaError:
                continue
            if dec.msg not in seen:
                seen.append(dec.msg)
                out.append((d, dec))
        return out if len(out) > 1 else None

    def _fit(self, t: _Topic, buf, offsets, lengths) -> None:
        """Choose, among the distributions' definitions of a type recorded without one, the one
        that every message of the first batch fits exactly (all decode, and each uses its whole
        length, give or take CDR's trailing padding)."""
        cands, t.candidates = t.candidates, None
        for distro, dec in cands:
            d = dec.decode(buf, offsets, lengths)
            if d.ok.all() and d.end is not None and ((lengths - d.end) >= 0).all() and ((lengths - d.end) < 4).all():
                if dec is not t.decoder:
                    t.decoder = dec
                    self._plan(t)
                    self._problem(t, f"recorded without its definition; decoded with ROS 2 {distro}'s, "
                                     "the one its messages fit", None)
                    t.stats.reasons[f"decoded with the {distro} definition"] += 0
                return

    def _plan(self, t: _Topic) -> None:
        """Which fields the :message column keeps, where the stamp and frame id are."""
        typ = t.decoder.arrow_type
        names = [f.name for f in typ]
        blobs = set(t.entry.blobs) if t.entry is not None else set()
        t.keep_fields = [i for i, n in enumerate(names) if n not in blobs] if blobs & set(names) else None
        t.stamp = t.frame = None
        # (as the recorded definition says: a stamp that is not a builtin_interfaces/Time, or a
        # frame id that is not a string, is none; the messages are placed by their log time)
        hdr = typ.get_field_index("header")
        if hdr >= 0 and pa.types.is_struct(typ[hdr].type):
            h = typ[hdr].type
            if h.get_field_index("stamp") >= 0 and is_time(h[h.get_field_index("stamp")].type):
                t.stamp = "header.stamp"
            f = h.get_field_index("frame_id")
            if f >= 0 and (pa.types.is_string(h[f].type) or pa.types.is_large_string(h[f].type)) \
                    and t.stats.type_name != "tf2_msgs/msg/TFMessage":
                t.frame = "header.frame_id"
        elif typ.get_field_index("stamp") >= 0 and is_time(typ[typ.get_field_index("stamp")].type):
            t.stamp = "stamp"
        t.stamp_at = stamp_offset(typ)

    def _problem(self, t: _Topic, reason: str, log_time: int | None) -> None:
        if reason in t.warned:
            return
        t.warned.add(reason)
        where = f"{self.source}: " if self.source else ""
        at = f" at log time {log_time}" if log_time is not None else ""
        self.warn(f"{where}topic {t.stats.topic} ({t.stats.type_name}){at}: {reason}")

    def skip(self, topic: str, type_name: str, reason: str, *, log_time: int | None = None, count: int = 1) -> None:
        """Count ``count`` messages of a topic as not kept for ``reason`` (warned once)."""
        t = self.topic(topic, type_name) if (topic, type_name) in self.topics else self._bare(topic, type_name)
        t.stats.messages += count
        t.stats.skipped += count
        t.stats.reasons[reason] += count
        self._problem(t, reason, log_time)

    def _bare(self, topic: str, type_name: str) -> _Topic:
        tn = normalize_type(type_name) if type_name else "?"
        ename = self.entity_for(topic)
        t = _Topic(TopicStats(topic, tn, ename, archetypes_of(tn)), entry(tn), MapContext(topic, ename, tn))
        self.topics[(topic, type_name)] = t
        return t

    # -- the robot clock --------------------------------------------------------------------

    def _raw_stamps(self, t: _Topic, batch) -> np.ndarray | None:
        if t.stamp_at is None or t.decoder is None:
            return None
        return raw_stamps(batch.buf, batch.offsets, batch.lengths, t.stamp_at)

    def _observe(self, t: _Topic, batch) -> None:
        """Feed a batch's /clock values or header stamps to the clock (estimate or tracking)."""
        est = self._estimator if self.clock is None else None
        if est is None and not (self.clock.kind in (SIM_OFFSET, OFFSET) or (t.is_clock and self.clock.kind == SIM_CLOCK)):
            return  # a clock that needs no tracking
        stamps = self._raw_stamps(t, batch)
        if stamps is None or t.static:
            if est is not None:
                est.add_log_times(batch.log_time)
            return
        if t.is_clock:
            (est or self.clock).add_clock(batch.log_time, stamps)
        elif est is not None:
            est.add_stamps(t.stats.topic, batch.log_time, stamps)
        else:
            self.clock.add_stamps(batch.log_time, stamps)

    def decide_clock(self) -> RobotClock:
        """Decide the robot clock from what was observed (once), and where the window lies."""
        if self.clock is None:
            est = self._estimator
            self.clock = est.decide()
            firsts = []
            if est.first_log is not None:
                firsts.append(int(self.clock.to_robot(np.array([est.first_log]))[0]))
            for lg, st in ((np.concatenate([p[0] for p in v]), np.concatenate([p[1] for p in v]))
                           for v in est._stamps.values()):
                on = np.abs(st - self.clock.to_robot(lg)) <= self.clock.bound_ns
                if on.any():
                    firsts.append(int(st[on].min()))
            self.first_ros_time = min(firsts) if firsts else None
            self._estimator = None
            if self.clock.note:
                self.warn(f"{self.source + ': ' if self.source else ''}robot clock: {self.clock.note}")
        if self.window is not None and self._bounds is None:
            self._bounds = self.window.resolve(self.first_ros_time or 0)
        return self.clock

    def clock_ready(self) -> bool:
        """Enough of the recording was watched to decide its clock."""
        return self.clock is not None or self._prefix_done()

    def log_window(self, start_log: int, end_log: int) -> tuple[int, int]:
        """Log-time bounds (ns) that hold every message whose ros_time can fall in the window,
        for a recording whose log times run from ``start_log`` to ``end_log``."""
        lo, hi = self._bounds or (-2**63, 2**63 - 1)
        grid = np.linspace(start_log, end_log, 4097).astype(np.int64)
        robot = self.clock.to_robot(grid)
        m = 2 * self.clock.bound_ns
        hit = np.flatnonzero((robot >= lo - m) & (robot <= hi + m))
        if not len(hit):
            return start_log, start_log - 1
        step = (end_log - start_log) // 4096 + 1
        return int(grid[hit[0]]) - step, int(grid[hit[-1]]) + step

    def _prefix_done(self) -> bool:
        return self._prefix_bytes >= PREFIX_BYTES or self._prefix_msgs >= PREFIX_MESSAGES

    # -- batches ----------------------------------------------------------------------------

    def ingest_batch(self, batch, keep: bool = True) -> None:
        """Decode, map and log a :class:`~rerun_ros.sources.base.RawBatch` of a recording.

        Batches are held back until the robot clock is known (the first seconds of the
        recording) and a little after, so the clock around each batch is known when it is
        placed; :meth:`finish` logs what is held. ``keep=False``: only watch the batch for the
        clock (a topic the user left out, read for its ``/clock``)."""
        ch = batch.channel
        t = self.topic(ch.topic, ch.type_name, ch.schema_encoding, ch.schema_text, ch.message_encoding)
        if t.candidates is not None and t.decoder is not None and len(batch):
            self._fit(t, batch.buf, batch.offsets, batch.lengths)
        self._observe(t, batch)
        if self.clock is None:
            self._prefix_msgs += len(batch)
            self._prefix_bytes += int(np.sum(batch.lengths)) if len(batch) else 0
        if not keep:
            if not t.stats.messages and not t.stats.skipped:  # (only watched: not in the summary)
                self._watched[(ch.topic, ch.type_name)] = self.topics.pop((ch.topic, ch.type_name))
            return
        self._pending.append((t, batch))
        self._pending_bytes += int(np.sum(batch.lengths)) if len(batch) else 0
        if self.clock is None:
            if not self._prefix_done():
                return
            self.decide_clock()
        if self.clock.tracked:
            self._drain(LOOKAHEAD_BYTES, LOOKAHEAD_BATCHES)
        else:  # (nothing read ahead can move a message: none held, nor its buffer)
            self._drain(-1, -1)

    def _drain(self, max_bytes: int, max_batches: int) -> None:
        while self._pending and (self._pending_bytes > max_bytes or len(self._pending) > max_batches):
            t, b = self._pending.pop(0)
            self._pending_bytes -= int(np.sum(b.lengths)) if len(b) else 0
            if self._bounds is not None and len(b):
                b = self._in_window(t, b)
                if b is None:
                    continue
            self.ingest_raw(t, b.buf, b.offsets, b.lengths, b.log_time, b.publish_time)

    def _in_window(self, t: _Topic, b):
        """The batch's messages whose ros_time lies in the window (None: none)."""
        lo, hi = self._bounds
        st = None if t.static else self._raw_stamps(t, b)
        rt = self.clock.place(t.stats.topic, st, b.log_time, count=False)
        m = (rt >= lo) & (rt <= hi)
        if m.all():
            return b
        return b.take(m) if m.any() else None

    def flush_pending(self) -> None:
        """Log every batch held back (deciding the clock first if needed)."""
        if self.clock is None:
            self.decide_clock()
        self._drain(-1, -1)

    def ingest_payloads(self, topic: str, type_name: str, payloads: list, log_time: np.ndarray,
                        publish_time: np.ndarray | None = None, schema_text: str = "",
                        robot_time: np.ndarray | None = None) -> None:
        """Decode, map and log serialized messages given one by one (live raw subscriptions),
        at once (the clock must be given).

        Args:
            payloads: the CDR bytes of each message. log_time / publish_time: int64 (N,) ns.
            robot_time: int64 (N,) the robot clock at receipt (default: the log time).
        """
        lens = np.fromiter((len(p) for p in payloads), np.int64, count=len(payloads))
        offs = np.zeros(len(payloads), np.int64)
        if len(payloads) > 1:
            np.cumsum(lens[:-1], out=offs[1:])
        buf = np.frombuffer(b"".join(payloads), np.uint8)
        t = self.topic(topic, type_name, "ros2msg" if schema_text else "", schema_text)
        if self.clock is None:
            self.clock = RobotClock()
            self._estimator = None
        self.ingest_raw(t, buf, offs, lens, np.asarray(log_time, np.int64),
                        None if publish_time is None else np.asarray(publish_time, np.int64),
                        None if robot_time is None else np.asarray(robot_time, np.int64))

    def ingest_raw(self, t: _Topic, buf, offsets, lengths, log_time, publish_time, robot_time=None) -> None:
        n = len(offsets)
        st = t.stats
        st.messages += n
        if t.candidates is not None:
            self._fit(t, buf, offsets, lengths)
        if t.decoder is None:
            st.skipped += n
            st.reasons[t.error] += n
            self._problem(t, t.error, int(log_time[0]) if n else None)
            return
        dec = t.decoder.decode(buf, offsets, lengths)
        arr = dec.array
        cache = dec.numbers
        if dec.first_error is not None:
            bad = int((~dec.ok).sum())
            st.skipped += bad
            for reason, k in dec.errors.items():
                st.reasons[f"message does not decode: {reason}"] += k
            row, reason = dec.first_error
            self._problem(t, f"message does not decode: {reason}", int(log_time[row]))
            keep = np.nonzero(dec.ok)[0]
            if not len(keep):
                return
            arr = dec.valid()
            cache = {k: v[keep] for k, v in cache.items()}
            log_time = log_time[keep]
            publish_time = None if publish_time is None else publish_time[keep]
            robot_time = None if robot_time is None else robot_time[keep]
        for note in dec.notes:
            self._problem(t, note, int(log_time[0]))
        # (values a robot or a damaged file recorded — 1e300 in a float64 covariance, NaN — are
        # mapped as they are, to inf or dropped points, and kept whole in the message column:
        # numpy's floating-point warnings about them would only be stray lines on stderr)
        with np.errstate(all="ignore"):
            self._log(t, arr, np.asarray(log_time, np.int64), publish_time, cache, robot_time)

    def _log(self, t: _Topic, arr: pa.StructArray, log_time: np.ndarray, publish_time, cache: dict,
             robot_time=None) -> None:
        n = len(arr)
        clock = self.clock if self.clock is not None else self.decide_clock()
        robot = clock.to_robot(log_time) if robot_time is None else robot_time
        ros_time = robot
        if t.stamp is not None:
            mb0 = MessageBatch(arr, log_time, log_time, cache=cache)
            ns = mb0.numbers(t.stamp + ".sec", np.int64) * 1_000_000_000 + mb0.numbers(t.stamp + ".nanosec", np.int64)
            ros_time = clock.place(t.stats.topic, ns, log_time, robot)
        batch = MessageBatch(arr, ros_time, log_time, publish_time, cache, robot_time=robot)
        stored = arr
        if t.keep_fields is not None:
            kids = arr.flatten()
            stored = pa.StructArray.from_arrays([kids[i] for i in t.keep_fields],
                                                fields=[arr.type[i] for i in t.keep_fields])
        message = C.list_column(stored)
        comps: dict = {t.desc: message}
        if t.frame is not None:
            frames = batch.field(t.frame)
            comps[_FRAME] = C.list_column(frames, valid=C.string_lengths(frames) > 0)
        others: list[Columns] = []
        ctx = t.ctx
        e = t.entry
        if e is not None:
            try:
                out = e.fn(batch, ctx)
            # (AttributeError, KeyError: a recorded definition without a field the mapper
            # reads, e.g. a damaged one; the messages stay whole in the message column)
            except (MappingError, ValueError, TypeError, KeyError, IndexError, AttributeError) as ex:
                ctx.reject(n, f"cannot map messages: {type(ex).__name__}: {ex}")
                out = []
            for c in out:
                if (c.rows is None and c.time_ns is None and c.times is None and not c.static
                        and c.entity == t.stats.entity and c.message_of is None):
                    # one row per message on the topic's entity: joins the message's own row
                    for d, col in c.components.items():
                        if d == _FRAME and d in comps:
                            continue
                        comps[d] = col
                else:
                    others.append(c)
        carried = np.zeros(n, bool)
        for c in others:
            if c.message_of is not None:
                carried[c.message_of[c.message_of >= 0]] = True
        times = {ROS_TIME: ros_time, LOG_TIME: log_time}
        if publish_time is not None:
            times[PUBLISH_TIME] = publish_time
        if not carried.any():
            self.rec.log_columns(t.stats.entity, times, comps)
        elif not carried.all():
            keep = np.flatnonzero(~carried)
            self.rec.log_columns(t.stats.entity, {tl: v[keep] for tl, v in times.items()},
                                 {d: C.take_runs(col, keep) for d, col in comps.items()})
        for c in others:
            self._log_columns(c, ros_time, robot, log_time, publish_time,
                              message if c.message_of is not None else None, t)
        t.stats.converted += n
        self._report(t, log_time)

    def _log_columns(self, c: Columns, ros_time, robot, log_time, publish_time, message=None,
                     t: _Topic | None = None) -> None:
        comps = c.components
        if message is not None:
            # the rows that carry their message's struct (TF: the row of its first transform)
            m = c.message_of
            comps = dict(comps)
            has = m >= 0
            structs = C.take_runs(C.list_flat(message), m[has])  # (one struct per message row)
            comps[t.desc] = C.list_column(structs, np.r_[0, np.cumsum(has)].astype(np.int64), valid=has)
        if c.static:
            if message is None:
                self.rec.log_columns(c.entity, {}, comps, static=True)
                return
            # static transforms; the messages themselves stay on the timeline (nothing lost)
            self.rec.log_columns(c.entity, {}, {d: v for d, v in comps.items() if d != t.desc}, static=True)
            keep = np.flatnonzero(c.message_of >= 0)
            msg_rows = c.message_of[keep]
            tl = {ROS_TIME: robot[msg_rows], LOG_TIME: log_time[msg_rows]}
            if publish_time is not None:
                tl[PUBLISH_TIME] = publish_time[msg_rows]
            self.rec.log_columns(c.entity, tl, {t.desc: C.take_runs(message, msg_rows)})
            return
        if c.times is not None:  # explicit times of every timeline (a marker's expiry)
            self.rec.log_columns(c.entity, {_TIMELINES[k]: v for k, v in c.times.items() if k in _TIMELINES}, comps)
            return
        idx = c.rows
        lt = log_time if idx is None else log_time[idx]
        if c.time_ns is not None:
            rt = self.clock.place(c.entity, c.time_ns, lt, robot if idx is None else robot[idx])
        else:
            rt = ros_time if idx is None else ros_time[idx]
        times = {ROS_TIME: rt, LOG_TIME: lt}
        if publish_time is not None:
            times[PUBLISH_TIME] = publish_time if idx is None else publish_time[idx]
        self.rec.log_columns(c.entity, times, comps)

    def _report(self, t: _Topic, log_time) -> None:
        ctx = t.ctx
        at = int(log_time[0]) if len(log_time) else None
        for note in ctx.notes:
            if note not in t.stats.reasons:
                t.stats.reasons[note] += 0  # remembered, not counted
                self._problem(t, note, at)
        ctx.notes.clear()
        for reason, k in ctx.unmapped.items():
            t.stats.unmapped += k
            t.stats.reasons[reason] += k
            self._problem(t, reason, at)
        ctx.unmapped.clear()

    def finish(self) -> None:
        """End of the stream: log what is held back, then let mappers log what they deferred
        (e.g. marker expiries)."""
        self.flush_pending()
        if self.log_clock:
            self._log_clock()
        for t in self.topics.values():
            fin = t.entry.finish if t.entry is not None else None
            if fin is None:
                continue
            try:
                cols = fin(t.ctx)
            except Exception as e:  # never lose the recording over a deferred row
                self.warn(f"topic {t.stats.topic}: could not finish: {e}")
                continue
            for c in cols:
                self._log_columns(c, None, None, None, None)

    def log_clock_property(self) -> None:
        """Log the robot clock as a recording property now (when ``log_clock`` was off)."""
        self._clock_logged = None
        self._log_clock()

    def _log_clock(self) -> None:
        """The robot clock as a recording property (``/__properties/ros_clock``, static): a
        TextDocument saying which clock it is, and the same as JSON for tools."""
        import json
        if self.clock is None or self.clock.describe() == self._clock_logged:
            return
        self._clock_logged = self.clock.describe()
        comps = list(A.TextDocument(self.clock.describe(), media_type="text/plain").component_batches())
        comps.append((CLOCK_JSON, C.array([json.dumps(self.clock.to_dict())], pa.utf8())))
        self.rec.log_components(CLOCK_PROPERTY, comps, static=True)

    def log_metadata(self, records: list[tuple[str, dict]]) -> None:
        """MCAP Metadata records (name, {key: value}) as the official converter keeps them: one
        static ``/__mcap_metadata`` row, one ``KeyValuePairs`` column per record named by it."""
        comps = []
        pair = pa.struct([pa.field("first", pa.utf8(), nullable=False), pa.field("second", pa.utf8(), nullable=False)])
        kv = pa.list_(pa.field("item", pair, nullable=False))
        seen = set()
        for name, pairs in records:
            if not name or name in seen:
                continue
            seen.add(name)
            d = ComponentDescriptor("McapMetadata", name, "KeyValuePairs", bare=True)
            keys = C.array([str(k) for k in pairs], pa.utf8())
            vals = C.array([str(v) for v in pairs.values()], pa.utf8())
            inner = pa.StructArray.from_arrays([keys, vals], fields=list(pair))
            one = pa.ListArray.from_arrays(C.offsets_array(np.array([0, len(pairs)], np.int64)), inner, type=kv)
            comps.append((d, one))
        if comps:
            self.rec.log_components(METADATA_ENTITY, comps, static=True)

    def stats(self) -> list[TopicStats]:
        return [t.stats for t in sorted(self.topics.values(), key=lambda t: t.stats.topic)]


def ingest_source(src, ing: Ingestor, *, keep: Callable[[str], bool] | None = None,
                  progress: Callable[[int, int | None], None] | None = None) -> int:
    """Read a recorded source (:func:`rerun_ros.sources.open_bag`) into an :class:`Ingestor`:
    topics ``keep`` accepts (default all), placed on the recording's robot clock, inside the
    ingestor's time window. The clock is decided from the bag's first messages (a first pass
    over them that only watches), then the bag is read from its start (with a window and known
    bag times, only the part around the window); ``/clock`` topics are read even when left out
    (the clock needs them).

    Returns:
        the number of messages read of the topics kept.
    """
    def wanted(b) -> bool:
        return keep is None or keep(b.channel.topic)

    n = 0
    total = getattr(src, "total_messages", None)
    ing.log_metadata(getattr(src, "metadata", None) or [])
    filt = read_filter(keep)
    lo, hi = watch_clock(src, ing, keep)
    for b in src.batches(topic_filter=filt, start_ns=lo, end_ns=hi):
        k = wanted(b)
        if k:
            n += len(b)
        ing.ingest_batch(b, keep=k)
        if progress is not None and k:
            progress(n, total)
    ing.finish()
    return n


def read_filter(keep: Callable[[str], bool] | None) -> Callable[[str], bool] | None:
    """The topics to read for the topics ``keep`` accepts: those and ``/clock`` topics (the robot
    clock needs them even when left out). None: every topic."""
    if keep is None:
        return None
    return lambda topic: keep(topic) or topic.rstrip("/").endswith("clock")


def watch_clock(src, ing: Ingestor, keep: Callable[[str], bool] | None = None) -> tuple[int | None, int | None]:
    """Decide the robot clock of a recorded source from its first messages, only watched (a
    first pass: nothing is logged, the source's counts and warnings are left as they were), and
    where the ingestor's time window lies in log time.

    Returns:
        ``(lo, hi)`` log-time bounds (ns) of the part of the source to read (None: open).
    """
    if ing.clock is None:
        # (nothing held: the second pass reads them again, cheaper than keeping them in
        # memory until the clock is known)
        import copy
        saved_stats, saved_warn = copy.deepcopy(src.stats), src.warn
        src.warn = lambda s: None
        try:
            it = src.batches(topic_filter=read_filter(keep), merge=False)  # (a chunk at a time: stop soon)
            for b in it:
                ing.ingest_batch(b, keep=False)
                if ing.clock_ready():
                    break
            if hasattr(it, "close"):
                it.close()
        finally:
            src.stats, src.warn = saved_stats, saved_warn
    ing.decide_clock()
    if ing.window is not None and src.start_time is not None and src.end_time is not None:
        return ing.log_window(src.start_time, src.end_time)
    return None, None
