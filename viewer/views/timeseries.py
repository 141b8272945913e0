"""The time series view (PlotJuggler's plot): every Scalars series of the view's entities and every
message field the blueprint names (``series: ["/dvl/data:message.altitude"]``), on time and value
axes with ticks, a legend whose entries toggle their series (wrapped over lines, elided, the full
name on hover, scrolled when long), a hover readout of every value at the cursor and a time
cursor. Wheel/drag zoom and pan both axes; double-click (or "reset view") returns to following
the cursor. Lines are min/max-decimated to the canvas width over the visible range.

A field dragged from the message inspector and dropped on the plot is added to it. With ``xy:
[X, Y]`` the view is an XY plot (PlotJuggler's XY curve): Y against X over the view's time
range, with a dot where the robot is at the cursor."""
from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from ..series import MinMaxPyramid, field_series, series
from .base import CanvasView, scene
from .fonts import share_fonts

__all__ = ["TimeSeriesView", "PALETTE", "SERIES_MIME"]

#: the drag-and-drop format of a message field (``<entity>:message.<field>`` as UTF-8)
SERIES_MIME = "application/x-rerun-ros-series"
#: the widest a legend entry is drawn (pixels); longer names are elided, whole in their tooltip
LEGEND_ENTRY_PX = 220
LEGEND_ROWS = 2

PALETTE = np.array([[0.9, 0.3, 0.3], [0.3, 0.8, 0.3], [0.3, 0.5, 1.0], [1.0, 0.8, 0.2], [0.8, 0.4, 1.0],
                    [0.2, 0.9, 0.9], [1.0, 0.5, 0.7], [0.7, 0.7, 0.7]], np.float32)
LEGEND_MAX = 24
SPARSE_POINTS = 64


def _common_parent(paths: list[str]) -> str:
    """The longest entity path that is a parent of every path ("" if none)."""
    if not paths:
        return ""
    parts = [p.split("/") for p in paths]
    out = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        out.append(level[0])
    if len(out) == min(len(p) for p in parts):
        out = out[:-1]
    return "/".join(out)


