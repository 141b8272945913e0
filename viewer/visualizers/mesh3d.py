"""Mesh3D: vertex positions (v, 3) m, triangle indices (t, 3), vertex colours or albedo."""
from __future__ import annotations

import numpy as np

from ..geometry import colors, values

ARCHETYPE = "Mesh3D"


def visualize(la, tf, out) -> None:
    mv = values(la.get("Mesh3D:vertex_positions"))
    if mv is None or not len(mv):
        return
    tri = values(la.get("Mesh3D:triangle_indices"))
    tri = np.arange(len(mv) - len(mv) % 3).reshape(-1, 3) if tri is None else tri.astype(np.int64)
    vc = la.get("Mesh3D:vertex_colors")
    cols = colors(vc, len(mv)) if vc is not None and len(vc.values) == len(mv) else colors(la.get("Mesh3D:albedo_factor"), len(mv))
    out.add_mesh(tf.apply(mv.astype(float)), tri, cols)
