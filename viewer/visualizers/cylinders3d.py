"""Cylinders3D: lengths (n,) and radii (n,) m along the local z axis, as rims and four sides."""
from __future__ import annotations

import numpy as np

from ..geometry import values
from ._quadrics import place, unit_cylinder

ARCHETYPE = "Cylinders3D"
_UNIT = unit_cylinder()


def visualize(la, tf, out) -> None:
    ln, rd = values(la.get("Cylinders3D:lengths")), values(la.get("Cylinders3D:radii"))
    if ln is None or rd is None or not len(ln):
        return
    n = max(len(ln), len(rd))
    hs = np.stack([np.broadcast_to(rd, n), np.broadcast_to(rd, n), np.broadcast_to(ln, n) / 2], 1)
    place(la, ARCHETYPE, hs, _UNIT, tf, out)
