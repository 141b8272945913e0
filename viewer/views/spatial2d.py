"""The 2D view: the first image-like entity of the view, pixel-exact at zoom 1 (y down, as images
are), with Points2D overlays in pixel coordinates."""
from __future__ import annotations

import numpy as np

from ..images import image_rgba, overlays_2d
from .base import CanvasView, scene

__all__ = ["Spatial2DView"]


class Spatial2DView(CanvasView):
    """Image, DepthImage, SegmentationImage or EncodedImage of the view's entities at the cursor."""

    def __init__(self, view, window):
        super().__init__(view, window, scene.cameras.PanZoomCamera(aspect=1, flip=(False, True)))
        self.image = scene.visuals.Image(np.zeros((2, 2, 4), np.uint8), parent=self.viewbox.scene,
                                         interpolation="nearest")
        self.overlay = scene.visuals.Markers(pos=np.zeros((1, 2), np.float32), parent=self.viewbox.scene, antialias=0)
        self.overlay.order = -1
        self.overlay.visible = False
        self.shape = None
        self.rgba = None
        self.canvas.events.resize.connect(lambda ev: self.fit())

    def fit(self) -> None:
        """Show the whole image, pixels square."""
        if self.rgba is not None:
            self.viewbox.camera.set_range(x=(0, self.rgba.shape[1]), y=(0, self.rgba.shape[0]), z=(-1, 1), margin=0)

    def update_at(self, timeline: str, t: int) -> None:
        rgba, problems = None, {}
        for e in self.entities():
            try:
                rgba = image_rgba(self.win.store, e, timeline, t)
            except ValueError as err:
                problems[e] = str(err)
            if rgba is not None:
                break
        self.rgba = rgba
        if rgba is not None:
            self.image.set_data(rgba)
            if rgba.shape[:2] != self.shape:  # fit a new image size (canvas resizes refit too)
                self.shape = rgba.shape[:2]
                self.fit()
        self.image.visible = rgba is not None
        pos, col = overlays_2d(self.win.store, self.entities(), timeline, t)
        if len(pos):  # pixel coordinates on the image (pixel centres at +0.5)
            self.overlay.set_data(pos + 0.5, face_color=col / 255.0, edge_width=0, size=6)
        self.overlay.visible = bool(len(pos))
        self.set_problems(problems)
        self.drawn_time = t
        self.canvas.update()

    def reset_view(self) -> None:
        self.fit()
