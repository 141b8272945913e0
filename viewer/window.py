"""The viewer's Qt main window: entity tree, views laid out by a blueprint, selection panel,
timeline panel. VisPy canvases draw the 3D, 2D and time-series views from :mod:`rerun_ros.viewer.scene`.

Needs a display: under CI, Xvfb with ``QT_QPA_PLATFORM=xcb`` (see ``docs`` and
``../shared/docs/viewer-headless.md``); ``offscreen`` does not support VisPy canvases.
"""
from __future__ import annotations

import time as _time

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

import vispy

vispy.use(app="pyqt6")
from vispy import scene  # noqa: E402

from ..store.chunk_store import ChunkStore  # noqa: E402

from . import scene as S  # noqa: E402
from .blueprint import Blueprint, View, default_blueprint  # noqa: E402

LEVEL_COLORS = {"CRITICAL": "#ff4040", "ERROR": "#ff6060", "WARN": "#ffc040", "INFO": "#d0d0d0",
                "DEBUG": "#80a0ff", "TRACE": "#808080"}


class _CanvasView(QtWidgets.QWidget):
    def __init__(self, view: View, window: "ViewerWindow", camera):
        super().__init__()
        self.view_spec = view
        self.win = window
        self.canvas = scene.SceneCanvas(keys=None, bgcolor="#101014", size=(320, 240))
        self.viewbox = self.canvas.central_widget.add_view()
        self.viewbox.camera = camera
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        title = QtWidgets.QLabel(f"{view.name}  ({view.kind})")
        title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed)
        lay.addWidget(title)
        lay.addWidget(self.canvas.native, 1)
        self.drawn_time: int | None = None

    def entities(self) -> list[str]:
        return [e for e in self.win.store.entities() if self.view_spec.matches(e) and e not in self.win.hidden]


