"""One visualizer per archetype (as Rerun's ``re_view_spatial/visualizers``): each module has
``ARCHETYPE`` and ``visualize(la, tf, out)`` — ``la`` the entity's latest-at components at the
cursor (``{"Archetype:field": LatestAt}``), ``tf`` the :class:`~rerun_ros.query.frames.Transform`
from the entity's frame into the view's fixed frame, ``out`` the
:class:`~rerun_ros.viewer.geometry.SceneBuilder` it appends to. :data:`VISUALIZERS_3D` is the one
registry the 3D view walks."""
from __future__ import annotations

from . import (arrows3d, boxes3d, capsules3d, cylinders3d, ellipsoids3d, line_strips3d, mesh3d, pinhole, points3d,
               grid_map3d, transform_axes3d, voxel_grid_map3d)

__all__ = ["VISUALIZERS_3D", "SPATIAL_ARCHETYPES"]

VISUALIZERS_3D = {m.ARCHETYPE: m.visualize for m in (points3d, line_strips3d, arrows3d, boxes3d, ellipsoids3d,
                                                      cylinders3d, capsules3d, transform_axes3d, voxel_grid_map3d, grid_map3d,
                                                      pinhole, mesh3d)}
#: archetypes a 3D view shows (the visualizers', plus TF's Transform3D drawn as frame axes)
SPATIAL_ARCHETYPES = frozenset(VISUALIZERS_3D) | {"Transform3D"}
