"""The 3D view (rviz's 3D panel): the view's entities in its fixed frame on a ground grid, TF
frames as named axes, pose arrows, trails over the view's time range.

The camera orbits a *target frame* and moves with it (rviz's orbit view "Target Frame"): by
default the robot's base frame (:func:`rerun_ros.viewer.spatial.default_target_frame`), so the
robot stays in view as it drives; "reset view" frames the target and what is near it. Frame
names and labels are drawn only where they do not overlap (:mod:`rerun_ros.viewer.labels`);
the others show on hover."""
from __future__ import annotations

import math

import numpy as np

from ...query.frames import FrameGraphError
from .. import spatial as SP
from ..geometry import Geometry3D
from ..labels import place_labels, text_widths
from PyQt6 import QtCore, QtWidgets

from .base import CanvasView, scene
from .points import PointCloud

__all__ = ["Spatial3DView", "camera_angles", "camera_eye"]

#: text size of frame names and labels (points)
LABEL_PT = 8
#: the smallest radius (m) framed around a followed target
FOLLOW_RADIUS_MIN = 2.0
#: the hover label shows the name of a frame or label within this many pixels of the cursor
HOVER_PX = 12.0
_DIMS = {"+z": ((0, 0, 1), (0, 1, 0)), "-z": ((0, 0, -1), (0, 1, 0)), "+y": ((0, 1, 0), (1, 0, 0)),
         "-y": ((0, -1, 0), (1, 0, 0)), "+x": ((1, 0, 0), (0, 0, 1)), "-x": ((-1, 0, 0), (0, 0, 1))}


def _dims(up: str):
    u, f = (np.array(v, float) for v in _DIMS[up])
    return u, f, np.cross(f, u)


def camera_eye(center, distance: float, azimuth: float, elevation: float, up: str = "+z") -> np.ndarray:
    """Where VisPy's turntable camera is (m) for its ``center``, ``distance`` (m) and angles
    (degrees): the camera looks along its forward axis when both angles are 0, the elevation
    turns it about its right axis, the azimuth about ``up``."""
    u, f, r = _dims(up)
    az, el = math.radians(azimuth), math.radians(elevation)
    d = distance * (math.cos(el) * (math.sin(az) * r - math.cos(az) * f) + math.sin(el) * u)
    return np.asarray(center, float) + d


