"""The bar chart view (Rerun's BarChartView): the latest BarChart of its entities at the cursor,
one bar per value of its 1-D tensor, at its ``abscissa`` (default 0, 1, 2, ...) with its
``widths`` (default 1), in its colour; y axis from 0."""
from __future__ import annotations

import numpy as np

from ..tensors import tensor_array
from .base import CanvasView, scene
from .timeseries import PALETTE

__all__ = ["BarChartView", "bars"]


def bars(store, entity: str, timeline: str, t: int):
    """(x (n,), height (n,), width (n,), rgba (4,) float 0-1) of an entity's BarChart at ``t``,
    or None."""
    from ...model.components import as_numpy, unpack_colors
    la = store.latest_at(entity, timeline, t)
    vals = la.get("BarChart:values")
    if vals is None or not len(vals.values):
        return None
    y = tensor_array(vals.values[0]).reshape(-1).astype(float)
    ab = la.get("BarChart:abscissa")
    x = tensor_array(ab.values[0]).reshape(-1).astype(float) if ab is not None and len(ab.values) else np.arange(len(y), dtype=float)
    w = la.get("BarChart:widths")
    wd = as_numpy(w.values).astype(float) if w is not None and len(w.values) else np.ones(1)
    wd = np.resize(wd, len(y))
    c = la.get("BarChart:color")
    rgba = unpack_colors(as_numpy(c.values))[0] / 255.0 if c is not None and len(c.values) else np.append(PALETTE[0], 1.0)
    n = min(len(x), len(y))
    return x[:n], y[:n], wd[:n], rgba


class BarChartView(CanvasView):
    """``drawn``: entity → (x, height) of the bars drawn."""

    def __init__(self, view, window):
        super().__init__(view, window, scene.cameras.PanZoomCamera())
        self.mesh = scene.visuals.Mesh(parent=self.viewbox.scene)
        self.mesh.visible = False
        self.drawn: dict = {}

    def update_at(self, timeline: str, t: int) -> None:
        verts, faces, colors, self.drawn = [], [], [], {}
        for e in self.entities():
            b = bars(self.win.store, e, timeline, t)
            if b is None:
                continue
            x, y, w, rgba = b
            self.drawn[e] = (x, y)
            lo, hi = x - w * 0.4, x + w * 0.4
            y0 = np.zeros_like(y)
            quad = np.stack([np.c_[lo, np.minimum(y0, y)], np.c_[hi, np.minimum(y0, y)],
                             np.c_[hi, np.maximum(y0, y)], np.c_[lo, np.maximum(y0, y)]], axis=1)  # (n, 4, 2)
            base = sum(len(v) for v in verts)
            verts.append(quad.reshape(-1, 2))
            k = np.arange(len(x))[:, None] * 4 + base
            faces.append(np.concatenate([k + [0, 1, 2], k + [0, 2, 3]]))
            colors.append(np.tile(rgba, (2 * len(x), 1)))
        if verts:
            v = np.concatenate(verts).astype(np.float32)
            self.mesh.set_data(vertices=v, faces=np.concatenate(faces).astype(np.uint32),
                               face_colors=np.concatenate(colors).astype(np.float32))
            lo, hi = v.min(axis=0), v.max(axis=0)
            pad = (hi - lo) * 0.05 + 1e-6
            self.viewbox.camera.set_range(x=(lo[0] - pad[0], hi[0] + pad[0]), y=(min(lo[1], 0) - pad[1], hi[1] + pad[1]),
                                          margin=0)
        self.mesh.visible = bool(verts)
        self.drawn_time = t
        self.canvas.update()
