"""Serialized ROS messages on the viewer stream: the bridge forwards, each viewer decodes.

With a viewer connected, decoding and mapping every message at the viewer's latency (a batch
every 20 ms) cost the bridge ~1.5x a bare subscriber's CPU in fixed per-batch costs (measured,
``bench/live.py``). foxglove_bridge and rviz2 put that work where the display is; so does this:
the bridge sends each topic's messages of a period as they arrived (CDR bytes, receipt and
robot-clock times), and the viewer's :class:`RawDecoder` runs the same ingest as the bridge's file
path (``rerun_ros.ingest``: robot clock, mappers, TF layout), so the viewer's store holds the same
rows as the recording. The bridge decodes once per file batch, for the file only.

Two message kinds ride in the RRD stream's framing (16-byte header: kind, length), beside its
Arrow messages; readers that do not know them skip them:

- :data:`KIND_ROS_SCHEMA`: a topic's message definition, sent once (kept for late viewers);
- :data:`KIND_ROS_BATCH`: a batch of one topic's messages.

Both are validated before use (a stream can come from a stranger): sizes, counts, UTF-8, JSON.
ROS-free.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..rrd.writer import MSG_HEADER

__all__ = ["KIND_ROS_SCHEMA", "KIND_ROS_BATCH", "RawBatch", "encode_schema", "decode_schema", "encode_batch",
           "decode_batch", "RawDecoder", "RawFormatError"]

#: message kinds (the RRD framing's first u64); far from Rerun's own (0..3)
KIND_ROS_SCHEMA = 0x5253_0001
KIND_ROS_BATCH = 0x5253_0002
_MAGIC = b"RRB1"
_HEAD = struct.Struct("<4sQIII")     # magic, seq, messages, flags, JSON bytes
_HAS_PUBLISH = 1
_KEPT = 2   # a latched topic's batch, kept by the server for ever (sent to late viewers first)
MAX_MESSAGES = 1 << 20
MAX_JSON = 1 << 20


class RawFormatError(ValueError):
    """A raw message that does not validate (the message says what)."""


@dataclass
class RawBatch:
    """One topic's messages: ``payloads`` (CDR bytes each), ``log_ns`` / ``robot_ns`` int64 (n,)
    (receipt on the wall clock and on the robot clock, ns), ``publish_ns`` int64 (n,) or None;
    ``seq`` the server's batch number (increasing), ``schema`` the id of its definition,
    ``kept``: a latched topic's (the server keeps it for late viewers, out of ``seq`` order)."""

    seq: int
    topic: str
    type_name: str
    schema: int
    payloads: list
    log_ns: np.ndarray
    robot_ns: np.ndarray
    publish_ns: np.ndarray | None = None
    kept: bool = False


def encode_schema(schema_id: int, topic: str, type_name: str, text: str, clock: str, entity: str | None = None) -> bytes:
    """A framed KIND_ROS_SCHEMA message (``clock``: the bridge's robot clock kind; ``entity``:
    the topic's entity path when the bridge was told one)."""
    body = json.dumps({"id": schema_id, "topic": topic, "type": type_name, "text": text, "clock": clock,
                       "entity": entity}).encode()
    return MSG_HEADER.pack(KIND_ROS_SCHEMA, len(body)) + body


def decode_schema(body: bytes) -> dict:
    """{id, topic, type, text, clock} of a KIND_ROS_SCHEMA body.

    Raises:
        RawFormatError: not the JSON object it should be.
    """
    if len(body) > 16 * MAX_JSON:
        raise RawFormatError(f"message definition of {len(body)} bytes")
    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise RawFormatError(f"message definition is not JSON: {e}") from None
    if not (isinstance(d, dict) and isinstance(d.get("id"), int) and all(isinstance(d.get(k), str)
                                                                       for k in ("topic", "type", "text", "clock"))):
        raise RawFormatError("message definition without id, topic, type, text and clock")
    if d.get("entity") is not None and not isinstance(d["entity"], str):
        raise RawFormatError("message definition with an entity that is not a string")
    return d


def encode_batch(b: RawBatch) -> list:
    """The framed KIND_ROS_BATCH message as parts to send in order (the payloads not copied
    into one buffer)."""
    n = len(b.payloads)
    meta = json.dumps({"topic": b.topic, "type": b.type_name, "schema": b.schema}).encode()
    flags = (_HAS_PUBLISH if b.publish_ns is not None else 0) | (_KEPT if b.kept else 0)
    lens = np.fromiter((len(p) for p in b.payloads), np.uint32, count=n)
    arrays = [np.asarray(b.log_ns, "<i8").tobytes(), np.asarray(b.robot_ns, "<i8").tobytes()]
    if b.publish_ns is not None:
        arrays.append(np.asarray(b.publish_ns, "<i8").tobytes())
    arrays.append(lens.astype("<u4").tobytes())
    head = _HEAD.pack(_MAGIC, b.seq, n, flags, len(meta)) + meta + b"".join(arrays)
    size = len(head) + int(lens.sum())
    return [MSG_HEADER.pack(KIND_ROS_BATCH, size) + head, *b.payloads]