class Spatial3DView(_CanvasView):
    """Points, line strips, boxes, arrows and frame axes in the view's fixed frame, on a grid."""

    def __init__(self, view: View, window: "ViewerWindow"):
        super().__init__(view, window, scene.cameras.TurntableCamera(fov=45, distance=10, up="+z"))
        self.markers = scene.visuals.Markers(parent=self.viewbox.scene, antialias=0)  # fixed pixel size
        # visuals start with placeholder data: VisPy fails drawing or bounding empty ones
        self.world_markers = scene.visuals.Markers(pos=np.zeros((1, 3), np.float32), parent=self.viewbox.scene,
                                                   antialias=0, scaling="scene")
        self.world_markers.visible = False
        self.mesh = scene.visuals.Mesh(vertices=np.zeros((3, 3), np.float32), faces=np.array([[0, 1, 2]], np.uint32),
                                       parent=self.viewbox.scene, shading=None)
        self.mesh.visible = False
        self.lines = scene.visuals.Line(parent=self.viewbox.scene, connect="segments", width=2)
        self.axes = scene.visuals.Line(parent=self.viewbox.scene, connect="segments", width=3)
        g = np.arange(-10, 11, dtype=np.float32)
        grid = [[[x, -10, 0], [x, 10, 0]] for x in g] + [[[-10, y, 0], [10, y, 0]] for y in g]
        scene.visuals.Line(np.array(grid, np.float32).reshape(-1, 3), parent=self.viewbox.scene,
                           connect="segments", color=(0.3, 0.3, 0.35, 1.0))
        self._framed = False
        self.geometry = S.Geometry3D()

    def update_at(self, timeline: str, t: int) -> None:
        ff = self.view_spec.fixed_frame or self.win.fixed_frame
        self.geometry = geo = S.scene_3d(self.win.store, self.entities(), timeline, t, ff, self.win.graph())
        world = np.isfinite(geo.point_radii) & (geo.point_radii > 0) if len(geo.points) else np.zeros(0, bool)
        fixed = ~world
        if fixed.any():
            r = geo.point_radii[fixed]
            px = np.where(np.isfinite(r) & (r < 0), -2 * r, 4.0)  # negative radii: ui points (Rerun)
            self.markers.set_data(geo.points[fixed], face_color=geo.point_colors[fixed] / 255.0, edge_width=0, size=px)
            self.markers.visible = True
        else:
            self.markers.visible = False
        if world.any():
            self.world_markers.set_data(geo.points[world], face_color=geo.point_colors[world] / 255.0, edge_width=0,
                                        size=2 * geo.point_radii[world])
            self.world_markers.visible = True
        else:
            self.world_markers.visible = False
        if len(geo.mesh_faces):
            self.mesh.set_data(vertices=geo.mesh_vertices, faces=geo.mesh_faces,
                               vertex_colors=geo.mesh_colors / 255.0)
            self.mesh.visible = True
        else:
            self.mesh.visible = False
        if len(geo.lines):
            self.lines.set_data(geo.lines.reshape(-1, 3), color=np.repeat(geo.line_colors / 255.0, 2, axis=0))
            self.lines.visible = True
        else:
            self.lines.visible = False
        if len(geo.axes):
            a = geo.axes
            segs = np.stack([np.repeat(a[:, :1], 3, axis=1), a[:, 1:]], axis=2).reshape(-1, 3)
            cols = np.tile(np.repeat(np.eye(3, 4) + [0, 0, 0, 1], 2, axis=0), (len(a), 1))
            self.axes.set_data(segs, color=cols)
            self.axes.visible = True
        else:
            self.axes.visible = False
        if not self._framed and (len(geo.points) or len(geo.lines)):
            # frame the data together with the fixed frame's origin
            pts = [np.zeros((1, 3), np.float32)]
            if len(geo.points):
                pts.append(np.percentile(geo.points, [2, 98], axis=0))
            if len(geo.lines):
                pts.append(np.percentile(geo.lines.reshape(-1, 3), [2, 98], axis=0))
            allp = np.concatenate(pts)
            lo, hi = allp.min(axis=0), allp.max(axis=0)
            self.viewbox.camera.center = tuple((lo + hi) / 2)
            self.viewbox.camera.distance = float(max(np.linalg.norm(hi - lo) * 1.5, 5.0))
            self._framed = True
        self.drawn_time = t
        self.canvas.update()

    def reset_view(self) -> None:
        self._framed = False


class Spatial2DView(_CanvasView):
    """The first image-like entity of the view, pixel-exact at zoom 1 (y down, as images are)."""

    def __init__(self, view: View, window: "ViewerWindow"):
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
        rgba = None
        for e in self.entities():
            try:
                rgba = S.image_rgba(self.win.store, e, timeline, t)
            except ValueError as err:
                self.win.status(str(err))
            if rgba is not None:
                break
        self.rgba = rgba
        if rgba is not None:
            self.image.set_data(rgba)
            if rgba.shape[:2] != self.shape:  # fit a new image size (canvas resizes refit too)
                self.shape = rgba.shape[:2]
                self.fit()
            self.image.visible = True
        else:
            self.image.visible = False
        pos, col = S.overlays_2d(self.win.store, self.entities(), timeline, t)
        if len(pos):  # pixel coordinates on the image (pixel centres at +0.5)
            self.overlay.set_data(pos + 0.5, face_color=col / 255.0, edge_width=0, size=6)
            self.overlay.visible = True
        else:
            self.overlay.visible = False
        self.drawn_time = t
        self.canvas.update()


