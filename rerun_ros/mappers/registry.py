"""The registry from ROS type names to mappers: one contract, one decorator.

A mapper is ``fn(batch: MessageBatch, ctx: MapContext) -> list[Columns]``: all N messages of one
topic in, archetype columns for all their rows out (:mod:`rerun_ros.mappers.base`). Code that is
clearer one message at a time is wrapped into that contract by
:func:`rerun_ros.mappers.rows.per_message`. Type names are normalised to ``pkg/msg/Type``
(``sensor_msgs/Image`` and ``sensor_msgs/msg/Image`` are the same type); the built-in mappers
register themselves when :mod:`rerun_ros.mappers` is imported, in one table (like Rerun's
``re_mcap`` parsers and rosbags' storage plugins).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..model.names import normalize_type

__all__ = ["register", "entry", "mapper_for", "MapperEntry", "supported_types", "normalize_type", "archetypes_of"]


@dataclass(frozen=True)
class MapperEntry:
    """What is registered for one ROS type.

    Attributes:
        fn: the mapper ``fn(batch, ctx) -> list[Columns]``.
        archetypes: short description for summaries (e.g. ``"Points3D"``).
        blobs: top-level byte fields the archetypes carry (e.g. Image ``data``), left out of the
            lossless ``:message`` column so they are not stored twice.
        finish: ``fn(ctx) -> list[Columns]`` called at the end of a stream (deferred rows, each
            with explicit ``times``), or None.
        history: what the mapper makes of a message depends on the topic's earlier messages
            (a marker's DELETE needs its ADD): a conversion split over processes keeps each
            such topic whole in one unit (:mod:`rerun_ros.parallel`).
    """

    fn: Callable
    archetypes: str = ""
    blobs: tuple = ()
    finish: Callable | None = None
    history: bool = False


_ENTRIES: dict[str, MapperEntry] = {}


def register(*type_names: str, archetypes: str, blobs: tuple = (), finish: Callable | None = None,
             history: bool = False):
    """Decorator: register ``fn(batch, ctx) -> list[Columns]`` as the mapper of ROS types.

    Raises:
        ValueError: a type already has a mapper (one mapper per type).
    """

    def deco(fn):
        for t in type_names:
            key = normalize_type(t)
            if key in _ENTRIES:
                raise ValueError(f"{key} already has a mapper ({_ENTRIES[key].fn.__name__})")
            _ENTRIES[key] = MapperEntry(fn, archetypes, tuple(blobs), finish, history or finish is not None)
        return fn

    return deco


def entry(type_name: str) -> MapperEntry | None:
    """Everything registered for a ROS type, or None."""
    return _ENTRIES.get(normalize_type(type_name))


def mapper_for(type_name: str) -> Callable | None:
    """The mapper of a ROS type, or None."""
    e = entry(type_name)
    return e.fn if e is not None else None


def archetypes_of(type_name: str) -> str:
    e = entry(type_name)
    return e.archetypes if e is not None else ""


def supported_types() -> list[str]:
    return sorted(_ENTRIES)
