"""TransformAxes3D: the entity's frame drawn as x (red), y (green), z (blue) axes of
``axis_length`` m at its origin (Rerun's convention for the three axes' colours)."""
from __future__ import annotations

import numpy as np

from ..geometry import values

ARCHETYPE = "TransformAxes3D"
_COLORS = np.array([[255, 60, 60, 255], [60, 220, 60, 255], [70, 110, 255, 255]], np.uint8)


def visualize(la, tf, out) -> None:
    ln = values(la.get("TransformAxes3D:axis_length"))
    if ln is None or not len(ln) or not np.isfinite(ln[0]) or ln[0] <= 0:
        return
    local = np.zeros((3, 2, 3))
    local[np.arange(3), 1, np.arange(3)] = float(ln[0])
    out.add_segments(tf.apply(local.reshape(-1, 3)).reshape(-1, 2, 3), _COLORS)
