"""What two runs are compared on, read out of a store: per topic the robot-clock times of its
messages, and each message's numeric scalar fields as signals.

A ROS recording keeps every message whole as a ``<pkg>.msg.<Type>:message`` struct column (one
element on the row of the message; a TF message on its first transform's row); this reads those,
so every scalar field is found without a list of types. A recording from an SDK (no message
columns) gives its ``Scalars`` instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..model.components import list_offsets, validity
from ..model.names import ROS_TIME_NAME
from ..report import _message_rows, _topic_of

__all__ = ["TopicSeries", "topic_series", "scalar_signals", "MAX_LIST_SIGNALS"]

#: a list field of the same length in every message (joint positions, a covariance) becomes one
#: signal per element up to this length; longer (ranges of a scan, pixels) are not signals
MAX_LIST_SIGNALS = 36


@dataclass
class TopicSeries:
    """The messages of one topic.

    Attributes:
        topic: the topic entity (``/imu``; ``/tf`` for every TF child entity).
        type_name: ``pkg/msg/Type`` (empty for an SDK entity).
        times: int64 (n,) ns on the robot clock (``ros_time``), sorted.
        messages: StructArray (n,) the messages in time order (None for an SDK entity).
        scalars: float64 (n, k) the entity's ``Scalars`` rows where it has no message column.
    """

    topic: str
    type_name: str
    times: np.ndarray
    messages: pa.StructArray | None = None
    scalars: np.ndarray | None = None


def topic_series(store, timeline: str = ROS_TIME_NAME) -> dict[str, TopicSeries]:
    """Every topic's messages on ``timeline`` (int64 ns), sorted by time (stable: messages of
    one time keep their recorded order)."""
    parts: dict[str, list] = {}
    # a ROS recording: entities without whole messages are parts of a message (/odom/twist,
    # /joint_states/velocity), its fields already; only an SDK recording's Scalars are signals
    ros = any(d.field == "message" and "." in d.archetype for c in store.chunks() for d in c.components)
    for e in store.entities():
        for c in store.chunks(e):
            if c.is_static or timeline not in c.timelines:
                continue
            t = np.asarray(c.timelines[timeline][1], np.int64)
            desc, col = next(((d, col) for d, col in c.components.items()
                              if d.field == "message" and "." in d.archetype), (None, None))
            if col is None:
                sc = None if ros else c.component("Scalars:scalars")
                if sc is None:
                    continue
                ok = validity(sc[1])
                offs = list_offsets(sc[1])
                lens = np.diff(offs)
                ok &= lens == (lens[ok].max() if ok.any() else 0)
                if not ok.any():
                    continue
                vals = np.asarray(sc[1].values.to_numpy(zero_copy_only=False), np.float64)
                width = int(lens[ok][0])
                rows = np.stack([vals[offs[i] - offs[0]:offs[i] - offs[0] + width] for i in np.flatnonzero(ok)])
                parts.setdefault(e, []).append(("", t[ok], None, rows))
                continue
            rows = _message_rows(c)
            offs = list_offsets(col)
            idx = (offs[rows] - offs[0]).astype(np.int64)
            structs = col.values.take(pa.array(idx)) if len(idx) != len(col.values) else col.values
            type_name = desc.archetype.replace(".", "/")
            parts.setdefault(_topic_of(e, c), []).append((type_name, t[rows], structs, None))
    out = {}
    for topic, ps in parts.items():
        times = np.concatenate([p[1] for p in ps])
        order = np.argsort(times, kind="stable")
        if ps[0][2] is not None:
            try:
                msgs = pa.concat_arrays([p[2] for p in ps if p[2] is not None]).take(pa.array(order))
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # one topic, two message layouts: the first
                first = [p for p in ps if p[2] is not None and p[2].type == ps[0][2].type]
                times = np.concatenate([p[1] for p in first])
                order = np.argsort(times, kind="stable")
                msgs = pa.concat_arrays([p[2] for p in first]).take(pa.array(order))
            out[topic] = TopicSeries(topic, ps[0][0], times[order], messages=msgs)
        else:
            widths = {p[3].shape[1] for p in ps}
            if len(widths) != 1:
                continue
            out[topic] = TopicSeries(topic, "", times[order], scalars=np.concatenate([p[3] for p in ps])[order])
    return out


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def scalar_signals(series: TopicSeries) -> dict[str, np.ndarray]:
    """``field.path`` → float64 (n,) for every numeric scalar field of the topic's messages
    (nested structs walked; times left out — a ``builtin_interfaces/Time`` such as
    ``header.stamp`` is the timeline itself, and a ``Duration`` has the same layout; a list of the same
    length ≤ :data:`MAX_LIST_SIGNALS` in every message gives ``field[i]``). SDK scalars give
    ``scalars[i]``. Booleans are 0/1; null values NaN."""
    out: dict[str, np.ndarray] = {}
    if series.scalars is not None:
        for i in range(series.scalars.shape[1]):
            out[f"scalars[{i}]" if series.scalars.shape[1] > 1 else "scalars"] = series.scalars[:, i]
        return out
    if series.messages is None or not len(series.messages):
        return out

    def walk(arr: pa.Array, path: str) -> None:
        t = arr.type
        if pa.types.is_struct(t):
            if [t.field(i).name for i in range(t.num_fields)] == ["sec", "nanosec"]:
                return  # a builtin_interfaces Time (a stamp, /clock): the time itself, not a signal
            for i in range(t.num_fields):
                f = t.field(i)
                walk(arr.field(i) if arr.offset == 0 and arr.null_count == 0 else arr.flatten()[i],
                     f"{path}.{f.name}" if path else f.name)
        elif _numeric(t):
            out[path] = np.asarray(arr.to_numpy(zero_copy_only=False), np.float64)
        elif (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) \
                and _numeric(t.value_type):
            if pa.types.is_fixed_size_list(t):
                width = t.list_size
                lens = np.full(len(arr), width)
                start = arr.offset * width
            else:
                offs = list_offsets(arr)
                lens = np.diff(offs)
                width = int(lens[0]) if len(lens) else 0
                start = int(offs[0])
            if not 0 < width <= MAX_LIST_SIGNALS or not (lens == width).all():
                return
            vals = np.asarray(arr.values.to_numpy(zero_copy_only=False), np.float64)
            block = vals[start:start + width * len(arr)].reshape(len(arr), width)
            for i in range(width):
                out[f"{path}[{i}]"] = block[:, i]

    walk(series.messages, "")
    return out
