"""The archetypes of the logging SDK, with Rerun 0.41's Python names and arguments.

Most are the data model's own (:mod:`rerun_ros.model.archetypes`, same names and keyword
arguments as Rerun's). Here are the ones whose Rerun signature differs from the model's:
:class:`Transform3D` (``rotation=`` a :class:`RotationAxisAngle` or :class:`Quaternion`),
:class:`Image` (a numpy image), :class:`EncodedImage` (``path=`` or ``contents=``), and
:class:`TimeColumn` for ``send_columns``.
"""
from __future__ import annotations

import datetime as _dt
import math
import mimetypes
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..model import archetypes as A
from ..model import components as C

__all__ = ["Transform3D", "RotationAxisAngle", "Quaternion", "Image", "EncodedImage", "TimeColumn", "ViewCoordinates",
           "Pinhole", "DepthImage", "SegmentationImage", "Boxes2D", "Box2DFormat", "Asset3D"]


class RotationAxisAngle:
    """A rotation of ``radians`` (or ``degrees``) about ``axis`` (3,) (normalised; right hand).

    Raises:
        ValueError: a zero or non-finite axis, both or neither of radians/degrees.
    """

    def __init__(self, axis, radians: float | None = None, *, degrees: float | None = None, angle=None):
        if angle is not None and radians is None and degrees is None:
            radians = float(getattr(angle, "radians", angle))  # (a float in radians, or an rr.Angle)
        if (radians is None) == (degrees is None):
            raise ValueError("RotationAxisAngle: give radians or degrees")
        a = np.asarray(axis, float).reshape(3)
        n = float(np.linalg.norm(a))
        if not np.isfinite(a).all() or n == 0:
            raise ValueError(f"RotationAxisAngle: axis must be finite and non-zero, got {a.tolist()}")
        self.axis_given = a  # stored as given (Rerun's SDK does); normalised to rotate
        self.axis = a / n
        self.radians = float(radians) if radians is not None else math.radians(float(degrees))

    def quaternion(self) -> list[float]:
        """(x, y, z, w)."""
        s = math.sin(self.radians / 2)
        return [*(self.axis * s).tolist(), math.cos(self.radians / 2)]


class Quaternion:
    """A rotation as a quaternion ``xyzw`` (4,), stored as given (Rerun's SDK does; readers
    normalise it)."""

    def __init__(self, *, xyzw):
        self.xyzw = [float(v) for v in np.asarray(xyzw, float).reshape(4)]

    @classmethod
    def identity(cls) -> "Quaternion":
        """The rotation that does nothing: (0, 0, 0, 1)."""
        return cls(xyzw=[0.0, 0.0, 0.0, 1.0])

    def quaternion(self) -> list[float]:
        return self.xyzw


#: view directions, Rerun's ``ViewDir`` codes
_VIEW_DIRS = {"U": 1, "D": 2, "R": 3, "L": 4, "F": 5, "B": 6}
#: Rerun 0.41's handed names of view coordinates (x, y, z directions)
_HANDED = {"RIGHT_HAND_X_UP": "URF", "RIGHT_HAND_X_DOWN": "DRB", "RIGHT_HAND_Y_UP": "RUB",
           "RIGHT_HAND_Y_DOWN": "RDF", "RIGHT_HAND_Z_UP": "RFU", "RIGHT_HAND_Z_DOWN": "RBD",
           "LEFT_HAND_X_UP": "URB", "LEFT_HAND_X_DOWN": "DRF", "LEFT_HAND_Y_UP": "RUF",
           "LEFT_HAND_Y_DOWN": "RDB", "LEFT_HAND_Z_UP": "RBU", "LEFT_HAND_Z_DOWN": "RFD"}