class TimelineMarks(QtWidgets.QWidget):
    """A strip above the time slider with a tick wherever some entity has data."""

    def __init__(self, window: "ViewerWindow"):
        super().__init__()
        self.win = window
        self.setFixedHeight(8)
        self.columns = np.zeros(0, np.int64)

    def recompute(self) -> None:
        rng = self.win.time_range()
        w = max(self.width(), 1)
        times = self.win.store.data_times(self.win.timeline)
        if rng is None or not len(times):
            self.columns = np.zeros(0, np.int64)
        else:
            span = max(rng[1] - rng[0], 1)
            self.columns = np.unique(((times - rng[0]) * (w - 1) // span).astype(np.int64))
        self.update()

    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        p.setPen(QtGui.QColor("#4aa3ff"))
        for x in self.columns:
            p.drawLine(int(x), 0, int(x), self.height())
        p.end()


class TimeSeriesView(_CanvasView):
    """Every Scalars series of the view's entities over the view's time range before the
    cursor (whole recording if none), min/max-decimated to the canvas width."""

    PALETTE = np.array([[0.9, 0.3, 0.3], [0.3, 0.8, 0.3], [0.3, 0.5, 1.0], [1.0, 0.8, 0.2], [0.8, 0.4, 1.0],
                        [0.2, 0.9, 0.9]], np.float32)

    def __init__(self, view: View, window: "ViewerWindow"):
        super().__init__(view, window, scene.cameras.PanZoomCamera())
        self.lines: list = []
        self.cursor = scene.visuals.Line(parent=self.viewbox.scene, color=(1, 1, 1, 0.6))
        self.data = {}

    def update_at(self, timeline: str, t: int) -> None:
        tr = self.win.time_range()
        if tr is None:
            return
        start = t - int(self.view_spec.time_range * 1e9) if self.view_spec.time_range else tr[0]
        k = 0
        self.data = {}
        lo, hi = np.inf, -np.inf
        width = max(self.canvas.size[0], 100)
        gen = (self.win.store.generation, timeline)
        if getattr(self, "_cache_gen", None) != gen:
            self._cache = {}
            self._cache_gen = gen
        for e in self.entities():
            full = self._cache.get(e)
            if full is None:  # the entity's whole series, sliced per frame below
                full = self._cache[e] = S.series(self.win.store, e, timeline, -2**62, 2**62)
            ftimes, fvals, names = full
            a, b = np.searchsorted(ftimes, start, "left"), np.searchsorted(ftimes, max(t, start), "right")
            times, vals = ftimes[a:b], fvals[a:b]
            for j in range(vals.shape[1] if vals.ndim == 2 else 0):
                x = (times - start) / 1e9
                y = vals[:, j]
                x, y = S.decimate_minmax(x, y, 0.0, max((t - start) / 1e9, 1e-9), width)
                if k >= len(self.lines):
                    self.lines.append(scene.visuals.Line(parent=self.viewbox.scene, width=1.5))
                ok = np.isfinite(y)
                if ok.sum() >= 1:
                    pts = np.stack([x[ok], y[ok]], 1).astype(np.float32)
                    if len(pts) == 1:
                        pts = np.concatenate([pts, pts])
                    self.lines[k].set_data(pts, color=tuple(self.PALETTE[k % len(self.PALETTE)]) + (1.0,))
                    self.lines[k].visible = True
                    lo, hi = min(lo, float(np.nanmin(y))), max(hi, float(np.nanmax(y)))
                self.data[names[j]] = (times, vals[:, j])
                k += 1
        for extra in self.lines[k:]:
            extra.visible = False
        if np.isfinite(lo):
            span = (t - start) / 1e9 if t > start else 1.0
            pad = (hi - lo) * 0.05 or 1.0
            self.viewbox.camera.set_range(x=(0, span), y=(lo - pad, hi + pad), margin=0)
            self.cursor.set_data(np.array([[span, lo - pad], [span, hi + pad]], np.float32))
        self.drawn_time = t
        self.canvas.update()


class TextLogView(QtWidgets.QWidget):
    """TextLog rows up to the cursor: level filter, search, click a row to jump to its time."""

    def __init__(self, view: View, window: "ViewerWindow"):
        super().__init__()
        self.view_spec = view
        self.win = window
        self.level = QtWidgets.QComboBox()
        self.level.addItems(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"])
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("search")
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["time", "entity", "level", "text"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.cellClicked.connect(self._jump)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel(view.name))
        top.addWidget(self.level)
        top.addWidget(self.search)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.table)
        self.level.currentTextChanged.connect(lambda _: self.win.refresh())
        self.search.textChanged.connect(lambda _: self.win.refresh())
        self.rows = []
        self.drawn_time = None

    def entities(self) -> list[str]:
        return [e for e in self.win.store.entities() if self.view_spec.matches(e) and e not in self.win.hidden]

    def update_at(self, timeline: str, t: int) -> None:
        self.rows = S.text_log(self.win.store, self.entities(), timeline, t, self.level.currentText(),
                               self.search.text())
        shown = self.rows[-500:]
        self.table.setRowCount(len(shown))
        for i, (tm, ent, level, text) in enumerate(shown):
            for j, v in enumerate((self.win.format_time(tm), ent, level, text)):
                it = QtWidgets.QTableWidgetItem(v)
                if j == 2:
                    it.setForeground(QtGui.QColor(LEVEL_COLORS.get(level, "#d0d0d0")))
                self.table.setItem(i, j, it)
        if shown:
            self.table.scrollToBottom()
        self.drawn_time = t

    def _jump(self, row: int, _col: int) -> None:
        shown = self.rows[-500:]
        if 0 <= row < len(shown):
            self.win.set_time(shown[row][0])


VIEW_CLASSES = {"spatial3d": Spatial3DView, "spatial2d": Spatial2DView, "timeseries": TimeSeriesView,
                "textlog": TextLogView}


class ViewerWindow(QtWidgets.QMainWindow):
    """The main window over a ChunkStore (which may keep growing: live streams)."""

    def __init__(self, store: ChunkStore, blueprint: Blueprint | None = None, *, timeline: str | None = None,
                 fixed_frame: str | None = None, title: str = "rerun_ros viewer"):
        super().__init__()
        self.setWindowTitle(title)
        self.store = store
        self.fixed_frame = fixed_frame
        self.hidden: set[str] = set()
        self.blueprint = blueprint or default_blueprint(store, fixed_frame)
        tls = sorted(store.timelines())
        self.timeline = timeline or ("ros_time" if "ros_time" in tls else (tls[0] if tls else "ros_time"))
        self.t: int = 0
        self._graph = None
        self._graph_gen = -1
        self.views: list = []
        self.playing = False
        self.follow_live = False
        self._dirty = True
        # entity tree
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["entity", "archetypes", "rows"])
        self.tree.itemChanged.connect(self._visibility_changed)
        self.tree.currentItemChanged.connect(lambda *_: self._update_selection())
        # selection panel
        self.selection = QtWidgets.QPlainTextEdit()
        self.selection.setReadOnly(True)
        # views
        center = self._build(self.blueprint.root)
        # timeline panel
        self.tl_combo = QtWidgets.QComboBox()
        self.tl_combo.addItems(tls or [self.timeline])
        self.tl_combo.setCurrentText(self.timeline)
        self.tl_combo.currentTextChanged.connect(self._timeline_changed)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 10000)
        self.slider.valueChanged.connect(self._slider_moved)
        self.play_btn = QtWidgets.QPushButton("play")
        self.play_btn.clicked.connect(self.toggle_play)
        self.step_btn = QtWidgets.QPushButton("step")
        self.step_btn.clicked.connect(lambda: self.step(+1))
        self.speed = QtWidgets.QDoubleSpinBox()
        self.speed.setRange(0.1, 10.0)
        self.speed.setValue(1.0)
        self.speed.setSuffix("×")
        self.loop = QtWidgets.QCheckBox("loop")
        self.live = QtWidgets.QCheckBox("follow live")
        self.live.toggled.connect(lambda v: setattr(self, "follow_live", v))
        self.time_label = QtWidgets.QLabel("")
        self.reset_btn = QtWidgets.QPushButton("reset view")
        self.reset_btn.clicked.connect(self.reset_views)
        self.marks = TimelineMarks(self)
        bar = QtWidgets.QHBoxLayout()
        for w in (self.tl_combo, self.play_btn, self.step_btn, self.speed, self.loop, self.live, self.reset_btn):
            bar.addWidget(w)
        track = QtWidgets.QVBoxLayout()
        track.setSpacing(0)
        track.addWidget(self.marks)
        track.addWidget(self.slider)
        bar.addLayout(track, 1)
        bar.addWidget(self.time_label)
        menu = self.menuBar().addMenu("&File")
        act = menu.addAction("Save blueprint…")
        act.triggered.connect(self._save_blueprint_dialog)
        split = QtWidgets.QSplitter()
        split.addWidget(self.tree)
        split.addWidget(center)
        split.addWidget(self.selection)
        split.setSizes([220, 900, 260])
        body = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(body)
        lay.addWidget(split, 1)
        lay.addLayout(bar)
        self.setCentralWidget(body)
        self.statusBar()
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(33)
        self._last_tick = _time.monotonic()
        store.subscribe(lambda chunk: setattr(self, "_dirty", True))
        self._rebuild_tree()
        self.marks.recompute()
        rng = self.time_range()
        self.set_time(rng[1] if rng else 0)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.marks.recompute()

    # -- layout -----------------------------------------------------------------------------

    def _build(self, node):
        if isinstance(node, View):
            v = VIEW_CLASSES[node.kind](node, self)
            self.views.append(v)
            return v
        kids = [self._build(c) for c in node.children]
        if node.kind == "tabs":
            w = QtWidgets.QTabWidget()
            for c, k in zip(node.children, kids):
                w.addTab(k, c.name if isinstance(c, View) else c.kind)
            return w
        if node.kind == "grid":
            w = QtWidgets.QWidget()
            g = QtWidgets.QGridLayout(w)
            cols = max(1, int(np.ceil(np.sqrt(len(kids)))))
            for i, k in enumerate(kids):
                g.addWidget(k, i // cols, i % cols)
            return w
        s = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal if node.kind == "horizontal"
                                else QtCore.Qt.Orientation.Vertical)
        for k in kids:
            s.addWidget(k)
        return s

    def reset_views(self) -> None:
        """Re-frame every 3D view on its data."""
        for v in self.views:
            if hasattr(v, "reset_view"):
                v.reset_view()
        self.refresh()

    def save_blueprint(self, path) -> None:
        """Write the layout in use as a blueprint YAML."""
        from .blueprint import dump
        dump(self.blueprint, path)

    def _save_blueprint_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save blueprint", "blueprint.yaml", "YAML (*.yaml)")
        if path:
            self.save_blueprint(path)
            self.status(f"blueprint saved to {path}")

    # -- time -------------------------------------------------------------------------------

    def time_range(self) -> tuple[int, int] | None:
        return self.store.time_range(self.timeline)

    def format_time(self, t: int) -> str:
        kind = self.store.timelines().get(self.timeline)
        if kind is not None and kind.kind == "timestamp":
            rng = self.time_range()
            return f"{(t - rng[0]) / 1e9:.3f} s" if rng else str(t)
        return str(t)

    def graph(self):
        if self._graph is None or self._graph_gen != self.store.generation:
            self._graph = S.frame_graph(self.store, self.timeline)
            self._graph_gen = self.store.generation
        return self._graph

    def set_time(self, t: int) -> None:
        """Move the time cursor and redraw every view at ``t``."""
        self.t = int(t)
        rng = self.time_range()
        if rng:
            frac = (self.t - rng[0]) / (rng[1] - rng[0]) if rng[1] > rng[0] else 1.0
            self.slider.blockSignals(True)
            self.slider.setValue(int(round(np.clip(frac, 0, 1) * 10000)))
            self.slider.blockSignals(False)
        self.time_label.setText(self.format_time(self.t))
        self.refresh()

    def refresh(self) -> None:
        for v in self.views:
            try:
                v.update_at(self.timeline, self.t)
            except Exception as e:  # a view must never take the window down
                self.status(f"{getattr(v, 'view_spec', None) and v.view_spec.name}: {e}")
        self._update_selection()

    def _slider_moved(self, value: int) -> None:
        rng = self.time_range()
        if rng:
            self.set_time(rng[0] + (rng[1] - rng[0]) * value / 10000)

    def _timeline_changed(self, name: str) -> None:
        self.timeline = name
        self._graph = None
        self.marks.recompute()
        rng = self.time_range()
        self.set_time(rng[1] if rng else 0)

    def toggle_play(self) -> None:
        self.playing = not self.playing
        self.play_btn.setText("pause" if self.playing else "play")
        self._last_tick = _time.monotonic()

    def step(self, direction: int) -> None:
        """Jump to the next (or previous) time where any entity has data."""
        ts = self.store.data_times(self.timeline)
        if not len(ts):
            return
        i = np.searchsorted(ts, self.t, side="right" if direction > 0 else "left")
        i = min(i, len(ts) - 1) if direction > 0 else max(i - 1, 0)
        self.set_time(int(ts[i]))

    def _tick(self) -> None:
        now = _time.monotonic()
        dt = now - self._last_tick
        self._last_tick = now
        rng = self.time_range()
        if self._dirty:
            self._dirty = False
            self._rebuild_tree()
            self.marks.recompute()
            if self.follow_live and rng:
                self.set_time(rng[1])
                return
        if self.playing and rng:
            t = self.t + int(dt * self.speed.value() * 1e9)
            if t > rng[1]:
                t = rng[0] if self.loop.isChecked() else rng[1]
                if not self.loop.isChecked():
                    self.toggle_play()
            self.set_time(t)

    # -- entity tree and selection ----------------------------------------------------------

    def _rebuild_tree(self) -> None:
        self.tree.blockSignals(True)
        known = {self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())}
        for e in self.store.entities():
            cols = self.store.columns(e)
            archs = sorted({c.split(":")[0] for c in cols})
            rows = self.store.num_rows(e)
            if e in known:
                for i in range(self.tree.topLevelItemCount()):
                    it = self.tree.topLevelItem(i)
                    if it.text(0) == e:
                        it.setText(1, ", ".join(archs))
                        it.setText(2, str(rows))
                continue
            it = QtWidgets.QTreeWidgetItem([e, ", ".join(archs), str(rows)])
            it.setFlags(it.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(0, QtCore.Qt.CheckState.Unchecked if e in self.hidden else QtCore.Qt.CheckState.Checked)
            self.tree.addTopLevelItem(it)
        self.tree.blockSignals(False)

    def _visibility_changed(self, item, column) -> None:
        e = item.text(0)
        if item.checkState(0) == QtCore.Qt.CheckState.Checked:
            self.hidden.discard(e)
        else:
            self.hidden.add(e)
        self.refresh()

    def select(self, entity: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).text(0) == entity:
                self.tree.setCurrentItem(self.tree.topLevelItem(i))
                return

    def selection_text(self) -> str:
        it = self.tree.currentItem()
        if it is None:
            return ""
        e = it.text(0)
        la = self.store.latest_at(e, self.timeline, self.t)
        lines = [e, f"at {self.format_time(self.t)} on {self.timeline}", ""]
        for col in sorted(la):
            v = la[col]
            vals = v.values.to_pylist()
            shown = vals if len(vals) <= 6 else vals[:6] + [f"... ({len(vals)} instances)"]
            when = "static" if v.time is None else self.format_time(v.time)
            lines.append(f"{col} [{when}]: {shown}")
        return "\n".join(lines)

    def _update_selection(self) -> None:
        self.selection.setPlainText(self.selection_text())

    def status(self, text: str) -> None:
        self.statusBar().showMessage(text, 5000)

    # -- screenshots ------------------------------------------------------------------------

    def screenshot(self, path: str) -> None:
        """Render the whole window (widgets and canvases) to a PNG."""
        app = QtWidgets.QApplication.instance()
        for _ in range(5):
            app.processEvents()
        img = self.grab().toImage()
        if not img.save(str(path)):
            raise OSError(f"cannot write screenshot {path}")
