"""Boxes3D: centres, half sizes (m) and rotations, drawn as their 12 edges."""
from __future__ import annotations

import numpy as np

from ...query.frames import Transform
from ..geometry import colors, labels, values

ARCHETYPE = "Boxes3D"
_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
_EDGES = np.array([(0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 3), (2, 6), (3, 7), (4, 5), (4, 6), (5, 7), (6, 7)])


def box_segments(centers, half, quats) -> np.ndarray:
    """(12n, 2, 3) edges of n boxes: centres (n, 3), half sizes (n, 3), quaternions (n, 4) xyzw."""
    out = []
    for c, h, q in zip(centers, half, quats):
        pts = Transform(np.asarray(c, float), np.asarray(q, float)).apply(_CORNERS * h)
        out.append(pts[_EDGES])
    return np.concatenate(out) if out else np.zeros((0, 2, 3))


def visualize(la, tf, out) -> None:
    half = values(la.get("Boxes3D:half_sizes"))
    if half is None or not len(half):
        return
    cen = values(la.get("Boxes3D:centers"))
    n = max(len(half), 0 if cen is None else len(cen))
    cen = np.zeros((n, 3)) if cen is None else np.broadcast_to(cen, (n, 3))
    q = values(la.get("Boxes3D:quaternions"))
    q = np.tile([0, 0, 0, 1.0], (n, 1)) if q is None else np.broadcast_to(q, (n, 4))
    s = box_segments(cen, np.broadcast_to(half, (n, 3)), q)
    col = colors(la.get("Boxes3D:colors"), n)
    out.add_segments(tf.apply(s.reshape(-1, 3)).reshape(-1, 2, 3), np.repeat(col, 12, 0))
    texts = labels(la, ARCHETYPE, n)
    if texts:
        out.add_texts(tf.apply(np.asarray(cen, float)), texts, col)