class ViewCoordinates(A.Archetype):
    """Rerun's ``ViewCoordinates``: the meaning of an entity's x, y, z axes. ``xyz`` is one of
    this class's constants — the 48 direction triples (``ViewCoordinates.FLU``: x forward, y
    left, z up, ROS's REP 103 body frame; ``RDF``: the optical frame) and the handed names
    (``RIGHT_HAND_Z_UP`` = ``RFU``, ...) — or three view directions (Up 1, Down 2, Right 3,
    Left 4, Forward 5, Back 6). Stored as ``ViewCoordinates:xyz``, (3,) uint8.

    Raises:
        ValueError: a string (``xyz="FLU"``: Rerun does not take it either; use
            ``ViewCoordinates.FLU``), or not three directions 1-6.
    """

    NAME = "ViewCoordinates"
    FIELDS = {"xyz": "ViewCoordinates"}

    def __init__(self, xyz):
        super().__init__()
        if isinstance(xyz, ViewCoordinates):
            codes = xyz.codes
        elif isinstance(xyz, str):
            raise ValueError(f"ViewCoordinates: {xyz!r} is not view directions (use ViewCoordinates.{xyz})"
                             if xyz in _ALL_CODES else f"ViewCoordinates: {xyz!r} is not view directions")
        else:
            codes = tuple(int(v) for v in np.asarray(xyz).reshape(-1))
            if len(codes) != 3 or not all(1 <= v <= 6 for v in codes):
                raise ValueError(f"ViewCoordinates: expected three view directions 1-6, got {list(codes)}")
        self.codes = codes
        self._set("xyz", C.fixed_vectors([codes], 3, np.uint8, self._name("xyz")))


def _triples() -> list[str]:
    out = []
    for x in "UDRLFB":
        for y in "UDRLFB":
            for z in "UDRLFB":
                if len({_AXIS[c] for c in (x, y, z)}) == 3:
                    out.append(x + y + z)
    return out


_AXIS = {"U": 0, "D": 0, "R": 1, "L": 1, "F": 2, "B": 2}
_ALL_CODES = set(_triples())
for _name in sorted(_ALL_CODES):
    setattr(ViewCoordinates, _name, ViewCoordinates(tuple(_VIEW_DIRS[c] for c in _name)))
for _name, _code in _HANDED.items():
    setattr(ViewCoordinates, _name, ViewCoordinates(tuple(_VIEW_DIRS[c] for c in _code)))


def _quat(rotation) -> list[float] | None:
    if rotation is None:
        return None
    if hasattr(rotation, "quaternion"):
        return rotation.quaternion()
    return [float(v) for v in np.asarray(rotation, float).reshape(4)]


class Transform3D(A.Transform3D):
    """Rerun's ``Transform3D``: ``translation`` (3,) m, ``rotation`` (a :class:`RotationAxisAngle`
    or :class:`Quaternion`), or ``rotation_axis_angle=`` / ``quaternion=`` (xyzw), ``scale``,
    ``mat3x3``, ``relation`` (``"ParentFromChild"``, default, or ``"ChildFromParent"``),
    ``parent_frame``/``child_frame`` (TF frame ids). Logged on an entity without frames it places
    that entity and its children (Rerun's entity-path transform hierarchy). Rotations are stored
    as Rerun's SDK stores them: a :class:`RotationAxisAngle` as ``Transform3D:rotation_axis_angle``,
    a :class:`Quaternion` (or xyzw) as ``Transform3D:quaternion``, both as given.

    Raises:
        ValueError: non-finite values, a zero quaternion, two rotations.
    """

    def __init__(self, *, translation=None, rotation=None, rotation_axis_angle=None, quaternion=None, scale=None,
                 mat3x3=None, from_parent: bool | None = None, relation: str | None = None,
                 child_frame: str | None = None, parent_frame: str | None = None):
        given = [r for r in (rotation, rotation_axis_angle, quaternion) if r is not None]
        if len(given) > 1:
            raise ValueError("Transform3D: give one of rotation, rotation_axis_angle, quaternion")
        if from_parent and relation is None:
            relation = "ChildFromParent"
        if scale is not None and np.ndim(scale) == 0:
            scale = [float(scale)] * 3
        rot = given[0] if given else None
        aa = (rot.axis_given, rot.radians) if isinstance(rot, RotationAxisAngle) else None
        super().__init__(translation=translation, quaternion=None if rot is None or aa else _quat(rot),
                         rotation_axis_angle=aa, normalize=False, mat3x3=mat3x3, scale=scale, relation=relation,
                         parent_frame=parent_frame, child_frame=child_frame)


class Image(A.Image):
    """Rerun's ``Image(image, color_model=None)``: a numpy image (H, W) or (H, W, 1|3|4) of any
    integer or float dtype; ``color_model`` ``"L"``, ``"RGB"``, ``"RGBA"``, ``"BGR"``, ``"BGRA"``
    (default from the channel count). Or the model's form: ``Image(buffer=, width=, height=, ...)``.

    Raises:
        ValueError: a shape that is not an image.
    """

    def __init__(self, image=None, color_model: str | None = None, **kw):
        if image is None:
            super().__init__(kw.pop("buffer"), kw.pop("width"), kw.pop("height"), color_model=color_model or "RGB", **kw)
            return
        made = A.Image.from_array(np.asarray(image), color_model)
        self.__dict__.update(made.__dict__)


