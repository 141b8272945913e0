"""The TF frame graph, resolved like tf2: ``lookup(target_frame, source_frame, t)``.

Edges come from Transform3D rows (parent_frame, child_frame, translation, quaternion) — the
rows that ``/tf`` and ``/tf_static`` become. Semantics follow tf2 (``tf2::BufferCore``):
- an edge maps child-frame coordinates into the parent frame (``T_parent_child``);
- static edges hold at every time; dynamic edges are interpolated between their two nearest
  stamps (linear translation, slerp rotation); a time outside an edge's data by more than the
  tolerance is an :class:`ExtrapolationError`, not a guess;
- ``t = 0`` asks for the latest time common to every dynamic edge of the chain;
- the result of ``lookup(target, source, t)`` maps points in ``source`` into ``target``
  (``lookupTransform(target_frame, source_frame, time)``).
A viewer asks with ``hold_latest=True`` (Rerun's latest-at): after an edge's last stamp its last
transform holds (a recording ends, a publisher stops) instead of raising.
Frames with two parents, cycles and unknown frames raise :class:`FrameGraphError` subclasses
with messages naming the frames. Units: metres, ns; quaternions xyzw.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ..model.components import indices, to_numpy
from ..model.rotations import quat_multiply, quat_rotate, quat_slerp  # noqa: F401  (also this module's names)
from ..model.names import ROS_TIME_NAME

__all__ = ["FrameGraph", "Transform", "FrameGraphError", "UnknownFrameError", "DisconnectedError",
           "ExtrapolationError", "CycleError", "MultipleParentsError", "quat_multiply", "quat_slerp"]


class FrameGraphError(LookupError):
    """Base of frame-graph lookup errors."""


class UnknownFrameError(FrameGraphError):
    pass


class DisconnectedError(FrameGraphError):
    pass


class ExtrapolationError(FrameGraphError):
    pass


class CycleError(FrameGraphError):
    pass


class MultipleParentsError(FrameGraphError):
    pass


@dataclass
class Transform:
    """A rigid transform: ``translation`` (3,) m and ``rotation`` (4,) xyzw; maps points
    ``p`` to ``R p + t``."""

    translation: np.ndarray
    rotation: np.ndarray

    @staticmethod
    def identity() -> "Transform":
        return Transform(np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]))

    def __mul__(self, other: "Transform") -> "Transform":
        return Transform(self.translation + quat_rotate(self.rotation, other.translation),
                         quat_multiply(self.rotation, other.rotation))

    def inverse(self) -> "Transform":
        qi = self.rotation * np.array([-1.0, -1.0, -1.0, 1.0])
        return Transform(-quat_rotate(qi, self.translation), qi)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform points (n, 3) or (3,)."""
        return quat_rotate(self.rotation, points) + self.translation

    def matrix(self) -> np.ndarray:
        """The 4x4 homogeneous matrix."""
        m = np.eye(4)
        m[:3, :3] = np.stack([quat_rotate(self.rotation, e) for e in np.eye(3)], axis=1)
        m[:3, 3] = self.translation
        return m


def _first_per_row(lists) -> tuple[np.ndarray, "object"]:
    """(rows that have a value (n,) bool, the first value of each row as an Arrow array (n,))."""
    import pyarrow as pa

    off = to_numpy(lists.offsets)
    n = len(lists)
    has = (off[1:] > off[:-1])
    if lists.null_count:
        has &= to_numpy(lists.is_valid())
    idx = np.minimum(off[:-1], max(len(lists.values) - 1, 0))
    vals = lists.values.take(indices(idx)) if len(lists.values) else pa.nulls(n, pa.string())
    return has, vals


