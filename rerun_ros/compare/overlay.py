"""Several runs in one store, on one time axis: what ``rerun-ros view A B --align ...`` shows.

Each run's entities move under a group of their own (``/A/odom``, ``/B/odom``: the entity tree
groups by run); its time-stamp timelines shift so that its alignment anchor
(:func:`rerun_ros.compare.align.anchor`) falls on the first run's (``ros_time`` by the anchors'
difference, other ns timelines (``log_time``) by where the anchor is on them); the TF frames of every run after
the first get the run's label as a namespace (``B/base_footprint``) where they are the child of
a transform (the roots of its TF tree, ``map``, ``odom``, and frames outside TF are what both
runs move in and keep their names), so that both robots hang from the same fixed frame and
each follows its own transforms. Pose arrows are tinted per run (:data:`TINTS`: A light blue,
B orange, ...) where the recording gave them no colour, so their trails tell apart.

ROS-free and Qt-free; the viewer draws the result like any store.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..model.chunk import Chunk
from ..model.components import ComponentDescriptor, list_column
from ..model.names import ROS_TIME_NAME
from ..model.tuid import new_tuid
from ..store.chunk_store import ChunkStore
from .align import anchor

__all__ = ["overlay_runs", "Overlay", "TINTS", "FRAME_COLUMNS", "run_labels"]

#: RGBA of each run's trails: light blue (the viewer's frame trails), orange, magenta, green, ...
TINTS = ((120, 200, 255, 255), (255, 150, 40, 255), (230, 60, 220, 255), (80, 220, 90, 255),
         (250, 230, 60, 255), (60, 200, 230, 255))
#: the columns that name TF frames (ROS ``frame_id``s)
FRAME_COLUMNS = ("Transform3D:child_frame", "Transform3D:parent_frame", "CoordinateFrame:frame",
                 "Pinhole:child_frame", "Pinhole:parent_frame")
_LABEL_OK = re.compile(r"^[A-Za-z0-9_\-]+$")
_ARROW_COLORS = ComponentDescriptor("Arrows3D", "colors", "Color")


@dataclass
class Overlay:
    """Runs overlaid: ``store`` (every run under ``/<label>``), ``labels`` (one per run, in
    order), ``shifts`` (per run, timeline name → ns added to it), ``frame_prefixes`` (per run,
    the namespace put before its frames: ``""`` for the first), ``tints`` (frame namespace →
    RGBA of its trails)."""

    store: ChunkStore
    labels: list
    shifts: list
    frame_prefixes: list
    tints: dict = field(default_factory=dict)


def run_labels(n: int) -> list[str]:
    """``A``, ``B``, ... (then ``R27`` ...): the group each run's entities are under."""
    return [chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i in range(n)]


def _tf_children(store) -> set[str]:
    """Frames that are the child of a transform in the store: what moves in a run (its roots,
    ``map``/``odom``, and frames outside TF are what the runs share)."""
    children = set()
    for c in store.chunks_with("Transform3D:child_frame"):
        for d, col in c.components.items():
            if d.column == "Transform3D:child_frame":
                children.update(x for x in pc.unique(col.flatten()).to_pylist() if x)
    return children


def _rename_frames(col: pa.Array, prefix: str, moving: set) -> pa.Array:
    """A list<string> column with the frame names in ``moving`` put under ``prefix``."""
    if not pa.types.is_list(col.type) or not pa.types.is_string(col.type.value_type):
        return col
    flat = col.flatten()
    if not len(flat):
        return col
    names = pc.unique(flat).to_pylist()
    new = pa.array([f"{prefix}/{n.lstrip('/')}" if n in moving else n for n in names], pa.string())
    renamed = new.take(pc.index_in(flat, pa.array(names, pa.string())))
    off = np.asarray(col.offsets)
    valid = None if col.null_count == 0 else np.asarray(col.is_valid())
    return list_column(renamed, off - off[0], valid)


def _tint_column(n: int, rgba) -> pa.Array:
    r, g, b, a = (int(x) for x in rgba)
    packed = np.full(n, (r << 24) | (g << 16) | (b << 8) | a, np.uint32)
    return list_column(pa.array(packed, pa.uint32()))