class EncodedImage(A.EncodedImage):
    """Rerun's ``EncodedImage(path=None, *, contents=None, media_type=None)``: a JPEG/PNG file or
    its bytes, kept compressed (``media_type`` guessed from the file name when not given).

    Raises:
        FileNotFoundError: no such ``path``. ValueError: neither path nor contents.
    """

    def __init__(self, path=None, *, contents=None, media_type: str | None = None):
        if path is not None:
            contents = Path(path).read_bytes()
            media_type = media_type or mimetypes.guess_type(str(path))[0]
        if contents is None:
            raise ValueError("EncodedImage: give path or contents")
        super().__init__(contents, media_type=media_type)


class TimeColumn:
    """The times of the rows of ``send_columns`` on one timeline: ``sequence`` ints,
    ``duration`` seconds (floats, or ``timedelta64``), or ``timestamp`` seconds since the Unix
    epoch (floats, or ``datetime64``). Stored as int64 (ns for time kinds).

    Raises:
        ValueError: none or several of sequence/duration/timestamp.
    """

    def __init__(self, timeline: str, *, sequence=None, duration=None, timestamp=None):
        given = [(k, v) for k, v in (("sequence", sequence), ("duration", duration), ("timestamp", timestamp))
                 if v is not None]
        if len(given) != 1:
            raise ValueError("TimeColumn: give exactly one of sequence, duration, timestamp")
        self.timeline = timeline
        self.kind, values = given[0]
        a = np.asarray(values)
        if self.kind == "sequence":
            self.times = a.astype(np.int64)
        elif a.dtype.kind == "m":
            self.times = a.astype("timedelta64[ns]").astype(np.int64)
        elif a.dtype.kind == "M":
            self.times = a.astype("datetime64[ns]").astype(np.int64)
        else:
            self.times = np.round(a.astype(np.float64) * 1e9).astype(np.int64)

    def __len__(self) -> int:
        return len(self.times)


