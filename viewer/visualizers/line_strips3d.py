"""LineStrips3D: strips of (k_i, 3) points, one colour per strip (or one for all)."""
from __future__ import annotations

import numpy as np

from ...model.components import as_numpy, list_offsets
from ..geometry import colors

ARCHETYPE = "LineStrips3D"


def visualize(la, tf, out) -> None:
    strips = la.get("LineStrips3D:strips")
    if strips is None or not len(strips.values):
        return
    v = strips.values  # list<fixed_size_list<float32, 3>>
    off = list_offsets(v)
    pts = as_numpy(v.values.flatten()).reshape(-1, 3).astype(float)
    pts = tf.apply(pts)
    col = colors(la.get("LineStrips3D:colors"), len(v))
    # a segment between consecutive points of one strip
    starts = np.arange(len(pts) - 1)
    strip_of = np.searchsorted(off, starts, side="right") - 1
    keep = starts + 1 < off[strip_of + 1]
    starts, strip_of = starts[keep], strip_of[keep]
    out.add_segments(np.stack([pts[starts], pts[starts + 1]], 1), col[strip_of])
