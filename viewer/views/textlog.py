"""The text log view (rqt_console's table): TextLog rows up to the cursor with a level filter, a
node filter (the ``/rosout`` publisher's name) and search; click a row to jump to its time. The
message column takes the free width and long messages wrap (the whole text also on hover)."""
from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

from ..logs import LogIndex, text_log

__all__ = ["TextLogView", "LEVEL_COLORS"]

LEVEL_COLORS = {"CRITICAL": "#ff4040", "ERROR": "#ff6060", "WARN": "#ffc040", "INFO": "#d0d0d0",
                "DEBUG": "#80a0ff", "TRACE": "#808080"}
SHOWN_MAX = 500


class TextLogView(QtWidgets.QWidget):
    """``rows`` holds (time ns, entity, level, text) of what the filters keep up to the cursor."""

    def __init__(self, view, window):
        super().__init__()
        self.view_spec = view
        self.win = window
        self.level = QtWidgets.QComboBox()
        self.level.addItems(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"])
        self.node = QtWidgets.QComboBox()
        self.node.addItem("all nodes")
        self.node.setToolTip("only this node's lines (rcl_interfaces/Log name)")
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("search")
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["time", "level", "entity", "text"])
        hh = self.table.horizontalHeader()
        for col, mode in ((0, "ResizeToContents"), (1, "ResizeToContents"), (2, "Interactive"), (3, "Stretch")):
            hh.setSectionResizeMode(col, getattr(QtWidgets.QHeaderView.ResizeMode, mode))
        hh.setMinimumSectionSize(30)
        self.table.verticalHeader().setVisible(False)
        # the message takes the free width and wraps onto more lines: whole at any width
        self.table.setWordWrap(True)
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.cellClicked.connect(self._jump)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel(f"<b>{view.name}</b>"))
        top.addWidget(self.level)
        top.addWidget(self.node)
        top.addWidget(self.search)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.table)
        self.level.currentTextChanged.connect(lambda _: self.win.refresh())
        self.search.textChanged.connect(lambda _: self.win.refresh())
        self.node.currentTextChanged.connect(lambda _: self.win.refresh())
        self.rows = []
        self.drawn_time = None
        self._index = None
        self._index_key = None

    def entities(self) -> list[str]:
        return [e for e in self.win.store.entities() if self.view_spec.matches(e) and e not in self.win.hidden]

    def update_at(self, timeline: str, t: int) -> None:
        key = (self.win.store.generation, timeline, tuple(self.entities()))
        if key != self._index_key:
            self._index, self._index_key = LogIndex(self.win.store, self.entities(), timeline), key
            current = self.node.currentText()
            self.node.blockSignals(True)
            self.node.clear()
            self.node.addItems(["all nodes"] + self._index.node_names())
            self.node.setCurrentText(current)
            self.node.blockSignals(False)
        node = "" if self.node.currentIndex() <= 0 else self.node.currentText()
        self.rows = text_log(self.win.store, self.entities(), timeline, t, self.level.currentText(), self.search.text(),
                             node, index=self._index)
        shown = self.rows[-SHOWN_MAX:]
        sig = (len(self.rows), self.rows[-1] if self.rows else None)
        self.drawn_time = t
        if sig == getattr(self, "_shown_sig", None):
            return  # the same rows: no table rebuild while scrubbing between log lines
        self._shown_sig = sig
        one = len({r[1] for r in shown}) <= 1
        self.table.setColumnHidden(2, one)  # one entity (/rosout): its column says nothing
        self.table.setRowCount(len(shown))
        for i, (tm, ent, level, text) in enumerate(shown):
            for j, v in enumerate((self.win.format_time(tm), level, ent, text)):
                it = QtWidgets.QTableWidgetItem(v)
                if j == 1:
                    it.setForeground(QtGui.QColor(LEVEL_COLORS.get(level, "#d0d0d0")))
                if j == 3:
                    it.setToolTip(f"{ent} · {level} · {self.win.format_time(tm)}\n{text}")
                self.table.setItem(i, j, it)
        self.table.resizeRowsToContents()
        if shown:
            self.table.scrollToBottom()
        self.drawn_time = t

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.table.resizeRowsToContents()  # wrapped messages take the lines the new width needs

    def _jump(self, row: int, _col: int) -> None:
        shown = self.rows[-SHOWN_MAX:]
        if 0 <= row < len(shown):
            self.win.set_time(shown[row][0])
