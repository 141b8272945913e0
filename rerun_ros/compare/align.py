"""Where two runs are put side by side: the anchor of each run on its robot clock.

- ``start``: each run's first time on ``ros_time`` (what was recorded first);
- ``ros_time``: no shift (both runs on one robot clock: a replay of the same sim, a bag cut in two);
- an event: ``TOPIC`` (the first message on it, e.g. ``/cmd_vel``: the robot told to move) or
  ``log:TEXT`` (the first ``/rosout`` message containing TEXT, e.g. ``log:Goal succeeded``).
"""
from __future__ import annotations

import numpy as np

from ..mappers.base import struct_field
from ..model.names import ROS_TIME_NAME

__all__ = ["anchor", "AlignError"]


class AlignError(ValueError):
    """The alignment cannot be made in a run (an event that never happens); names the run."""


def anchor(store, series: dict, align: str, label: str) -> int:
    """The ns (robot clock) that time 0 is in a run, for ``align`` (module doc).

    Args:
        store: the run's store; series: its :func:`rerun_ros.compare.series.topic_series`.
        label: the run's name for errors.

    Raises:
        AlignError: no data on ros_time, an event that never happens in the run.
    """
    if align == "ros_time":
        return 0
    if align == "start":
        rng = store.time_range(ROS_TIME_NAME)
        if rng is None:
            raise AlignError(f"{label}: nothing on the ros_time timeline to align by")
        return int(rng[0])
    if align.startswith("log:"):
        text = align[4:]
        for s in series.values():
            if s.type_name != "rcl_interfaces/msg/Log" or s.messages is None:
                continue
            msgs = struct_field(s.messages, "msg").to_pylist()
            hit = next((i for i, m in enumerate(msgs) if m and text in m), None)
            if hit is not None:
                return int(s.times[hit])
        raise AlignError(f"{label}: no log message contains {text!r} (align {align!r})")
    s = series.get(align)
    if s is None or not len(s.times):
        near = ", ".join(sorted(series)[:8])
        raise AlignError(f"{label}: no message on {align!r} to align by (topics: {near})")
    return int(np.min(s.times))