def to_ns(value, what: str) -> int:
    """Seconds (int/float), a ``timedelta``/``datetime`` or numpy time → int ns."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(round(value.timestamp() * 1e9))
    if isinstance(value, _dt.timedelta):
        return int(round(value.total_seconds() * 1e9))
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, np.timedelta64):
        return int(value.astype("timedelta64[ns]").astype(np.int64))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return int(round(float(value) * 1e9))
    raise TypeError(f"{what}: expected seconds, a datetime/timedelta or numpy time, got {type(value).__name__}")


class Pinhole(A.Pinhole):
    """Rerun 0.41's ``Pinhole``: ``image_from_camera`` (3, 3) K in pixels, or ``focal_length``
    (f or (fx, fy), pixels) with ``principal_point`` (px, py; default the image centre) and the
    image size (``resolution`` (w, h) or ``width``/``height``), or ``fov_y`` (rad) with
    ``aspect_ratio`` (a unit-height image, as Rerun's SDK makes it); ``camera_xyz`` a
    :class:`ViewCoordinates` constant (default RDF, the optical frame); ``child_frame`` /
    ``parent_frame`` (TF frame ids); ``image_plane_distance`` (m, how far the viewer draws it).

    Raises:
        ValueError: no intrinsics (neither K, a focal length nor fov_y), a focal length without
            a principal point or an image size, a K that is not 3x3.
    """

    FIELDS = {**A.Pinhole.FIELDS, "child_frame": "TransformFrameId", "parent_frame": "TransformFrameId"}

    def __init__(self, *, image_from_camera=None, resolution=None, camera_xyz=None, width=None, height=None,
                 focal_length=None, principal_point=None, fov_y=None, aspect_ratio=None, child_frame=None,
                 parent_frame=None, image_plane_distance=None):
        if fov_y is not None and aspect_ratio is not None:
            resolution = [float(aspect_ratio), 1.0]
            focal_length = 0.5 / math.tan(float(fov_y) / 2.0)
        if resolution is None and width is not None and height is not None:
            resolution = [float(width), float(height)]
        if image_from_camera is None:
            if focal_length is None:
                raise ValueError("Pinhole: give image_from_camera, focal_length or fov_y with aspect_ratio")
            f = np.asarray(focal_length, float).reshape(-1)
            fx, fy = (float(f[0]), float(f[0])) if len(f) == 1 else (float(f[0]), float(f[1]))
            if principal_point is None:
                if resolution is None:
                    raise ValueError("Pinhole: a focal length needs principal_point or the image size "
                                     "(resolution, or width and height)")
                principal_point = [float(resolution[0]) / 2.0, float(resolution[1]) / 2.0]
            px, py = (float(v) for v in np.asarray(principal_point, float).reshape(2))
            image_from_camera = [[fx, 0.0, px], [0.0, fy, py], [0.0, 0.0, 1.0]]
        super().__init__(image_from_camera, resolution=resolution, image_plane_distance=image_plane_distance)
        if camera_xyz is not None:
            codes = camera_xyz.codes if isinstance(camera_xyz, ViewCoordinates) else \
                tuple(_VIEW_DIRS[c] for c in camera_xyz) if isinstance(camera_xyz, str) and camera_xyz in _ALL_CODES \
                else ViewCoordinates(camera_xyz).codes
            self._set("camera_xyz", C.fixed_vectors([codes], 3, np.uint8, self._name("camera_xyz")))
        if child_frame is not None:
            self._set("child_frame", C.strings_array(child_frame, self._name("child_frame")))
        if parent_frame is not None:
            self._set("parent_frame", C.strings_array(parent_frame, self._name("parent_frame")))


class DepthImage(A.DepthImage):
    """Rerun 0.41's ``DepthImage(image, *, meter=None, colormap=None, depth_range=None,
    point_fill_ratio=None)``: ``image`` a numpy (H, W) (or (H, W, 1)) depth array of any integer or
    float dtype, stored as it is; ``meter`` the units per metre (1000 for uint16 millimetres);
    ``depth_range`` (min, max) in those units; ``point_fill_ratio`` of the point cloud the
    viewer makes of it. Or the model's form ``DepthImage(buffer, width, height, datatype=...)``.

    Raises:
        ValueError: not a 2D array, an unknown colormap.
    """

    def __init__(self, image=None, *args, meter=None, colormap=None, depth_range=None, point_fill_ratio=None, **kw):
        if args or "width" in kw:
            super().__init__(image, *args, meter=meter, colormap=colormap, **kw)
        else:
            a = np.asarray(image)
            if a.ndim == 3 and a.shape[2] == 1:
                a = a[:, :, 0]
            if a.ndim != 2:
                raise ValueError(f"DepthImage: expected a (H, W) array, got shape {a.shape}")
            a = np.ascontiguousarray(a)
            if a.dtype.byteorder == ">":
                a = a.astype(a.dtype.newbyteorder("<"))
            if colormap is not None and not isinstance(colormap, str):
                colormap = str(colormap)
            if colormap is not None:
                colormap = {k.lower(): k for k in C.COLORMAP}.get(colormap.lower(), colormap)
            super().__init__(a.tobytes(), a.shape[1], a.shape[0], datatype=a.dtype, meter=meter, colormap=colormap)
        if depth_range is not None:
            r = np.asarray(depth_range, np.float64).reshape(2)
            self._set("depth_range", C.fixed_vectors([r], 2, np.float64, self._name("depth_range")))
        if point_fill_ratio is not None:
            self._set("point_fill_ratio", C.array([float(point_fill_ratio)], pa.float32()))


class SegmentationImage(A.SegmentationImage):
    """Rerun 0.41's ``SegmentationImage(image, *, opacity=None)``: ``image`` a numpy (H, W) (or
    (H, W, 1)) array of class ids (any integer dtype, stored as it is: uint8/uint16 as Rerun's
    viewer colours them through the AnnotationContext). Or the model's form
    ``SegmentationImage(buffer, width, height, datatype=...)``.

    Raises:
        ValueError: not a 2D integer array.
    """

    def __init__(self, image=None, *args, opacity=None, draw_order=None, **kw):
        if args or "width" in kw:
            super().__init__(image, *args, **kw)
        else:
            a = np.asarray(image)
            if a.ndim == 3 and a.shape[2] == 1:
                a = a[:, :, 0]
            if a.ndim != 2 or a.dtype.kind not in "iub":
                raise ValueError(f"SegmentationImage: expected a (H, W) array of class ids, got {a.dtype} {a.shape}")
            if a.dtype == np.bool_:
                a = a.astype(np.uint8)
            a = np.ascontiguousarray(a)
            if a.dtype.byteorder == ">":
                a = a.astype(a.dtype.newbyteorder("<"))
            super().__init__(a.tobytes(), a.shape[1], a.shape[0], datatype=a.dtype)
        if opacity is not None:
            self._set("opacity", C.array([float(opacity)], pa.float32()))
        if draw_order is not None:
            self._set("draw_order", C.array([float(draw_order)], pa.float32()))


class Box2DFormat:
    """How ``Boxes2D(array=...)`` reads each row of 4 numbers (Rerun's ``Box2DFormat``)."""

    XYWH = "XYWH"          # min x, min y, width, height
    YXHW = "YXHW"          # min y, min x, height, width
    XYXY = "XYXY"          # min x, min y, max x, max y
    YXYX = "YXYX"          # min y, min x, max y, max x
    XCYCWH = "XCYCWH"      # centre x, centre y, width, height
    XCYCW2H2 = "XCYCW2H2"  # centre x, centre y, half width, half height


def _boxes2d_class():
    from ..model.table_archetypes import archetype_class
    base = archetype_class("Boxes2D")

    class Boxes2D(base):
        """Rerun 0.41's ``Boxes2D``: ``half_sizes`` (N, 2) px and ``centers``, or ``sizes`` with
        ``mins`` (corner) or ``centers``, or ``array`` (N, 4) in an ``array_format``
        (:class:`Box2DFormat`), plus the other fields (colors, radii, labels, ...).

        Raises:
            ValueError: both half_sizes and sizes, array without array_format, an unknown format.
        """

        def __init__(self, *, sizes=None, mins=None, half_sizes=None, centers=None, array=None, array_format=None,
                     **kw):
            if array is not None:
                if array_format is None:
                    raise ValueError("Boxes2D: array needs array_format (rr.Box2DFormat)")
                a = np.asarray(array, np.float64).reshape(-1, 4)
                fmt = str(getattr(array_format, "value", array_format)).upper()
                if fmt == "XYWH":
                    mins, sizes = a[:, :2], a[:, 2:]
                elif fmt == "YXHW":
                    mins, sizes = a[:, [1, 0]], a[:, [3, 2]]
                elif fmt == "XYXY":
                    mins, sizes = a[:, :2], a[:, 2:] - a[:, :2]
                elif fmt == "YXYX":
                    mins, sizes = a[:, [1, 0]], a[:, [3, 2]] - a[:, [1, 0]]
                elif fmt == "XCYCWH":
                    centers, sizes = a[:, :2], a[:, 2:]
                elif fmt == "XCYCW2H2":
                    centers, half_sizes = a[:, :2], a[:, 2:]
                else:
                    raise ValueError(f"Boxes2D: unknown array_format {array_format!r}")
            if sizes is not None:
                if half_sizes is not None:
                    raise ValueError("Boxes2D: give sizes or half_sizes, not both")
                s = np.asarray(sizes, np.float64).reshape(-1, 2)
                half_sizes = s / 2.0
                if mins is not None:
                    centers = np.asarray(mins, np.float64).reshape(-1, 2) + half_sizes
            elif mins is not None:
                raise ValueError("Boxes2D: mins needs sizes")
            if half_sizes is not None:
                half_sizes = np.asarray(half_sizes, np.float32)
            if centers is not None:
                centers = np.asarray(centers, np.float32)
            super().__init__(half_sizes=half_sizes, centers=centers, **kw)

    Boxes2D.__module__ = __name__
    return Boxes2D


Boxes2D = _boxes2d_class()


class Asset3D(A.Asset3D):
    """Rerun's ``Asset3D(*, path=None, contents=None, media_type=None, albedo_factor=None)``: a mesh
    file (STL, OBJ, glTF/GLB) or its bytes, kept as they are (``media_type`` guessed from the
    file name when not given, as the official SDK does). Or the model's ``Asset3D(blob, ...)``.

    Raises:
        FileNotFoundError: no such ``path``. ValueError: neither path nor contents.
    """

    def __init__(self, blob=None, *, path=None, contents=None, media_type: str | None = None, albedo_factor=None):
        if path is not None:
            contents = Path(path).read_bytes()
            if media_type is None:
                media_type = {".stl": "model/stl", ".obj": "model/obj", ".glb": "model/gltf-binary",
                              ".gltf": "model/gltf+json"}.get(Path(path).suffix.lower()) or mimetypes.guess_type(str(path))[0]
        data = blob if blob is not None else contents
        if data is None:
            raise ValueError("Asset3D: give path or contents")
        super().__init__(data, media_type=media_type, albedo_factor=albedo_factor)
