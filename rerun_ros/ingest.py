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
from .mappers import MapContext, MappingError, archetypes_of, normalize_type
from .mappers.base import Columns, MessageBatch, SharedState
from .mappers.registry import entry
from .mappers.rows import RowView, _Cols
from .model import archetypes as A
from .model import components as C
from .model import entity_path
from .model.chunk import Timeline
from .model.components import ComponentDescriptor
from .stream.recording import RecordingStream

__all__ = ["Ingestor", "TopicStats", "ROS_TIME", "LOG_TIME", "PUBLISH_TIME", "message_descriptor"]

ROS_TIME = Timeline("ros_time", "timestamp")
LOG_TIME = Timeline("log_time", "timestamp")
PUBLISH_TIME = Timeline("publish_time", "timestamp")
_TIMELINES = {tl.name: tl for tl in (ROS_TIME, LOG_TIME, PUBLISH_TIME)}
_FRAME = A.CoordinateFrame.column("frame")


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
                 "frame", "warned", "candidates")

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
    """

    def __init__(self, rec: RecordingStream, *, warn: Callable[[str], None] | None = None,
                 entity_for: Callable[[str], str] | None = None, source: str = "",
                 distro: str | None = None, fixed_distro: bool = False):
        self.rec = rec
        self.warn = warn or (lambda s: None)
        self.entity_for = entity_for or entity_path.from_topic
        self.source = source
        self.distro = distro
        #: the distro was given by the user: no choosing by fit
        self.fixed_distro = fixed_distro
        self.topics: dict[tuple, _Topic] = {}
        self.shared = SharedState()

    # -- topics -----------------------------------------------------------------------------

    def topic(self, topic: str, type_name: str, schema_encoding: str = "", schema_text: str = "",
              message_encoding: str = "cdr") -> _Topic:
        key = (topic, type_name)
        t = self.topics.get(key)
        if t is not None:
            return t
        tn = normalize_type(type_name) if type_name else "?"
        ent = entry(tn)
        ename = self.entity_for(topic)
        has_archetypes = ent is not None and (ent.columns is not None or ent.rows is not None)
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
        from .cdr.schema import DISTROS
        order = ([self.distro] if self.distro else []) + [d for d in reversed(DISTROS) if d != self.distro]
        out, seen = [], []
        for d in order:
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
        if blobs & set(names):
            t.keep_fields = [i for i, n in enumerate(names) if n not in blobs]
        hdr = typ.get_field_index("header")
        if hdr >= 0 and pa.types.is_struct(typ[hdr].type):
            h = typ[hdr].type
            if h.get_field_index("stamp") >= 0:
                t.stamp = "header.stamp"
            if h.get_field_index("frame_id") >= 0 and t.stats.type_name != "tf2_msgs/msg/TFMessage":
                t.frame = "header.frame_id"
        elif typ.get_field_index("stamp") >= 0 and pa.types.is_struct(typ[typ.get_field_index("stamp")].type):
            t.stamp = "stamp"

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

    # -- batches ----------------------------------------------------------------------------

    def ingest_batch(self, batch) -> None:
        """Decode, map and log a :class:`~rerun_ros.sources.base.RawBatch`."""
        ch = batch.channel
        t = self.topic(ch.topic, ch.type_name, ch.schema_encoding, ch.schema_text, ch.message_encoding)
        self.ingest_raw(t, batch.buf, batch.offsets, batch.lengths, batch.log_time, batch.publish_time)

    def ingest_payloads(self, topic: str, type_name: str, payloads: list, log_time: np.ndarray,
                        publish_time: np.ndarray | None = None, schema_text: str = "") -> None:
        """Decode, map and log serialized messages given one by one (live raw subscriptions).

        Args:
            payloads: the CDR bytes of each message. log_time / publish_time: int64 (N,) ns.
        """
        lens = np.fromiter((len(p) for p in payloads), np.int64, count=len(payloads))
        offs = np.zeros(len(payloads), np.int64)
        if len(payloads) > 1:
            np.cumsum(lens[:-1], out=offs[1:])
        buf = np.frombuffer(b"".join(payloads), np.uint8)
        t = self.topic(topic, type_name, "ros2msg" if schema_text else "", schema_text)
        self.ingest_raw(t, buf, offs, lens, np.asarray(log_time, np.int64),
                        None if publish_time is None else np.asarray(publish_time, np.int64))

    def ingest_raw(self, t: _Topic, buf, offsets, lengths, log_time, publish_time) -> None:
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
        for note in dec.notes:
            self._problem(t, note, int(log_time[0]))
        self._log(t, arr, np.asarray(log_time, np.int64), publish_time, cache)

    def _log(self, t: _Topic, arr: pa.StructArray, log_time: np.ndarray, publish_time, cache: dict) -> None:
        n = len(arr)
        ros_time = log_time
        if t.stamp is not None:
            mb0 = MessageBatch(arr, log_time, log_time, cache=cache)
            ns = mb0.numbers(t.stamp + ".sec", np.int64) * 1_000_000_000 + mb0.numbers(t.stamp + ".nanosec", np.int64)
            ros_time = np.where(ns != 0, ns, log_time)
        batch = MessageBatch(arr, ros_time, log_time, publish_time, cache)
        stored = arr
        if t.keep_fields is not None:
            kids = arr.flatten()
            stored = pa.StructArray.from_arrays([kids[i] for i in t.keep_fields],
                                                fields=[arr.type[i] for i in t.keep_fields])
        comps: dict = {t.desc: C.list_column(stored)}
        if t.frame is not None:
            frames = batch.field(t.frame)
            comps[_FRAME] = C.list_column(frames, valid=C.string_lengths(frames) > 0)
        others: list[Columns] = []
        ctx = t.ctx
        e = t.entry
        if e is not None and e.columns is not None:
            try:
                out = e.columns(batch, ctx)
            except (MappingError, ValueError, TypeError, KeyError, IndexError) as ex:
                ctx.reject(n, f"cannot map messages: {type(ex).__name__}: {ex}")
                out = []
            for c in out:
                if c.rows is None and c.time_ns is None and not c.static and c.entity == t.stats.entity:
                    for d, col in c.components.items():
                        if d == _FRAME and d in comps:
                            continue
                        comps[d] = col
                else:
                    others.append(c)
        if e is not None and e.columns is None and e.rows is not None:
            # a row mapper: its one row per message on the topic's entity joins the message's row
            for d, col in self._map_rows(t, arr, ros_time, log_time, publish_time).items():
                if d != _FRAME or d not in comps:
                    comps[d] = col
        times = {ROS_TIME: ros_time, LOG_TIME: log_time}
        if publish_time is not None:
            times[PUBLISH_TIME] = publish_time
        self.rec.log_columns(t.stats.entity, times, comps)
        for c in others:
            self._log_columns(c, ros_time, log_time, publish_time)
        t.stats.converted += n
        self._report(t, log_time)

    def _log_columns(self, c: Columns, ros_time, log_time, publish_time) -> None:
        if c.static:
            self.rec.log_columns(c.entity, {}, c.components, static=True)
            return
        idx = c.rows
        rt = ros_time if idx is None else ros_time[idx]
        if c.time_ns is not None:
            rt = np.where(c.time_ns != 0, c.time_ns, rt)
        times = {ROS_TIME: rt, LOG_TIME: log_time if idx is None else log_time[idx]}
        if publish_time is not None:
            times[PUBLISH_TIME] = publish_time if idx is None else publish_time[idx]
        self.rec.log_columns(c.entity, times, c.components)

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

    # -- row mappers ------------------------------------------------------------------------

    def _map_rows(self, t: _Topic, arr, ros_time, log_time, publish_time) -> dict:
        """Run a row mapper on every message; returns the columns of the rows that belong with
        the messages' own rows (on the topic's entity, at the message's time), logs the rest."""
        from .mappers.columns import rows_to_columns
        fn = t.entry.rows
        ctx = t.ctx
        cols = _Cols(arr)
        aligned: list = [None] * len(arr)
        for i in range(len(arr)):
            now = {"ros_time": int(ros_time[i]), "log_time": int(log_time[i])}
            if publish_time is not None:
                now["publish_time"] = int(publish_time[i])
            ctx.now = now
            try:
                rows = fn(RowView(cols, i), ctx)
            except MappingError as ex:
                ctx.reject(1, str(ex))
                continue
            except (AttributeError, TypeError, ValueError, IndexError, KeyError) as ex:
                ctx.reject(1, f"cannot map message: {type(ex).__name__}: {ex}")
                continue
            rest = []
            for r in rows:
                if (aligned[i] is None and r.entity == t.stats.entity and not r.static and r.times is None
                        and r.time_ns is None):
                    aligned[i] = r.archetypes
                else:
                    rest.append(r)
            self._log_rows(rest, now)
        return rows_to_columns(aligned, t.stats.entity) if any(a for a in aligned) else {}

    @staticmethod
    def _tp(now: dict) -> dict:
        return {_TIMELINES[k]: v for k, v in now.items() if k in _TIMELINES}

    def _log_rows(self, rows, now: dict) -> None:
        for r in rows:
            comps = []
            for a in r.archetypes:
                comps.extend(a.component_batches())
            if r.static:
                self.rec.log_components(r.entity, comps, static=True)
                continue
            if r.times is not None:
                tp = self._tp(r.times)
            else:
                tp = self._tp(now)
                if r.time_ns is not None:
                    tp[ROS_TIME] = r.time_ns
            self.rec.log_components(r.entity, comps, timepoints=tp)

    def finish(self) -> None:
        """End of the stream: let mappers log what they deferred (e.g. marker expiries)."""
        for t in self.topics.values():
            fin = t.entry.finish if t.entry is not None else None
            if fin is None:
                continue
            try:
                rows = fin(t.ctx)
            except Exception as e:  # never lose the recording over a deferred row
                self.warn(f"topic {t.stats.topic}: could not finish: {e}")
                continue
            self._log_rows(rows, {"ros_time": 0, "log_time": 0})

    def stats(self) -> list[TopicStats]:
        return [t.stats for t in sorted(self.topics.values(), key=lambda t: t.stats.topic)]
