"""The timeline strip under the views: a time ruler with tick labels (time since the recording
start; the clock time of the window's start at its left end), one row of data marks per entity
(the first ``ROWS_MAX`` entities by name; the tooltip names the row's entity and the time under the
mouse), and the time cursor. Wheel zooms about the mouse, right- or middle-drag (or shift-drag)
pans, left click/drag scrubs, double-click shows the whole recording again — as in Rerun's
timeline panel and PlotJuggler's time slider."""
from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

__all__ = ["TimelineMarks", "nice_step"]

ROWS_MAX = 16
ROW_PX = 3
RULER_PX = 16
ZOOM_STEP = 1.25  # per wheel notch
MIN_SPAN_NS = 1_000_000  # 1 ms: the deepest zoom on timestamp timelines


def nice_step(span: float, n: int) -> float:
    """A 1-2-5 step (same unit as ``span``) giving about ``n`` ticks over ``span``."""
    raw = max(span, 1e-12) / max(n, 1)
    mag = 10.0 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _columns(times: np.ndarray, lo: int, span: int, width: int) -> np.ndarray:
    """The distinct pixel columns (int64, ascending) of ``times`` (int64 ns) over [lo, lo + span]
    drawn ``width`` pixels wide: a mask per pixel, O(n) (no sort of the times)."""
    cols = (times - lo) * (width - 1) // span
    mask = np.zeros(width, bool)
    mask[np.clip(cols, 0, width - 1)] = True
    return np.flatnonzero(mask).astype(np.int64)


