"""What every mapper shares: the row type it returns, its error type, and ROS helpers.

A mapper is a pure function ``fn(msg, ctx) -> list[MappedRow]`` from one ROS message (an rclpy
message or an MCAP-decoded one: fields are read by name) to archetype rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..model.archetypes import Archetype

__all__ = ["MappedRow", "MappingError", "MapContext", "stamp_ns", "frame_id", "quat_rotate"]


class MappingError(ValueError):
    """A message that cannot be mapped (malformed or unsupported content); the message says
    what is wrong, e.g. ``PointCloud2: field 'z' (offset 8, 4 bytes) overflows point_step 10``."""


@dataclass
class MappedRow:
    """One row to log: ``archetypes`` on ``entity``; ``static`` rows have no time;
    ``time_ns`` overrides the message's ros_time (e.g. each transform's own stamp)."""

    entity: str
    archetypes: list[Archetype]
    static: bool = False
    time_ns: int | None = None
    #: explicit times of every timeline (name -> ns), e.g. a marker's expiry; overrides the rest
    times: dict | None = None


@dataclass
class MapContext:
    """Per-topic context: the topic, its entity path, and per-topic state a mapper may keep
    (e.g. whether static series names were already logged)."""

    topic: str
    entity: str
    type_name: str = ""
    state: dict = field(default_factory=dict)
    #: the current message's times (timeline name -> ns), set before each call
    now: dict = field(default_factory=dict)
    #: state shared by every topic of one ingest (e.g. the robot model for joint states)
    shared: dict = field(default_factory=dict)


Mapper = Callable[[Any, MapContext], list]


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


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (n, 3) by unit quaternions ``q`` (n, 4) or (4,) in xyzw order."""
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
    u, w = q[:, :3], q[:, 3:4]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def xyz(v) -> list[float]:
    return [float(v.x), float(v.y), float(v.z)]


def xyzw(q) -> list[float]:
    return [float(q.x), float(q.y), float(q.z), float(q.w)]
