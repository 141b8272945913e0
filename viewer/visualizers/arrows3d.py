"""Arrows3D: vectors (n, 3) from origins (n, 3), drawn as a shaft and a two-stroke head (as rviz's
pose arrows: odometry, PoseStamped, PoseWithCovariance)."""
from __future__ import annotations

import numpy as np

from ..geometry import colors, labels, values

ARCHETYPE = "Arrows3D"


def arrow_segments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shafts and heads of arrows from ``a`` (n, 3) to ``b`` (n, 3): (3n, 2, 3) segments, shaft
    first then the two head strokes of each arrow (head 25 % of the length)."""
    v = b - a
    ln = np.linalg.norm(v, axis=1, keepdims=True)
    d = np.divide(v, ln, out=np.zeros_like(v), where=ln > 0)
    ref = np.where(np.abs(d[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    side = np.cross(d, ref)
    side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    h = 0.25 * ln
    base = b - d * h
    h1, h2 = base + side * h * 0.5, base - side * h * 0.5
    return np.stack([np.stack([a, b], 1), np.stack([b, h1], 1), np.stack([b, h2], 1)], 1).reshape(-1, 2, 3)


def visualize(la, tf, out) -> None:
    vec = values(la.get("Arrows3D:vectors"))
    if vec is None or not len(vec):
        return
    org = values(la.get("Arrows3D:origins"))
    org = np.zeros_like(vec) if org is None or len(org) != len(vec) else org
    a, b = tf.apply(org.astype(float)), tf.apply((org + vec).astype(float))
    col = colors(la.get("Arrows3D:colors"), len(vec))
    out.add_segments(arrow_segments(a, b), np.repeat(col, 3, axis=0))
    texts = labels(la, ARCHETYPE, len(vec))
    if texts:
        out.add_texts(b, texts, col)
