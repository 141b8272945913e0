"""The TF tree panel (rviz's TF display, ``tf2_tools view_frames``): every frame under its parent,
static or dynamic, its publish rate and the age of its latest transform at the cursor; frames
that are stale (no transform for 5x their period), that data names but TF lacks, or that have two
parents are marked. Double-click a frame to make it the fixed frame."""
from __future__ import annotations

import numpy as np
from PyQt6 import QtGui, QtWidgets

__all__ = ["TfTree", "frame_rows"]

STALE_PERIODS = 5.0


def frame_rows(graph, t: int, data_frames: set[str] = frozenset()):
    """(depth, frame, parent, kind, rate Hz or None, age s or None, state) for every frame of
    ``graph`` depth first from its roots, then frames only data names (state ``missing``).
    state: ``ok``, ``stale`` (latest transform older than 5 periods), ``future`` (no transform
    yet at ``t``), ``conflict`` (two parents), ``missing``."""
    out = []

    def rec(f, depth, seen):
        if f in seen:
            return
        seen.add(f)
        p = graph.parent(f)
        times = graph.sample_times(f)
        if p is None:
            kind, rate, age, state = "root", None, None, "ok"
        elif not len(times):
            kind, rate, age, state = "static", None, None, "ok"
        else:
            kind = "dynamic"
            span = (times[-1] - times[0]) / 1e9
            rate = (len(times) - 1) / span if span > 0 else None
            i = int(np.searchsorted(times, t, "right")) - 1
            if i < 0:
                age, state = None, "future"
            else:
                age = (t - int(times[i])) / 1e9
                state = "stale" if rate and age > STALE_PERIODS / rate and i == len(times) - 1 else "ok"
        if f in graph.conflicts:
            state = "conflict"
        out.append((depth, f, p, kind, rate, age, state))
        for c in graph.children(f):
            rec(c, depth + 1, seen)
    seen: set = set()
    for r in graph.roots():
        rec(r, 0, seen)
    for f in sorted(set(data_frames) - graph.frames()):
        out.append((0, f, None, "none", None, None, "missing"))
    return out


COLORS = {"ok": "#d0d0d0", "stale": "#ffc040", "future": "#909090", "conflict": "#ff6060", "missing": "#ff6060"}


class TfTree(QtWidgets.QTreeWidget):
    """``on_fixed_frame(frame)`` is called when a frame is double-clicked."""

    def __init__(self, window, on_fixed_frame):
        super().__init__()
        self.win = window
        self.on_fixed_frame = on_fixed_frame
        self.setHeaderLabels(["frame", "kind", "rate", "age", "state"])
        self.setColumnWidth(0, 170)
        self.itemDoubleClicked.connect(lambda it, _c: self.on_fixed_frame(it.text(0)))
        self._key = None
        self.rows = []

    def refresh(self, data_frames: set[str]) -> None:
        key = (self.win.store.generation, self.win.t // 100_000_000, self.win.fixed_frame, len(data_frames))
        if key == self._key:
            return
        self._key = key
        self.rows = frame_rows(self.win.graph(), self.win.t, data_frames)
        self.clear()
        parents = []
        for depth, f, _p, kind, rate, age, state in self.rows:
            del parents[depth:]
            it = QtWidgets.QTreeWidgetItem([f, kind, f"{rate:.1f} Hz" if rate else "",
                                            f"{age:.2f} s" if age is not None else "", state])
            color = QtGui.QColor(COLORS[state])
            for c in range(5):
                it.setForeground(c, color)
            if f == self.win.fixed_frame:
                fnt = it.font(0)
                fnt.setBold(True)
                it.setFont(0, fnt)
                it.setToolTip(0, f"{f}: the fixed frame")
            else:
                it.setToolTip(0, f"{f}: double-click to make it the fixed frame")
            (parents[-1].addChild(it) if parents else self.addTopLevelItem(it))
            parents.append(it)
        self.expandAll()
