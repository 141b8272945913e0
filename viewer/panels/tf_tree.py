"""The TF tree panel (rviz's TF display, ``tf2_tools view_frames``): every frame under its parent,
static or dynamic, its publish rate and the age of its latest transform at the cursor; frames
that are stale (no transform for 5x their period), that data names but TF lacks, or that have two
parents are marked. A frame's check box shows or hides it in the 3D views (rviz's TF display);
double-click a frame to make it the fixed frame, right-click to follow it."""
from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

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
    """Each frame has a check box (shown in the 3D views or not: ``on_visible(frame, bool)``); a
    click selects it (``on_select(frame)``: its name is drawn first), a double click makes it the
    fixed frame (``on_fixed_frame(frame)``), the context menu also sets the target frame
    (``on_target(frame)``)."""

    def __init__(self, window, on_fixed_frame, on_visible=None, on_select=None, on_target=None):
        super().__init__()
        self.win = window
        self.on_fixed_frame = on_fixed_frame
        self.on_visible = on_visible
        self.on_select = on_select
        self.on_target = on_target
        self.setHeaderLabels(["frame", "kind", "rate", "age", "state"])
        self.setColumnWidth(0, 170)
        self.itemDoubleClicked.connect(lambda it, _c: self.on_fixed_frame(it.text(0)))
        self.itemChanged.connect(self._changed)
        self.currentItemChanged.connect(lambda cur, _prev: self.on_select and self.on_select(cur.text(0) if cur else None))
        self.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self._key = None
        self._filling = False
        self.rows = []
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}

    def _changed(self, item, column: int) -> None:
        if self._filling or column != 0 or self.on_visible is None:
            return
        # after this signal returns: showing or hiding rebuilds this tree, which must not delete
        # the item while Qt is still inside its setCheckState (a use-after-free: a segfault seen
        # once in CI)
        frame, on = item.text(0), item.checkState(0) == QtCore.Qt.CheckState.Checked
        QtCore.QTimer.singleShot(0, lambda: self.on_visible(frame, on))

    def set_visible(self, frame: str, visible: bool) -> None:
        """Tick or untick a frame's check box (as a click does)."""
        it = self.items.get(frame)
        if it is None:
            raise KeyError(f"no frame {frame!r} in the TF panel")
        self._filling = True  # (no deferred call from _changed: applied here, once the item is done)
        try:
            it.setCheckState(0, QtCore.Qt.CheckState.Checked if visible else QtCore.Qt.CheckState.Unchecked)
        finally:
            self._filling = False
        if self.on_visible is not None:
            self.on_visible(frame, visible)

    def _menu(self, point) -> None:
        it = self.itemAt(point)
        if it is None:
            return
        f = it.text(0)
        m = QtWidgets.QMenu(self)
        m.addAction(f"Make {f} the fixed frame", lambda: self.on_fixed_frame(f))
        if self.on_target is not None:
            m.addAction(f"Follow {f} (target frame)", lambda: self.on_target(f))
        m.exec(self.viewport().mapToGlobal(point))

    def refresh(self, data_frames: set[str]) -> None:
        hidden = getattr(self.win, "hidden_frames", set())
        key = (self.win.store.generation, self.win.t // 100_000_000, self.win.fixed_frame, len(data_frames),
               frozenset(hidden))
        if key == self._key:
            return
        self._key = key
        self.rows = frame_rows(self.win.graph(), self.win.t, data_frames)
        current = self.currentItem().text(0) if self.currentItem() is not None else None
        self._filling = True
        self.blockSignals(True)
        try:
            self.clear()
            self.items = {}
            parents = []
            for depth, f, _p, kind, rate, age, state in self.rows:
                del parents[depth:]
                it = QtWidgets.QTreeWidgetItem([f, kind, f"{rate:.1f} Hz" if rate else "",
                                                f"{age:.2f} s" if age is not None else "", state])
                it.setFlags(it.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                it.setCheckState(0, QtCore.Qt.CheckState.Unchecked if f in hidden else QtCore.Qt.CheckState.Checked)
                color = QtGui.QColor(COLORS[state])
                for c in range(5):
                    it.setForeground(c, color)
                if f == self.win.fixed_frame:
                    fnt = it.font(0)
                    fnt.setBold(True)
                    it.setFont(0, fnt)
                    it.setToolTip(0, f"{f}: the fixed frame; untick to hide it in the 3D views")
                else:
                    it.setToolTip(0, f"{f}: untick to hide it in the 3D views; double-click to make it the fixed "
                                     f"frame; right-click to follow it")
                (parents[-1].addChild(it) if parents else self.addTopLevelItem(it))
                parents.append(it)
                self.items[f] = it
            self.expandAll()
            if current in self.items:
                self.setCurrentItem(self.items[current])
        finally:
            self.blockSignals(False)
            self._filling = False
