"""The timeline panel: timeline choice, play/pause/step/speed/loop/follow live, a strip of data
marks (one row per entity, up to 16 rows), the time slider, and the cursor time as time since
the start and as clock time (UTC) for timestamp timelines."""
from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

__all__ = ["TimelineMarks"]

ROWS_MAX = 16
ROW_PX = 2


class TimelineMarks(QtWidgets.QWidget):
    """Above the slider: a row of ticks per entity where it has data (the densest rows first);
    ``rows`` is [(entity, pixel columns)]. Click to move the cursor there."""

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.rows: list[tuple[str, np.ndarray]] = []
        self.setMinimumHeight(8)
        self.setMouseTracking(True)

    def recompute(self) -> None:
        rng = self.win.time_range()
        w = max(self.width(), 1)
        self.rows = []
        st = self.win.store
        if rng is not None:
            span = max(rng[1] - rng[0], 1)
            per = []
            for e in st.entities():
                times = st.entity_times(e, self.win.timeline)
                if not len(times):
                    continue
                per.append((e, np.unique(((times - rng[0]) * (w - 1) // span).astype(np.int64))))
            per.sort(key=lambda r: r[0])
            self.rows = per[:ROWS_MAX]
            if not self.rows:
                times = st.data_times(self.win.timeline)
                if len(times):
                    self.rows = [("all", np.unique(((times - rng[0]) * (w - 1) // span).astype(np.int64)))]
        self.setFixedHeight(max(8, min(len(self.rows), ROWS_MAX) * ROW_PX + 2))
        self.update()

    def paintEvent(self, _ev) -> None:
        p = QtGui.QPainter(self)
        p.setPen(QtGui.QColor("#4aa3ff"))
        h = ROW_PX if len(self.rows) > 1 else self.height()
        for i, (_e, cols) in enumerate(self.rows):
            y0 = i * ROW_PX if len(self.rows) > 1 else 0
            for x in cols:
                p.drawLine(int(x), y0, int(x), y0 + h - 1)
        p.end()

    def entity_at(self, y: int) -> str | None:
        i = y // ROW_PX
        return self.rows[i][0] if 0 <= i < len(self.rows) else None

    def mouseMoveEvent(self, ev) -> None:
        e = self.entity_at(int(ev.position().y()))
        self.setToolTip(e or "")

    def mousePressEvent(self, ev) -> None:
        rng = self.win.time_range()
        if rng:
            x = min(max(int(ev.position().x()), 0), max(self.width() - 1, 1))
            self.win.set_time(rng[0] + (rng[1] - rng[0]) * x // max(self.width() - 1, 1))
