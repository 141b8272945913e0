"""Capsules3D: lengths (n,) and radii (n,) m; each capsule's axis runs along its local +z from
``translations`` (its start) for ``length``, hemispheres at both ends (Rerun's convention),
turned by ``quaternions`` or ``rotation_axis_angles``. Drawn as rims, four sides and the
hemispheres' arcs."""
from __future__ import annotations

import numpy as np

from ...model.rotations import axis_angle_quat
from ...query.frames import Transform
from ..geometry import colors, values

ARCHETYPE = "Capsules3D"
_N = 24


def capsule_segments(length: float, radius: float, n: int = _N) -> np.ndarray:
    """A capsule from z = 0 to z = ``length`` of ``radius`` as (k, 2, 3) segments: the rims of
    both ends, four sides, and two half circles over each end (in the xz and yz planes)."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    ring = np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], 1) * radius
    rims = [ring, ring + [0, 0, length]]
    segs = [np.stack([r[:-1], r[1:]], 1) for r in rims]
    segs.append(np.array([[ring[i], ring[i] + [0, 0, length]] for i in range(0, n, n // 4)]))
    h = np.linspace(0, np.pi, n // 2 + 1)
    for top, sign in ((length, 1.0), (0.0, -1.0)):
        for plane in (0, 1):
            arc = np.zeros((len(h), 3))
            arc[:, plane] = np.cos(h) * radius
            arc[:, 2] = top + sign * np.sin(h) * radius
            segs.append(np.stack([arc[:-1], arc[1:]], 1))
    return np.concatenate(segs)


def visualize(la, tf, out) -> None:
    ln, rd = values(la.get("Capsules3D:lengths")), values(la.get("Capsules3D:radii"))
    if ln is None or rd is None or not len(ln) or not len(rd):
        return
    n = max(len(ln), len(rd))
    ln, rd = np.resize(ln, n), np.resize(rd, n)
    tr = values(la.get("Capsules3D:translations"))
    tr = np.zeros((n, 3)) if tr is None or not len(tr) else np.resize(tr, (n, 3))
    q = values(la.get("Capsules3D:quaternions"))
    if q is None or not len(q):
        aa = la.get("Capsules3D:rotation_axis_angles")
        if aa is not None and len(aa.values):
            rows = aa.values.to_pylist()
            q = np.array([axis_angle_quat(r["axis"], r["angle"]) for r in rows])
    q = np.tile([0, 0, 0, 1.0], (n, 1)) if q is None or not len(q) else np.resize(q, (n, 4))
    col = colors(la.get("Capsules3D:colors"), n)
    for i in range(n):
        unit = capsule_segments(float(ln[i]), float(rd[i]))
        local = Transform(np.asarray(tr[i], float), np.asarray(q[i], float)).apply(unit.reshape(-1, 3))
        out.add_segments(tf.apply(local).reshape(-1, 2, 3), np.tile(col[i], (len(unit), 1)))
