"""Points3D: positions (n, 3) m with colours and radii (one broadcast to all)."""
from __future__ import annotations

import numpy as np

from ..geometry import colors, labels, values

ARCHETYPE = "Points3D"


def visualize(la, tf, out) -> None:
    p = values(la.get("Points3D:positions"))
    if p is None or not len(p):
        return
    r = values(la.get("Points3D:radii"))
    if r is None or len(r) != len(p):
        r = np.full(len(p), np.nan if r is None or len(r) == 0 else r[0], np.float32)
    col = colors(la.get("Points3D:colors"), len(p))
    pw = tf.apply(p.astype(float))
    out.add_points(pw, col, r.astype(np.float32))
    texts = labels(la, ARCHETYPE, len(p))
    if texts:
        out.add_texts(pw, texts, col)
