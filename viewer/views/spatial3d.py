"""The 3D view (rviz's 3D panel): the view's entities in its fixed frame on a ground grid, TF
frames as named axes, pose arrows, trails over the view's time range; the camera frames what is
visible and re-frames on "reset view"."""
from __future__ import annotations

import numpy as np

from .. import spatial as SP
from ..geometry import Geometry3D
from PyQt6 import QtCore, QtWidgets

from .base import CanvasView, scene

__all__ = ["Spatial3DView"]

DEFAULT_TRAIL_S = 30.0
#: above this many pixel-sized points, a sampled copy is drawn while the camera moves (level of detail)
LOD_POINTS = 100_000
LOD_IDLE_S = 0.3


class Spatial3DView(CanvasView):
    """Points, line strips, arrows, boxes, meshes, frame axes with names and trails, in the view's
    fixed frame (the blueprint's, else the window's, else the TF root most data resolves to)."""

    def __init__(self, view, window):
        super().__init__(view, window, scene.cameras.TurntableCamera(fov=45, distance=10, up="+z"))
        vs = self.viewbox.scene
        # visuals start with placeholder data: VisPy fails drawing or bounding empty ones
        self.grid = scene.visuals.Line(np.zeros((2, 3), np.float32), parent=vs, connect="segments",
                                       color=(0.3, 0.3, 0.35, 1.0))
        self.markers = scene.visuals.Markers(parent=vs, antialias=0)  # fixed pixel size
        self.markers_lod = scene.visuals.Markers(pos=np.zeros((1, 3), np.float32), parent=vs, antialias=0)
        self.markers_lod.visible = False
        self.lod_active = False
        self._lod_n = (0, 0)
        self._aiming = False
        self.world_markers = scene.visuals.Markers(pos=np.zeros((1, 3), np.float32), parent=vs, antialias=0,
                                                   scaling="scene")
        self.world_markers.visible = False
        self.mesh = scene.visuals.Mesh(vertices=np.zeros((3, 3), np.float32), faces=np.array([[0, 1, 2]], np.uint32),
                                       parent=vs, shading=None)
        self.mesh.visible = False
        self.lines = scene.visuals.Line(parent=vs, connect="segments", width=2)
        self.trails = scene.visuals.Line(parent=vs, connect="segments", width=3)
        self.axes = scene.visuals.Line(parent=vs, connect="segments", width=3)
        self.labels = scene.visuals.Text(["."], pos=np.zeros((1, 3), np.float32), parent=vs, color="#e8e8e8",
                                         font_manager=self.fonts, font_size=8, anchor_x="left", anchor_y="bottom")
        self.labels.visible = False
        self._framed = False
        self._grid_step = None
        self._scene_size: float | None = None
        self._box = None
        self._user_moved = False
        self.canvas.events.resize.connect(self._resized)
        self.canvas.events.mouse_press.connect(self._moved)
        self.canvas.events.mouse_wheel.connect(self._moved)
        self.geometry = Geometry3D()
        # rviz's tools (live robots only): a click (and drag for the heading) on the ground plane
        self.tool = None
        self._press_at = None
        self.tool_buttons = {}
        for key, label in (("pose_estimate", "2D Pose Estimate"), ("goal_pose", "2D Goal Pose"),
                           ("publish_point", "Publish Point")):
            b = QtWidgets.QToolButton()
            b.setText(label)
            b.setCheckable(True)
            b.setToolTip("click (and drag for the heading) on the ground plane of the fixed frame; "
                         "needs a live robot and ROS 2 here")
            b.toggled.connect(lambda on, key=key: self.set_tool(key if on else None))
            b.setVisible(False)
            self.header.addWidget(b)
            self.tool_buttons[key] = b
        self.header.addStretch(1)
        self.canvas.events.mouse_release.connect(self._released)
        self._lod_timer = QtCore.QTimer(self)
        self._lod_timer.setSingleShot(True)
        self._lod_timer.timeout.connect(lambda: self._set_lod(False))
        self._pose = self._camera_pose()
        self.viewbox.camera.transform.changed.connect(self._camera_changed)

    def _camera_changed(self, _ev=None) -> None:
        """While the user moves the camera, draw the sampled points if the cloud is over the budget
        (the view's own framing and re-aiming on resize are single jumps: no sample for those)."""
        pose = self._camera_pose()
        moved, self._pose = pose != self._pose, pose
        if moved and self._lod_n[0] > LOD_POINTS and not self._aiming:
            self._set_lod(True)
            self._lod_timer.start(int(LOD_IDLE_S * 1000))

    def _camera_pose(self) -> tuple:
        """Where the camera looks from (a canvas resize changes the projection, not this)."""
        c = self.viewbox.camera
        return (tuple(np.round(c.center, 9)), round(float(c.distance or 0), 9), round(float(c.azimuth), 9),
                round(float(c.elevation), 9), round(float(c.roll), 9), float(c.fov))

    def _show_lod_status(self) -> None:
        """The status line says when the view draws a sample of the points (while the camera moves)."""
        base = getattr(self, "_base_status", "")
        lod = (f"level of detail: {self._lod_n[1]:,} of {self._lod_n[0]:,} points while the camera moves"
               if self.lod_active and self._lod_n[0] > LOD_POINTS else "")
        self.status.setText(" · ".join(x for x in (base, lod) if x))

    def full_detail(self) -> None:
        """Draw every point now (the camera has stopped: screenshots)."""
        self._lod_timer.stop()
        self._set_lod(False)

    def _set_lod(self, on: bool) -> None:
        on = on and self._lod_n[0] > LOD_POINTS
        if on == self.lod_active:
            return
        self.lod_active = on
        self.markers.visible = not on and self._lod_n[0] > 0
        self.markers_lod.visible = on
        self._show_lod_status()
        self.canvas.update()

    def enable_tools(self, on: bool = True) -> None:
        """Show the tool buttons (the window does when it follows a live stream and ROS is here)."""
        for b in self.tool_buttons.values():
            b.setVisible(on)

    def set_tool(self, tool: str | None) -> None:
        """Activate a tool (``pose_estimate``, ``goal_pose``, ``publish_point``) or None; while one is
        active, mouse presses on the canvas are the tool's, not the camera's."""
        self.tool = tool
        for k, b in self.tool_buttons.items():
            b.blockSignals(True)
            b.setChecked(k == tool)
            b.blockSignals(False)
        self.viewbox.camera.interactive = tool is None

    def ground_point(self, px: float, py: float) -> np.ndarray | None:
        """Where the ray through canvas pixel (px, py) meets the fixed frame's z = 0 plane (m), or None."""
        tr = self.canvas.scene.node_transform(self.viewbox.scene)
        a, b = tr.map([px, py, 0, 1]), tr.map([px, py, 1, 1])
        a, b = a[:3] / a[3], b[:3] / b[3]
        d = b - a
        if abs(d[2]) < 1e-12:
            return None
        s = -a[2] / d[2]
        return a + s * d

    def pixel_of(self, p) -> tuple[float, float]:
        """The canvas pixel where a fixed-frame point (m) is drawn."""
        q = self.viewbox.scene.node_transform(self.canvas.scene).map(np.append(np.asarray(p, float), 1.0))
        return float(q[0] / q[3]), float(q[1] / q[3])

    def apply_tool(self, press_px, release_px):
        """Carry out the active tool for a press at ``press_px`` and a release at ``release_px``
        (canvas pixels): the pose at the press, heading toward the release. Returns the message
        published, or None (no tool, no ground under the cursor, ROS unavailable)."""
        if self.tool is None or not self.fixed_frame:
            return None
        p0 = self.ground_point(*press_px)
        p1 = self.ground_point(*release_px)
        if p0 is None:
            return None
        yaw = 0.0 if p1 is None or np.hypot(*(p1 - p0)[:2]) < 1e-6 else float(np.arctan2(*(p1 - p0)[1::-1]))
        tools = self.win.ros_tools()
        if tools is None:
            return None
        if self.tool == "publish_point":
            msg = tools.publish_point(self.fixed_frame, *p0)
        else:
            msg = getattr(tools, self.tool)(self.fixed_frame, p0[0], p0[1], yaw)
        self.win.status(f"published {self.tool.replace('_', ' ')} in {self.fixed_frame} at "
                        f"({p0[0]:.2f}, {p0[1]:.2f}) m, yaw {np.degrees(yaw):.0f}°")
        return msg

    def _moved(self, ev) -> None:
        self._user_moved = True
        if self.tool is not None and getattr(ev, "pos", None) is not None and ev.type == "mouse_press":
            self._press_at = tuple(ev.pos[:2])

    def _released(self, ev) -> None:
        if self.tool is not None and self._press_at is not None and ev.pos is not None:
            self.apply_tool(self._press_at, tuple(ev.pos[:2]))
            self._press_at = None

    @property
    def fixed_frame(self) -> str | None:
        return self.view_spec.fixed_frame or self.win.fixed_frame

    def update_at(self, timeline: str, t: int) -> None:
        trail = self.view_spec.time_range if self.view_spec.time_range is not None else DEFAULT_TRAIL_S
        # frame axes sized to the framed scene (4 %), so that they stay visible as data comes and goes
        axis = None if self._scene_size is None else float(np.clip(0.04 * self._scene_size, 0.1, 5.0))
        self.geometry = geo = SP.scene_3d(self.win.store, self.entities(), timeline, t, self.fixed_frame,
                                          self.win.graph(), axis_length=axis, trail_ns=int(trail * 1e9))
        self._draw_points(geo)
        if len(geo.mesh_faces):
            self.mesh.set_data(vertices=geo.mesh_vertices, faces=geo.mesh_faces, vertex_colors=geo.mesh_colors / 255.0)
        self.mesh.visible = bool(len(geo.mesh_faces))
        self._set_lines(self.lines, geo.lines, geo.line_colors)
        self._set_lines(self.trails, geo.trails, geo.trail_colors)
        if len(geo.axes):
            a = geo.axes
            segs = np.stack([np.repeat(a[:, :1], 3, axis=1), a[:, 1:]], axis=2).reshape(-1, 3)
            cols = np.tile(np.repeat(np.eye(3, 4) + [0, 0, 0, 1], 2, axis=0), (len(a), 1))
            self.axes.set_data(segs, color=cols)
            self.labels.text = list(geo.axis_names)
            self.labels.pos = a[:, 0]
        self.axes.visible = self.labels.visible = bool(len(geo.axes))
        if not self._framed:
            self._frame(geo)
        ff = self.fixed_frame
        self.title.setText(f"<b>{self.view_spec.name}</b>  <span style='color:#888'>(spatial3d · fixed frame "
                           f"{ff or 'none'} · {len(geo.axis_names)} frames)</span>")
        self.set_problems(geo.problems)
        self._base_status = self.status.text()
        self._show_lod_status()
        self.drawn_time = t
        self.canvas.update()

    def _draw_points(self, geo) -> None:
        world = np.isfinite(geo.point_radii) & (geo.point_radii > 0) if len(geo.points) else np.zeros(0, bool)
        fixed = ~world
        n = int(fixed.sum())
        if n:
            r = geo.point_radii[fixed]
            px = np.where(np.isfinite(r) & (r < 0), -2 * r, 4.0)  # negative radii: ui points (Rerun)
            pts, cols = geo.points[fixed], geo.point_colors[fixed] / 255.0
            self.markers.set_data(pts, face_color=cols, edge_width=0, size=px)
            if n > LOD_POINTS:  # every k-th point: the shape stays, the upload is done once per frame of data
                idx = np.linspace(0, n - 1, LOD_POINTS).astype(np.int64)
                self.markers_lod.set_data(pts[idx], face_color=cols[idx], edge_width=0, size=px[idx] * 1.5)
        self._lod_n = (n, min(n, LOD_POINTS))
        self.markers.visible = bool(n) and not (self.lod_active and n > LOD_POINTS)
        self.markers_lod.visible = self.lod_active and n > LOD_POINTS
        if world.any():
            self.world_markers.set_data(geo.points[world], face_color=geo.point_colors[world] / 255.0, edge_width=0,
                                        size=2 * geo.point_radii[world])
        self.world_markers.visible = bool(world.any())

    @staticmethod
    def _set_lines(visual, segs, cols) -> None:
        if len(segs):
            visual.set_data(segs.reshape(-1, 3), color=np.repeat(cols / 255.0, 2, axis=0))
        visual.visible = bool(len(segs))

    def _frame(self, geo) -> None:
        """Point the camera at what is drawn (2-98 % of it, with the fixed frame's origin) and lay a
        ground grid under it with a round step (1, 2 or 5 × 10^k m)."""
        pts = geo.extent_points()
        if not len(pts):
            self._set_grid(np.zeros(3), 10.0)
            return
        pts = np.concatenate([pts, np.zeros((1, 3))])
        lo, hi = np.percentile(pts, 2, axis=0), np.percentile(pts, 98, axis=0)
        size = float(max(np.linalg.norm(hi - lo), 1.0))
        self._scene_size = size
        self._box = (lo, hi)
        self._user_moved = False
        self._aim()
        self._set_grid((lo + hi) / 2, size)
        self._framed = True

    def _aim(self) -> None:
        """Camera on the framed box: centred, far enough to see all of it across the canvas'
        narrower side (re-aimed when the canvas is resized, until the user moves the camera)."""
        if self._box is None:
            return
        lo, hi = self._box
        w, h = self.canvas.size
        aspect = min(w / max(h, 1), 1.0)  # a narrow canvas sees less sideways
        cam = self.viewbox.camera
        self._aiming = True
        try:
            cam.center = tuple((lo + hi) / 2)
            cam.distance = 1.1 * (self._scene_size / 2) / (np.tan(np.radians(cam.fov / 2)) * aspect)
        finally:
            self._aiming = False

    def _resized(self, _ev) -> None:
        if not self._user_moved:
            self._aim()

    def _set_grid(self, center, size: float) -> None:
        raw = size / 10
        k = 10 ** np.floor(np.log10(raw))
        step = float(next(m * k for m in (1, 2, 5, 10) if m * k >= raw))
        n = 12
        c = np.round(np.asarray(center[:2]) / step) * step
        g = np.arange(-n, n + 1) * step
        segs = [[[c[0] + x, c[1] - n * step, 0], [c[0] + x, c[1] + n * step, 0]] for x in g]
        segs += [[[c[0] - n * step, c[1] + y, 0], [c[0] + n * step, c[1] + y, 0]] for y in g]
        self.grid.set_data(np.array(segs, np.float32).reshape(-1, 3))
        self._grid_step = step

    def reset_view(self) -> None:
        self._framed = False
        self._scene_size = None