def _rewrite(c: Chunk, label: str, shift: dict, prefix: str, moving: set, tint) -> Chunk:
    entity = f"/{label}" + (c.entity_path if c.entity_path != "/" else "")
    timelines = {name: (tl, (np.asarray(v, np.int64) + shift[name]) if name in shift else v)
                 for name, (tl, v) in c.timelines.items()}
    comps = {}
    for d, col in c.components.items():
        comps[d] = _rename_frames(col, prefix, moving) if prefix and d.column in FRAME_COLUMNS else col
    cols = {d.column for d in comps}
    if tint is not None and "Arrows3D:origins" in cols and "Arrows3D:colors" not in cols:
        comps[_ARROW_COLORS] = _tint_column(len(c.row_ids), tint)
    return Chunk(entity, new_tuid(), c.row_ids, timelines, comps, is_static=c.is_static)


def _offset(store, name: str) -> int | None:
    """The median of (``name`` - ``ros_time``) over the rows that have both (ns), or None."""
    diffs = [np.asarray(c.timelines[name][1], np.int64) - np.asarray(c.timelines[ROS_TIME_NAME][1], np.int64)
             for c in store.chunks() if not c.is_static and name in c.timelines and ROS_TIME_NAME in c.timelines]
    diffs = [d for d in diffs if len(d)]
    return int(np.median(np.concatenate(diffs))) if diffs else None


def _time_shifts(stores: list, anchors: list[int]) -> list[dict]:
    """Per run, per ns timeline (timestamp or duration): the ns to add so that its anchor falls
    on the first run's. ``ros_time`` shifts by the anchors' difference; another ns timeline
    (``log_time``) so that the anchor's place on it (the anchor plus the run's median offset of
    that timeline from ``ros_time``) falls on the first run's."""
    first = stores[0]
    out = []
    for s, a in zip(stores, anchors):
        shifts = {}
        for name, tl in s.timelines().items():
            if tl.kind == "sequence":
                continue
            if name == ROS_TIME_NAME:
                shifts[name] = anchors[0] - a
                continue
            mine, theirs = _offset(s, name), _offset(first, name)
            if mine is not None and theirs is not None:
                shifts[name] = (anchors[0] + theirs) - (a + mine)
        out.append(shifts)
    return out


def overlay_runs(stores: list, align: str = "start", labels: list | None = None, names: list | None = None) -> Overlay:
    """Put runs (their stores, as opened) into one store on one time axis (module doc).

    Args:
        stores: two or more stores (the first is the reference: its times and frame names stay).
        align: ``start``, ``ros_time``, a topic (its first message), ``log:TEXT`` (module
            :mod:`rerun_ros.compare.align`).
        labels: each run's group (entity path part and frame namespace); default A, B, ...
        names: each run's name for errors (its path); default the labels.

    Raises:
        AlignError: the anchor cannot be found in a run (names it).
        ValueError: fewer than two stores, labels that are not unique entity path parts.
    """
    if len(stores) < 2:
        raise ValueError("an overlay needs two or more runs")
    labels = list(labels or run_labels(len(stores)))
    if len(labels) != len(stores) or len(set(labels)) != len(labels) or not all(_LABEL_OK.match(x) for x in labels):
        raise ValueError(f"run labels must be distinct names of letters, digits, _ and -: {labels}")
    names = list(names or labels)
    series = [None] * len(stores)
    if align not in ("start", "ros_time"):
        from .series import topic_series
        series = [topic_series(s) for s in stores]
    anchors = [anchor(s, ser or {}, align, n) for s, ser, n in zip(stores, series, names)]
    shifts = _time_shifts(stores, anchors)
    out = ChunkStore(compact_max_rows=4096, compact_max_bytes=8 << 20)
    prefixes, tints = [], {}
    for i, (s, label) in enumerate(zip(stores, labels)):
        prefix = "" if i == 0 else label
        prefixes.append(prefix)
        tint = TINTS[i % len(TINTS)]
        if prefix:
            tints[prefix + "/"] = tint
        moving = _tf_children(s) if prefix else set()
        for c in s.chunks():
            if c.entity_path.startswith("/__properties"):
                continue  # each run's recording properties (its clock): said by `info`, not drawn
            out.add_chunk(_rewrite(c, label, shifts[i], prefix, moving, tint))
    return Overlay(out, labels, shifts, prefixes, tints)
