"""The diagnostics view (rqt_robot_monitor's table): for every ``diagnostic_msgs/DiagnosticArray``
entity of the view, the latest status of each name at the cursor — level in its colour (OK,
WARN, ERROR, STALE), message, hardware id — with its key/values under it."""
from __future__ import annotations

import numpy as np
from PyQt6 import QtGui, QtWidgets

__all__ = ["DiagnosticsView", "latest_statuses", "DIAGNOSTIC_COLUMN"]

DIAGNOSTIC_COLUMN = "diagnostic_msgs.msg.DiagnosticArray:message"
LEVELS = {0: ("OK", "#60d060"), 1: ("WARN", "#ffc040"), 2: ("ERROR", "#ff6060"), 3: ("STALE", "#a0a0a0")}
LEVEL_COLORS = dict(LEVELS.values())


def _level(v) -> int:
    if isinstance(v, (bytes, bytearray)):
        return v[0] if v else 0
    return int(v or 0)


class _Index:
    """One entity's DiagnosticArray rows: times (n,) ns and each message's status list."""

    def __init__(self, store, entity: str, timeline: str):
        r = store.range(entity, timeline, -2**62, 2**62, DIAGNOSTIC_COLUMN, include_latest_at=False)
        self.times = np.asarray(r.times, np.int64)
        self.statuses = [(v[0] or {}).get("status") or [] if v else [] for v in r.values.to_pylist()]
        self.names = {s.get("name", "") for st in self.statuses for s in st}


def latest_statuses(index: _Index, t: int) -> dict[str, tuple[int, dict]]:
    """name -> (time ns, status dict) of the latest status of each name at or before ``t``."""
    out: dict[str, tuple[int, dict]] = {}
    i = int(np.searchsorted(index.times, t, "right")) - 1
    while i >= 0 and len(out) < len(index.names):
        for s in index.statuses[i]:
            out.setdefault(s.get("name", ""), (int(index.times[i]), s))
        i -= 1
    return out


class DiagnosticsView(QtWidgets.QWidget):
    """``rows``: [(entity, name, level name, message, hardware_id, {key: value})] as shown."""

    def __init__(self, view, window):
        super().__init__()
        self.view_spec = view
        self.win = window
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["name", "level", "message", "hardware id", "age"])
        self.tree.setColumnWidth(0, 220)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QtWidgets.QLabel(f"<b>{view.name}</b>  <span style='color:#888'>(diagnostics)</span>"))
        lay.addWidget(self.tree)
        self.rows: list = []
        self.drawn_time = None
        self._index: dict = {}
        self._key = None
        self._sig = None

    def entities(self) -> list[str]:
        return [e for e in self.win.store.entities() if self.view_spec.matches(e) and e not in self.win.hidden
                and DIAGNOSTIC_COLUMN in self.win.store.columns(e)]

    def update_at(self, timeline: str, t: int) -> None:
        key = (self.win.store.generation, timeline)
        if key != self._key:
            self._index = {e: _Index(self.win.store, e, timeline) for e in self.entities()}
            self._key = key
        rows = []
        for e, ix in self._index.items():
            for name, (tm, s) in sorted(latest_statuses(ix, t).items()):
                lvl = LEVELS.get(_level(s.get("level")), (str(s.get("level")), "#d0d0d0"))[0]
                kv = {d.get("key", ""): d.get("value", "") for d in s.get("values") or []}
                rows.append((e, name, lvl, s.get("message", ""), s.get("hardware_id", ""), kv, (t - tm) / 1e9))
        self.drawn_time = t
        sig = [r[:6] for r in rows]
        if sig == self._sig:
            return
        self._sig = sig
        self.rows = [r[:6] for r in rows]
        self.tree.clear()
        for e, name, lvl, msg, hw, kv, age in rows:
            it = QtWidgets.QTreeWidgetItem([name, lvl, msg, hw, f"{age:.1f} s"])
            it.setToolTip(0, f"{e}: {name}")
            color = QtGui.QColor(LEVEL_COLORS.get(lvl, "#d0d0d0"))
            it.setForeground(1, color)
            it.setForeground(0, color)
            for k, v in kv.items():
                it.addChild(QtWidgets.QTreeWidgetItem([k, "", str(v), "", ""]))
            self.tree.addTopLevelItem(it)
