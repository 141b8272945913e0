"""``rerun.components`` with Rerun 0.41's names: the enum components (``GraphType``,
``MarkerShape``, ``FillMode``, ``Colormap``, ...; members as in Rerun, values its codes), text
log levels, media types, and ``Radius.ui_points``. Made from the generated definitions
(:mod:`rerun_ros.model.archetype_table`)."""
from __future__ import annotations

import enum

import numpy as np

from ..model.archetype_table import ENUMS

__all__ = ["TextLogLevel", "MediaType", "Radius", *ENUMS]


class TextLogLevel(str):
    """A text log level; the constants are the levels Rerun's viewer knows."""

    CRITICAL = "CRITICAL"
    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"
    DEBUG = "DEBUG"
    TRACE = "TRACE"


class MediaType(str):
    """A media (MIME) type; the constants Rerun 0.41 names."""

    TEXT = "text/plain"
    MARKDOWN = "text/markdown"
    JPEG = "image/jpeg"
    PNG = "image/png"
    GLB = "model/gltf-binary"
    GLTF = "model/gltf+json"
    OBJ = "model/obj"
    STL = "model/stl"
    MP4 = "video/mp4"
    MCAP = "application/mcap"


class Radius:
    """Radii: positive in scene units (m), negative in UI points (as Rerun stores them)."""

    @staticmethod
    def ui_points(radii):
        """Radii in UI points, stored negated. float32 (n,) or a scalar."""
        r = -np.abs(np.asarray(radii, np.float32))
        return r if r.ndim else float(r)


for _name, _members in ENUMS.items():  # GraphType.Directed, FillMode.Solid, ...
    globals()[_name] = enum.IntEnum(_name, _members, module=__name__)


class ImageFormat:
    """An image's size and pixel layout (Rerun's ``ImageFormat``): ``width``, ``height`` in pixels,
    and a ``pixel_format`` or a ``color_model`` (``"L"``, ``"RGB"``, ...) with a ``channel_datatype``
    (``"U8"``, ``"F32"``, ...): names or Rerun's codes."""

    def __init__(self, width: int, height: int, *, pixel_format=None, color_model=None, channel_datatype=None):
        self.width, self.height = int(width), int(height)
        self.pixel_format, self.color_model, self.channel_datatype = pixel_format, color_model, channel_datatype


__all__.append("ImageFormat")
