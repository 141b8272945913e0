"""A point cloud visual for the 3D view: fixed-size square points (GL points) with one colour and
one size in pixels each, and nothing else — no edge, no antialiasing, no per-fragment symbol
shape. VisPy's ``Markers`` computes a symbol's distance field and an edge for every fragment;
on a software renderer (Mesa llvmpipe: no GPU) that made a 30k-point lidar scan cost ~13 ms a
draw. At the 2-6 px a cloud is drawn with, a square is what a disc is (rviz's "Points" style
draws squares too)."""
from __future__ import annotations

import numpy as np
from vispy import gloo, scene
from vispy.visuals import Visual

__all__ = ["PointCloud"]

_VERT = """
attribute vec3 a_position;
attribute vec4 a_color;
attribute float a_size;
varying vec4 v_color;
void main() {
    gl_Position = $transform(vec4(a_position, 1.0));
    gl_PointSize = a_size;
    v_color = a_color;
}
"""

_FRAG = """
varying vec4 v_color;
void main() {
    gl_FragColor = v_color;
}
"""


class PointCloudVisual(Visual):
    """``set_data(pos (n, 3) float, color (n, 4) float 0-1, size (n,) px)``."""

    def __init__(self):
        Visual.__init__(self, vcode=_VERT, fcode=_FRAG)
        self._draw_mode = "points"
        self.set_gl_state("opaque", depth_test=True, blend=False)
        self._vbo = None
        self.n = 0
        self.set_data(np.zeros((1, 3), np.float32), np.zeros((1, 4), np.float32), np.ones(1, np.float32))

    def set_data(self, pos, color, size) -> None:
        """Upload ``pos`` (n, 3) m, ``color`` (n, 4) floats 0-1 (or one (4,)), ``size`` (n,) or one px."""
        pos = np.asarray(pos, np.float32).reshape(-1, 3)
        n = len(pos)
        col = np.broadcast_to(np.asarray(color, np.float32), (n, 4))
        sz = np.broadcast_to(np.asarray(size, np.float32), (n,))
        data = np.empty(n, [("a_position", np.float32, 3), ("a_color", np.float32, 4), ("a_size", np.float32)])
        data["a_position"] = pos
        data["a_color"] = col
        data["a_size"] = sz
        if self._vbo is None:
            self._vbo = gloo.VertexBuffer(data)
        else:
            self._vbo.set_data(data)
        self.shared_program.bind(self._vbo)
        self.n = n
        self.update()

    def _prepare_transforms(self, view):
        view.view_program.vert["transform"] = view.get_transform()

    def _prepare_draw(self, view):
        return self.n > 0

    def _compute_bounds(self, axis, view):
        return None


PointCloud = scene.visuals.create_visual_node(PointCloudVisual)
