"""The names every room shares: timelines, encodings, TF entity roots, recording properties.

One home for the strings that would otherwise be literals in many modules.

- Timelines of ROS data (see ``DESIGN.md``, "The data model"): ``ros_time`` (the robot clock:
  ``header.stamp``, else the log time mapped onto the robot clock, :mod:`rerun_ros.model.clock`),
  ``log_time`` (MCAP log time / the bridge's receive time), ``publish_time`` (MCAP publish time).
  All are Rerun *timestamp* timelines (int64 ns since the Unix epoch).
- Encodings as MCAP's ROS 2 profile names them (``cdr`` messages, ``ros2msg``/``ros2idl``
  schemas; https://mcap.dev/spec/registry).
- TF: one entity per child frame, ``/tf/<child_frame>`` and ``/tf_static/<child_frame>``
  (REP 105 frame names are kept as written; a ``/`` inside a frame id nests the path).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Timeline", "ROS_TIME", "LOG_TIME", "PUBLISH_TIME", "ROS_TIME_NAME", "LOG_TIME_NAME", "PUBLISH_TIME_NAME",
           "TIMELINES", "CDR", "ROS2MSG", "ROS2IDL", "TF_TOPIC", "TF_STATIC_TOPIC", "PROPERTIES_ENTITY",
           "CLOCK_PROPERTY", "METADATA_ENTITY", "DEFAULT_TIMELINE", "tf_entity", "normalize_type"]

_INDEX_TYPES: dict = {}  # timeline kind -> Arrow type, made at first use (this module imports without pyarrow)


@dataclass(frozen=True)
class Timeline:
    """A named index: ``kind`` is ``"timestamp"`` (ns since the Unix epoch), ``"duration"`` (ns)
    or ``"sequence"`` (an int64 counter). (Here, not in :mod:`.chunk`, so that the names import
    without pyarrow.)"""

    name: str
    kind: str = "timestamp"

    @property
    def arrow_type(self):
        """The index column's Arrow type: ``timestamp[ns]``, ``int64`` or ``duration[ns]``."""
        if not _INDEX_TYPES:
            import pyarrow as pa
            _INDEX_TYPES.update(timestamp=pa.timestamp("ns"), sequence=pa.int64(), duration=pa.duration("ns"))
        return _INDEX_TYPES[self.kind]

    @staticmethod
    def kind_of(dtype) -> str:
        """The kind of an index column's Arrow type."""
        import pyarrow as pa
        if pa.types.is_timestamp(dtype):
            return "timestamp"
        if pa.types.is_duration(dtype):
            return "duration"
        return "sequence"


ROS_TIME_NAME = "ros_time"
LOG_TIME_NAME = "log_time"
PUBLISH_TIME_NAME = "publish_time"
ROS_TIME = Timeline(ROS_TIME_NAME, "timestamp")
LOG_TIME = Timeline(LOG_TIME_NAME, "timestamp")
PUBLISH_TIME = Timeline(PUBLISH_TIME_NAME, "timestamp")
#: name -> Timeline of the timelines ROS data carries
TIMELINES = {tl.name: tl for tl in (ROS_TIME, LOG_TIME, PUBLISH_TIME)}
#: what every command reads by default
DEFAULT_TIMELINE = ROS_TIME_NAME

CDR = "cdr"
ROS2MSG = "ros2msg"
ROS2IDL = "ros2idl"

TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"

#: Rerun's recording-properties entity (``rr.send_property`` logs under it)
PROPERTIES_ENTITY = "/__properties"
#: the property naming the robot clock a recording was placed on (a TextDocument)
CLOCK_PROPERTY = "/__properties/ros_clock"
#: where the official MCAP importer keeps a file's Metadata records (one column per record)
METADATA_ENTITY = "/__mcap_metadata"


def normalize_type(name: str) -> str:
    """A ROS type name as ``pkg/msg/Type`` (``pkg/Type``, as ROS 1 and some bags write it, gets
    its ``msg``)."""
    parts = name.strip().split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    return name.strip()


def tf_entity(root: str, child_frame: str) -> str:
    """The entity of a TF child frame under ``root`` (the topic's entity, e.g. ``/tf``):
    ``tf_entity("/tf", "base_link") == "/tf/base_link"``; a leading ``/`` of the frame id
    (ROS 1 style) is dropped; parts are escaped as Rerun escapes entity path parts."""
    from .entity_path import escape_part

    parts = [escape_part(p) for p in child_frame.split("/") if p]
    return root.rstrip("/") + "/" + "/".join(parts) if parts else root
