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
           "EntityBehavior", "VisibleTimeRange", "VisualBounds2D", "TimeRangeBoundary",
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


class TimeRangeBoundary:
    """One end of a visible time range (Rerun's ``TimeRangeBoundary``): relative to the cursor,
    absolute, or open. Times in seconds (``seconds=``), ns (``nanos=``) or steps (``seq=``)."""

    def __init__(self, kind: str, value: float | None = None):
        self.kind, self.value = kind, value

    @staticmethod
    def _amount(offset=None, seq=None, seconds=None, nanos=None):
        if seconds is not None:
            return float(seconds)
        if nanos is not None:
            return float(nanos) / 1e9
        if seq is not None:
            return float(seq)
        return float(offset or 0)

    @classmethod
    def cursor_relative(cls, offset=None, *, seq=None, seconds=None, nanos=None) -> "TimeRangeBoundary":
        return cls("cursor_relative", cls._amount(offset, seq, seconds, nanos))

    @classmethod
    def absolute(cls, time=None, *, seq=None, seconds=None, nanos=None) -> "TimeRangeBoundary":
        return cls("absolute", cls._amount(time, seq, seconds, nanos))

    @classmethod
    def infinite(cls) -> "TimeRangeBoundary":
        return cls("infinite")


class VisibleTimeRange:
    """What a view shows of a timeline (Rerun's ``VisibleTimeRange``): from ``start`` to ``end``
    (:class:`TimeRangeBoundary`). Our views keep the span before the cursor (``start`` cursor
    relative, ``end`` the cursor or open ahead); other ranges are refused with the reason.

    Raises:
        ValueError: a range our viewer cannot show (say which).
    """

    def __init__(self, timeline: str, range=None, *, start: TimeRangeBoundary | None = None,
                 end: TimeRangeBoundary | None = None):
        if range is not None:
            start, end = getattr(range, "start", start), getattr(range, "end", end)
        self.timeline, self.start, self.end = str(timeline), start, end

    def seconds_before_cursor(self) -> float | None:
        s, e = self.start, self.end
        if s is None or s.kind == "infinite":
            return None  # everything before the cursor
        if s.kind != "cursor_relative" or s.value > 0 or (e is not None and e.kind == "absolute"):
            raise ValueError(f"VisibleTimeRange({self.timeline!r}): rerun_ros views show a span ending at the "
                             "cursor; give start=TimeRangeBoundary.cursor_relative(seconds=-N)")
        return -s.value


class EntityBehavior:
    """Per-entity overrides in a view (Rerun's ``EntityBehavior``): ``visible=False`` leaves it out
    of the view; ``interactive`` is accepted (our viewer has no non-interactive entities)."""

    def __init__(self, *, interactive=None, visible=None):
        self.interactive, self.visible = interactive, visible


class VisualBounds2D:
    """The region a 2D view opens on (Rerun's ``VisualBounds2D``): ``x_range``, ``y_range`` (min,
    max) in the view's units. Accepted and kept on the view; our 2D view opens on the whole image."""

    def __init__(self, *, x_range=None, y_range=None):
        self.x_range = None if x_range is None else tuple(float(v) for v in x_range)
        self.y_range = None if y_range is None else tuple(float(v) for v in y_range)


class _View:
    KIND = ""

    def __init__(self, *, origin: str = "/", contents=None, name: str | None = None, fixed_frame: str | None = None,
                 time_range: float | None = None, series=None, visible=None, overrides=None, time_ranges=None,
                 visual_bounds=None, **rerun_only):
        inc, exc = _contents(contents)
        for ent, beh in (overrides or {}).items():  # EntityBehavior(visible=False): out of this view
            for b in (beh if isinstance(beh, (list, tuple)) else [beh]):
                if isinstance(b, EntityBehavior) and b.visible is False:
                    exc.append(str(ent))
        if time_ranges is not None:
            rngs = time_ranges if isinstance(time_ranges, (list, tuple)) else [time_ranges]
            spans = [r.seconds_before_cursor() for r in rngs if isinstance(r, VisibleTimeRange)]
            if spans and time_range is None:
                time_range = spans[0]
        self.view = M.View(self.KIND, name or self.KIND, origin, inc, exc, fixed_frame, time_range, list(series or []))
        #: Rerun view options our viewer does not use (titlebar, background, axes, ...): kept, not drawn
        self.rerun_only = dict(rerun_only)
        self.hidden = visible is False
        self.visual_bounds = visual_bounds


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

    def __init__(self, *children, column_shares=None, row_shares=None, name: str | None = None, **rerun_only):
        # (a view given visible=False is left out of the layout)
        self.container = M.Container(self.KIND, [_node(c) for c in children if not getattr(c, "hidden", False)])


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