class TimeSeriesView(CanvasView):
    """``data``: series name -> (times ns (n,), values (n,)) of what is drawn (the visible range);
    ``hidden_series``: names toggled off in the legend; ``readout``: the hover text."""

    def __init__(self, view, window):
        super().__init__(view, window, grid=True)
        grid = self.canvas.central_widget.add_grid(spacing=0)
        self.yaxis = scene.AxisWidget(orientation="left", axis_font_size=7, tick_label_margin=4, text_color="#c8c8c8",
                                      axis_color=(0.53, 0.53, 0.53, 1.0), tick_color=(0.53, 0.53, 0.53, 1.0))
        self.yaxis.width_max = 56
        self.xaxis = scene.AxisWidget(orientation="bottom", axis_label="time [s]", axis_font_size=7,
                                      axis_label_margin=24, tick_label_margin=12, text_color="#c8c8c8",
                                      axis_color=(0.53, 0.53, 0.53, 1.0), tick_color=(0.53, 0.53, 0.53, 1.0))
        self.xaxis.height_max = 40
        share_fonts(self.fonts, self.xaxis, self.yaxis)
        grid.add_widget(self.yaxis, row=0, col=0)
        grid.add_widget(self.xaxis, row=1, col=1)
        self.viewbox = grid.add_view(row=0, col=1, border_color=(0.27, 0.27, 0.27, 1.0))
        self.viewbox.camera = scene.cameras.PanZoomCamera()
        self.xaxis.link_view(self.viewbox)
        self.yaxis.link_view(self.viewbox)
        self.lines: list = []
        self.cursor = scene.visuals.Line(np.zeros((2, 2), np.float32), parent=self.viewbox.scene, color=(1, 1, 1, 0.6))
        self.hover_line = scene.visuals.Line(np.zeros((2, 2), np.float32), parent=self.viewbox.scene,
                                             color=(1, 1, 0.5, 0.4))
        self.hover_line.visible = False
        self.dots = scene.visuals.Markers(pos=np.zeros((1, 2), np.float32), parent=self.viewbox.scene, antialias=0)
        self.dots.visible = False
        # the legend: entries flow left to right and wrap (two rows shown, a scroll bar beyond)
        self.legend = QtWidgets.QListWidget()
        self.legend.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.legend.setWrapping(True)
        self.legend.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.legend.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
        self.legend.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.legend.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.legend.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.legend.setStyleSheet("QListWidget { background: transparent; border: none; }")
        self.legend.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.legend.itemChanged.connect(self._legend_changed)
        self.layout().insertWidget(1, self.legend)
        self.readout_label = QtWidgets.QLabel("")
        self.readout_label.setStyleSheet("color:#d8d8a0")
        self.readout_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.layout().insertWidget(3, self.readout_label)
        self.setAcceptDrops(True)
        self.xy_marker = scene.visuals.Markers(pos=np.zeros((1, 2), np.float32), parent=self.viewbox.scene, antialias=0)
        self.xy_marker.visible = False
        self.legend_items: dict[str, QtWidgets.QListWidgetItem] = {}
        self.hidden_series: set[str] = set()
        self.data: dict = {}
        self.readout = ""
        self.user_range = False
        self._cache: dict = {}
        self._cache_gen = None
        self._origin = 0
        self._problems: dict = {}
        self.canvas.events.mouse_wheel.connect(lambda ev: self._user_moved())
        self.canvas.events.mouse_press.connect(self._press)
        self.canvas.events.mouse_move.connect(self._hover)
        self.canvas.events.mouse_double_click.connect(lambda ev: self.reset_view())

    # -- series -----------------------------------------------------------------------------

    def _full(self, timeline: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Every series of the view over the whole recording: (name, times ns, values)."""
        gen = (self.win.store.generation, timeline, tuple(self.entities()), tuple(self.view_spec.series))
        if self._cache_gen != gen:
            out, problems = [], {}
            ents = [e for e in self.entities() if "Scalars:scalars" in self.win.store.columns(e)]
            common = _common_parent(ents)
            for e in ents:
                times, vals, names = series(self.win.store, e, timeline, -2**62, 2**62)
                if len(ents) > 1:  # one legend over several entities: say whose series each is
                    rel = e[len(common):].lstrip("/") or e
                    names = [n if n.startswith(e) else f"{rel}: {n}" for n in names]
                out += [(names[j], times, vals[:, j]) for j in range(vals.shape[1] if vals.ndim == 2 else 0)]
            for spec in self.view_spec.series:
                ent, _, path = spec.partition(":")
                try:
                    times, vals, names = field_series(self.win.store, ent, path or "message", timeline)
                except KeyError as err:
                    problems[spec] = str(err.args[0] if err.args else err)
                    continue
                out += [(names[j], times, vals[:, j]) for j in range(vals.shape[1])]
            self._pyramids = [None] * len(out)
            self._cache, self._cache_gen, self._problems = out, gen, problems
            self._rebuild_legend([n for n, _, _ in out])
        return self._cache

    def _rebuild_legend(self, names: list[str]) -> None:
        lg = self.legend
        lg.blockSignals(True)
        lg.clear()
        self.legend_items = {}
        fm = lg.fontMetrics()
        widest = max([fm.horizontalAdvance(n) for n in names[:LEGEND_MAX]] or [40])
        cell = QtCore.QSize(int(min(widest + 34, LEGEND_ENTRY_PX)), fm.height() + 4)
        lg.setGridSize(cell)
        for k, n in enumerate(names[:LEGEND_MAX]):
            r, g, b = (PALETTE[k % len(PALETTE)] * 255).astype(int)
            it = QtWidgets.QListWidgetItem(n)
            it.setFlags(QtCore.Qt.ItemFlag.ItemIsUserCheckable | QtCore.Qt.ItemFlag.ItemIsEnabled)
            it.setCheckState(QtCore.Qt.CheckState.Unchecked if n in self.hidden_series else QtCore.Qt.CheckState.Checked)
            it.setForeground(QtGui.QColor(int(r), int(g), int(b)))
            it.setToolTip(f"{n}\nclick the box to show or hide")
            it.setSizeHint(cell)
            lg.addItem(it)
            self.legend_items[n] = it
        if len(names) > LEGEND_MAX:
            more = QtWidgets.QListWidgetItem(f"+{len(names) - LEGEND_MAX} more")
            more.setFlags(QtCore.Qt.ItemFlag.NoItemFlags)
            more.setToolTip("\n".join(names[LEGEND_MAX:LEGEND_MAX + 40]))
            more.setSizeHint(cell)
            lg.addItem(more)
        lg.blockSignals(False)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """Legend height: its rows of entries at the current width, at most LEGEND_ROWS (then it scrolls)."""
        n = self.legend.count()
        cell = self.legend.gridSize()
        if not n or cell.width() <= 0:
            self.legend.setFixedHeight(0)
            self.legend.setVisible(False)
            return
        per_row = max(1, (max(self.legend.viewport().width(), self.width() - 8)) // cell.width())
        rows = min(-(-n // per_row), LEGEND_ROWS)
        self.legend.setVisible(True)
        self.legend.setFixedHeight(rows * cell.height() + 6)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit_legend()

    def legend_entries(self) -> list[str]:
        """The legend's series names, as shown."""
        return list(self.legend_items)

    def set_series_visible(self, name: str, on: bool) -> None:
        """Tick or untick a legend entry (as a click on its box does)."""
        self.legend_items[name].setCheckState(QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked)

    def _legend_changed(self, item) -> None:
        name = item.text()
        if name in self.legend_items:
            self._toggle(name, item.checkState() == QtCore.Qt.CheckState.Checked)

    def _toggle(self, name: str, on: bool) -> None:
        (self.hidden_series.discard if on else self.hidden_series.add)(name)
        self.update_at(self.win.timeline, self.win.t)

    # -- drag and drop (a field from the message inspector) ---------------------------------

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasFormat(SERIES_MIME):
            ev.acceptProposedAction()

    def dragMoveEvent(self, ev) -> None:
        if ev.mimeData().hasFormat(SERIES_MIME):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        md = ev.mimeData()
        if not md.hasFormat(SERIES_MIME):
            return
        spec = bytes(md.data(SERIES_MIME)).decode("utf-8", "replace")
        self.add_series(spec)
        ev.acceptProposedAction()

    def add_series(self, spec: str) -> None:
        """Plot ``<entity>:message.<field>`` here too (it is added to the view's blueprint)."""
        if ":" not in spec:
            raise ValueError(f"not a series path: {spec!r}")
        if spec not in self.view_spec.series:
            self.view_spec.series.append(spec)
            self._cache_gen = None
        self.update_at(self.win.timeline, self.win.t)

    # -- drawing ----------------------------------------------------------------------------

    def _window(self, t: int, rng) -> tuple[float, float]:
        """The x range (s since the recording start) to show when following the cursor."""
        if self.view_spec.time_range:
            end = (t - self._origin) / 1e9
            return max(end - self.view_spec.time_range, 0.0), max(end, min(self.view_spec.time_range,
                                                                           (rng[1] - rng[0]) / 1e9))
        return 0.0, max((rng[1] - rng[0]) / 1e9, 1e-3)

    def _xy(self, timeline: str):
        """(times ns (n,), x (n,), y (n,)) of the view's ``xy`` fields (x taken latest-at each y)."""
        gen = (self.win.store.generation, timeline, tuple(self.view_spec.xy))
        if getattr(self, "_xy_gen", None) != gen:
            self._xy_gen, self._xy_data, self._problems = gen, None, {}
            got = []
            for spec in self.view_spec.xy:
                ent, _, path = spec.partition(":")
                try:
                    tt, vv, _names = field_series(self.win.store, ent, path or "message", timeline)
                except KeyError as err:
                    self._problems[spec] = str(err.args[0] if err.args else err)
                    return None
                if vv.ndim != 2 or vv.shape[1] != 1:
                    self._problems[spec] = "not one numeric field (name a leaf: ...position.x)"
                    return None
                got.append((tt, vv[:, 0]))
            (tx, x), (ty, y) = got
            if len(tx) == len(ty) and np.array_equal(tx, ty):
                xs = x
            else:
                i = np.searchsorted(tx, ty, "right") - 1
                xs = np.where(i >= 0, x[np.clip(i, 0, max(len(x) - 1, 0))], np.nan) if len(x) else np.full(len(ty), np.nan)
            self._xy_data = (ty, xs, y)
            self._rebuild_legend([f"{self.view_spec.xy[1]} vs {self.view_spec.xy[0]}"])
        return self._xy_data

    def _update_xy(self, timeline: str, t: int) -> None:
        """XY mode: y against x over the time range before the cursor (all of it without one)."""
        data = self._xy(timeline)
        self.set_problems(self._problems)
        self.xaxis.axis.axis_label = self.view_spec.xy[0].rsplit(".", 1)[-1] if self.view_spec.xy else ""
        line = self.lines[0] if self.lines else None
        if line is None:
            line = scene.visuals.Line(parent=self.viewbox.scene, width=1.5)
            self.lines.append(line)
        for extra in self.lines[1:]:
            extra.visible = False
        self.cursor.visible = False
        if data is None or not len(data[0]) or (self.legend_items and self.legend_entries()[0] in self.hidden_series):
            line.visible = self.xy_marker.visible = False
            self.canvas.update()
            return
        tt, x, y = data
        lo = t - int(self.view_spec.time_range * 1e9) if self.view_spec.time_range else tt[0]
        a, b = np.searchsorted(tt, lo, "left"), np.searchsorted(tt, t, "right")
        ok = np.isfinite(x) & np.isfinite(y)
        pts = np.stack([x, y], 1)[a:b][ok[a:b]].astype(np.float32)
        self.data = {self.legend_entries()[0] if self.legend_items else "xy": (tt[a:b], y[a:b])}
        if len(pts) >= 2:
            line.set_data(pts, color=tuple(PALETTE[0]) + (1.0,))
        line.visible = len(pts) >= 2
        if len(pts):
            self.xy_marker.set_data(pts[-1:], face_color=(1, 1, 0.4, 1), edge_width=0, size=9)
        self.xy_marker.visible = bool(len(pts))
        if not self.user_range:
            allp = np.stack([x, y], 1)[ok]
            lo2, hi2 = allp.min(axis=0), allp.max(axis=0)
            pad = np.maximum((hi2 - lo2) * 0.06, 1e-3)
            xs, ys = self.view_spec.xy[0].rsplit(".", 1), self.view_spec.xy[1].rsplit(".", 1)
            # the two coordinates of one point (…position.x, …position.y): one metre is as long on both axes
            self.viewbox.camera.aspect = 1.0 if (len(xs) == 2 and len(ys) == 2 and xs[0] == ys[0]) else None
            self.viewbox.camera.set_range(x=(lo2[0] - pad[0], hi2[0] + pad[0]), y=(lo2[1] - pad[1], hi2[1] + pad[1]),
                                          margin=0)
        self.drawn_time = t
        self.canvas.update()

    def update_at(self, timeline: str, t: int) -> None:
        rng = self.win.time_range()
        if rng is None:
            return
        self._origin = rng[0]
        if self.view_spec.xy:
            self._update_xy(timeline, t)
            return
        full = self._full(timeline)
        if self.user_range:
            rect = self.viewbox.camera.rect
            x0, x1 = rect.left, rect.right
        else:
            x0, x1 = self._window(t, rng)
        width = max(self.canvas.size[0], 100)
        self.data = {}
        lo, hi = np.inf, -np.inf
        k = 0
        dots, dot_cols = [], []
        for j, (name, times, vals) in enumerate(full):
            if k >= len(self.lines):
                self.lines.append(scene.visuals.Line(parent=self.viewbox.scene, width=1.5))
            line = self.lines[k]
            k += 1
            line.visible = False
            if name in self.hidden_series:
                continue
            a = np.searchsorted(times, self._origin + int(x0 * 1e9), "left")
            b = np.searchsorted(times, self._origin + int(x1 * 1e9), "right")
            a, b = max(a - 1, 0), min(b + 1, len(times))  # one beyond each edge: lines reach the border
            self.data[name] = (times[a:b], vals[a:b])
            pyr = self._pyramids[j]
            if pyr is None:
                pyr = self._pyramids[j] = MinMaxPyramid((times - self._origin) / 1e9, vals)
            x, y = pyr.query(x0, x1, width)
            ok = np.isfinite(y)
            if not ok.any():
                continue
            pts = np.stack([x[ok], y[ok]], 1).astype(np.float32)
            color = tuple(PALETTE[j % len(PALETTE)]) + (1.0,)
            if len(pts) <= SPARSE_POINTS:  # few samples: a dot on each (one sample is no line)
                dots.append(pts)
                dot_cols.append(np.tile(color, (len(pts), 1)))
            if len(pts) == 1:
                pts = np.concatenate([pts, pts + [[1e-6, 0]]])
            line.set_data(pts, color=color)
            line.visible = True
            inside = (x >= x0) & (x <= x1) & ok
            if inside.any():
                lo, hi = min(lo, float(y[inside].min())), max(hi, float(y[inside].max()))
        for extra in self.lines[k:]:
            extra.visible = False
        if dots:
            self.dots.set_data(np.concatenate(dots), face_color=np.concatenate(dot_cols), edge_width=0, size=6)
        self.dots.visible = bool(dots)
        if not np.isfinite(lo):
            lo, hi = -1.0, 1.0
        pad = (hi - lo) * 0.06 or max(abs(hi) * 0.1, 1.0)
        if not self.user_range:
            self.viewbox.camera.set_range(x=(x0, x1), y=(lo - pad, hi + pad), margin=0)
            ylo, yhi = lo - pad, hi + pad
        else:
            rect = self.viewbox.camera.rect
            ylo, yhi = rect.bottom, rect.top
        xc = (t - self._origin) / 1e9
        self.cursor.set_data(np.array([[xc, ylo], [xc, yhi]], np.float32))
        self.set_problems(self._problems)
        self.drawn_time = t
        self.canvas.update()

    # -- interaction ------------------------------------------------------------------------

    def _user_moved(self) -> None:
        self.user_range = True

    def _press(self, ev) -> None:
        if ev.button in (1, 2):
            self.user_range = True

    def reset_view(self) -> None:
        """Follow the cursor again (the view's time range, or the whole recording)."""
        self.user_range = False
        self.update_at(self.win.timeline, self.win.t)

    def value_at(self, x_s: float) -> list[tuple[str, float]]:
        """Each drawn series' latest value at ``x_s`` (s since the recording start)."""
        tns = self._origin + int(x_s * 1e9)
        out = []
        for name, (tt, yy) in self.data.items():
            i = int(np.searchsorted(tt, tns, "right")) - 1
            if 0 <= i < len(tt):
                out.append((name, float(yy[i])))
        return out

    def hover(self, x_s: float, y: float | None = None) -> str:
        """Set and return the readout for time ``x_s``: the time and every visible series' value
        (XY mode: the point under the cursor, ``x_s`` and ``y`` in the fields' units)."""
        if self.view_spec.xy:
            self.readout = f"{self.view_spec.xy[0]} = {x_s:.6g}   {self.view_spec.xy[1]} = {(y or 0.0):.6g}"
            self.readout_label.setText(self.readout)
            return self.readout
        vals = self.value_at(x_s)
        self.readout = f"t = {x_s:.3f} s   " + "   ".join(f"{n} = {v:.6g}" for n, v in vals[:8]) + \
            (f"   (+{len(vals) - 8})" if len(vals) > 8 else "")
        self.readout_label.setText(self.readout)
        return self.readout

    def _hover(self, ev) -> None:
        if ev.pos is None:
            return
        tr = self.canvas.scene.node_transform(self.viewbox.scene)
        x, y = tr.map(ev.pos)[:2]
        rect = self.viewbox.camera.rect
        if not (rect.left <= x <= rect.right):
            return
        if self.view_spec.xy:
            self.hover(float(x), float(y))
            return
        self.hover(float(x))
        self.hover_line.set_data(np.array([[x, rect.bottom], [x, rect.top]], np.float32))
        self.hover_line.visible = True
        self.canvas.update()

    def tick_labels(self) -> tuple[list[str], list[str]]:
        """The time axis' and value axis' tick labels as drawn (after a render)."""
        return list(self.xaxis.axis._text.text or []), list(self.yaxis.axis._text.text or [])
