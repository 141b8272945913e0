"""The text document view (Rerun's TextDocumentView): the latest TextDocument of its entity at
the cursor, rendered as Markdown when its media type is ``text/markdown``, else as plain text
(a robot description, a mission plan, notes logged beside the data)."""
from __future__ import annotations

from PyQt6 import QtWidgets

__all__ = ["TextDocumentView"]


class TextDocumentView(QtWidgets.QWidget):
    """``text``/``media_type``: what is shown (empty: no document at the cursor)."""

    def __init__(self, view, window):
        super().__init__()
        self.view_spec = view
        self.win = window
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.title = QtWidgets.QLabel(f"<b>{view.name}</b>  <span style='color:#888'>(text document)</span>")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.browser)
        self.text = ""
        self.media_type = ""
        self.drawn_time = None

    def entities(self) -> list[str]:
        return [e for e in self.win.store.entities() if self.view_spec.matches(e) and e not in self.win.hidden]

    def update_at(self, timeline: str, t: int) -> None:
        text, media = "", ""
        for e in self.entities():
            la = self.win.store.latest_at(e, timeline, t)
            doc = la.get("TextDocument:text")
            if doc is not None and len(doc.values):
                text = str(doc.values[0].as_py())
                mt = la.get("TextDocument:media_type")
                media = str(mt.values[0].as_py()) if mt is not None and len(mt.values) else "text/plain"
                break
        if (text, media) != (self.text, self.media_type):
            self.text, self.media_type = text, media
            if media == "text/markdown":
                self.browser.setMarkdown(text)
            else:
                self.browser.setPlainText(text)
        self.drawn_time = t
