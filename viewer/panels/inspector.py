"""The message inspector (Foxglove's Raw Messages, Rerun's selection panel): for the selected
entity at the cursor, the whole ROS message as a tree of fields with values, then every
component's latest-at value; with nothing selected, a summary of the recording. Double-click a
numeric field to plot it, or drag it onto a plot."""
from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from ..series import message_column

__all__ = ["Inspector", "message_tree_rows"]

LIST_SHOWN = 50
PATH_ROLE = QtCore.Qt.ItemDataRole.UserRole


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.9g}"
    if isinstance(v, (bytes, bytearray)):
        return f"<{len(v)} bytes>"
    if isinstance(v, str):
        return repr(v) if len(v) <= 200 else repr(v[:200]) + f"… ({len(v)} chars)"
    return str(v)


def message_tree_rows(value, path: str = "message", depth: int = 0):
    """Yield (depth, name, value text, field path or None for non-numeric) for a message as
    ``to_pylist`` gives it (dicts for structs, lists for sequences); lists beyond 50 elements
    are summarised, and numeric lists longer than that shown as their size."""
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{path}.{k}"
            if isinstance(v, (dict, list)):
                yield depth, k, _summary(v), None
                yield from message_tree_rows(v, p, depth + 1)
            else:
                yield depth, k, _fmt(v), p if isinstance(v, (int, float, bool)) else None
    elif isinstance(value, list):
        if value and not isinstance(value[0], (dict, list)) and len(value) > LIST_SHOWN:
            return  # a long numeric/bytes array: the summary line says its size
        for i, v in enumerate(value[:LIST_SHOWN]):
            p = f"{path}[{i}]"
            if isinstance(v, (dict, list)):
                yield depth, f"[{i}]", _summary(v), None
                yield from message_tree_rows(v, p, depth + 1)
            else:
                yield depth, f"[{i}]", _fmt(v), p if isinstance(v, (int, float, bool)) else None
        if len(value) > LIST_SHOWN:
            yield depth, "…", f"{len(value) - LIST_SHOWN} more", None


def _summary(v) -> str:
    if isinstance(v, dict):
        return "{…}"
    if v and not isinstance(v[0], (dict, list)) and len(v) > LIST_SHOWN:
        head = ", ".join(_fmt(x) for x in v[:6])
        return f"[{len(v)} elements] {head}, …"
    return f"[{len(v)} elements]"


class Inspector(QtWidgets.QTreeWidget):
    """Columns: field, value. ``entity`` is the selection (None: the recording summary);
    ``on_plot(entity, field_path)`` is called on double-clicking a numeric field."""

    def __init__(self, window, on_plot):
        super().__init__()
        self.win = window
        self.on_plot = on_plot
        self.entity: str | None = None
        self.setHeaderLabels(["field", "value"])
        self.setColumnWidth(0, 150)
        self.itemDoubleClicked.connect(self._double)
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragDropMode.DragOnly)
        self._shown = None

    def mimeTypes(self) -> list[str]:
        from ..views.timeseries import SERIES_MIME
        return [SERIES_MIME, "text/plain"]

    def mimeData(self, items):
        """A numeric field dragged out: ``<entity>:<field path>`` (dropped on a plot, it is plotted)."""
        from ..views.timeseries import SERIES_MIME
        md = QtCore.QMimeData()
        specs = [f"{self.entity}:{it.data(0, PATH_ROLE)}" for it in items if it.data(0, PATH_ROLE) and self.entity]
        if specs:
            md.setData(SERIES_MIME, QtCore.QByteArray(specs[0].encode("utf-8")))
            md.setText(specs[0])
        return md

    def show_entity(self, entity: str | None) -> None:
        self.entity = entity
        self._shown = None
        self.refresh()

    def refresh(self) -> None:
        win = self.win
        key = (self.entity, win.t, win.timeline, win.store.generation)
        if key == self._shown:
            return
        self._shown = key
        self.clear()
        if self.entity is None:
            self._summary()
            return
        la = win.store.latest_at(self.entity, win.timeline, win.t)
        top = QtWidgets.QTreeWidgetItem([self.entity, f"at {win.format_time(win.t)}"])
        self.addTopLevelItem(top)
        col = message_column(win.store, self.entity)
        if col is not None and col in la:
            msg = la[col]
            when = "static" if msg.time is None else win.format_time(msg.time)
            root = QtWidgets.QTreeWidgetItem([col.split(":")[0].replace(".msg.", "/msg/"), f"received {when}"])
            self.addTopLevelItem(root)
            vals = msg.values.to_pylist()
            parents = [root]
            for depth, name, text, path in message_tree_rows(vals[0] if vals else {}):
                del parents[depth + 1:]
                it = QtWidgets.QTreeWidgetItem([name, text])
                if path is not None:
                    it.setData(0, PATH_ROLE, path)
                    it.setToolTip(0, f"{self.entity}:{path}\ndouble-click to plot, or drag onto a plot")
                else:
                    it.setFlags(it.flags() & ~QtCore.Qt.ItemFlag.ItemIsDragEnabled)
                parents[-1].addChild(it)
                parents.append(it)
            root.setExpanded(True)
            for i in range(root.childCount()):
                root.child(i).setExpanded(root.child(i).childCount() <= 12)
        comps = QtWidgets.QTreeWidgetItem(["components", ""])
        self.addTopLevelItem(comps)
        for c in sorted(la):
            if c.endswith(":message"):
                continue
            v = la[c]
            vals = v.values.to_pylist()
            shown = vals if len(vals) <= 6 else vals[:6] + [f"... ({len(vals)} instances)"]
            when = "static" if v.time is None else win.format_time(v.time)
            it = QtWidgets.QTreeWidgetItem([c, f"{shown}"])
            it.setToolTip(1, f"{c} [{when}]: {shown}")
            comps.addChild(it)
        comps.setExpanded(True)
        top.setExpanded(True)

    def _summary(self) -> None:
        st, win = self.win.store, self.win
        rng = win.time_range()
        rows = [("source", win.source_name), ("entities", str(len(st.entities()))),
                ("rows", str(sum(st.num_rows(e) for e in st.entities()))),
                ("timelines", ", ".join(sorted(st.timelines())))]
        if rng:
            rows += [("start", win.format_clock(rng[0])), ("duration", f"{(rng[1] - rng[0]) / 1e9:.3f} s")]
        rows.append(("fixed frame", win.fixed_frame or "none"))
        top = QtWidgets.QTreeWidgetItem(["recording", "select an entity to inspect its message"])
        self.addTopLevelItem(top)
        for k, v in rows:
            top.addChild(QtWidgets.QTreeWidgetItem([k, v]))
        top.setExpanded(True)

    def texts(self) -> list[tuple[str, str]]:
        """Every (field, value) row shown, depth first (for tests and copy)."""
        out = []

        def rec(it):
            out.append((it.text(0), it.text(1)))
            for i in range(it.childCount()):
                rec(it.child(i))
        for i in range(self.topLevelItemCount()):
            rec(self.topLevelItem(i))
        return out

    def toPlainText(self) -> str:
        return "\n".join(f"{a}: {b}" for a, b in self.texts())

    def _double(self, item, _col) -> None:
        path = item.data(0, PATH_ROLE)
        if path and self.entity:
            self.on_plot(self.entity, path)
