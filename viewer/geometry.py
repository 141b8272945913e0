"""What a 3D view draws, as plain arrays in the view's fixed frame (no GL): :class:`Geometry3D`,
and :class:`SceneBuilder`, which the per-archetype visualizers (:mod:`.visualizers`) append to."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..model.components import as_numpy, unpack_colors

__all__ = ["Geometry3D", "SceneBuilder", "values", "colors", "labels", "DEFAULT_COLOR"]

DEFAULT_COLOR = np.array([200, 200, 200, 255], np.uint8)
#: labels are drawn by default for up to this many instances (Rerun shows few instances' labels)
AUTO_LABELS_MAX = 30


def values(la) -> np.ndarray | None:
    """A latest-at component's instances as numpy: (n,) or (n, k) for fixed-size lists; None if absent."""
    if la is None:
        return None
    v = la.values
    if pa.types.is_fixed_size_list(v.type):
        return as_numpy(v.flatten()).reshape(len(v), v.type.list_size)
    return as_numpy(v)


def colors(la, n: int) -> np.ndarray:
    """(n, 4) uint8 RGBA from a Color component (one colour broadcast), the default grey if absent."""
    if la is None or len(la.values) == 0:
        return np.tile(DEFAULT_COLOR, (n, 1))
    c = unpack_colors(as_numpy(la.values))
    return np.tile(c[:1], (n, 1)) if len(c) == 1 else np.resize(c, (n, 4))


def labels(la, archetype: str, n: int) -> list[str] | None:
    """The ``<archetype>:labels`` of ``n`` instances to draw (one label broadcast), or None: none
    given, ``show_labels`` false, or more than :data:`AUTO_LABELS_MAX` instances with
    ``show_labels`` not set (Rerun's viewer does the same)."""
    lab = la.get(f"{archetype}:labels")
    if lab is None or not len(lab.values) or n == 0:
        return None
    show = la.get(f"{archetype}:show_labels")
    flag = show.values[0].as_py() if show is not None and len(show.values) else None
    if flag is False or (flag is None and n > AUTO_LABELS_MAX):
        return None
    texts = ["" if x is None else str(x) for x in lab.values.to_pylist()]
    return texts * n if len(texts) == 1 else (texts + [""] * n)[:n]


@dataclass
class Geometry3D:
    """Everything a 3D view draws, in its fixed frame (metres):

    - ``points`` (n, 3) float32, ``point_colors`` (n, 4) uint8, ``point_radii`` (n,) m — NaN: no
      radius given (a fixed pixel size); negative: ui points (Rerun's convention);
    - ``lines`` (m, 2, 3) float32 segments with ``line_colors`` (m, 4) uint8 (strips, arrows with
      their heads, boxes, ellipsoids, frusta);
    - ``trails`` (k, 2, 3) segments with ``trail_colors`` (k, 4): where poses and frames were over
      the view's time range;
    - ``axes`` (f, 4, 3) frame triads [origin, x tip, y tip, z tip] and ``axis_names`` (f,) their
      TF frame names;
    - ``mesh_vertices`` (v, 3), ``mesh_faces`` (t, 3) uint32, ``mesh_colors`` (v, 4) uint8;
    - ``text_positions`` (s, 3), ``texts`` (s,) and ``text_colors`` (s, 4) uint8: labels
      (Points3D/Arrows3D/Boxes3D ``labels``: rviz's text markers);
    - ``problems``: entity path -> why it was not drawn (e.g. a transform lookup error).
    """

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    point_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    point_radii: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3), np.float32))
    line_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    trails: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3), np.float32))
    trail_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    axes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 3), np.float32))
    axis_names: list = field(default_factory=list)
    mesh_vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    mesh_faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint32))
    mesh_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    text_positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    texts: list = field(default_factory=list)
    text_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    problems: dict = field(default_factory=dict)

    def extent_points(self, trails: bool = True) -> np.ndarray:
        """Every drawn position as (n, 3) float (for framing the camera); ``trails`` False leaves
        the trails out (where things were, not where they are)."""
        parts = [self.points.reshape(-1, 3), self.lines.reshape(-1, 3),
                 self.trails.reshape(-1, 3) if trails else np.zeros((0, 3)),
                 self.axes[:, 0].reshape(-1, 3), self.mesh_vertices.reshape(-1, 3), self.text_positions.reshape(-1, 3)]
        p = np.concatenate([x for x in parts if len(x)] or [np.zeros((0, 3))]).astype(float)
        return p[np.isfinite(p).all(axis=1)]


