"""Ellipsoids3D: half sizes (n, 3) m (e.g. a pose covariance's 1-sigma ellipsoid), as 3 rings."""
from __future__ import annotations

from ..geometry import values
from ._quadrics import place, unit_ellipsoid

ARCHETYPE = "Ellipsoids3D"
_UNIT = unit_ellipsoid()


def visualize(la, tf, out) -> None:
    hs = values(la.get("Ellipsoids3D:half_sizes"))
    if hs is not None and len(hs):
        place(la, ARCHETYPE, hs, _UNIT, tf, out)
