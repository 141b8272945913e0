"""Shared by the visualizers: unit shapes as segments placed per instance, and an archetype's own
pose (translation + quaternion or axis-angle) as a Transform."""
from __future__ import annotations

import numpy as np

from ...query.frames import Transform
from ..geometry import colors, values


def unit_ellipsoid(n: int = 24) -> np.ndarray:
    """Three great circles of the unit sphere as (3n, 2, 3) segments."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    c, s_ = np.cos(a), np.sin(a)
    z = np.zeros_like(a)
    rings = [np.stack([c, s_, z], 1), np.stack([c, z, s_], 1), np.stack([z, c, s_], 1)]
    return np.concatenate([np.stack([r[:-1], r[1:]], 1) for r in rings])


def unit_cylinder(n: int = 24) -> np.ndarray:
    """Rims at z = ±1 and four sides of the unit cylinder as segments."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    top = np.stack([np.cos(a), np.sin(a), np.ones_like(a)], 1)
    bot = top * [1, 1, -1]
    sides = [np.stack([bot[i], top[i]]) for i in range(0, n, n // 4)]
    return np.concatenate([np.stack([top[:-1], top[1:]], 1), np.stack([bot[:-1], bot[1:]], 1), np.array(sides)])


def place(la, kind: str, half_sizes: np.ndarray, unit: np.ndarray, tf, out) -> None:
    """Instances of ``unit`` scaled by ``half_sizes`` (n, 3), at the kind's centres and rotations."""
    n = len(half_sizes)
    cen = values(la.get(f"{kind}:centers"))
    cen = np.zeros((n, 3)) if cen is None else np.broadcast_to(cen, (n, 3))
    q = values(la.get(f"{kind}:quaternions"))
    q = np.tile([0, 0, 0, 1.0], (n, 1)) if q is None else np.broadcast_to(q, (n, 4))
    col = colors(la.get(f"{kind}:colors"), n)
    for i, (c, h, qq) in enumerate(zip(cen, half_sizes, q)):
        local = Transform(np.asarray(c, float), np.asarray(qq, float)).apply(unit.reshape(-1, 3) * h)
        out.add_segments(tf.apply(local).reshape(-1, 2, 3), np.tile(col[i], (len(unit), 1)))


def own_pose(la, kind: str) -> Transform:
    """The pose an archetype carries for all its content (``<kind>:translation`` and
    ``<kind>:quaternion`` or ``<kind>:rotation_axis_angle``; GridMap, VoxelGridMap): identity
    where absent."""
    from ...model.rotations import axis_angle_quat
    t = values(la.get(f"{kind}:translation"))
    q = values(la.get(f"{kind}:quaternion"))
    if q is None or not len(q):
        aa = la.get(f"{kind}:rotation_axis_angle")
        q = [axis_angle_quat(**aa.values.to_pylist()[0])] if aa is not None and len(aa.values) else None
    return Transform(np.zeros(3) if t is None or not len(t) else np.asarray(t[0], float),
                     np.array([0, 0, 0, 1.0]) if q is None or not len(q) else np.asarray(q[0], float))