class SceneBuilder:
    """Collects what the visualizers add for one frame, then :meth:`build` one Geometry3D."""

    def __init__(self):
        self.pts, self.pcol, self.prad = [], [], []
        self.segs, self.scol = [], []
        self.trails, self.tcol = [], []
        self.meshes = []
        self.axes, self.axis_names = [], []
        self.tpos, self.texts, self.tcols = [], [], []
        self.problems: dict[str, str] = {}

    def add_texts(self, p: np.ndarray, texts: list[str], col: np.ndarray) -> None:
        """Labels ``texts`` at ``p`` (n, 3) m in ``col`` (n, 4) uint8 (empty texts are skipped)."""
        keep = [i for i, s in enumerate(texts) if s]
        if keep:
            self.tpos.append(np.asarray(p, float).reshape(-1, 3)[keep])
            self.texts += [texts[i] for i in keep]
            self.tcols.append(np.asarray(col, np.uint8).reshape(-1, 4)[keep])

    def add_points(self, p: np.ndarray, col: np.ndarray, radii: np.ndarray) -> None:
        """``p`` (n, 3) m, ``col`` (n, 4) uint8, ``radii`` (n,) m (NaN/negative as in Geometry3D)."""
        self.pts.append(p)
        self.pcol.append(col)
        self.prad.append(radii)

    def add_segments(self, segs: np.ndarray, col: np.ndarray) -> None:
        """``segs`` (m, 2, 3) m, ``col`` (m, 4) uint8."""
        if len(segs):
            self.segs.append(np.asarray(segs, float).reshape(-1, 2, 3))
            self.scol.append(col)

    def add_polyline(self, pts: np.ndarray, col, trail: bool = False) -> None:
        """A polyline (n, 3) as n-1 segments of one colour (4,) or per-segment colours (n-1, 4)."""
        pts = np.asarray(pts, float)
        if len(pts) < 2:
            return
        segs = np.stack([pts[:-1], pts[1:]], 1)
        col = np.broadcast_to(np.asarray(col, np.uint8), (len(segs), 4))
        (self.trails if trail else self.segs).append(segs)
        (self.tcol if trail else self.scol).append(col)

    def add_mesh(self, vertices: np.ndarray, faces: np.ndarray, col: np.ndarray) -> None:
        self.meshes.append((vertices, faces, col))

    def build(self) -> Geometry3D:
        out = Geometry3D(problems=self.problems)
        if self.pts:
            out.points = np.concatenate(self.pts).astype(np.float32)
            out.point_colors = np.concatenate(self.pcol).astype(np.uint8)
            out.point_radii = np.concatenate(self.prad).astype(np.float32)
        if self.segs:
            out.lines = np.concatenate(self.segs).astype(np.float32)
            out.line_colors = np.concatenate(self.scol).astype(np.uint8)
        if self.trails:
            out.trails = np.concatenate(self.trails).astype(np.float32)
            out.trail_colors = np.concatenate(self.tcol).astype(np.uint8)
        if self.axes:
            out.axes = np.asarray(self.axes, np.float32).reshape(-1, 4, 3)
            out.axis_names = list(self.axis_names)
        if self.texts:
            out.text_positions = np.concatenate(self.tpos).astype(np.float32)
            out.texts = list(self.texts)
            out.text_colors = np.concatenate(self.tcols)
        if self.meshes:
            offs = np.cumsum([0] + [len(m[0]) for m in self.meshes[:-1]])
            out.mesh_vertices = np.concatenate([m[0] for m in self.meshes]).astype(np.float32)
            out.mesh_faces = np.concatenate([m[1] + o for m, o in zip(self.meshes, offs)]).astype(np.uint32)
            out.mesh_colors = np.concatenate([m[2] for m in self.meshes])
        return out
