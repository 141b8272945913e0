"""ROS message → Rerun archetype mappers (pure functions, no rclpy needed).

Importing this package registers every built-in mapper (one contract,
``fn(MessageBatch, MapContext) -> list[Columns]``, see :mod:`.base`); :func:`mapper_for` finds one.
"""
from .base import MapContext, MappedRow, MappingError  # noqa: F401
from .registry import archetypes_of, entry, mapper_for, normalize_type, register, supported_types  # noqa: F401
from . import (sensor_msgs, geometry_msgs, tf2_msgs, std_msgs, visualization_msgs,  # noqa: F401,E402
               nav_msgs, diagnostic_msgs)  # (registration)
