"""The time series view (PlotJuggler's plot): every Scalars series of the view's entities and every
message field the blueprint names (``series: ["/dvl/data:message.altitude"]``), on time and value
axes with ticks, a legend whose entries toggle their series, a hover readout and a time cursor.
Wheel/drag zoom and pan both axes; double-click (or "reset view") returns to following the cursor.
Lines are min/max-decimated to the canvas width over the visible range."""
from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets

from ..series import MinMaxPyramid, field_series, series
from .base import CanvasView, scene
from .fonts import share_fonts

__all__ = ["TimeSeriesView", "PALETTE"]

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
        self.legend = QtWidgets.QWidget()
        self.legend_layout = QtWidgets.QHBoxLayout(self.legend)
        self.legend_layout.setContentsMargins(2, 0, 2, 0)
        self.legend_layout.setSpacing(8)
        self.legend_layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.legend)
        scroll.setWidgetResizable(True)
        scroll.setFixedHeight(30)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.header.addWidget(scroll, 1)
        self.readout_label = QtWidgets.QLabel("")
        self.readout_label.setStyleSheet("color:#d8d8a0")
        self.readout_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.layout().insertWidget(3, self.readout_label)
        self.legend_boxes: dict[str, QtWidgets.QCheckBox] = {}
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
        for b in self.legend_boxes.values():
            b.setParent(None)
        self.legend_boxes = {}
        for k, n in enumerate(names[:LEGEND_MAX]):
            r, g, b = (PALETTE[k % len(PALETTE)] * 255).astype(int)
            box = QtWidgets.QCheckBox(n)
            box.setChecked(n not in self.hidden_series)
            box.setStyleSheet(f"QCheckBox {{ color: rgb({r},{g},{b}); }}")
            box.setToolTip(f"{n}: click to show or hide")
            box.toggled.connect(lambda on, n=n: self._toggle(n, on))
            self.legend_layout.insertWidget(self.legend_layout.count() - 1, box)
            self.legend_boxes[n] = box
        if len(names) > LEGEND_MAX:
            more = QtWidgets.QCheckBox(f"+{len(names) - LEGEND_MAX} more")
            more.setEnabled(False)
            self.legend_layout.insertWidget(self.legend_layout.count() - 1, more)
            self.legend_boxes["…"] = more

    def legend_entries(self) -> list[str]:
        """The legend's series names, as shown."""
        return [n for n in self.legend_boxes if n != "…"]

    def _toggle(self, name: str, on: bool) -> None:
        (self.hidden_series.discard if on else self.hidden_series.add)(name)
        self.update_at(self.win.timeline, self.win.t)

    # -- drawing ----------------------------------------------------------------------------

    def _window(self, t: int, rng) -> tuple[float, float]:
        """The x range (s since the recording start) to show when following the cursor."""
        if self.view_spec.time_range:
            end = (t - self._origin) / 1e9
            return max(end - self.view_spec.time_range, 0.0), max(end, min(self.view_spec.time_range,
                                                                           (rng[1] - rng[0]) / 1e9))
        return 0.0, max((rng[1] - rng[0]) / 1e9, 1e-3)

    def update_at(self, timeline: str, t: int) -> None:
        rng = self.win.time_range()
        if rng is None:
            return
        self._origin = rng[0]
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

    def hover(self, x_s: float) -> str:
        """Set and return the readout for time ``x_s``: the time and every visible series' value."""
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
        self.hover(float(x))
        self.hover_line.set_data(np.array([[x, rect.bottom], [x, rect.top]], np.float32))
        self.hover_line.visible = True
        self.canvas.update()

    def tick_labels(self) -> tuple[list[str], list[str]]:
        """The time axis' and value axis' tick labels as drawn (after a render)."""
        return list(self.xaxis.axis._text.text or []), list(self.yaxis.axis._text.text or [])
