"""One path from ROS messages to the recording, shared by MCAP import and the live bridge.

:class:`Ingestor` looks up the mapper of each topic's type, maps each message, adds a
``CoordinateFrame`` for messages with a ``header.frame_id``, stamps the rows on the timelines
``ros_time`` (header.stamp, else the log time), ``log_time`` and ``publish_time`` (when known),
logs them to a :class:`~rerun_ros.stream.recording.RecordingStream`, and counts per topic what was
converted and what was skipped and why. It never raises for a bad message.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from .model import archetypes as A
from .model import entity_path
from .model.chunk import Timeline
from .mappers import MapContext, MappingError, archetypes_of, lookup, normalize_type
from .mappers.base import stamp_ns
from .stream.recording import RecordingStream

__all__ = ["Ingestor", "TopicStats", "ROS_TIME", "LOG_TIME", "PUBLISH_TIME"]

ROS_TIME = Timeline("ros_time", "timestamp")
LOG_TIME = Timeline("log_time", "timestamp")
PUBLISH_TIME = Timeline("publish_time", "timestamp")
_TIMELINES = {tl.name: tl for tl in (ROS_TIME, LOG_TIME, PUBLISH_TIME)}


@dataclass
class TopicStats:
    """Per-topic counts: ``messages`` seen, ``converted``, ``skipped`` with reasons."""

    topic: str
    type_name: str
    entity: str
    archetypes: str = ""
    messages: int = 0
    converted: int = 0
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    unsupported: bool = False

    def to_dict(self) -> dict:
        return {"topic": self.topic, "type": self.type_name, "entity": self.entity,
                "archetypes": self.archetypes, "messages": self.messages, "converted": self.converted,
                "skipped": self.skipped, "unsupported": self.unsupported,
                "reasons": dict(self.reasons)}


class _Topic:
    __slots__ = ("stats", "mapper", "ctx")

    def __init__(self, stats: TopicStats, mapper, ctx: MapContext):
        self.stats, self.mapper, self.ctx = stats, mapper, ctx


class Ingestor:
    """Maps messages into a RecordingStream.

    Args:
        rec: the stream to log to.
        warn: called with a one-line message the first time each (topic, problem) occurs.
        entity_for: optional ``topic -> entity path`` override (default: the topic name).
    """

    def __init__(self, rec: RecordingStream, *, warn: Callable[[str], None] | None = None,
                 entity_for: Callable[[str], str] | None = None, source: str = ""):
        self.rec = rec
        self.warn = warn or (lambda s: None)
        self.entity_for = entity_for or entity_path.from_topic
        self.source = source
        self.topics: dict[str, _Topic] = {}
        self.shared: dict = {}

    def topic(self, topic: str, type_name: str) -> _Topic:
        t = self.topics.get(topic)
        if t is None:
            tn = normalize_type(type_name)
            mapper = lookup(tn)
            ent = self.entity_for(topic)
            stats = TopicStats(topic, tn, ent, archetypes_of(tn), unsupported=mapper is None)
            t = self.topics[topic] = _Topic(stats, mapper, MapContext(topic, ent, tn, shared=self.shared))
        return t

    def skip(self, topic: str, type_name: str, reason: str, *, log_time: int | None = None, count: int = 1) -> None:
        """Count ``count`` messages of a topic as skipped for ``reason`` (warned once)."""
        t = self.topic(topic, type_name)
        t.stats.unsupported = False  # it failed: an error, whatever its type
        t.stats.messages += count
        t.stats.skipped += count
        first = reason not in t.stats.reasons
        t.stats.reasons[reason] += count
        if first:
            where = f"{self.source}: " if self.source else ""
            at = f" at log time {log_time}" if log_time is not None else ""
            self.warn(f"{where}topic {topic} ({t.stats.type_name}){at}: {reason}")

    def ingest(self, topic: str, type_name: str, msg, log_time: int, publish_time: int | None = None) -> bool:
        """Map and log one decoded message; returns True if it was converted."""
        t = self.topic(topic, type_name)
        if t.mapper is None:
            t.stats.messages += 1
            t.stats.skipped += 1
            t.stats.reasons["unsupported type"] += 1
            return False
        header = getattr(msg, "header", None)
        stamp = stamp_ns(getattr(header, "stamp", None) if header is not None else getattr(msg, "stamp", None))
        ros_time = stamp or log_time
        now = {"ros_time": ros_time, "log_time": log_time}
        if publish_time is not None:
            now["publish_time"] = publish_time
        t.ctx.now = now
        try:
            rows = t.mapper(msg, t.ctx)
        except MappingError as e:
            self.skip(topic, type_name, str(e), log_time=log_time)
            return False
        except (AttributeError, TypeError, ValueError, IndexError, KeyError) as e:
            self.skip(topic, type_name, f"cannot map message: {type(e).__name__}: {e}", log_time=log_time)
            return False
        for note in t.ctx.state.pop("notes", ()):
            if note not in t.stats.reasons:
                t.stats.reasons[note] += 0  # remembered, not counted as a skip
                where = f"{self.source}: " if self.source else ""
                self.warn(f"{where}topic {topic} ({t.stats.type_name}) at log time {log_time}: {note}")
        frame = getattr(header, "frame_id", None) if header is not None else None
        self._log_rows(t, rows, frame, ros_time, log_time, publish_time)
        t.stats.messages += 1
        t.stats.converted += 1
        return True

    def _log_rows(self, t: _Topic, rows, frame, ros_time, log_time, publish_time) -> None:
        added_frame = False
        for r in rows:
            comps = []
            has_frame = False
            for a in r.archetypes:
                has_frame = has_frame or a.NAME == "CoordinateFrame"
                comps.extend(a.component_batches())
            if frame and not added_frame and not has_frame and not r.static and r.entity == t.ctx.entity \
                    and t.ctx.type_name != "tf2_msgs/msg/TFMessage":
                comps.extend(A.CoordinateFrame(frame).component_batches())
                added_frame = True
            if r.static:
                self.rec.log_components(r.entity, comps, static=True)
                continue
            if r.times is not None:
                tp = {_TIMELINES[k]: v for k, v in r.times.items() if k in _TIMELINES}
            else:
                tp = {ROS_TIME: r.time_ns if r.time_ns is not None else ros_time, LOG_TIME: log_time}
                if publish_time is not None:
                    tp[PUBLISH_TIME] = publish_time
            self.rec.log_components(r.entity, comps, timepoints=tp)

    def finish(self) -> None:
        """End of the stream: let mappers log what they deferred (e.g. marker expiries)."""
        for t in self.topics.values():
            fin = getattr(t.mapper, "finish", None)
            if fin is None:
                continue
            try:
                rows = fin(t.ctx)
            except Exception as e:  # never lose the recording over a deferred row
                self.warn(f"topic {t.stats.topic}: could not finish: {e}")
                continue
            self._log_rows(t, rows, None, 0, 0, None)

    def stats(self) -> list[TopicStats]:
        return [t.stats for t in sorted(self.topics.values(), key=lambda t: t.stats.topic)]