def _codes(strings, ok: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes (n,) int64 of a string array (-1 where ``ok`` is False) and the names."""
    d = strings.dictionary_encode()
    codes = np.frombuffer(d.indices.buffers()[1], np.int32, len(d.indices), d.indices.offset * 4).astype(np.int64)
    return np.where(ok, codes, -1), d.dictionary.to_pylist()


def _vectors(lists, n: int, default: list) -> np.ndarray:
    """The first fixed-size vector of each row as (n, k) float64, ``default`` where a row has none."""
    k = len(default)
    out = np.tile(np.asarray(default, float), (n, 1))
    if lists is None:
        return out
    has, vals = _first_per_row(lists)
    if len(lists.values) == 0:
        return out
    flat = np.asarray(to_numpy(vals.flatten()), float)
    if len(flat) != n * k:
        return out
    out[has] = flat.reshape(n, k)[has]
    return out


def _with_axis_angles(lists, n: int, qs: np.ndarray) -> np.ndarray:
    """``qs`` (n, 4) with each row's first ``RotationAxisAngle`` (struct of axis, angle) applied
    before it (rows without one unchanged)."""
    from ..model.rotations import axis_angles_to_quats, quat_multiply
    has, vals = _first_per_row(lists)
    if not has.any() or len(vals) != n:
        return qs
    axes = np.asarray(to_numpy(vals.field("axis").flatten()), float).reshape(-1, 3)
    angles = np.asarray(to_numpy(vals.field("angle")), float)
    out = qs.copy()
    out[has] = quat_multiply(axis_angles_to_quats(axes[has], angles[has]), qs[has])
    return out


@dataclass
class _Edge:
    parent: str
    static: Transform | None = None
    times: list = field(default_factory=list)
    translations: list = field(default_factory=list)
    rotations: list = field(default_factory=list)
    _arrays: tuple | None = None

    def arrays(self):
        if self._arrays is None:
            t = np.asarray(self.times, dtype=np.int64)
            order = np.argsort(t, kind="stable")
            self._arrays = (t[order], np.asarray(self.translations, float).reshape(-1, 3)[order],
                            np.asarray(self.rotations, float).reshape(-1, 4)[order])
        return self._arrays


class FrameGraph:
    """A tree of frames built from transforms; answers tf2-style lookups.

    Args:
        tolerance_ns: how far outside an edge's stamps a lookup may clamp to the nearest stamp
            instead of raising :class:`ExtrapolationError` (default 0: exact, as tf2).
        hold_latest: after an edge's last stamp, its last transform holds (latest-at, as Rerun's
            viewer); before its first stamp the tolerance still applies.
    """

    def __init__(self, tolerance_ns: int = 0, hold_latest: bool = False):
        self.tolerance_ns = tolerance_ns
        self.hold_latest = hold_latest
        self._edges: dict[str, _Edge] = {}
        self.conflicts: dict[str, set[str]] = {}

    # -- building ---------------------------------------------------------------------------

    def add_transform(self, parent: str, child: str, time_ns: int | None, translation, rotation) -> None:
        """Add one edge sample; ``time_ns`` None makes it static (valid at every time).

        A child given a second, different parent is recorded as a conflict; lookups through
        that frame raise :class:`MultipleParentsError`.

        Raises:
            ValueError: empty frame ids, parent == child, a non-finite or zero rotation.
        """
        if not parent or not child:
            raise ValueError(f"transform with an empty frame id (parent {parent!r}, child {child!r})")
        if parent == child:
            raise ValueError(f"transform from frame {child!r} to itself")
        q = np.asarray(rotation, float).reshape(4)
        n = np.linalg.norm(q)
        if not np.isfinite(q).all() or n == 0:
            raise ValueError(f"transform {parent} -> {child}: invalid rotation {q.tolist()}")
        tr = np.asarray(translation, float).reshape(3)
        e = self._edges.get(child)
        if e is None:
            e = self._edges[child] = _Edge(parent)
        elif e.parent != parent:
            self.conflicts.setdefault(child, {e.parent}).add(parent)
            return
        if time_ns is None:
            e.static = Transform(tr, q / n)
        else:
            e.times.append(int(time_ns))
            e.translations.append(tr)
            e.rotations.append(q / n)
            e._arrays = None

    def add_transforms(self, parents: Iterable[str], children: Iterable[str], times, translations, rotations) -> None:
        """Add many samples at once (``times`` None or an iterable of ns or None for static)."""
        times = [None] * len(translations) if times is None else times
        for p, c, t, tr, q in zip(parents, children, times, translations, rotations):
            self.add_transform(p, c, t, tr, q)

    @classmethod
    def from_chunks(cls, chunks, timeline: str = ROS_TIME_NAME, tolerance_ns: int = 0,
                    hold_latest: bool = False) -> "FrameGraph":
        """Build from chunks holding ``Transform3D`` rows with parent and child frames (from an
        ``.rrd`` or a ChunkStore). Rows with a translation or quaternion but no frames are
        ignored (they are entity transforms, not TF)."""
        g = cls(tolerance_ns, hold_latest)
        for c in chunks:
            par = c.component("Transform3D:parent_frame")
            chi = c.component("Transform3D:child_frame")
            if par is None or chi is None:
                continue
            if not c.is_static and timeline not in c.timelines:
                continue
            n = len(c)
            ok_p, parents = _first_per_row(par[1])
            ok_c, children = _first_per_row(chi[1])
            ok = ok_p & ok_c
            if not ok.any():
                continue
            pcode, pnames = _codes(parents, ok)
            ccode, cnames = _codes(children, ok)
            tr, qt = c.component("Transform3D:translation"), c.component("Transform3D:quaternion")
            trs = _vectors(tr[1] if tr else None, n, [0.0, 0.0, 0.0])
            qs = _vectors(qt[1] if qt else None, n, [0.0, 0.0, 0.0, 1.0])
            aa = c.component("Transform3D:rotation_axis_angle")
            if aa is not None:  # Rerun applies it before the quaternion
                qs = _with_axis_angles(aa[1], n, qs)
            times = None if c.is_static else np.asarray(c.timelines[timeline][1], np.int64)
            for ci in np.unique(ccode[ccode >= 0]):
                rows = np.flatnonzero(ccode == ci)
                for pi in np.unique(pcode[rows]):
                    if pi < 0 or not pnames[pi] or not cnames[ci]:
                        continue
                    sel = rows[pcode[rows] == pi]
                    g.add_samples(pnames[pi], cnames[ci], None if times is None else times[sel], trs[sel], qs[sel])
        return g

    def add_samples(self, parent: str, child: str, times, translations, rotations) -> None:
        """Add the samples of one edge at once: ``times`` (n,) int64 ns, or None for a static
        edge (its last row holds); ``translations`` (n, 3) m; ``rotations`` (n, 4) xyzw.
        Samples with a non-finite or zero rotation are left out.

        Raises:
            ValueError: empty frame ids, or parent == child.
        """
        if not parent or not child:
            raise ValueError(f"transform with an empty frame id (parent {parent!r}, child {child!r})")
        if parent == child:
            raise ValueError(f"transform from frame {child!r} to itself")
        q = np.asarray(rotations, float).reshape(-1, 4)
        tr = np.asarray(translations, float).reshape(-1, 3)
        nrm = np.linalg.norm(q, axis=1)
        good = np.isfinite(q).all(axis=1) & (nrm > 0) & np.isfinite(tr).all(axis=1)
        if not good.any():
            return
        q, tr, nrm = q[good], tr[good], nrm[good]
        e = self._edges.get(child)
        if e is None:
            e = self._edges[child] = _Edge(parent)
        elif e.parent != parent:
            self.conflicts.setdefault(child, {e.parent}).add(parent)
            return
        if times is None:
            e.static = Transform(tr[-1], q[-1] / nrm[-1])
        else:
            e.times.extend(np.asarray(times, np.int64)[good].tolist())
            e.translations.extend(tr)
            e.rotations.extend(q / nrm[:, None])
            e._arrays = None

    # -- queries ----------------------------------------------------------------------------

    def frames(self) -> set[str]:
        out = set(self._edges)
        out.update(e.parent for e in self._edges.values())
        return out

    def parent(self, frame: str) -> str | None:
        e = self._edges.get(frame)
        return e.parent if e else None

    def children(self, frame: str) -> list[str]:
        return sorted(c for c, e in self._edges.items() if e.parent == frame)

    def roots(self) -> list[str]:
        return sorted(f for f in self.frames() if f not in self._edges)

    def is_static(self, child: str) -> bool:
        e = self._edges.get(child)
        return bool(e and e.static is not None and not e.times)

    def time_range(self, child: str) -> tuple[int, int] | None:
        e = self._edges.get(child)
        if e is None or not e.times:
            return None
        t = e.arrays()[0]
        return int(t[0]), int(t[-1])

    def sample_times(self, child: str) -> np.ndarray:
        """The stamps (ns, sorted int64) of the dynamic edge into ``child``; empty if static or unknown."""
        e = self._edges.get(child)
        return e.arrays()[0] if e is not None and e.times else np.zeros(0, np.int64)

    def _chain(self, frame: str) -> list[str]:
        """frame, parent, grandparent, ... up to the root."""
        chain = [frame]
        seen = {frame}
        while True:
            if frame in self.conflicts:
                raise MultipleParentsError(
                    f"frame {frame!r} has more than one parent: {', '.join(sorted(self.conflicts[frame]))}")
            e = self._edges.get(frame)
            if e is None:
                return chain
            frame = e.parent
            if frame in seen:
                raise CycleError(f"frames form a cycle: {' -> '.join(chain + [frame])}")
            seen.add(frame)
            chain.append(frame)

    def _edge_at(self, child: str, t: int, target: str, source: str) -> Transform:
        e = self._edges[child]
        if not e.times:
            assert e.static is not None
            return e.static
        times, trs, qs = e.arrays()
        if t < times[0] - self.tolerance_ns or (t > times[-1] + self.tolerance_ns and not self.hold_latest):
            where = "past" if t < times[0] else "future"
            edge_t = times[0] if t < times[0] else times[-1]
            raise ExtrapolationError(
                f"lookup would require extrapolation into the {where}: requested time {t} but the "
                f"{'earliest' if where == 'past' else 'latest'} data of {e.parent} -> {child} is at {edge_t} "
                f"(looking up {source} in {target})")
        i = int(np.searchsorted(times, t, side="left"))
        if i < len(times) and times[i] == t:
            # several samples at one stamp: the last one added wins
            j = int(np.searchsorted(times, t, side="right")) - 1
            return Transform(trs[j], qs[j])
        if i == 0:
            return Transform(trs[0], qs[0])
        if i >= len(times):
            return Transform(trs[-1], qs[-1])
        t0, t1 = times[i - 1], times[i]
        a = (t - t0) / (t1 - t0)
        return Transform(trs[i - 1] + a * (trs[i] - trs[i - 1]), quat_slerp(qs[i - 1], qs[i], a))

    def lookup(self, target_frame: str, source_frame: str, time_ns: int = 0) -> Transform:
        """The transform taking points in ``source_frame`` to ``target_frame`` at ``time_ns``
        (0 = the latest time common to the chain, as tf2).

        Raises:
            UnknownFrameError, DisconnectedError, ExtrapolationError, CycleError,
            MultipleParentsError.
        """
        frames = self.frames()
        for f in (target_frame, source_frame):
            if f not in frames:
                known = ", ".join(sorted(frames)[:20]) or "none"
                raise UnknownFrameError(f"frame {f!r} does not exist (known frames: {known})")
        if target_frame == source_frame:
            return Transform.identity()
        src = self._chain(source_frame)
        tgt = self._chain(target_frame)
        common = next((f for f in src if f in set(tgt)), None)
        if common is None:
            raise DisconnectedError(f"frames {source_frame!r} and {target_frame!r} are not connected: "
                                    f"their roots are {src[-1]!r} and {tgt[-1]!r}")
        src_edges = src[:src.index(common)]
        tgt_edges = tgt[:tgt.index(common)]
        if time_ns == 0:
            lasts = [self._edges[c].arrays()[0][-1] for c in src_edges + tgt_edges if self._edges[c].times]
            time_ns = int(min(lasts)) if lasts else 0
        t_common_src = Transform.identity()
        for child in reversed(src_edges):  # from the common ancestor down to the source
            t_common_src = t_common_src * self._edge_at(child, time_ns, target_frame, source_frame)
        t_common_tgt = Transform.identity()
        for child in reversed(tgt_edges):
            t_common_tgt = t_common_tgt * self._edge_at(child, time_ns, target_frame, source_frame)
        return t_common_tgt.inverse() * t_common_src

    def _edge_many(self, child: str, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The edge into ``child`` at many times: translations (n, 3), rotations (n, 4), valid (n,)."""
        e = self._edges[child]
        n = len(times)
        if not e.times:
            return (np.broadcast_to(e.static.translation, (n, 3)), np.broadcast_to(e.static.rotation, (n, 4)),
                    np.ones(n, bool))
        ts, trs, qs = e.arrays()
        valid = times >= ts[0] - self.tolerance_ns
        if not self.hold_latest:
            valid &= times <= ts[-1] + self.tolerance_ns
        j = np.clip(np.searchsorted(ts, times, "right"), 1, len(ts) - 1)
        if len(ts) == 1:
            return np.tile(trs[0], (n, 1)), np.tile(qs[0], (n, 1)), valid
        t0, t1 = ts[j - 1], ts[j]  # j in [1, len - 1]: the samples around each time
        span = np.where(t1 > t0, t1 - t0, 1)
        a = np.clip((times - t0) / span, 0.0, 1.0)
        tr = trs[j - 1] + a[:, None] * (trs[j] - trs[j - 1])
        return tr, quat_slerp(qs[j - 1], qs[j], a), valid

    def lookup_many(self, target_frame: str, source_frame: str, times) -> tuple[Transform, np.ndarray]:
        """``lookup`` at many times at once (vectorised: trails, resampling): a Transform whose
        ``translation`` is (n, 3) and ``rotation`` (n, 4), and valid (n,) bool — False where a
        lookup would raise ExtrapolationError.

        Raises:
            UnknownFrameError, DisconnectedError, CycleError, MultipleParentsError.
        """
        times = np.asarray(times, np.int64)
        n = len(times)
        frames = self.frames()
        for f in (target_frame, source_frame):
            if f not in frames:
                raise UnknownFrameError(f"frame {f!r} does not exist")
        ident = Transform(np.zeros((n, 3)), np.tile([0.0, 0.0, 0.0, 1.0], (n, 1)))
        if target_frame == source_frame:
            return ident, np.ones(n, bool)
        src, tgt = self._chain(source_frame), self._chain(target_frame)
        common = next((f for f in src if f in set(tgt)), None)
        if common is None:
            raise DisconnectedError(f"frames {source_frame!r} and {target_frame!r} are not connected")
        valid = np.ones(n, bool)

        def compose(edges):
            nonlocal valid
            out = Transform(ident.translation.copy(), ident.rotation.copy())
            for child in reversed(edges):
                tr, q, ok = self._edge_many(child, times)
                valid &= ok
                out = out * Transform(tr, q)
            return out
        t_src = compose(src[:src.index(common)])
        t_tgt = compose(tgt[:tgt.index(common)])
        return t_tgt.inverse() * t_src, valid

    def can_transform(self, target_frame: str, source_frame: str, time_ns: int = 0) -> bool:
        try:
            self.lookup(target_frame, source_frame, time_ns)
            return True
        except FrameGraphError:
            return False
