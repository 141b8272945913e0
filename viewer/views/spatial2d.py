"""The 2D view: the first image-like entity of the view, pixel-exact at zoom 1 (y down, as images
are), with Points2D overlays and 2D primitives (Boxes2D, LineStrips2D, Arrows2D, Ellipses2D) in
pixel coordinates."""
from __future__ import annotations

import numpy as np

from ..images import image_rgba, overlays_2d, shapes_2d
from ..projection import camera_for, project_scene
from ..spatial import is_spatial
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
        self.shapes = scene.visuals.Line(np.zeros((2, 2), np.float32), parent=self.viewbox.scene,
                                         connect="segments", width=2)
        self.shapes.order = -1
        self.shapes.visible = False
        self.proj_lines = scene.visuals.Line(np.zeros((2, 2), np.float32), parent=self.viewbox.scene,
                                             connect="segments", width=2)
        self.proj_lines.order = -2
        self.proj_lines.visible = False
        self.proj_points = scene.visuals.Markers(pos=np.zeros((1, 2), np.float32), parent=self.viewbox.scene,
                                                 antialias=0)
        self.proj_points.order = -2
        self.proj_points.visible = False
        self.projected = None
        self.camera = None
        self.shape = None
        self.rgba = None
        self.canvas.events.resize.connect(lambda ev: self.fit())

    def fit(self) -> None:
        """Show the whole image, pixels square."""
        if self.rgba is not None:
            self.viewbox.camera.set_range(x=(0, self.rgba.shape[1]), y=(0, self.rgba.shape[0]), z=(-1, 1), margin=0)

    def update_at(self, timeline: str, t: int) -> None:
        rgba, problems, shown = None, {}, None
        for e in self.entities():
            try:
                rgba = image_rgba(self.win.store, e, timeline, t)
            except ValueError as err:
                problems[e] = str(err)
            if rgba is not None:
                shown = e
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
        segs, scol = shapes_2d(self.win.store, self.entities(), timeline, t)
        if len(segs):  # boxes, strips, arrows, ellipses over the image
            self.shapes.set_data((segs + 0.5).reshape(-1, 2), color=np.repeat(scol / 255.0, 2, axis=0))
        self.shapes.visible = bool(len(segs))
        self._project(shown, timeline, t, problems)
        self.set_problems(problems)
        self.drawn_time = t
        self.canvas.update()

    def _project(self, image_entity, timeline: str, t: int, problems: dict) -> None:
        """3D data over the image through its camera (the blueprint's ``project`` globs)."""
        self.projected = None
        self.camera = cam = None
        if image_entity is not None and self.view_spec.project:
            cam = camera_for(self.win.store, image_entity, timeline, t)
            if cam is None:
                problems[image_entity] = "no camera model (CameraInfo/Pinhole) for this image: nothing projected"
        if cam is not None:
            from ...model.entity_path import entity_glob
            st = self.win.store
            img = st.latest_at(image_entity, timeline, t)
            t_img = next((v.time for k, v in img.items() if k.split(":")[0] in ("Image", "EncodedImage", "DepthImage")
                          and v.time is not None), t)
            globs = [entity_glob(g) for g in self.view_spec.project]
            ents = [e for e in st.entities() if e not in (image_entity, cam.entity) and e not in self.win.hidden
                    and any(g.match(e) for g in globs) and is_spatial(st.columns(e))]
            self.camera = cam
            self.projected = pr = project_scene(st, ents, timeline, t_img, cam, self.win.graph())
            problems.update(pr.problems)
        pr = self.projected
        if pr is not None and len(pr.points):
            self.proj_points.set_data(pr.points + 0.5, face_color=pr.point_colors / 255.0, edge_width=0, size=3)
        self.proj_points.visible = pr is not None and bool(len(pr.points))
        if pr is not None and len(pr.lines):
            self.proj_lines.set_data((pr.lines + 0.5).reshape(-1, 2), color=np.repeat(pr.line_colors / 255.0, 2, axis=0))
        self.proj_lines.visible = pr is not None and bool(len(pr.lines))

    def reset_view(self) -> None:
        self.fit()
