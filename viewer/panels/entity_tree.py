"""The entity tree (Rerun's streams panel): entity paths as a tree, one node per path part, with
full paths as tooltips, the archetypes and row counts of each entity, and a visibility check box
per subtree (unchecking a parent hides everything under it)."""
from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

__all__ = ["EntityTree"]

PATH_ROLE = QtCore.Qt.ItemDataRole.UserRole
ICONS = {"Points3D": "⁘", "Image": "▣", "EncodedImage": "▣", "DepthImage": "▣", "Transform3D": "⟂",
         "Scalars": "∿", "TextLog": "≡", "Arrows3D": "➚", "LineStrips3D": "⌇", "Boxes3D": "□",
         "Mesh3D": "◭", "Pinhole": "◬", "GeoPoints": "◎", "Ellipsoids3D": "◯"}


def _archetype(col: str) -> str:
    a = col.split(":", 1)[0]
    return "message" if col.endswith(":message") else a


class EntityTree(QtWidgets.QTreeWidget):
    """``hidden`` (the window's set of hidden entity paths) is kept in step with the check boxes;
    ``on_change()`` is called after a visibility change, ``on_select(path)`` on selection."""

    def __init__(self, store, hidden: set, on_change, on_select):
        super().__init__()
        self.store = store
        self.hidden = hidden
        self.on_change = on_change
        self.on_select = on_select
        self.setHeaderLabels(["entity", "archetypes", "rows"])
        self.setColumnWidth(0, 190)
        self.setColumnWidth(1, 110)
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self.itemChanged.connect(self._changed)
        self.currentItemChanged.connect(lambda cur, _prev: cur is not None and self.on_select(cur.data(0, PATH_ROLE)))

    def _node(self, path: str) -> QtWidgets.QTreeWidgetItem:
        it = self.items.get(path)
        if it is not None:
            return it
        parent_path = path.rsplit("/", 1)[0]
        name = path.rsplit("/", 1)[1] or "/"
        it = QtWidgets.QTreeWidgetItem([name, "", ""])
        it.setData(0, PATH_ROLE, path)
        it.setToolTip(0, path)
        it.setFlags(it.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        it.setCheckState(0, QtCore.Qt.CheckState.Unchecked if path in self.hidden else QtCore.Qt.CheckState.Checked)
        if parent_path:
            self._node(parent_path).addChild(it)
        else:
            self.addTopLevelItem(it)
        it.setExpanded(True)
        self.items[path] = it
        return it

    def rebuild(self) -> None:
        """Add new entities and refresh archetypes and counts (keeps expansion and checks)."""
        self.blockSignals(True)
        for e in self.store.entities():
            it = self._node(e if e.startswith("/") else "/" + e)
            it.setData(0, PATH_ROLE, e)
            archs = sorted({_archetype(c) for c in self.store.columns(e)} - {"CoordinateFrame"})
            it.setText(1, " ".join(f"{ICONS.get(a, '')}{a}" for a in archs))
            it.setToolTip(1, ", ".join(archs))
            it.setText(2, str(self.store.num_rows(e)))
            it.setTextAlignment(2, QtCore.Qt.AlignmentFlag.AlignRight)
            it.setToolTip(0, f"{e}\n{self.store.num_rows(e)} rows\n" + "\n".join(sorted(self.store.columns(e))))
        self.blockSignals(False)

    def _changed(self, item, column) -> None:
        if column != 0:
            return
        on = item.checkState(0) == QtCore.Qt.CheckState.Checked
        self.blockSignals(True)
        stack = [item]
        while stack:  # the whole subtree follows
            it = stack.pop()
            path = it.data(0, PATH_ROLE)
            (self.hidden.discard if on else self.hidden.add)(path)
            it.setCheckState(0, item.checkState(0))
            stack += [it.child(i) for i in range(it.childCount())]
        self.blockSignals(False)
        self.on_change()

    def set_visible(self, path: str, on: bool) -> None:
        """Check or uncheck an entity (and its subtree), as a click would."""
        it = self.items.get(path if path.startswith("/") else "/" + path)
        if it is not None:
            it.setCheckState(0, QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked)

    def select(self, path: str) -> bool:
        it = self.items.get(path if path.startswith("/") else "/" + path)
        if it is None:
            return False
        self.setCurrentItem(it)
        return True
