"""Topic selection for the live bridge (ROS-free): explicit topic specs and auto-discovery rules.

A topic spec is one string, so it fits a ROS ``string[]`` parameter::

    "/camera/image_raw"                                  # defaults
    "/camera/image_raw entity=/camera qos=sensor_data rate=5"
    "/map qos=latched"

Keys: ``entity`` (entity path), ``qos`` (``sensor_data``, ``reliable``, ``best_effort``,
``latched``, ``auto``), ``rate`` (most messages per second, 0 = all), ``type`` (ROS type, for
topics not yet advertised).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..mappers import mapper_for, normalize_type

__all__ = ["TopicSpec", "parse_topic_spec", "Discovery", "LATCHED_TOPICS", "SENSOR_TYPES", "QOS_KINDS"]

QOS_KINDS = ("auto", "sensor_data", "reliable", "best_effort", "latched")
#: topics published once and latched (transient-local) by convention
LATCHED_TOPICS = re.compile(r"(^|/)(tf_static|robot_description|map|map_metadata)$")
#: high-rate sensor types that get the sensor-data QoS profile (best effort, shallow queue)
SENSOR_TYPES = {normalize_type(t) for t in (
    "sensor_msgs/Image", "sensor_msgs/CompressedImage", "sensor_msgs/PointCloud2", "sensor_msgs/PointCloud",
    "sensor_msgs/LaserScan", "sensor_msgs/MultiEchoLaserScan", "sensor_msgs/Imu", "sensor_msgs/Range",
    "sensor_msgs/CameraInfo", "sensor_msgs/MagneticField", "sensor_msgs/NavSatFix")}


@dataclass
class TopicSpec:
    """One topic to bridge: ``name``, optional ``entity`` path, ``qos`` kind, ``rate`` limit (Hz),
    ``type`` (when given explicitly) and ``depth`` (the subscription's history depth; 0 = the
    qos kind's own)."""

    name: str
    entity: str | None = None
    qos: str = "auto"
    rate: float = 0.0
    type: str | None = None
    depth: int = 0


def parse_topic_spec(text: str) -> TopicSpec:
    """Parse ``"/topic key=value ..."``.

    Raises:
        ValueError: an empty spec, an unknown key, a bad qos kind or rate.
    """
    parts = text.split()
    if not parts:
        raise ValueError("empty topic spec")
    name = parts[0] if parts[0].startswith("/") else "/" + parts[0]
    spec = TopicSpec(name)
    for p in parts[1:]:
        key, sep, value = p.partition("=")
        if not sep:
            raise ValueError(f"topic spec {text!r}: expected key=value, got {p!r}")
        if key == "entity":
            spec.entity = value
        elif key == "qos":
            if value not in QOS_KINDS:
                raise ValueError(f"topic spec {text!r}: qos must be one of {', '.join(QOS_KINDS)}")
            spec.qos = value
        elif key == "rate":
            try:
                spec.rate = float(value)
            except ValueError:
                raise ValueError(f"topic spec {text!r}: rate must be a number") from None
            if spec.rate < 0:
                raise ValueError(f"topic spec {text!r}: rate must be >= 0")
        elif key == "type":
            spec.type = normalize_type(value)
        elif key == "depth":
            if not value.isdigit() or not 1 <= int(value) <= 100_000:
                raise ValueError(f"topic spec {text!r}: depth must be an integer 1-100000")
            spec.depth = int(value)
        else:
            raise ValueError(f"topic spec {text!r}: unknown key {key!r} (entity, qos, rate, type, depth)")
    return spec


@dataclass
class Discovery:
    """Which advertised topics to bridge automatically: supported types whose names match an
    ``include`` regex (any) and no ``exclude`` regex."""

    include: list[str] = field(default_factory=lambda: [".*"])
    exclude: list[str] = field(default_factory=lambda: [r"^/parameter_events$", r"^/rosout_agg$"])

    def __post_init__(self):
        try:
            self._inc = [re.compile(p) for p in self.include]
            self._exc = [re.compile(p) for p in self.exclude]
        except re.error as e:
            raise ValueError(f"bad topic regex: {e}") from None

    def wants(self, topic: str, types: list[str]) -> str | None:
        """The type to subscribe with (one with a visual mapper when the topic has several;
        every type is kept whole as its struct column), or None when the topic is not wanted."""
        if not any(p.search(topic) for p in self._inc) or any(p.search(topic) for p in self._exc):
            return None
        for t in types:
            if mapper_for(t) is not None:
                return normalize_type(t)
        return normalize_type(types[0]) if types else None


def default_qos_kind(topic: str, type_name: str) -> str:
    """The QoS kind ``auto`` resolves to before looking at publishers."""
    if LATCHED_TOPICS.search(topic):
        return "latched"
    if normalize_type(type_name) in SENSOR_TYPES:
        return "sensor_data"
    return "reliable"
