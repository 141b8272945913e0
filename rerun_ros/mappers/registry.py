"""The registry from ROS type names to mappers.

Type names are normalised to ``pkg/msg/Type`` (``sensor_msgs/Image`` and
``sensor_msgs/msg/Image`` are the same type). :func:`register` (row mappers) and
:func:`register_columns` (column mappers) are decorators; the built-in mappers register
themselves when :mod:`rerun_ros.mappers` is imported. A type may have one of each: the column
mapper is used for bags and live batches, the row mapper stays for callers with one message.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["register", "register_columns", "lookup", "lookup_columns", "entry", "MapperEntry",
           "supported_types", "normalize_type", "archetypes_of"]


@dataclass
class MapperEntry:
    """What is registered for one ROS type.

    Attributes:
        rows: row mapper ``fn(msg, ctx) -> list[MappedRow]`` or None.
        columns: column mapper ``fn(batch, ctx) -> list[Columns]`` or None.
        archetypes: short description for summaries (e.g. ``"Points3D"``).
        blobs: top-level byte fields the archetypes carry (e.g. Image ``data``), left out of the
            lossless ``:message`` column so they are not stored twice.
        finish: ``fn(ctx) -> list[MappedRow]`` called at the end of a stream (deferred rows).
    """

    rows: Callable | None = None
    columns: Callable | None = None
    archetypes: str = ""
    blobs: tuple = ()
    finish: Callable | None = None


_ENTRIES: dict[str, MapperEntry] = {}


def normalize_type(name: str) -> str:
    """``pkg/Type`` or ``pkg/msg/Type`` → ``pkg/msg/Type``."""
    parts = name.strip().split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    return name.strip()


def _entry(t: str) -> MapperEntry:
    return _ENTRIES.setdefault(normalize_type(t), MapperEntry())


def register(*type_names: str, archetypes: str, blobs: tuple = (), finish: Callable | None = None):
    """Decorator: register a row mapper ``fn(msg, ctx) -> list[MappedRow]`` for ROS types."""

    def deco(fn):
        for t in type_names:
            e = _entry(t)
            e.rows, e.archetypes = fn, archetypes
            e.blobs = blobs or e.blobs
            e.finish = finish or e.finish
        return fn

    return deco


def register_columns(*type_names: str, archetypes: str, blobs: tuple = ()):
    """Decorator: register a column mapper ``fn(batch, ctx) -> list[Columns]`` for ROS types."""

    def deco(fn):
        for t in type_names:
            e = _entry(t)
            e.columns, e.archetypes = fn, archetypes
            e.blobs = blobs or e.blobs
        return fn

    return deco


def entry(type_name: str) -> MapperEntry | None:
    """Everything registered for a ROS type, or None."""
    return _ENTRIES.get(normalize_type(type_name))


def lookup(type_name: str) -> Callable | None:
    """The row mapper of a ROS type, or None."""
    e = entry(type_name)
    return e.rows if e is not None else None


def lookup_columns(type_name: str) -> Callable | None:
    """The column mapper of a ROS type, or None."""
    e = entry(type_name)
    return e.columns if e is not None else None


def archetypes_of(type_name: str) -> str:
    e = entry(type_name)
    return e.archetypes if e is not None else ""


def supported_types() -> list[str]:
    return sorted(_ENTRIES)
