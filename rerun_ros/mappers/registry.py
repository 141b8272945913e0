"""The registry from ROS type names to mappers.

Type names are normalised to ``pkg/msg/Type`` (``sensor_msgs/Image`` and
``sensor_msgs/msg/Image`` are the same type). ``register`` is a decorator; the built-in mappers
register themselves when :mod:`rerun_ros.mappers` is imported.
"""
from __future__ import annotations

from typing import Callable


__all__ = ["register", "lookup", "supported_types", "normalize_type", "archetypes_of"]

_MAPPERS: dict[str, Callable] = {}
_ARCHETYPES: dict[str, str] = {}


def normalize_type(name: str) -> str:
    """``pkg/Type`` or ``pkg/msg/Type`` → ``pkg/msg/Type``."""
    parts = name.strip().split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    return name.strip()


def register(*type_names: str, archetypes: str):
    """Decorator: register ``fn(msg, ctx) -> list[MappedRow]`` for ROS types; ``archetypes``
    is a short description for summaries (e.g. ``"Points3D"``)."""

    def deco(fn):
        for t in type_names:
            _MAPPERS[normalize_type(t)] = fn
            _ARCHETYPES[normalize_type(t)] = archetypes
        return fn

    return deco


def lookup(type_name: str) -> Callable | None:
    """The mapper of a ROS type, or None if the type is not supported."""
    return _MAPPERS.get(normalize_type(type_name))


def archetypes_of(type_name: str) -> str:
    return _ARCHETYPES.get(normalize_type(type_name), "")


def supported_types() -> list[str]:
    return sorted(_MAPPERS)