def camera_angles(eye, look_at, up: str = "+z") -> tuple[float, float, float]:
    """(distance m, azimuth deg, elevation deg) of a turntable camera at ``eye`` looking at
    ``look_at`` (the inverse of :func:`camera_eye`)."""
    u, f, r = _dims(up)
    d = np.asarray(eye, float) - np.asarray(look_at, float)
    dist = float(np.linalg.norm(d))
    if dist <= 0:
        raise ValueError("camera eye and look_at are the same point")
    el = math.degrees(math.asin(float(np.clip(np.dot(d, u) / dist, -1, 1))))
    az = math.degrees(math.atan2(float(np.dot(d, r)), float(np.dot(d, -f))))
    return dist, az, el

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
        self.markers = PointCloud(parent=vs)  # fixed pixel size
        self.markers_lod = PointCloud(parent=vs)
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
                                         font_manager=self.fonts, font_size=LABEL_PT, anchor_x="left", anchor_y="bottom")
        self.labels.visible = False
        self.hover_label = scene.visuals.Text(["."], pos=np.zeros((1, 3), np.float32), parent=vs, color="#ffe080",
                                              font_manager=self.fonts, font_size=LABEL_PT, anchor_x="left",
                                              anchor_y="bottom")
        self.hover_label.visible = False
        self.hover_label.order = 10
        # label candidates of the drawn frame: names, positions (n, 3), colours (n, 4) float, the
        # placement order; what was placed: names, their pixel boxes
        self._cands = ([], np.zeros((0, 3)), np.zeros((0, 4)), [])
        self._sizes = np.zeros((0, 2))
        self.placed_labels: list[str] = []
        self.label_boxes = np.zeros((0, 4))
        self.hovered: str | None = None
        self._anchor: np.ndarray | None = None  # where the target frame was at the last draw
        self.follow = True
        self._camera_applied = False
        self._default_target = (None, None)
        self._framed = False
        self._grid_step = None
        self._grid_center = np.zeros(2)
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
        self.menu_btn = QtWidgets.QToolButton()
        self.menu_btn.setText("view ▾")
        self.menu_btn.setToolTip("target frame, fixed frame, frame names, camera")
        self.menu_btn.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QtWidgets.QMenu(self.menu_btn)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.menu_btn.setMenu(self.menu)
        self.header.addWidget(self.menu_btn)
        self.canvas.events.mouse_release.connect(self._released)
        self.canvas.events.mouse_move.connect(self._hover)
        # labels are placed for the projection they are drawn with: checked before every draw
        self._placed_key = None
        self.canvas.events.draw.connect(self._before_draw, position="first")
        self._lod_timer = QtCore.QTimer(self)
        self._lod_timer.setSingleShot(True)
        self._lod_timer.timeout.connect(lambda: self._set_lod(False))
        self._pose = self._camera_pose()
        self.viewbox.camera.transform.changed.connect(self._camera_changed)

    def _camera_changed(self, _ev=None) -> None:
        """While the user moves the camera, draw the sampled points if the cloud is over the budget
        (the view's own framing and re-aiming on resize are single jumps: no sample for those);
        labels are placed again for the new projection."""
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

    @property
    def target_frame(self) -> str | None:
        """The frame the camera orbits and follows: the blueprint's, else the window's
        (``--target-frame``), else the robot's base frame found in TF, else the fixed frame."""
        given = self.view_spec.target_frame or getattr(self.win, "target_frame", None)
        if given:
            return given
        key = (self.win.store.generation, self.win.timeline, self.fixed_frame)
        if self._default_target[0] != key:
            self._default_target = (key, SP.default_target_frame(self.win.store, self.win.timeline, self.fixed_frame,
                                                                 self.win.graph()))
        return self._default_target[1]

    def set_target_frame(self, frame: str | None) -> None:
        """Follow ``frame`` (None: the default) and frame it."""
        self.view_spec.target_frame = frame or None
        self.reset_view()
        self.update_at(self.win.timeline, self.win.t)

    @property
    def follow_entity(self) -> str | None:
        """With no robot frame in TF (the target is the fixed frame and no view or window names
        one), the pose topic the camera follows instead (:func:`~rerun_ros.viewer.spatial.default_follow_entity`)."""
        if self.view_spec.target_frame or getattr(self.win, "target_frame", None) or self.target_frame != self.fixed_frame:
            return None
        key = (self.win.store.generation, self.win.timeline, self.fixed_frame)
        if getattr(self, "_follow_key", None) != key:
            self._follow_key = key
            self._follow = SP.default_follow_entity(self.win.store, self.win.timeline, self.fixed_frame)
        return self._follow

    def target_position(self, t: int) -> np.ndarray | None:
        """(3,) m: the target frame's origin in the fixed frame at ``t`` (or the followed pose
        topic's position); None if TF cannot say."""
        tf, ff = self.target_frame, self.fixed_frame
        if not tf or not ff:
            return None
        if tf == ff:
            ent = self.follow_entity
            if ent is not None:
                p = SP.entity_position(self.win.store, ent, self.win.timeline, t)
                if p is not None:
                    return p
            return np.zeros(3)
        g = self.win.graph()
        if tf not in g.frames() or ff not in g.frames():
            return None
        try:
            return np.asarray(g.lookup(ff, tf, t).translation, float)
        except FrameGraphError:
            return None

    def update_at(self, timeline: str, t: int) -> None:
        trail = self.view_spec.time_range if self.view_spec.time_range is not None else DEFAULT_TRAIL_S
        # frame axes sized to the framed scene (4 %), so that they stay visible as data comes and goes
        axis = None if self._scene_size is None else float(np.clip(0.04 * self._scene_size, 0.05, 5.0))
        self.geometry = geo = SP.scene_3d(self.win.store, self.entities(), timeline, t, self.fixed_frame,
                                          self.win.graph(), axis_length=axis, trail_ns=int(trail * 1e9),
                                          hidden_frames=self.win.hidden_frames,
                                          tints=getattr(self.win, "frame_tints", None))
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
        self.axes.visible = bool(len(geo.axes))
        pos = self.target_position(t)
        if not self._framed:
            self._frame(geo, pos)
        elif pos is not None and self._anchor is not None and self.follow:
            self._shift(pos - self._anchor)
        if pos is not None:
            self._anchor = pos
        self._set_label_candidates(geo)
        self._place_labels()
        ff, tg = self.fixed_frame, self.target_frame
        tg = tg if tg != ff else self.follow_entity
        follow = f" · following {tg}" if tg and tg != ff and self.follow else ""
        self.title.setText(f"<b>{self.view_spec.name}</b>  <span style='color:#888'>(spatial3d · fixed frame "
                           f"{ff or 'none'}{follow} · {len(geo.axis_names)} frames)</span>")
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
            self.markers.set_data(pts, cols, px)
            if n > LOD_POINTS:  # every k-th point: the shape stays, the upload is done once per frame of data
                idx = np.linspace(0, n - 1, LOD_POINTS).astype(np.int64)
                self.markers_lod.set_data(pts[idx], cols[idx], px[idx] * 1.5)
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

    def _frame(self, geo, target: np.ndarray | None = None) -> None:
        """Point the camera: at the blueprint's saved camera (the first time), else at the target
        frame and what is near it (3/4 of what is drawn now, trails aside, lies within the framed
        radius around it, at least 2 m), else at what is drawn (2-98 % of it, with the fixed frame's origin);
        lay a ground grid under it with a round step (1, 2 or 5 × 10^k m)."""
        pts = geo.extent_points()
        follow = target is not None and (self.target_frame != self.fixed_frame or self.follow_entity is not None)
        if self.view_spec.camera and not self._camera_applied:
            self._camera_applied = True
            at = target if target is not None else np.zeros(3)
            self.apply_camera(self.view_spec.camera, at)
            d = float(self.viewbox.camera.distance or 10.0)
            self._scene_size = d / 2.66
            self._set_grid(np.asarray(self.viewbox.camera.center, float), 2 * self._scene_size)
            self._box = None
            self._framed = True
            return
        if not len(pts) and not follow:
            self._set_grid(np.zeros(3), 10.0)
            return
        if follow:
            # what is near now (not the trails: where the robot was): 3/4 of it within the radius
            now = geo.extent_points(trails=False)
            allp = np.concatenate([now, target[None]]) if len(now) else target[None]
            lo_all, hi_all = np.percentile(allp, 2, axis=0), np.percentile(allp, 98, axis=0)
            r = float(np.percentile(np.linalg.norm(allp - target, axis=1), 75))
            r = float(np.clip(r, FOLLOW_RADIUS_MIN, max(np.linalg.norm(hi_all - lo_all), FOLLOW_RADIUS_MIN)))
            lo, hi = target - r, target + r
            size = 2 * r
        else:
            pts = np.concatenate([pts, np.zeros((1, 3))])
            lo, hi = np.percentile(pts, 2, axis=0), np.percentile(pts, 98, axis=0)
            size = float(max(np.linalg.norm(hi - lo), 1.0))
        self._scene_size = size
        self._box = (lo, hi)
        self._user_moved = False
        self._aim()
        self._set_grid((lo + hi) / 2, size)
        self._framed = True

    def _shift(self, d: np.ndarray) -> None:
        """Move the camera (and the framed box) by ``d`` m with the target; the grid is laid again
        under the target when it has moved a third of the way to the grid's edge."""
        if not np.isfinite(d).all() or not d.any():
            return
        cam = self.viewbox.camera
        self._aiming = True
        try:
            cam.center = tuple(np.asarray(cam.center, float) + d)
        finally:
            self._aiming = False
        if self._box is not None:
            self._box = (self._box[0] + d, self._box[1] + d)
        c = np.asarray(cam.center, float)
        if self._grid_step and np.abs(c[:2] - self._grid_center[:2]).max() > 4 * self._grid_step:
            self._set_grid(c, 10 * self._grid_step)

    def apply_camera(self, cam: dict, at: np.ndarray) -> None:
        """Place the camera as a blueprint's ``camera`` says: ``eye`` and ``look_at`` in m from
        ``at`` (the target frame's origin) along the fixed frame's axes, ``up``, ``fov`` degrees."""
        c = self.viewbox.camera
        up = cam.get("up", "+z")
        look = np.asarray(at, float) + np.asarray(cam.get("look_at", (0, 0, 0)), float)
        eye = np.asarray(at, float) + np.asarray(cam["eye"], float)
        dist, az, el = camera_angles(eye, look, up)
        self._aiming = True
        try:
            c.up = up
            c.fov = float(cam.get("fov", 45.0))
            c.center = tuple(look)
            c.distance = dist
            c.azimuth, c.elevation = az, el
            c.view_changed()
        finally:
            self._aiming = False
        self._user_moved = True  # kept as given when the canvas is resized

    def camera_spec(self) -> dict:
        """The camera as a blueprint ``camera`` mapping, relative to the target frame now."""
        c = self.viewbox.camera
        at = self._anchor if self._anchor is not None else np.zeros(3)
        center = np.asarray(c.center, float)
        eye = camera_eye(center, float(c.distance or 0.0), float(c.azimuth), float(c.elevation), c.up)
        r = lambda v: [round(float(x), 4) for x in v]  # noqa: E731
        return {"eye": r(eye - at), "look_at": r(center - at), "up": c.up, "fov": round(float(c.fov), 3)}

    # -- labels -------------------------------------------------------------------------------

    def _set_label_candidates(self, geo) -> None:
        """The labels this frame could show, most important first: the target frame, the frame
        selected in the TF panel, the fixed frame, labels of the data (text markers), then frames
        from the top of the TF tree down."""
        names, pos, cols, kinds = [], [], [], []
        if self.view_spec.frame_names and len(geo.axes):
            names += list(geo.axis_names)
            pos.append(geo.axes[:, 0])
            cols.append(np.tile([0.91, 0.91, 0.91, 1.0], (len(geo.axes), 1)))
            kinds += ["frame"] * len(geo.axes)
        if geo.texts:
            names += list(geo.texts)
            pos.append(geo.text_positions)
            c = geo.text_colors / 255.0
            cols.append(np.concatenate([np.maximum(c[:, :3], 0.55), np.ones((len(c), 1))], 1))
            kinds += ["text"] * len(geo.texts)
        if not names:
            self._cands = ([], np.zeros((0, 3)), np.zeros((0, 4)), [])
            self._sizes = np.zeros((0, 2))
            return
        depth = SP.frame_depths(self.win.graph())
        tg, ff, sel = self.target_frame, self.fixed_frame, getattr(self.win, "selected_frame", None)

        def rank(i):
            n, k = names[i], kinds[i]
            if k == "frame":
                first = 0 if n == tg else 1 if n == sel else 2 if n == ff else 4
                return (first, depth.get(n, 0), len(n), n)
            return (3, 0, len(n), n)
        order = sorted(range(len(names)), key=rank)
        self._cands = (names, np.concatenate(pos).astype(float), np.concatenate(cols), order)
        font_px = LABEL_PT * float(self.canvas.dpi or 96.0) / 72.0
        widths = text_widths(self.fonts.get_font("OpenSans"), names, font_px)
        self._sizes = np.c_[widths + 2, np.full(len(names), 1.25 * font_px)]

    def _project(self, p: np.ndarray) -> np.ndarray:
        """(n, 2) canvas pixels (x right, y down) of fixed-frame points (n, 3); NaN behind the camera."""
        if not len(p):
            return np.zeros((0, 2))
        q = self.viewbox.scene.node_transform(self.canvas.scene).map(np.c_[p, np.ones(len(p))])
        w = q[:, 3:4]
        with np.errstate(divide="ignore", invalid="ignore"):
            px = q[:, :2] / w
        px[(w[:, 0] <= 0)] = np.nan
        return px

    def _before_draw(self, _ev=None) -> None:
        """Place the labels again if the projection, the canvas or the candidates changed since
        they were placed (camera moves, resizes, new data)."""
        tr = self.viewbox.scene.node_transform(self.canvas.scene)
        key = (id(self._cands), tuple(self.canvas.size), np.asarray(tr.map(np.eye(4)), float).round(6).tobytes())
        if key != self._placed_key:
            self._placed_key = key
            self._place_labels()

    def _place_labels(self) -> None:
        """Draw the labels that fit without overlapping (in the candidates' order)."""
        names, pos, cols, order = self._cands
        if not names:
            self.labels.visible = False
            self.placed_labels, self.label_boxes = [], np.zeros((0, 4))
            return
        px = self._project(pos)
        keep, boxes = place_labels(px, self._sizes, order, tuple(self.canvas.size))
        idx = [i for i in order if keep[i]]
        self.placed_labels = [names[i] for i in idx]
        self.label_boxes = boxes[idx]
        if idx:
            self.labels.text = self.placed_labels
            self.labels.pos = pos[idx]
            self.labels.color = cols[idx]
        self.labels.visible = bool(idx)

    def _hover(self, ev) -> None:
        """Show the name of the frame or label under the cursor when it was left out."""
        names, pos, _cols, _order = self._cands
        hit = None
        if names and ev.pos is not None and self.tool is None:
            px = self._project(pos)
            d = np.hypot(px[:, 0] - ev.pos[0], px[:, 1] - ev.pos[1])
            d[~np.isfinite(d)] = np.inf
            i = int(np.argmin(d)) if len(d) else -1
            if i >= 0 and d[i] <= HOVER_PX and names[i] not in self.placed_labels:
                hit = i
        self.hover(None if hit is None else names[hit], None if hit is None else pos[hit])

    def hover(self, name: str | None, at=None) -> None:
        """Show ``name`` at ``at`` (m, fixed frame) as the hover label, or hide it (None)."""
        if name == self.hovered:
            return
        self.hovered = name
        if name is not None:
            self.hover_label.text = [name]
            self.hover_label.pos = np.asarray(at, float).reshape(1, 3)
            self.canvas.native.setToolTip(name)
        else:
            self.canvas.native.setToolTip("")
        self.hover_label.visible = name is not None
        self.canvas.update()

    # -- the view's menu ----------------------------------------------------------------------

    def _fill_menu(self) -> None:
        m = self.menu
        m.clear()
        frames = sorted(self.win.graph().frames())
        tgt = m.addMenu("Target frame")
        auto = tgt.addAction(f"default ({SP.default_target_frame(self.win.store, self.win.timeline, self.fixed_frame, self.win.graph()) or 'none'})")
        auto.setCheckable(True)
        auto.setChecked(not self.view_spec.target_frame)
        auto.triggered.connect(lambda: self.set_target_frame(None))
        for f in frames:
            a = tgt.addAction(f)
            a.setCheckable(True)
            a.setChecked(f == self.target_frame and bool(self.view_spec.target_frame))
            a.triggered.connect(lambda _c=False, f=f: self.set_target_frame(f))
        fix = m.addMenu("Fixed frame")
        for f in frames:
            a = fix.addAction(f)
            a.setCheckable(True)
            a.setChecked(f == self.fixed_frame)
            a.triggered.connect(lambda _c=False, f=f: self.set_fixed_frame(f))
        follow = m.addAction("Follow the target frame")
        follow.setCheckable(True)
        follow.setChecked(self.follow)
        follow.toggled.connect(self.set_follow)
        names = m.addAction("Frame names")
        names.setCheckable(True)
        names.setChecked(self.view_spec.frame_names)
        names.toggled.connect(self.set_frame_names)
        m.addSeparator()
        m.addAction("Reset view", self._reset_and_draw)
        m.addAction("Keep this camera in the blueprint", self.keep_camera)

    def set_fixed_frame(self, frame: str) -> None:
        """This view's own fixed frame (the window's stays)."""
        self.view_spec.fixed_frame = frame
        self._reset_and_draw()

    def set_follow(self, on: bool) -> None:
        """Whether the camera moves with the target frame."""
        self.follow = bool(on)
        self.update_at(self.win.timeline, self.win.t)

    def set_frame_names(self, on: bool) -> None:
        """Draw TF frame names (where they fit) or not."""
        self.view_spec.frame_names = bool(on)
        self.update_at(self.win.timeline, self.win.t)

    def keep_camera(self) -> None:
        """Write the current camera into the view's blueprint (File > Save blueprint keeps it)."""
        self.view_spec.camera = self.camera_spec()
        self.win.status(f"{self.view_spec.name}: camera kept in the blueprint (File > Save blueprint… writes it)")

    def _reset_and_draw(self) -> None:
        self.reset_view()
        self.update_at(self.win.timeline, self.win.t)

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
        self._grid_center = c

    def reset_view(self) -> None:
        """Frame the target and what is near it at the next draw (the saved camera is not used again)."""
        self._framed = False
        self._camera_applied = True
        self._scene_size = None
        self._anchor = None
