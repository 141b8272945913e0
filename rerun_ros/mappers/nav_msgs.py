"""nav_msgs OccupancyGrid and GridCells.

An OccupancyGrid becomes a textured quad (Mesh3D) on the grid's plane in its frame: the
corners are the grid origin pose applied to (0, 0), (W·res, 0), (W·res, H·res), (0, H·res) m,
the texture is the grid in the map colour scheme map_server uses for its images: free (0)
white, occupied (100) black, values in between grey, unknown (-1) grey 205. Cell (0, 0) is
at the origin corner (nav_msgs/MapMetaData).
"""
from __future__ import annotations

import numpy as np

from ..model import archetypes as A
from ..model.rotations import quat_rotate
from .base import MapContext, MappedRow, MappingError, xyz, xyzw
from .registry import register
from .rows import per_message


def map_palette() -> np.ndarray:
    """(256, 3) uint8 RGB for int8 occupancy values viewed as uint8 (-1 → 255)."""
    lut = np.full((256, 3), 205, np.uint8)
    occ = np.arange(101)
    grey = np.round(255 - occ * 255 / 100).astype(np.uint8)
    lut[:101] = grey[:, None]
    return lut


PALETTE = map_palette()


@register("nav_msgs/msg/OccupancyGrid", archetypes="Mesh3D (textured quad)")
@per_message
def occupancy_grid(msg, ctx: MapContext) -> list[MappedRow]:
    info = msg.info
    w, h, res = int(info.width), int(info.height), float(info.resolution)
    if w <= 0 or h <= 0 or not res > 0:
        raise MappingError(f"OccupancyGrid: empty or invalid grid {w}x{h} at resolution {res}")
    data = msg.data
    cells = np.frombuffer(data, dtype=np.int8) if isinstance(data, (bytes, bytearray, memoryview)) else \
        np.asarray(data, dtype=np.int8)
    if cells.size != w * h:
        raise MappingError(f"OccupancyGrid: {cells.size} cells for a {w}x{h} grid")
    tex = PALETTE[cells.view(np.uint8)].reshape(h, w, 3)
    p = np.array(xyz(info.origin.position))
    q = np.array(xyzw(info.origin.orientation), dtype=np.float64)
    n = np.linalg.norm(q)
    q = np.array([0.0, 0.0, 0.0, 1.0]) if n == 0 else q / n
    corners = np.array([[0, 0, 0], [w * res, 0, 0], [w * res, h * res, 0], [0, h * res, 0]], dtype=np.float64)
    verts = quat_rotate(q, corners) + p
    mesh = A.Mesh3D(verts, triangle_indices=[[0, 1, 2], [0, 2, 3]],
                    vertex_normals=np.repeat(quat_rotate(q, np.array([[0.0, 0.0, 1.0]])), 4, axis=0),
                    vertex_texcoords=[[0, 0], [1, 0], [1, 1], [0, 1]], albedo_texture=tex)
    return [MappedRow(ctx.entity, [mesh])]


@register("nav_msgs/msg/GridCells", archetypes="Boxes3D")
@per_message
def grid_cells(msg, ctx: MapContext) -> list[MappedRow]:
    pts = np.array([xyz(c) for c in msg.cells], dtype=np.float32).reshape(-1, 3)
    half = [float(msg.cell_width) / 2, float(msg.cell_height) / 2, 0.005]
    return [MappedRow(ctx.entity, [A.Boxes3D([half], centers=pts, fill_mode="Solid")])]
