"""What every mapper shares: the types of its input and output, its error type, ROS helpers.

One contract (:mod:`rerun_ros.mappers.registry`): a mapper is
``fn(batch: MessageBatch, ctx: MapContext) -> list[Columns]``. It maps a whole decoded batch (N
messages of one topic as an Arrow ``StructArray``, with their times) to archetype columns for
all its rows at once — the hot path, no Python per message. Its typed result says, per group of
rows, the entity, the rows' messages, their own stamps (placed on the robot clock by the ingest)
or explicit times, static-ness, and which rows carry their message's lossless struct; problems go
to ``ctx.reject`` (a message not drawn) and ``ctx.note`` (said once). Rare, irregular types
(markers, diagnostics, URDF) are clearer one message at a time: ``fn(msg, ctx) ->
list[MappedRow]`` wrapped by :func:`rerun_ros.mappers.rows.per_message` into the contract.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..model.archetypes import Archetype
from ..model.components import to_numpy

__all__ = ["MappedRow", "MappingError", "MapContext", "MessageBatch", "Columns", "SharedState",
           "stamp_ns", "frame_id"]


class MappingError(ValueError):
    """A message that cannot be mapped (malformed or unsupported content); the message says
    what is wrong, e.g. ``PointCloud2: field 'z' (offset 8, 4 bytes) overflows point_step 10``."""


@dataclass
class MappedRow:
    """One row a per-message mapper makes (:func:`rerun_ros.mappers.rows.per_message`):
    ``archetypes`` on ``entity``; ``static`` rows have no time; ``time_ns`` is a stamp of its
    own (placed on the robot clock by the ingest), ``times`` explicit times of every timeline."""

    entity: str
    archetypes: list[Archetype]
    static: bool = False
    time_ns: int | None = None
    #: explicit times of every timeline (name -> ns), e.g. a marker's expiry; overrides the rest
    times: dict | None = None


@dataclass
class SharedState:
    """What topics of one ingest share: the robot model from ``/robot_description`` (used by
    JointState) and where meshes are looked up."""

    robot_model: Any = None
    robot_joints_entity: str = ""
    mesh_search_paths: tuple = ()


@dataclass
class MapContext:
    """Per-topic context: the topic, its entity path, per-topic state a mapper may keep (e.g.
    the series names it logged last), the notes it wants reported once, and the shared state."""

    topic: str
    entity: str
    type_name: str = ""
    #: the mapper's own per-topic memory (only the mapper of this topic reads it)
    state: dict = field(default_factory=dict)
    #: the current message's times (timeline name -> ns), set before each row-mapper call
    now: dict = field(default_factory=dict)
    shared: SharedState = field(default_factory=SharedState)
    #: one-line problems that cost no message (reported once each by the ingest)
    notes: list = field(default_factory=list)
    #: reason -> number of messages whose archetypes could not be made (kept as struct rows)
    unmapped: dict = field(default_factory=dict)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def reject(self, count: int, reason: str) -> None:
        """Count ``count`` messages whose archetypes could not be made for ``reason``."""
        if count:
            self.unmapped[reason] = self.unmapped.get(reason, 0) + int(count)


@dataclass
class MessageBatch:
    """N decoded messages of one topic, the input of a column mapper.

    Attributes:
        messages: StructArray (N,) of the messages (fields as in the message definition).
        ros_time: int64 (N,) ns: each message's place on the robot clock (its header.stamp,
            else its log time on the robot clock; :mod:`rerun_ros.model.clock`).
        log_time: int64 (N,) ns; publish_time: int64 (N,) ns or None (unknown).
        robot_time: int64 (N,) ns: the robot clock at each log time (where a row without a
            stamp of its own goes); None: equal to ``ros_time``.
    """

    messages: Any
    ros_time: np.ndarray
    log_time: np.ndarray
    publish_time: np.ndarray | None = None
    #: dotted path → numpy values the decoder already made (see ``Decoded.numbers``)
    cache: dict = field(default_factory=dict)
    robot_time: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.messages)

    def field(self, path: str):
        """The Arrow array of a (nested) field, e.g. ``header.frame_id`` (N rows).

        Raises:
            KeyError: no such field.
        """
        return struct_field(self.messages, path)

    def numbers(self, path: str, dtype=np.float64) -> np.ndarray:
        """A numeric field as numpy (N,) (a copy only when the dtype differs)."""
        v = self.cache.get(path)
        if v is not None and v.ndim == 1:
            return np.asarray(v, dtype=dtype)
        return np.asarray(to_numpy(self.field(path)), dtype=dtype)

    def vectors(self, path: str, names: str = "xyz", dtype=np.float64) -> np.ndarray:
        """Several numeric sub-fields of a message field as (N, len(names)), e.g. a Vector3
        ``vectors("linear_acceleration")`` or a Quaternion ``vectors("orientation", "xyzw")``."""
        return np.stack([self.numbers(f"{path}.{c}" if path else c, dtype) for c in names], axis=1)


def struct_field(arr, path: str):
    """Field ``a.b.c`` of a StructArray, honouring its offset (a sliced or filtered array).

    Raises:
        KeyError: no such field.
    """
    for part in path.split("."):
        t = arr.type
        i = t.get_field_index(part) if hasattr(t, "get_field_index") else -1
        if i < 0:
            raise KeyError(f"no field {path!r}")
        arr = arr.field(i) if arr.offset == 0 and arr.null_count == 0 else arr.flatten()[i]
    return arr


@dataclass
class Columns:
    """Archetype columns for some rows of one entity, the output of a column mapper.

    Attributes:
        entity: the entity path.
        components: descriptor → list array (one row per entry; null = not set in that row).
        rows: int64 (n,) index of the message each row comes from (None: one row per message
            of the batch, in order; such rows share the messages' row ids and chunk).
        time_ns: int64 (n,) the stamp of each row when not the message's (a transform's
            header.stamp; 0: unset); the ingest places it on the robot clock.
        static: rows without time, valid at every time.
        message_of: int64 (n,) the message whose lossless struct this row carries (-1: none),
            for a message that lives on the row of one of its parts (TF: the row of its first
            transform) instead of a row of its own on the topic's entity.
    """

    entity: str
    components: dict
    rows: np.ndarray | None = None
    time_ns: np.ndarray | None = None
    static: bool = False
    message_of: np.ndarray | None = None
    #: explicit times of every timeline (name -> int64 (n,) ns), e.g. a marker's expiry;
    #: override the message's
    times: dict | None = None


#: the mapper contract
Mapper = Callable[["MessageBatch", MapContext], "list[Columns]"]


def stamp_ns(stamp) -> int:
    """``builtin_interfaces/Time`` → int ns since the epoch (0 for an unset stamp)."""
    if stamp is None:
        return 0
    sec = getattr(stamp, "sec", None)
    if sec is None:
        sec = getattr(stamp, "secs", 0)
        nsec = getattr(stamp, "nsecs", 0)
    else:
        nsec = getattr(stamp, "nanosec", 0)
    return int(sec) * 1_000_000_000 + int(nsec)


def frame_id(msg) -> str | None:
    h = getattr(msg, "header", None)
    f = getattr(h, "frame_id", None) if h is not None else None
    return f or None


def xyz(v) -> list[float]:
    return [float(v.x), float(v.y), float(v.z)]


def xyzw(q) -> list[float]:
    return [float(q.x), float(q.y), float(q.z), float(q.w)]