class TimelineMarks(QtWidgets.QWidget):
    """Ruler + data marks + cursor over the visible window of the window's timeline.

    ``rows`` is [(entity, int64 pixel columns within the widget)] for the visible window;
    ``visible()`` the window as (start, end) in the timeline's unit (ns or sequence), the whole
    recording unless zoomed."""

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.rows: list[tuple[str, np.ndarray]] = []
        self._window: tuple[int, int] | None = None  # None: the whole recording
        self._drag: tuple[str, float, tuple[int, int]] | None = None
        self._times: dict[str, np.ndarray] = {}
        self._times_key = None
        self.setMinimumHeight(RULER_PX + 8)
        self.setMouseTracking(True)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)

    # -- the visible window ----------------------------------------------------------------

    def visible(self) -> tuple[int, int] | None:
        rng = self.win.time_range()
        if rng is None:
            return None
        if self._window is None:
            return rng
        lo, hi = self._window
        return (max(lo, rng[0]), min(hi, rng[1])) if hi > lo else rng

    def is_zoomed(self) -> bool:
        return self._window is not None

    def _min_span(self) -> int:
        return MIN_SPAN_NS if self.win._is_time() else 2

    def set_window(self, lo: int | None, hi: int | None = None) -> None:
        """Show [lo, hi] (clamped to the recording, at least 1 ms wide); ``None`` shows everything."""
        rng = self.win.time_range()
        if lo is None or rng is None:
            self._window = None
        else:
            span = max(int(hi) - int(lo), self._min_span())
            if span >= rng[1] - rng[0]:
                self._window = None
            else:
                lo = min(max(int(lo), rng[0]), rng[1] - span)
                self._window = (lo, lo + span)
        self.recompute()

    def zoom(self, factor: float, about: int | None = None) -> None:
        """Zoom in (``factor`` > 1) or out about time ``about`` (default the cursor), keeping it
        at the same pixel."""
        vis = self.visible()
        if vis is None:
            return
        about = self.win.t if about is None else int(about)
        lo, hi = vis
        span = hi - lo
        new = max(int(span / factor), self._min_span())
        frac = (about - lo) / span if span > 0 else 0.5
        start = about - int(frac * new)
        self.set_window(start, start + new)

    def pan(self, dt: int) -> None:
        vis = self.visible()
        if vis is not None and self._window is not None:
            self.set_window(vis[0] + dt, vis[1] + dt)

    def keep_in_view(self, t: int) -> None:
        """When zoomed, move the window (same span) so that ``t`` is inside it (play, follow live)."""
        vis = self.visible()
        if self._window is None or vis is None or vis[0] <= t <= vis[1]:
            return
        span = vis[1] - vis[0]
        self.set_window(t - span // 2, t - span // 2 + span)

    # -- pixels <-> time -------------------------------------------------------------------

    def x_of(self, t: int) -> int:
        vis = self.visible()
        if vis is None:
            return 0
        span = max(vis[1] - vis[0], 1)
        return int((int(t) - vis[0]) * (max(self.width(), 1) - 1) // span)

    def t_at(self, x: float) -> int:
        vis = self.visible()
        if vis is None:
            return 0
        w = max(self.width() - 1, 1)
        x = min(max(int(x), 0), w)
        return vis[0] + (vis[1] - vis[0]) * x // w

    def ticks(self) -> list[tuple[int, str]]:
        """[(pixel x, label)] of the ruler: seconds since the recording start (timestamp
        timelines) or sequence numbers, on a 1-2-5 step for about one label per 90 px."""
        vis = self.visible()
        if vis is None:
            return []
        w = max(self.width(), 1)
        n = max(2, w // 90)
        if vis[1] <= vis[0]:  # one instant (every message at the same time)
            return [(0, self.win.format_time(vis[0]).replace(".000", ""))]
        if self.win._is_time():
            origin = self.win.time_origin()
            lo_s, hi_s = (vis[0] - origin) / 1e9, (vis[1] - origin) / 1e9
            step = nice_step(hi_s - lo_s, n)
            digits = max(0, int(-np.floor(np.log10(step)))) if step < 1 else 0
            first = np.ceil(lo_s / step) * step
            out = []
            for k in range(int((hi_s - first) / step) + 1):
                s = first + k * step
                out.append((self.x_of(origin + int(round(s * 1e9))), f"{s:.{digits}f} s"))
            return out
        step = max(1, int(nice_step(vis[1] - vis[0], n)))
        first = -(-vis[0] // step) * step
        return [(self.x_of(v), str(v)) for v in range(first, vis[1] + 1, step)]

    # -- content ---------------------------------------------------------------------------

    def recompute(self) -> None:
        vis = self.visible()
        w = max(self.width(), 1)
        self.rows = []
        st = self.win.store
        if vis is not None:
            lo, hi = vis
            span = max(hi - lo, 1)
            per = []
            key = (getattr(st, "generation", None), self.win.timeline)
            if self._times_key != key:  # the store's times change only when chunks arrive
                self._times = {e: st.entity_times(e, self.win.timeline) for e in st.entities()}
                self._times_key = key
            for e, times in self._times.items():
                if not len(times):
                    continue
                times = times[(times >= lo) & (times <= hi)] if self._window is not None else times
                per.append((e, _columns(times, lo, span, w)))
            per.sort(key=lambda r: r[0])
            self.rows = per[:ROWS_MAX]
            if not self.rows:
                times = st.data_times(self.win.timeline)
                times = times[(times >= lo) & (times <= hi)]
                if len(times):
                    self.rows = [("all", _columns(times, lo, span, w))]
        self.setFixedHeight(RULER_PX + max(6, min(len(self.rows), ROWS_MAX) * ROW_PX + 2))
        self.update()

    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor("#1c1c22"))
        # ruler
        p.setPen(QtGui.QColor("#9a9aa8"))
        font = p.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        p.setFont(font)
        for x, label in self.ticks():
            p.drawLine(x, RULER_PX - 5, x, RULER_PX - 1)
            p.drawText(x + 2, RULER_PX - 5, label)
        if self._window is not None:
            p.setPen(QtGui.QColor("#e0a040"))
            p.drawText(QtCore.QRect(0, 0, self.width() - 2, RULER_PX),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignTop, "zoomed (double-click: all)")
        # one row of marks per entity
        p.setPen(QtGui.QColor("#4aa3ff"))
        single = len(self.rows) == 1
        h = (self.height() - RULER_PX) if single else ROW_PX - 1
        for i, (_e, cols) in enumerate(self.rows):
            y0 = RULER_PX + (0 if single else i * ROW_PX)
            for x in cols:
                p.drawLine(int(x), y0, int(x), y0 + max(h - 1, 0))
        # the cursor
        vis = self.visible()
        if vis is not None and vis[0] <= self.win.t <= vis[1]:
            p.setPen(QtGui.QPen(QtGui.QColor("#ffffff"), 1))
            x = self.x_of(self.win.t)
            p.drawLine(x, 0, x, self.height())
        p.end()

    # -- mouse -----------------------------------------------------------------------------

    def entity_at(self, y: int) -> str | None:
        i = (y - RULER_PX) // ROW_PX
        return self.rows[i][0] if y >= RULER_PX and 0 <= i < len(self.rows) else None

    def mouseMoveEvent(self, ev) -> None:
        x, y = ev.position().x(), int(ev.position().y())
        if self._drag is not None:
            kind, x0, win0 = self._drag
            if kind == "pan":
                span = win0[1] - win0[0]
                dt = -int((x - x0) * span / max(self.width() - 1, 1))
                self.set_window(win0[0] + dt, win0[1] + dt)
            else:
                self.win.set_time(self.t_at(x))
            return
        t = self.t_at(x)
        e = self.entity_at(y)
        self.setToolTip((f"{e}\n" if e else "") + f"{self.win.format_time(t)}  ·  {self.win.format_clock(t)}")

    def mousePressEvent(self, ev) -> None:
        vis = self.visible()
        if vis is None:
            return
        b = ev.button()
        shift = bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
        if b in (QtCore.Qt.MouseButton.RightButton, QtCore.Qt.MouseButton.MiddleButton) or shift:
            self._drag = ("pan", ev.position().x(), vis)
        else:
            self._drag = ("scrub", ev.position().x(), vis)
            self.win.set_time(self.t_at(ev.position().x()))

    def mouseReleaseEvent(self, _ev) -> None:
        self._drag = None

    def mouseDoubleClickEvent(self, _ev) -> None:
        self.set_window(None)

    def wheelEvent(self, ev) -> None:
        notches = ev.angleDelta().y() / 120.0
        if notches:
            self.zoom(ZOOM_STEP ** notches, self.t_at(ev.position().x()))
        ev.accept()
