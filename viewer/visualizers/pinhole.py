"""Pinhole: a camera's frustum from its intrinsics (column-major 3x3, Rerun's layout) and
resolution, at ``image_plane_distance`` (default 0.5 m) in the optical frame (RDF, REP 103's
``_optical`` convention)."""
from __future__ import annotations

import numpy as np

from ..geometry import values

ARCHETYPE = "Pinhole"


def visualize(la, tf, out) -> None:
    k = values(la.get("Pinhole:image_from_camera"))
    if k is None or not len(k):
        return
    K = k[0].reshape(3, 3).T  # stored column-major
    res = values(la.get("Pinhole:resolution"))
    w, h = (res[0] if res is not None and len(res) else (2 * K[0, 2], 2 * K[1, 2]))
    d = values(la.get("Pinhole:image_plane_distance"))
    d = float(d[0]) if d is not None and len(d) else 0.5
    corners = np.array([[(u - K[0, 2]) / K[0, 0] * d, (v - K[1, 2]) / K[1, 1] * d, d]
                        for u, v in ((0, 0), (w, 0), (w, h), (0, h))])
    c = tf.apply(corners)
    o = tf.apply(np.zeros(3))
    segs = [[o, x] for x in c] + [[c[i], c[(i + 1) % 4]] for i in range(4)]
    out.add_segments(np.array(segs), np.tile([255, 220, 60, 255], (8, 1)).astype(np.uint8))
