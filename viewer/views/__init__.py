"""The viewer's view kinds, one module each, and :data:`VIEW_CLASSES`, the one registry the
window builds a blueprint's views from."""
from .barchart import BarChartView
from .diagnostics import DiagnosticsView
from .map import MapView
from .spatial2d import Spatial2DView
from .spatial3d import Spatial3DView
from .textdocument import TextDocumentView
from .textlog import TextLogView
from .timeseries import TimeSeriesView

__all__ = ["VIEW_CLASSES", "DiagnosticsView", "MapView", "Spatial2DView", "Spatial3DView", "TextLogView", "TimeSeriesView",
           "TextDocumentView", "BarChartView"]

VIEW_CLASSES = {"spatial3d": Spatial3DView, "spatial2d": Spatial2DView, "timeseries": TimeSeriesView,
                "textlog": TextLogView, "diagnostics": DiagnosticsView, "map": MapView,
                "textdocument": TextDocumentView, "barchart": BarChartView}
