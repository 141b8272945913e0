"""The viewer's Qt main window: entity tree and TF tree (left), the blueprint's views (centre),
the message inspector (right), the timeline panel (bottom). Views come from :mod:`.views`; what
they draw from the pure-numpy modules (:mod:`.spatial`, :mod:`.images`, :mod:`.series`, :mod:`.logs`).

Needs a display: under CI, Xvfb with ``QT_QPA_PLATFORM=xcb`` (see ``docs/viewer.md`` and
``../shared/docs/viewer-headless.md``); ``offscreen`` does not support VisPy canvases.
"""
from __future__ import annotations

import datetime as _dt
import time as _time

import numpy as np
from PyQt6 import QtCore, QtWidgets

from ..model.names import CLOCK_PROPERTY, LOG_TIME_NAME, ROS_TIME_NAME
from ..store.chunk_store import ChunkStore
from . import spatial as SP
from .blueprint import Blueprint, Container, View, default_blueprint
from .panels.entity_tree import EntityTree
from .panels.inspector import Inspector
from .panels.tf_tree import TfTree
from .panels.timeline import TimelineMarks
from .views import VIEW_CLASSES, Spatial2DView, Spatial3DView, TextLogView, TimeSeriesView

__all__ = ["ViewerWindow", "Spatial2DView", "Spatial3DView", "TextLogView", "TimeSeriesView"]

PICKED = "picked fields"


def default_timeline(store) -> tuple[str, str]:
    """(timeline, note): ``ros_time``, the robot clock (recordings made here place every row on
    it, :mod:`rerun_ros.model.clock`). A recording from elsewhere whose ``ros_time`` is not
    coherent (a publisher stamping days off would squeeze the rest into one pixel) shows
    ``log_time`` with a note saying why. Without ``ros_time`` (an SDK program's recording), the
    program's own timeline (``step``, ``stable_time``) before the ``log_time`` every logged row
    is also on."""
    tls = sorted(store.timelines())
    if ROS_TIME_NAME not in tls:
        own = [t for t in tls if t not in (LOG_TIME_NAME, "log_tick")]
        return (own[0] if own else tls[0] if tls else ROS_TIME_NAME), ""
    if CLOCK_PROPERTY in store.entities():
        return ROS_TIME_NAME, ""
    if LOG_TIME_NAME in tls:
        r, lg = store.time_range(ROS_TIME_NAME), store.time_range(LOG_TIME_NAME)
        if r and lg:
            rs, ls = (r[1] - r[0]) / 1e9, (lg[1] - lg[0]) / 1e9
            if rs > 10 * ls + 60:
                return LOG_TIME_NAME, (f"header stamps (ros_time) span {rs / 3600:.1f} h while the recording lasted "
                                    f"{ls:.1f} s (a publisher's clock is off): showing log_time; ros_time is in the "
                                    f"timeline menu")
    return ROS_TIME_NAME, ""


