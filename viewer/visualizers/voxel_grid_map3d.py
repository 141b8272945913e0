"""VoxelGridMap: a sparse grid of voxels (3D occupancy maps). Voxel (i, j, k) spans
``[index, index + 1) * voxel_size`` from the grid's origin, which sits at the entity's frame moved by
``translation`` and turned by ``quaternion``/``rotation_axis_angle`` (Rerun 0.41's convention).
Colours: given ``colors``, else ``values`` through the colormap (Turbo) over ``value_range`` (default
the values' own range). Up to :data:`EDGES_MAX` voxels drawn as cube outlines, more as points at
their centres."""
from __future__ import annotations

import numpy as np

from ...model.components import as_numpy
from ..geometry import colors, values
from ._quadrics import own_pose
from .boxes3d import _CORNERS, _EDGES

ARCHETYPE = "VoxelGridMap"
#: voxels drawn as their 12 edges up to this many; more as points
EDGES_MAX = 20_000


def voxel_colors(la, n: int) -> np.ndarray:
    """(n, 4) uint8 RGBA of n voxels (see the module's rule)."""
    if la.get("VoxelGridMap:colors") is not None and len(la["VoxelGridMap:colors"].values):
        return colors(la.get("VoxelGridMap:colors"), n)
    v = values(la.get("VoxelGridMap:values"))
    if v is None or not len(v):
        return colors(None, n)
    from ...mappers.pointcloud import TURBO
    from ...model.components import unpack_colors
    v = np.resize(np.asarray(v, float), n)
    r = values(la.get("VoxelGridMap:value_range"))
    lo, hi = (float(r[0][0]), float(r[0][1])) if r is not None and len(r) else (float(np.nanmin(v)), float(np.nanmax(v)))
    u = np.clip((v - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return unpack_colors(TURBO[np.nan_to_num(u * 255).astype(np.uint8)])


def visualize(la, tf, out) -> None:
    idx = la.get("VoxelGridMap:voxel_indices")
    size = values(la.get("VoxelGridMap:voxel_size"))
    if idx is None or size is None or not len(idx.values) or not len(size):
        return
    ijk = as_numpy(idx.values.flatten()).reshape(-1, 3).astype(float)
    vs = np.asarray(size[0], float)
    n = len(ijk)
    grid = own_pose(la, ARCHETYPE)
    col = voxel_colors(la, n)
    centers = (ijk + 0.5) * vs
    if n > EDGES_MAX:
        out.add_points(tf.apply(grid.apply(centers)), col, np.full(n, float(vs.min()) / 2))
        return
    pts = centers[:, None, :] + _CORNERS[None] * (vs / 2)  # (n, 8, 3)
    segs = pts[:, _EDGES].reshape(-1, 3)                   # (12n * 2, 3)
    out.add_segments(tf.apply(grid.apply(segs)).reshape(-1, 2, 3), np.repeat(col, 12, axis=0))
