"""What every canvas view shares: a title bar with a status line (what could not be drawn, and
why) over a VisPy canvas."""
from __future__ import annotations

from PyQt6 import QtWidgets

import vispy

vispy.use(app="pyqt6")
from vispy import scene  # noqa: E402

from ..blueprint import View  # noqa: E402
from .fonts import GlyphFonts  # noqa: E402

__all__ = ["CanvasView", "scene", "BACKGROUND"]


def _parse_shaders_once() -> None:
    """VisPy parses each program's GLSL text for its variables with regular expressions (~8 ms a
    program here; a window's first frame builds ~27 programs, mostly the same few texts). The
    result depends only on the text: keep it per text for the process. Left as VisPy has it if
    its ``Program`` does not look as expected (another VisPy version)."""
    from vispy.gloo.program import Program
    parse = getattr(Program, "_parse_variables_from_code", None)
    if parse is None or getattr(parse, "once", False) or not hasattr(Program, "_process_pending_variables"):
        return
    parsed: dict[tuple, dict] = {}

    def once(self, update_variables=True):
        key = tuple(sh.code for sh in self._shaders)
        hit = parsed.get(key)
        if hit is None:
            parse(self, update_variables=False)
            parsed[key] = dict(self._code_variables)
        else:
            self._code_variables = dict(hit)
        if update_variables:
            self._process_pending_variables()

    once.once = True
    Program._parse_variables_from_code = once


_parse_shaders_once()

BACKGROUND = "#101014"


class CanvasView(QtWidgets.QWidget):
    """A view: ``view_spec`` (its blueprint View), ``canvas`` (VisPy SceneCanvas), ``status``
    (a QLabel under the title naming what could not be drawn). Subclasses implement
    ``update_at(timeline, t)``."""

    def __init__(self, view: View, window, camera=None, grid: bool = False):
        super().__init__()
        self.view_spec = view
        self.win = window
        self.canvas = scene.SceneCanvas(keys=None, bgcolor=BACKGROUND, size=(320, 240))
        self.fonts = GlyphFonts()  # glyphs rendered once per process (and cached on disk)
        if not grid:
            self.viewbox = self.canvas.central_widget.add_view()
            self.viewbox.camera = camera
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        self.title = QtWidgets.QLabel(f"<b>{view.name}</b>  <span style='color:#888'>({view.kind})</span>")
        self.title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.header = QtWidgets.QHBoxLayout()  # the title, then the view's own controls, on one row
        self.header.setSpacing(4)
        self.header.addWidget(self.title, 1)
        lay.addLayout(self.header)
        lay.addWidget(self.canvas.native, 1)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(False)
        self.status.setStyleSheet("color:#e0a040")
        self.status.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        lay.addWidget(self.status)
        self.drawn_time: int | None = None

    def entities(self) -> list[str]:
        return [e for e in self.win.store.entities() if self.view_spec.matches(e) and e not in self.win.hidden]

    def set_problems(self, problems: dict) -> None:
        """Show ``{entity: why}`` in the status line (first two, with a count), full list as tooltip."""
        if not problems:
            self.status.setText("")
            self.status.setToolTip("")
            return
        items = sorted(problems.items())
        head = "; ".join(f"{e}: {w}" for e, w in items[:2])
        more = f" (+{len(items) - 2} more)" if len(items) > 2 else ""
        self.status.setText(f"not drawn: {head}{more}")
        self.status.setToolTip("\n".join(f"{e}: {w}" for e, w in items))