class ViewerWindow(QtWidgets.QMainWindow):
    """The main window over a ChunkStore (which may keep growing: live streams).

    ``fixed_frame`` None picks :func:`rerun_ros.viewer.spatial.default_fixed_frame` (the TF root
    most data resolves to); ``timeline`` None picks ``ros_time`` when present."""

    def __init__(self, store: ChunkStore, blueprint: Blueprint | None = None, *, timeline: str | None = None,
                 fixed_frame: str | None = None, target_frame: str | None = None, title: str = "rerun_ros viewer",
                 source_name: str = "", frame_tints: dict | None = None):
        super().__init__()
        self.setWindowTitle(title)
        self.store = store
        self.source_name = source_name or title
        self.hidden: set[str] = set()
        tls = sorted(store.timelines())
        self.timeline, self.timeline_note = (timeline, "") if timeline else default_timeline(store)
        self._graph = None
        self._graph_gen = None
        self.fixed_frame = fixed_frame or SP.default_fixed_frame(store, self.timeline, self.graph())
        self._fixed_given = fixed_frame is not None
        self.blueprint = blueprint or default_blueprint(store, fixed_frame)
        #: the 3D views' target frame (``--target-frame``; a view's blueprint one wins)
        self.target_frame = target_frame
        #: TF frames the 3D views do not draw (the TF panel's check boxes; blueprints' hidden_frames)
        self.hidden_frames: set[str] = {f for v in self.blueprint.views() for f in v.hidden_frames}
        #: trail colour of the frames under a namespace (an overlay of runs: ``{"B/": (r, g, b, a)}``)
        self.frame_tints: dict = dict(frame_tints or {})
        #: the frame selected in the TF panel (its name is drawn first)
        self.selected_frame: str | None = None
        self.t: int = 0
        self.views: list = []
        self._pending: dict = {}
        self.playing = False
        self.follow_live = False
        self._dirty = True
        # left: entity tree and TF tree
        self.tree = EntityTree(store, self.hidden, self.refresh, self._selected)
        self.tf_tree = TfTree(self, self.set_fixed_frame, on_visible=self.set_frame_visible, on_select=self.select_frame,
                              on_target=self.set_target_frame)
        left = QtWidgets.QTabWidget()
        left.addTab(self.tree, "Entities")
        left.addTab(self.tf_tree, "TF")
        self.left_tabs = left
        # right: the inspector
        self.selection = Inspector(self, self.plot_field)
        # centre: the views
        self.center = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.center.addWidget(self._build(self.blueprint.root))
        self.picked_view: TimeSeriesView | None = None
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
        self.time_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reset_btn = QtWidgets.QPushButton("reset view")
        self.reset_btn.clicked.connect(self.reset_views)
        self.marks = TimelineMarks(self)
        controls = QtWidgets.QHBoxLayout()
        for w in (self.tl_combo, self.play_btn, self.step_btn, self.speed, self.loop, self.live, self.reset_btn):
            controls.addWidget(w)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        bar = QtWidgets.QVBoxLayout()  # the timeline panel: controls, then the full-width strip
        bar.setSpacing(2)
        bar.addLayout(controls)
        bar.addWidget(self.marks)
        menu = self.menuBar().addMenu("&File")
        act = menu.addAction("Save blueprint…")
        act.triggered.connect(self._save_blueprint_dialog)
        split = QtWidgets.QSplitter()
        split.addWidget(left)
        split.addWidget(self.center)
        split.addWidget(self.selection)
        split.setSizes([250, 900, 300])
        split.setStretchFactor(1, 1)
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
        self._on_chunk = lambda chunk: setattr(self, "_dirty", True)
        store.subscribe(self._on_chunk)
        self.tree.rebuild()
        self.marks.recompute()
        rng = self.time_range()
        self.set_time(rng[1] if rng else 0)
        if self.timeline_note:
            self.statusBar().showMessage(self.timeline_note)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.marks.recompute()

    # -- layout -----------------------------------------------------------------------------

    def _build(self, node):
        if isinstance(node, View):
            v = VIEW_CLASSES[node.kind](node, self)
            self.views.append(v)
            return v
        if node.kind == "tabs":
            # only the shown tab is built: the others when first shown (a field run has ~10 tabs)
            w = QtWidgets.QTabWidget()
            for i, c in enumerate(node.children):
                holder = QtWidgets.QWidget()
                QtWidgets.QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
                self._pending[holder] = c
                w.addTab(holder, c.name if isinstance(c, View) else c.kind)
            w.currentChanged.connect(lambda i, w=w: self._build_tab(w.widget(i)))
            self._build_tab(w.widget(0))
            return w
        kids = [self._build(c) for c in node.children]
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
        # 3D and image views get the larger share (3:2), as rviz's main panel
        weights = [3 if isinstance(c, View) and c.kind in ("spatial3d", "spatial2d") else 2 for c in node.children]
        s.setSizes([1000 * w for w in weights])
        return s

    def _build_tab(self, holder) -> None:
        node = self._pending.pop(holder, None)
        if node is None:
            return
        n = len(self.views)
        holder.layout().addWidget(self._build(node))
        if not hasattr(self, "marks"):  # still in __init__: its set_time draws every view once
            return
        for v in self.views[n:]:
            try:
                v.update_at(self.timeline, self.t)
            except Exception as e:  # a view must never take the window down
                self.status(f"{v.view_spec.name}: {e}")

    def build_all_views(self) -> list:
        """Build the views of tabs not shown yet (they are built when first shown); returns all views."""
        while self._pending:
            self._build_tab(next(iter(self._pending)))
        return self.views

    def reset_views(self) -> None:
        """Re-frame every 3D view on its data, refit images, let plots follow the cursor again."""
        for v in self.views:
            if hasattr(v, "reset_view"):
                v.reset_view()
        self.refresh()

    def save_blueprint(self, path) -> None:
        """Write the layout in use as a blueprint YAML (with the TF frames hidden in the TF panel)."""
        from .blueprint import dump
        for v in self.blueprint.views():
            if v.kind == "spatial3d":
                v.hidden_frames = sorted(self.hidden_frames)
        dump(self.blueprint, path)

    def set_frame_visible(self, frame: str, visible: bool) -> None:
        """Show or hide one TF frame's axes and name in every 3D view (rviz's TF display check boxes)."""
        (self.hidden_frames.discard if visible else self.hidden_frames.add)(frame)
        self.refresh()

    def select_frame(self, frame: str | None) -> None:
        """Select a TF frame: its name is drawn first in the 3D views."""
        self.selected_frame = frame
        self.refresh()

    def set_target_frame(self, frame: str | None) -> None:
        """Make ``frame`` the target frame of every 3D view without its own (None: the default)."""
        self.target_frame = frame
        for v in self.views:
            if isinstance(v, Spatial3DView) and not v.view_spec.target_frame:
                v.reset_view()
        self.refresh()

    def _save_blueprint_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save blueprint", "blueprint.yaml", "YAML (*.yaml)")
        if path:
            self.save_blueprint(path)
            self.status(f"blueprint saved to {path}")

    def plot_field(self, entity: str, path: str) -> TimeSeriesView:
        """Plot ``entity:path`` (a numeric message field) in the "picked fields" view (made on the
        first pick, added to the blueprint so that "Save blueprint" keeps it)."""
        spec = f"{entity}:{path}"
        if self.picked_view is None:
            view = View("timeseries", PICKED, "/", [], [], None, None, [])
            self.picked_view = TimeSeriesView(view, self)
            self.views.append(self.picked_view)
            self.center.addWidget(self.picked_view)
            self.blueprint.root = Container("vertical", [self.blueprint.root, view])
        if spec not in self.picked_view.view_spec.series:
            self.picked_view.view_spec.series.append(spec)
            self.picked_view._cache_gen = None
        self.refresh()
        return self.picked_view

    def ros_tools(self):
        """The rclpy publishers of the 3D views' tools (made on first use), or None without ROS."""
        if getattr(self, "_ros_tools", None) is None:
            from .tools import RosTools, ros_available
            if not ros_available():
                self.status("the tools need ROS 2 (rclpy) in this environment")
                return None
            self._ros_tools = RosTools()
        return self._ros_tools

    def enable_live_tools(self) -> None:
        """Show the 3D views' rviz tools (for a viewer on a live robot, with ROS 2 here)."""
        from .tools import ros_available
        for v in self.views:
            if isinstance(v, Spatial3DView):
                v.enable_tools(ros_available())

    def closeEvent(self, ev) -> None:
        tools = getattr(self, "_ros_tools", None)
        if tools is not None:
            tools.close()
            self._ros_tools = None
        self._timer.stop()
        self.store.unsubscribe(self._on_chunk)
        self.release_gl()
        super().closeEvent(ev)

    def release_gl(self) -> None:
        """Destroy the views' GL canvases now. Left to Python's garbage collector, a dead canvas's
        QOpenGLWidget is destroyed whenever a collection runs — possibly inside another window's
        paint, where its destructor leaves no GL context current: shader compilation errors, then
        a SIGSEGV in Qt (seen with several windows in one process: tests, benchmarks)."""
        from PyQt6 import sip
        for v in self.views:
            canvas = getattr(v, "canvas", None)
            if canvas is None:
                continue
            native = canvas.native
            try:
                canvas.close()
            except Exception:  # noqa: BLE001 - a half-closed canvas must not stop the others
                pass
            if not sip.isdeleted(native):
                sip.delete(native)

    def set_fixed_frame(self, frame: str) -> None:
        """Make ``frame`` the fixed frame of every 3D view without its own, and re-frame them."""
        self.fixed_frame = frame
        self._fixed_given = True
        self.reset_views()

    # -- time -------------------------------------------------------------------------------

    def time_range(self) -> tuple[int, int] | None:
        return self.store.time_range(self.timeline)

    def _is_timestamp(self) -> bool:
        kind = self.store.timelines().get(self.timeline)
        return kind is not None and kind.kind == "timestamp"

    def _is_time(self) -> bool:
        """A timeline in ns (timestamp or duration), shown in seconds; else a sequence."""
        kind = self.store.timelines().get(self.timeline)
        return kind is not None and kind.kind in ("timestamp", "duration")

    def time_origin(self) -> int:
        """Where the ruler's 0 s is: the recording start (timestamps) or 0 (durations)."""
        rng = self.time_range()
        return rng[0] if (rng and self._is_timestamp()) else 0

    def format_time(self, t: int) -> str:
        """``t`` as seconds since the recording start (timestamps), seconds (durations) or the
        sequence number."""
        if self._is_time():
            return f"{(t - self.time_origin()) / 1e9:.3f} s"
        return str(t)

    def format_clock(self, t: int) -> str:
        """``t`` (ns since the Unix epoch) as UTC clock time with ms, or the plain number."""
        if not self._is_timestamp():
            return str(t)
        try:
            d = _dt.datetime.fromtimestamp(t / 1e9, _dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return str(t)
        return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{(t // 1_000_000) % 1000:03d} UTC"

    def graph(self):
        if self._graph is None or self._graph_gen != (self.store.generation, self.timeline):
            self._graph = SP.frame_graph(self.store, self.timeline)
            self._graph_gen = (self.store.generation, self.timeline)
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
        if self._is_timestamp() and rng:
            self.time_label.setText(f"+{(self.t - rng[0]) / 1e9:.3f} s  ·  {self.format_clock(self.t)}")
        else:
            self.time_label.setText(self.format_time(self.t))
        self.marks.keep_in_view(self.t)
        self.marks.update()
        self.refresh()

    def refresh(self) -> None:
        for v in self.views:
            try:
                v.update_at(self.timeline, self.t)
            except Exception as e:  # a view must never take the window down
                self.status(f"{getattr(v, 'view_spec', None) and v.view_spec.name}: {e}")
        self.selection.refresh()
        if self.left_tabs.currentWidget() is self.tf_tree:
            self.tf_tree.refresh(self.data_frames())

    def data_frames(self) -> set[str]:
        """The frame ids the spatial entities name (their CoordinateFrame), at the end."""
        out = set()
        for e in self.store.entities():
            if "CoordinateFrame:frame" in self.store.columns(e):
                f = SP.entity_frame(self.store, e, self.timeline)
                if f:
                    out.add(f)
        return out

    def _slider_moved(self, value: int) -> None:
        rng = self.time_range()
        if rng:
            self.set_time(rng[0] + (rng[1] - rng[0]) * value // 10000)  # integers: ns past 2^53 stay exact

    def _timeline_changed(self, name: str) -> None:
        self.timeline = name
        self._graph = None
        self.marks.set_window(None)
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
            self.tree.rebuild()
            self.marks.recompute()
            if not self._fixed_given and self.fixed_frame is None:  # live: a frame appears later
                self.fixed_frame = SP.default_fixed_frame(self.store, self.timeline, self.graph())
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

    # -- selection --------------------------------------------------------------------------

    def _selected(self, entity: str | None) -> None:
        self.selection.show_entity(entity if entity in set(self.store.entities()) else None)

    def select(self, entity: str) -> None:
        """Select an entity (tree and inspector)."""
        if not self.tree.select(entity):
            self.status(f"no entity {entity}")

    def selection_text(self) -> str:
        return self.selection.toPlainText()

    def status(self, text: str) -> None:
        self.statusBar().showMessage(text, 5000)

    # -- screenshots ------------------------------------------------------------------------

    def screenshot(self, path: str) -> None:
        """Render the whole window (widgets and canvases) to a PNG."""
        app = QtWidgets.QApplication.instance()
        for _ in range(5):
            app.processEvents()
        for v in self.views:  # a still picture: every point, not the level of detail of a moving camera
            if hasattr(v, "full_detail"):
                v.full_detail()
        app.processEvents()
        img = self.grab().toImage()
        if not img.save(str(path)):
            raise OSError(f"cannot write screenshot {path}")
