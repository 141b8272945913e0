"""GridMap: a 2D raster (occupancy maps, costmaps) lying on the x-y plane of the entity's frame:
cell (column c, row r) spans ``[c, c + 1) x [r, r + 1)`` times ``cell_size`` m from the grid's
origin, which ``translation`` and ``quaternion``/``rotation_axis_angle`` place (Rerun 0.41's
convention; row 0 at y = 0, as ``nav_msgs/OccupancyGrid``). One-channel data is coloured by the
colormap: ``RvizMap`` the map_server scheme (0 free white, 100 occupied black, -1 unknown grey),
``RvizCostmap``/``Costmap`` a cost ramp, others Turbo, none grey; RGB(A) data as it is. Drawn as
coloured cells, at most :data:`CELLS_MAX` per side (larger maps are sampled)."""
from __future__ import annotations

import numpy as np

from ...model.components import CHANNEL_DATATYPE_NUMPY, as_numpy
from ..geometry import values
from ._quadrics import own_pose

ARCHETYPE = "GridMap"
CELLS_MAX = 128
_COLORMAP_RVIZ_MAP, _COLORMAP_RVIZ_COSTMAP, _COLORMAP_COSTMAP = 10, 11, 12


def _cost_ramp(v: np.ndarray) -> np.ndarray:
    """Costmap colours for int8 costs viewed as uint8: 0 free (transparent-ish dark), 1-98 blue to
    red, 99 inscribed cyan, 100 lethal magenta, unknown (255) dark grey (rviz's costmap scheme)."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:] = (60, 60, 60)
    ramp = np.linspace(0, 1, 98)
    lut[1:99] = np.stack([ramp * 255, np.zeros_like(ramp), (1 - ramp) * 255], 1).astype(np.uint8)
    lut[0] = (20, 20, 20)
    lut[99] = (0, 255, 255)
    lut[100] = (255, 0, 255)
    return lut[v]


def grid_rgb(la) -> np.ndarray | None:
    """The grid as (H, W, 3) uint8 RGB (row 0 first), or None."""
    data, fmt = la.get("GridMap:data"), la.get("GridMap:format")
    if data is None or fmt is None or not len(data.values) or not len(fmt.values):
        return None
    f = fmt.values.to_pylist()[0]
    w, h = int(f["width"]), int(f["height"])
    dt = np.dtype(CHANNEL_DATATYPE_NUMPY.get(f.get("channel_datatype") or 6, np.uint8))
    raw = as_numpy(data.values[0].values).view(dt)
    ch = {1: 1, 2: 3, 3: 4}.get(f.get("color_model") or 1, 1)
    if raw.size != w * h * ch or w == 0 or h == 0:
        return None
    px = raw.reshape(h, w, ch)
    if ch >= 3:
        return px[..., :3].astype(np.uint8)
    v = px[..., 0]
    cm = la.get("GridMap:colormap")
    cmap = int(as_numpy(cm.values)[0]) if cm is not None and len(cm.values) else None
    if cmap == _COLORMAP_RVIZ_MAP:
        from ...mappers.nav_msgs import PALETTE
        return PALETTE[v.astype(np.int64).astype(np.uint8)]
    if cmap in (_COLORMAP_RVIZ_COSTMAP, _COLORMAP_COSTMAP):
        return _cost_ramp(v.astype(np.int64).astype(np.uint8))
    u = v.astype(np.float64)
    lo, hi = float(u.min()), float(u.max())
    u = (u - lo) / (hi - lo if hi > lo else 1.0)
    if cmap is None:
        g = np.round(u * 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    from ...mappers.pointcloud import TURBO
    from ...model.components import unpack_colors
    return unpack_colors(TURBO[np.round(u * 255).astype(np.uint8).reshape(-1)])[:, :3].reshape(h, w, 3)


def visualize(la, tf, out) -> None:
    rgb = grid_rgb(la)
    cs = values(la.get("GridMap:cell_size"))
    if rgb is None or cs is None or not len(cs) or not cs[0] > 0:
        return
    h, w = rgb.shape[:2]
    sy, sx = max(1, -(-h // CELLS_MAX)), max(1, -(-w // CELLS_MAX))
    rgb = rgb[::sy, ::sx]
    hh, ww = rgb.shape[:2]
    size = float(cs[0])
    c, r = np.meshgrid(np.arange(ww), np.arange(hh))
    x0, y0 = (c * sx * size).reshape(-1), (r * sy * size).reshape(-1)
    x1, y1 = np.minimum((c + 1) * sx, w).reshape(-1) * size, np.minimum((r + 1) * sy, h).reshape(-1) * size
    z = np.zeros_like(x0, dtype=float)
    quad = np.stack([np.c_[x0, y0, z], np.c_[x1, y0, z], np.c_[x1, y1, z], np.c_[x0, y1, z]], axis=1)  # (n, 4, 3)
    pose = own_pose(la, ARCHETYPE)
    verts = tf.apply(pose.apply(quad.reshape(-1, 3)))
    k = np.arange(len(quad))[:, None] * 4
    faces = np.concatenate([k + [0, 1, 2], k + [0, 2, 3]])
    cols = np.concatenate([np.repeat(rgb.reshape(-1, 3), 4, axis=0), np.full((len(verts), 1), 255, np.uint8)], axis=1)
    out.add_mesh(verts, faces, cols)
