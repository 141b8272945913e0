"""Layouts in Rerun's ``rerun.blueprint`` style (``rrb.Horizontal(rrb.Spatial3DView(...), ...)``),
for :func:`rerun_ros.sdk.send_blueprint` and ``default_blueprint=``. They build our blueprint
model (:mod:`rerun_ros.blueprint.model`), which our viewer draws and the official viewer gets as a
blueprint store (:mod:`rerun_ros.blueprint.rerun`).

``contents`` takes Rerun's entity path expressions: ``"/imu/**"`` or ``"+ /imu/**"`` include,
``"- /rosout"`` exclude; the default is everything under ``origin``.
"""
from __future__ import annotations

from ..blueprint import model as M

__all__ = ["Blueprint", "Horizontal", "Vertical", "Tabs", "Grid", "Spatial3DView", "Spatial2DView",
           "TimeSeriesView", "TextLogView", "as_model"]


def _contents(contents) -> tuple[list[str], list[str]]:
    if contents is None:
        return ["/**"], []
    items = [contents] if isinstance(contents, str) else list(contents)
    inc, exc = [], []
    for line in items:
        for expr in str(line).splitlines():
            expr = expr.strip()
            if not expr:
                continue
            if expr.startswith("-"):
                exc.append(expr[1:].strip())
            else:
                inc.append(expr.lstrip("+").strip())
    inc = ["/**" if e == "$origin/**" else e for e in inc]
    return inc or ["/**"], exc


class _View:
    KIND = ""

    def __init__(self, *, origin: str = "/", contents=None, name: str | None = None, fixed_frame: str | None = None,
                 time_range: float | None = None, series=None):
        inc, exc = _contents(contents)
        self.view = M.View(self.KIND, name or self.KIND, origin, inc, exc, fixed_frame, time_range, list(series or []))


class Spatial3DView(_View):
    """A 3D view; ``fixed_frame`` is rviz's fixed frame (Rerun's ``SpatialInformation.target_frame``)."""
    KIND = "spatial3d"


class Spatial2DView(_View):
    KIND = "spatial2d"


class TimeSeriesView(_View):
    """Plots; ``time_range`` seconds before the cursor; ``series`` message fields (our viewer)."""
    KIND = "timeseries"


class TextLogView(_View):
    KIND = "textlog"


class _Container:
    KIND = ""

    def __init__(self, *children, column_shares=None, row_shares=None, name: str | None = None):
        self.container = M.Container(self.KIND, [_node(c) for c in children])


class Horizontal(_Container):
    KIND = "horizontal"


class Vertical(_Container):
    KIND = "vertical"


class Tabs(_Container):
    KIND = "tabs"


class Grid(_Container):
    KIND = "grid"


def _node(x):
    if isinstance(x, _View):
        return x.view
    if isinstance(x, _Container):
        return x.container
    if isinstance(x, (M.View, M.Container)):
        return x
    raise TypeError(f"not a view or container: {type(x).__name__}")


class Blueprint:
    """A whole layout: one root container (or view)."""

    def __init__(self, root, *, auto_layout=None, auto_views=None, collapse_panels: bool = False):
        node = _node(root)
        self.model = M.Blueprint(node if isinstance(node, M.Container) else M.Container("horizontal", [node]))


def as_model(bp) -> M.Blueprint:
    """Our blueprint model from a :class:`Blueprint`, a container/view of this module, a model
    object, or blueprint YAML (text or a file path).

    Raises:
        rerun_ros.blueprint.model.BlueprintError: invalid YAML. TypeError: anything else.
    """
    if isinstance(bp, M.Blueprint):
        return bp
    if isinstance(bp, Blueprint):
        return bp.model
    if isinstance(bp, (_View, _Container, M.View, M.Container)):
        return Blueprint(bp).model
    if isinstance(bp, str) or hasattr(bp, "__fspath__"):
        return M.load(bp)
    raise TypeError(f"not a blueprint: {type(bp).__name__}")