def decode_batch(body: bytes) -> RawBatch:
    """A KIND_ROS_BATCH body back into a :class:`RawBatch`.

    Raises:
        RawFormatError: a wrong magic, counts or sizes that do not add up, bad JSON.
    """
    if len(body) < _HEAD.size:
        raise RawFormatError(f"message batch of {len(body)} bytes")
    magic, seq, n, flags, jn = _HEAD.unpack_from(body)
    if magic != _MAGIC:
        raise RawFormatError(f"message batch with magic {magic!r}")
    if n > MAX_MESSAGES or jn > MAX_JSON:
        raise RawFormatError(f"message batch announcing {n} messages and {jn} bytes of metadata")
    pos = _HEAD.size
    try:
        meta = json.loads(body[pos:pos + jn].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise RawFormatError(f"message batch metadata is not JSON: {e}") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("topic"), str) and isinstance(meta.get("type"), str)
            and isinstance(meta.get("schema"), int)):
        raise RawFormatError("message batch metadata without topic, type and schema")
    pos += jn
    k = 3 if flags & _HAS_PUBLISH else 2
    need = pos + n * (8 * k + 4)
    if need > len(body):
        raise RawFormatError(f"message batch of {len(body)} bytes for {n} messages")
    view = memoryview(body)
    log_ns = np.frombuffer(view[pos:pos + 8 * n], "<i8").astype(np.int64)
    robot_ns = np.frombuffer(view[pos + 8 * n:pos + 16 * n], "<i8").astype(np.int64)
    publish_ns = (np.frombuffer(view[pos + 16 * n:pos + 24 * n], "<i8").astype(np.int64) if k == 3 else None)
    lens = np.frombuffer(view[pos + 8 * k * n:need], "<u4").astype(np.int64)
    if need + int(lens.sum()) != len(body):
        raise RawFormatError(f"message batch: payload sizes add to {int(lens.sum())}, {len(body) - need} bytes left")
    ends = need + np.cumsum(lens)
    starts = ends - lens
    payloads = [body[s:e] for s, e in zip(starts.tolist(), ends.tolist())]
    return RawBatch(seq, meta["topic"], meta["type"], meta["schema"], payloads, log_ns, robot_ns, publish_ns,
                    bool(flags & _KEPT))


class RawDecoder:
    """A viewer's side of the raw stream: message definitions and batches in, chunks out
    (``on_chunk``), through the ingest the bridge records with (same entities, components,
    robot clock). Problems (a definition missing, a message that does not decode) go to
    ``warn``, one line each; the ingest skips what does not decode and keeps the rest."""

    def __init__(self, on_chunk: Callable, warn: Callable[[str], None] = lambda s: None):
        self.on_chunk = on_chunk
        self.warn = warn
        self.schemas: dict[int, dict] = {}
        self._ingest = None
        self._rec = None
        self._clock = None
        self._missing: set = set()
        self._named: set = set()

    def schema(self, d: dict) -> None:
        self.schemas[d["id"]] = d
        if self._ingest is None:
            self._start(d["clock"])

    def _start(self, clock_kind: str) -> None:
        from ..ingest import Ingestor
        from ..model.clock import NODE, NODE_SIM, RobotClock
        from .recording import BatcherConfig, CallbackSink, RecordingStream
        self._rec = RecordingStream("rerun_ros", batcher=BatcherConfig(max_age=3600.0, max_bytes=1 << 40),
                                    sinks=[CallbackSink(self.on_chunk)])
        self._ingest = Ingestor(self._rec, warn=self.warn,
                                clock=RobotClock(NODE_SIM if clock_kind == NODE_SIM else NODE))

    def batches(self, bs: list) -> None:
        """Decode and map batches that arrived together, those of one topic as one (a viewer
        behind the stream catches up in bigger batches: per-batch costs dominate)."""
        per: dict = {}
        for b in bs:
            per.setdefault((b.topic, b.type_name, b.schema), []).append(b)
        for group in per.values():
            if len(group) == 1:
                self.batch(group[0])
                continue
            pubs = [b.publish_ns for b in group]
            self.batch(RawBatch(group[-1].seq, group[0].topic, group[0].type_name, group[0].schema,
                                [p for b in group for p in b.payloads],
                                np.concatenate([b.log_ns for b in group]), np.concatenate([b.robot_ns for b in group]),
                                None if any(p is None for p in pubs) else np.concatenate(pubs)))

    def batch(self, b: RawBatch) -> None:
        """Decode and map one batch; its chunks reach ``on_chunk`` before this returns."""
        d = self.schemas.get(b.schema)
        if d is None or self._ingest is None:
            if b.topic not in self._missing:
                self._missing.add(b.topic)
                self.warn(f"{b.topic}: messages without their definition on the stream, skipped")
            return
        if not b.payloads:
            return
        if d.get("entity") and b.topic not in self._named:
            from ..mappers import normalize_type
            self._named.add(b.topic)
            t = self._ingest.topic(b.topic, normalize_type(b.type_name), "ros2msg" if d["text"] else "", d["text"])
            t.ctx.entity = t.stats.entity = d["entity"]
        self._ingest.ingest_payloads(b.topic, b.type_name, b.payloads, b.log_ns, b.publish_ns,
                                     schema_text=d["text"], robot_time=b.robot_ns)
        self._rec.flush(older_than=0.0)
