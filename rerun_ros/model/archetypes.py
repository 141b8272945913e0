"""Archetypes: named bundles of components that a view knows how to draw (Rerun 0.41 names).

Each archetype validates its input and holds one flat Arrow array per component field; a
RecordingStream row stores each as a list (one row = one list per component). Units follow ROS
(REP 103): metres, radians, seconds; quaternions are (x, y, z, w). Colours are (N, 3|4) uint8
RGB(A) or packed uint32 0xRRGGBBAA.
"""
from __future__ import annotations

import math
from typing import ClassVar, Sequence

import numpy as np
import pyarrow as pa

from . import components as C
from .components import ComponentDescriptor

__all__ = [
    "Archetype", "Points3D", "Points2D", "LineStrips3D", "Boxes3D", "Arrows3D", "Ellipsoids3D",
    "Transform3D", "CoordinateFrame", "Pinhole", "Image", "DepthImage", "SegmentationImage",
    "EncodedImage", "Scalars", "TextLog", "TextDocument", "ViewCoordinates", "Clear", "GeoPoints",
    "AnyValues", "SeriesLines", "Cylinders3D", "Mesh3D", "Asset3D", "ComponentColumn", "ComponentColumnList",
]


class Archetype:
    """Base class. Subclasses set ``NAME`` and ``FIELDS`` (field → component type)."""

    NAME: ClassVar[str] = ""
    FIELDS: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self._batches: dict[str, pa.Array] = {}

    def _set(self, field: str, arr: pa.Array | None) -> None:
        if arr is not None:
            self._batches[field] = arr

    def _name(self, field: str) -> str:
        return f"{self.NAME}:{field}"

    def descriptor(self, field: str) -> ComponentDescriptor:
        return ComponentDescriptor(self.NAME, field, self.FIELDS.get(field) or self._table_fields()[field])

    @classmethod
    def _table_fields(cls) -> dict[str, str]:
        """Every field of this archetype in Rerun 0.41's definition → its component type."""
        from .archetype_table import ARCHETYPES
        return {f: ct for f, ct, _ in ARCHETYPES.get(cls.NAME, ())} or dict(cls.FIELDS)

    @classmethod
    def from_fields(cls, *, clear_unset: bool = False, **fields) -> "Archetype":
        """A partial update (Rerun's ``from_fields``): only the fields given, no field required;
        with ``clear_unset`` every other field of the archetype's definition is logged empty
        (cleared), as the official SDK does.

        Raises:
            ValueError/TypeError: values the archetype refuses.
        """
        arch, filled = cls._partial({k: v for k, v in fields.items() if v is not None})
        for f in filled:
            arch._batches.pop(f, None)
        if clear_unset:
            arch._clear_fields(set(arch._batches))
        return arch

    @classmethod
    def cleared(cls) -> "Archetype":
        """Every field of the archetype logged empty: the entity's values of it are cleared
        (Rerun's ``cleared()``)."""
        arch = cls.__new__(cls)
        Archetype.__init__(arch)
        arch._clear_fields(set())
        return arch

    def _clear_fields(self, keep: set) -> None:
        from .archetype_table import COMPONENTS
        for f, ct in self._table_fields().items():
            if f not in keep and ct in COMPONENTS:
                self._batches[f] = pa.array([], COMPONENTS[ct])

    @classmethod
    def column(cls, field: str) -> ComponentDescriptor:
        """The descriptor of one of this archetype's fields (for column-wise logging).

        Raises:
            KeyError: not a field of this archetype.
        """
        return ComponentDescriptor(cls.NAME, field, cls.FIELDS[field])

    @classmethod
    def columns(cls, **fields) -> "ComponentColumnList":
        """Column-wise data for ``send_columns`` (Rerun's ``Archetype.columns``): each field holds
        the instances of many rows at once, one instance per row unless the list is
        ``.partition(lengths)``-ed (``Scalars.columns(scalars=np.arange(10.0))`` is 10 rows of one
        scalar; ``Points3D.columns(positions=pts).partition([100] * k)`` k rows of 100 points; a
        (k, 100, 3) array is flattened to its 100 k points first).
        Values are checked as the archetype's constructor checks them.

        Raises:
            ValueError/TypeError: values the archetype refuses, or fields with different numbers
            of instances.
        """
        # (T, N, k) arrays of vectors: T rows' instances, flattened as Rerun's SDK flattens them
        # (``.partition`` then says how many per row); a 3x3 matrix per row stays as it is
        fields = {f: (np.asarray(v).reshape(-1, np.shape(v)[-1]) if f != "mat3x3" and isinstance(v, (np.ndarray, list))
                      and np.ndim(v) >= 3 else v) for f, v in fields.items()}
        arch, filled = cls._partial(fields)
        out = ComponentColumnList(ComponentColumn(arch.descriptor(f), C.to_arrow(a)) for f, a in arch._batches.items()
                                  if f not in filled)
        lens = {len(c.values) for c in out}
        if len(lens) > 1:
            raise ValueError(f"{cls.NAME}.columns: fields have different numbers of instances {sorted(lens)}; "
                             f"partition them to rows explicitly")
        return out

    @classmethod
    def _partial(cls, fields: dict) -> tuple["Archetype", set]:
        """(``cls(**fields)``, the required fields filled in): a required field not given
        (``Points3D.columns(colors=..., radii=...)``: a column update of other fields, as Rerun
        allows) is filled with no instances, for the caller to leave out."""
        required = [n for n in cls._required() if n not in fields]
        if not required:
            return cls(**fields), set()
        last: Exception | None = None
        for width in (3, 2, 4, None):  # vectors of 3 (positions, half sizes), of 2, of 4, scalars
            empty = np.zeros((0, width) if width else (0,), np.float32)
            try:
                return cls(**fields, **{n: empty for n in required}), set(required)
            except (ValueError, TypeError) as e:
                last = e
        raise last

    #: the constructor's required arguments when its signature does not say (table-made classes)
    REQUIRED: ClassVar[tuple | None] = None

    @classmethod
    def _required(cls) -> list[str]:
        """The arguments the constructor requires (its signature's, or :attr:`REQUIRED`)."""
        if cls.REQUIRED is not None:
            return list(cls.REQUIRED)
        import inspect
        return [n for n, p in inspect.signature(cls.__init__).parameters.items()
                if n != "self" and p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    def component_batches(self) -> list[tuple[ComponentDescriptor, pa.Array]]:
        """The (descriptor, flat instances array) pairs of this archetype, in field order."""
        return [(self.descriptor(f), a) for f, a in self._batches.items()]

    def __getitem__(self, field: str) -> pa.Array:
        return self._batches[field]

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}[{len(a)}]" for f, a in self._batches.items())
        return f"{self.NAME}({inner})"


class ComponentColumn:
    """One component for many rows: ``values`` (flat Arrow instances) and ``lengths`` (int64 (n,),
    instances per row; None = one each)."""

    def __init__(self, descriptor: ComponentDescriptor, values: pa.Array, lengths=None):
        self.descriptor = descriptor
        self.values = values
        self.lengths = None if lengths is None else np.asarray(lengths, np.int64)

    def partition(self, lengths) -> "ComponentColumn":
        """The same instances grouped into rows of ``lengths`` instances.

        Raises:
            ValueError: lengths that do not add up to the number of instances.
        """
        lengths = np.asarray(lengths, np.int64)
        if lengths.sum() != len(self.values) or (lengths < 0).any():
            raise ValueError(f"{self.descriptor.column}: lengths add up to {int(lengths.sum())}, "
                             f"there are {len(self.values)} instances")
        return ComponentColumn(self.descriptor, self.values, lengths)

    def num_rows(self) -> int:
        return len(self.values) if self.lengths is None else len(self.lengths)

    def list_array(self) -> pa.Array:
        """The column as Rerun stores it: one list of instances per row."""
        if self.lengths is None:
            return C.list_column(self.values)
        off = np.zeros(len(self.lengths) + 1, np.int64)
        np.cumsum(self.lengths, out=off[1:])
        return C.list_column(self.values, off)


class ComponentColumnList(list):
    """The columns of one archetype (``Archetype.columns``); ``partition`` applies to all."""

    def partition(self, lengths) -> "ComponentColumnList":
        return ComponentColumnList(c.partition(lengths) for c in self)


def _opt(fn, value, *args):
    return None if value is None else fn(value, *args)


class Points3D(Archetype):
    """3D points. ``positions`` (N, 3) float32 metres; optional ``colors``, ``radii`` (N,) or (1,)
    float32 metres (one value clamps to all points), ``labels``, ``class_ids`` (N,) uint16."""

    NAME = "Points3D"
    FIELDS = {"positions": "Position3D", "radii": "Radius", "colors": "Color", "labels": "Text",
              "class_ids": "ClassId", "show_labels": "ShowLabels"}

    def __init__(self, positions, *, radii=None, colors=None, labels=None, class_ids=None,
                 show_labels: bool | None = None):
        super().__init__()
        self._set("positions", C.fixed_vectors(positions, 3, np.float32, self._name("positions")))
        if show_labels is not None:
            self._set("show_labels", C.array([bool(show_labels)], pa.bool_()))
        self._set("radii", _opt(C.scalars_array, radii, np.float32, self._name("radii")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
        self._set("labels", _opt(C.strings_array, labels, self._name("labels")))
        self._set("class_ids", _opt(C.scalars_array, class_ids, np.uint16, self._name("class_ids")))


class Points2D(Archetype):
    """2D points in pixels: ``positions`` (N, 2) float32; optional colours, radii, labels."""

    NAME = "Points2D"
    FIELDS = {"positions": "Position2D", "radii": "Radius", "colors": "Color", "labels": "Text",
              "class_ids": "ClassId"}

    def __init__(self, positions, *, radii=None, colors=None, labels=None, class_ids=None):
        super().__init__()
        self._set("positions", C.fixed_vectors(positions, 2, np.float32, self._name("positions")))
        self._set("radii", _opt(C.scalars_array, radii, np.float32, self._name("radii")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
        self._set("labels", _opt(C.strings_array, labels, self._name("labels")))
        self._set("class_ids", _opt(C.scalars_array, class_ids, np.uint16, self._name("class_ids")))


class LineStrips3D(Archetype):
    """3D polylines: ``strips`` a sequence of (K_i, 3) arrays in metres; optional colours, radii."""

    NAME = "LineStrips3D"
    FIELDS = {"strips": "LineStrip3D", "radii": "Radius", "colors": "Color", "labels": "Text"}

    def __init__(self, strips: Sequence, *, radii=None, colors=None, labels=None):
        super().__init__()
        self._set("strips", C.line_strips_array(strips, self._name("strips")))
        self._set("radii", _opt(C.scalars_array, radii, np.float32, self._name("radii")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
        self._set("labels", _opt(C.strings_array, labels, self._name("labels")))


class Boxes3D(Archetype):
    """Oriented boxes: ``half_sizes`` (N, 3) metres, ``centers`` (N, 3), ``quaternions`` (N, 4) xyzw."""

    NAME = "Boxes3D"
    FIELDS = {"half_sizes": "HalfSize3D", "centers": "Translation3D", "quaternions": "RotationQuat",
              "colors": "Color", "radii": "Radius", "fill_mode": "FillMode", "labels": "Text",
              "class_ids": "ClassId"}

    def __init__(self, half_sizes, *, centers=None, quaternions=None, colors=None, radii=None,
                 fill_mode: str | None = None, labels=None, class_ids=None):
        super().__init__()
        self._set("half_sizes", C.fixed_vectors(half_sizes, 3, np.float32, self._name("half_sizes"), finite=True))
        self._set("centers", _opt(C.fixed_vectors, centers, 3, np.float32, self._name("centers")))
        self._set("quaternions", _opt(C.fixed_vectors, quaternions, 4, np.float32, self._name("quaternions")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
        self._set("radii", _opt(C.scalars_array, radii, np.float32, self._name("radii")))
        if fill_mode is not None:
            self._set("fill_mode", _fill_mode(fill_mode, self._name("fill_mode")))
        self._set("labels", _opt(C.strings_array, labels, self._name("labels")))
        self._set("class_ids", _opt(C.scalars_array, class_ids, np.uint16, self._name("class_ids")))


def _fill_mode(value, name: str) -> pa.Array:
    """Rerun's ``FillMode`` from its name, any case, with or without underscores (``"solid"``,
    ``"MajorWireframe"``, ``"dense_wireframe"``).

    Raises:
        ValueError: another name."""
    key = {k.lower(): v for k, v in C.FILL_MODE.items()}.get(str(value).replace("_", "").lower())
    if key is None:
        raise ValueError(f"{name}: unknown fill mode {value!r}; known: {', '.join(C.FILL_MODE)}")
    return C.array([key], pa.uint8())


class Ellipsoids3D(Archetype):
    """Ellipsoids (e.g. covariance): ``half_sizes`` (N, 3) metres, ``centers``, ``quaternions``
    xyzw, ``fill_mode`` (``"solid"``, ``"MajorWireframe"``, ``"DenseWireframe"``)."""

    NAME = "Ellipsoids3D"
    FIELDS = {"half_sizes": "HalfSize3D", "centers": "Translation3D", "quaternions": "RotationQuat",
              "colors": "Color", "line_radii": "Radius", "labels": "Text", "fill_mode": "FillMode"}

    def __init__(self, half_sizes, *, centers=None, quaternions=None, colors=None, labels=None, fill_mode=None):
        super().__init__()
        if fill_mode is not None:
            self._set("fill_mode", _fill_mode(fill_mode, self._name("fill_mode")))
        self._set("half_sizes", C.fixed_vectors(half_sizes, 3, np.float32, self._name("half_sizes")))
        self._set("centers", _opt(C.fixed_vectors, centers, 3, np.float32, self._name("centers")))
        self._set("quaternions", _opt(C.fixed_vectors, quaternions, 4, np.float32, self._name("quaternions")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
        self._set("labels", _opt(C.strings_array, labels, self._name("labels")))


class Cylinders3D(Archetype):
    """Cylinders along their local z axis: ``lengths`` (N,) m, ``radii`` (N,) m, ``centers``
    (N, 3), ``quaternions`` (N, 4) xyzw."""

    NAME = "Cylinders3D"
    FIELDS = {"lengths": "Length", "radii": "Radius", "centers": "Translation3D",
              "quaternions": "RotationQuat", "colors": "Color", "labels": "Text", "fill_mode": "FillMode"}

    def __init__(self, lengths, radii, *, centers=None, quaternions=None, colors=None, labels=None,
                 fill_mode: str | None = None):
        super().__init__()
        self._set("lengths", C.scalars_array(lengths, np.float32, self._name("lengths")))
        self._set("radii", C.scalars_array(radii, np.float32, self._name("radii")))
        self._set("centers", _opt(C.fixed_vectors, centers, 3, np.float32, self._name("centers")))
        self._set("quaternions", _opt(C.fixed_vectors, quaternions, 4, np.float32, self._name("quaternions")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
        self._set("labels", _opt(C.strings_array, labels, self._name("labels")))
        if fill_mode is not None:
            self._set("fill_mode", _fill_mode(fill_mode, self._name("fill_mode")))


class Mesh3D(Archetype):
    """A triangle mesh: ``vertex_positions`` (V, 3) m, ``triangle_indices`` (T, 3) uint32,
    optional ``vertex_normals`` (V, 3), ``vertex_colors`` (V,) or ``albedo_factor`` (one colour)."""

    NAME = "Mesh3D"
    FIELDS = {"vertex_positions": "Position3D", "triangle_indices": "TriangleIndices",
              "vertex_normals": "Vector3D", "vertex_colors": "Color", "vertex_texcoords": "Texcoord2D",
              "albedo_factor": "AlbedoFactor", "albedo_texture_buffer": "ImageBuffer",
              "albedo_texture_format": "ImageFormat", "class_ids": "ClassId"}

    def __init__(self, vertex_positions, *, triangle_indices=None, vertex_normals=None, vertex_colors=None,
                 vertex_texcoords=None, albedo_factor=None, albedo_texture: "np.ndarray | None" = None):
        super().__init__()
        v = C.fixed_vectors(vertex_positions, 3, np.float32, self._name("vertex_positions"))
        self._set("vertex_positions", v)
        if triangle_indices is not None:
            tri = np.asarray(triangle_indices).reshape(-1, 3)
            if tri.size and (tri.min() < 0 or tri.max() >= len(v)):
                raise ValueError(f"{self._name('triangle_indices')}: indices must be in [0, {len(v)})")
            self._set("triangle_indices", C.fixed_vectors(tri, 3, np.uint32, self._name("triangle_indices")))
        self._set("vertex_normals", _opt(C.fixed_vectors, vertex_normals, 3, np.float32, self._name("vertex_normals")))
        self._set("vertex_colors", _opt(C.colors_array, vertex_colors, self._name("vertex_colors")))
        self._set("vertex_texcoords", _opt(C.fixed_vectors, vertex_texcoords, 2, np.float32,
                                           self._name("vertex_texcoords")))
        self._set("albedo_factor", _opt(C.colors_array, albedo_factor, self._name("albedo_factor")))
        if albedo_texture is not None:
            tex = np.ascontiguousarray(albedo_texture, dtype=np.uint8)
            if tex.ndim != 3 or tex.shape[2] not in (3, 4):
                raise ValueError(f"{self._name('albedo_texture')}: expected (H, W, 3|4) uint8, got {tex.shape}")
            self._set("albedo_texture_buffer", C.blob_array(tex, self._name("albedo_texture_buffer")))
            self._set("albedo_texture_format", C.image_format_array(
                tex.shape[1], tex.shape[0], color_model=C.COLOR_MODEL["RGB" if tex.shape[2] == 3 else "RGBA"],
                channel_datatype=C.CHANNEL_DATATYPE["U8"]))


class Asset3D(Archetype):
    """A mesh file kept as it is: ``blob`` bytes and ``media_type`` (``model/stl``,
    ``model/obj``, ``model/gltf-binary``)."""

    NAME = "Asset3D"
    FIELDS = {"blob": "Blob", "media_type": "MediaType", "albedo_factor": "AlbedoFactor"}

    def __init__(self, blob, *, media_type: str | None = None, albedo_factor=None):
        super().__init__()
        self._set("blob", C.blob_array(blob, self._name("blob")))
        self._set("media_type", _opt(C.strings_array, media_type, self._name("media_type")))
        self._set("albedo_factor", _opt(C.colors_array, albedo_factor, self._name("albedo_factor")))


class Arrows3D(Archetype):
    """Arrows: ``vectors`` (N, 3) metres from ``origins`` (N, 3); optional colours, radii, labels."""

    NAME = "Arrows3D"
    FIELDS = {"vectors": "Vector3D", "origins": "Position3D", "radii": "Radius", "colors": "Color",
              "labels": "Text"}

    def __init__(self, vectors, *, origins=None, radii=None, colors=None, labels=None):
        super().__init__()
        self._set("vectors", C.fixed_vectors(vectors, 3, np.float32, self._name("vectors")))
        self._set("origins", _opt(C.fixed_vectors, origins, 3, np.float32, self._name("origins")))
        self._set("radii", _opt(C.scalars_array, radii, np.float32, self._name("radii")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
        self._set("labels", _opt(C.strings_array, labels, self._name("labels")))


class Transform3D(Archetype):
    """A rigid (or affine) transform between two frames.

    ``translation`` (3,) metres; ``quaternion`` (4,) xyzw, must be finite and non-zero (it is
    normalised unless ``normalize=False``: stored as given, as Rerun's SDK does);
    ``rotation_axis_angle`` an (axis (3,), angle rad) pair, stored as given (Rerun's
    ``RotationAxisAngle``: applied before ``quaternion``); ``mat3x3`` (3, 3) row-major input, stored column-major as Rerun does; ``scale``
    (3,); ``parent_frame``/``child_frame`` frame ids (ROS tf2 names). ``relation`` is
    ``"ParentFromChild"`` (the default, as a ROS TransformStamped) or ``"ChildFromParent"``.

    Raises:
        ValueError: non-finite translation or rotation, a zero quaternion.
    """

    NAME = "Transform3D"
    FIELDS = {"translation": "Translation3D", "rotation_axis_angle": "RotationAxisAngle", "quaternion": "RotationQuat",
              "mat3x3": "TransformMat3x3", "scale": "Scale3D", "relation": "TransformRelation",
              "parent_frame": "TransformFrameId", "child_frame": "TransformFrameId"}

    def __init__(self, *, translation=None, quaternion=None, mat3x3=None, scale=None,
                 relation: str | None = None, parent_frame: str | None = None,
                 child_frame: str | None = None, rotation_axis_angle=None, normalize: bool = True):
        super().__init__()
        self._set("translation", _opt(C.fixed_vectors, translation, 3, np.float32,
                                      self._name("translation"), True))
        if rotation_axis_angle is not None:
            axis, angle = rotation_axis_angle
            ax = np.asarray(axis, np.float32).reshape(3)
            if not (np.isfinite(ax).all() and math.isfinite(float(angle))):
                raise ValueError(f"{self._name('rotation_axis_angle')}: values must be finite")
            self._set("rotation_axis_angle", pa.StructArray.from_arrays(
                [pa.FixedSizeListArray.from_arrays(pa.array(ax, pa.float32()), type=_AXIS_TYPE),
                 pa.array([angle], pa.float32())], fields=_AXIS_ANGLE_FIELDS))
        if quaternion is not None:
            if normalize:
                self._set("quaternion", _unit_quaternions(quaternion, self._name("quaternion")))
            else:
                q = np.asarray(quaternion, np.float32).reshape(-1, 4)
                if not np.isfinite(q).all():
                    raise ValueError(f"{self._name('quaternion')}: values must be finite")
                self._set("quaternion", C.fixed_vectors(q, 4, np.float32, self._name("quaternion")))
        if mat3x3 is not None:
            m = np.asarray(mat3x3, dtype=np.float32)
            if m.shape != (3, 3):
                raise ValueError(f"{self._name('mat3x3')}: expected shape (3, 3), got {m.shape}")
            self._set("mat3x3", C.fixed_vectors(m.T.reshape(1, 9), 9, np.float32, self._name("mat3x3"), True))
        self._set("scale", _opt(C.fixed_vectors, scale, 3, np.float32, self._name("scale"), True))
        if relation is not None:
            self._set("relation", C.array([C.TRANSFORM_RELATION[relation]], pa.uint8()))
        self._set("parent_frame", _opt(C.strings_array, parent_frame, self._name("parent_frame")))
        self._set("child_frame", _opt(C.strings_array, child_frame, self._name("child_frame")))


#: Rerun 0.41's ``RotationAxisAngle``: struct {axis: (3,) float32, angle: float32 rad}
_AXIS_TYPE = pa.list_(pa.field("item", pa.float32(), nullable=False), 3)
_AXIS_ANGLE_FIELDS = [pa.field("axis", _AXIS_TYPE, nullable=False), pa.field("angle", pa.float32(), nullable=False)]


def _unit_quaternions(quaternion, name: str):
    """Validate and normalise xyzw quaternions ((4,) or (n, 4)); a fast path for one quaternion."""
    if len(quaternion) == 4 and all(isinstance(v, (float, int)) for v in quaternion):
        x, y, z, w = (float(v) for v in quaternion)
        if not all(math.isfinite(v) for v in (x, y, z, w)):
            raise ValueError(f"{name}: values must be finite")
        n = math.sqrt(x * x + y * y + z * z + w * w)
        if n == 0:
            raise ValueError(f"{name}: zero quaternion is not a rotation")
        return C.fixed_vectors([x / n, y / n, z / n, w / n], 4, np.float32, name)
    q = np.asarray(quaternion, dtype=np.float64).reshape(-1, 4)
    if not np.isfinite(q).all():
        raise ValueError(f"{name}: values must be finite")
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    if (norm == 0).any():
        raise ValueError(f"{name}: zero quaternion is not a rotation")
    return C.fixed_vectors(q / norm, 4, np.float32, name)


class CoordinateFrame(Archetype):
    """The transform frame (ROS ``header.frame_id``) that an entity's data is expressed in."""

    NAME = "CoordinateFrame"
    FIELDS = {"frame": "TransformFrameId"}

    def __init__(self, frame: str):
        super().__init__()
        self._set("frame", C.strings_array(frame, self._name("frame")))


class Pinhole(Archetype):
    """A pinhole camera: ``image_from_camera`` (3, 3) intrinsics K (row-major input, pixels),
    ``resolution`` (width, height) pixels, ``camera_xyz`` (default RDF, the ROS optical frame)."""

    NAME = "Pinhole"
    FIELDS = {"image_from_camera": "PinholeProjection", "resolution": "Resolution",
              "camera_xyz": "ViewCoordinates", "image_plane_distance": "ImagePlaneDistance"}

    def __init__(self, image_from_camera, *, resolution=None, camera_xyz: str | None = None,
                 image_plane_distance: float | None = None):
        super().__init__()
        k = np.asarray(image_from_camera, dtype=np.float32)
        if k.shape != (3, 3):
            raise ValueError(f"{self._name('image_from_camera')}: expected (3, 3), got {k.shape}")
        self._set("image_from_camera", C.fixed_vectors(k.T.reshape(1, 9), 9, np.float32,
                                                       self._name("image_from_camera"), True))
        self._set("resolution", _opt(C.fixed_vectors, resolution, 2, np.float32, self._name("resolution")))
        if camera_xyz is not None:
            self._set("camera_xyz", C.fixed_vectors([C.VIEW_COORDINATES[camera_xyz]], 3, np.uint8,
                                                    self._name("camera_xyz")))
        if image_plane_distance is not None:
            self._set("image_plane_distance", C.array([image_plane_distance], pa.float32()))


def _image_batches(arch: Archetype, buffer, width: int, height: int, *, color_model, channel_datatype,
                   pixel_format=None):
    if width <= 0 or height <= 0:
        raise ValueError(f"{arch.NAME}: width and height must be positive, got {width}x{height}")
    arch._set("buffer", C.blob_array(buffer, arch._name("buffer")))
    arch._set("format", C.image_format_array(width, height, color_model=color_model,
                                             channel_datatype=channel_datatype, pixel_format=pixel_format))


def _check_size(name: str, buffer, width: int, height: int, bytes_per_pixel: float) -> None:
    n = buffer.nbytes if hasattr(buffer, "nbytes") else memoryview(buffer).nbytes
    need = int(width * height * bytes_per_pixel)
    if n != need:
        raise ValueError(f"{name}: buffer has {n} bytes, expected {need} for {width}x{height}")


class Image(Archetype):
    """A raw image. ``buffer`` holds tightly packed rows (bytes or numpy); ``width``/``height`` in
    pixels; ``color_model`` one of L, RGB, RGBA, BGR, BGRA; ``datatype`` a numpy dtype per
    channel. Or ``pixel_format`` (e.g. ``YUY2``, ``BayerRGGB8``) for chroma-subsampled/Bayer data.

    Raises:
        ValueError: the buffer size does not match width × height × channels × itemsize.
    """

    NAME = "Image"
    FIELDS = {"buffer": "ImageBuffer", "format": "ImageFormat", "opacity": "Opacity", "draw_order": "DrawOrder"}

    def __init__(self, buffer, width: int, height: int, *, color_model: str | None = "RGB",
                 datatype=np.uint8, pixel_format: str | None = None):
        super().__init__()
        if pixel_format is not None:
            _image_batches(self, buffer, width, height, color_model=None, channel_datatype=None,
                           pixel_format=C.PIXEL_FORMAT[pixel_format])
            return
        channels = {"L": 1, "RGB": 3, "BGR": 3, "RGBA": 4, "BGRA": 4}[color_model]
        dt = np.dtype(datatype)
        _check_size(self.NAME, buffer, width, height, channels * dt.itemsize)
        code = C.CHANNEL_DATATYPE[_dtype_code(dt)]
        _image_batches(self, buffer, width, height, color_model=C.COLOR_MODEL[color_model],
                       channel_datatype=code)

    @classmethod
    def from_array(cls, image: np.ndarray, color_model: str | None = None) -> "Image":
        """From an (H, W), (H, W, 3) or (H, W, 4) array; colour model inferred if not given."""
        a = np.ascontiguousarray(image)
        if a.ndim == 2:
            cm = color_model or "L"
        elif a.ndim == 3 and a.shape[2] in (3, 4):
            cm = color_model or ("RGB" if a.shape[2] == 3 else "RGBA")
        else:
            raise ValueError(f"Image: expected (H, W[, 3|4]), got {a.shape}")
        return cls(a, a.shape[1], a.shape[0], color_model=cm, datatype=a.dtype)


def _dtype_code(dt: np.dtype) -> str:
    dt = np.dtype(dt).newbyteorder("=")
    table = {np.dtype(np.uint8): "U8", np.dtype(np.int8): "I8", np.dtype(np.uint16): "U16",
             np.dtype(np.int16): "I16", np.dtype(np.uint32): "U32", np.dtype(np.int32): "I32",
             np.dtype(np.uint64): "U64", np.dtype(np.int64): "I64", np.dtype(np.float16): "F16",
             np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}
    if dt not in table:
        raise TypeError(f"unsupported image channel dtype {dt}")
    return table[dt]


class DepthImage(Archetype):
    """A depth image: one channel of ``datatype`` (uint16 millimetres → ``meter=1000``; float32
    metres → ``meter=1``). ``buffer`` little-endian, tightly packed."""

    NAME = "DepthImage"
    FIELDS = {"buffer": "ImageBuffer", "format": "ImageFormat", "meter": "DepthMeter",
              "colormap": "Colormap", "depth_range": "ValueRange", "point_fill_ratio": "FillRatio"}

    def __init__(self, buffer, width: int, height: int, *, datatype=np.uint16, meter: float | None = None,
                 colormap: str | None = None):
        super().__init__()
        dt = np.dtype(datatype)
        _check_size(self.NAME, buffer, width, height, dt.itemsize)
        _image_batches(self, buffer, width, height, color_model=None,
                       channel_datatype=C.CHANNEL_DATATYPE[_dtype_code(dt)])
        if meter is not None:
            self._set("meter", C.array([meter], pa.float32()))
        if colormap is not None:
            self._set("colormap", C.array([C.COLORMAP[colormap]], pa.uint8()))


class SegmentationImage(Archetype):
    """A class-id image: one integer channel of ``datatype`` (uint8/uint16)."""

    NAME = "SegmentationImage"
    FIELDS = {"buffer": "ImageBuffer", "format": "ImageFormat", "opacity": "Opacity"}

    def __init__(self, buffer, width: int, height: int, *, datatype=np.uint8):
        super().__init__()
        dt = np.dtype(datatype)
        _check_size(self.NAME, buffer, width, height, dt.itemsize)
        _image_batches(self, buffer, width, height, color_model=None,
                       channel_datatype=C.CHANNEL_DATATYPE[_dtype_code(dt)])


class EncodedImage(Archetype):
    """A compressed image kept compressed: ``blob`` bytes and ``media_type`` (``image/jpeg``,
    ``image/png``); decoded only when a view shows it."""

    NAME = "EncodedImage"
    FIELDS = {"blob": "Blob", "media_type": "MediaType", "opacity": "Opacity", "draw_order": "DrawOrder"}

    def __init__(self, blob, *, media_type: str | None = None):
        super().__init__()
        self._set("blob", C.blob_array(blob, self._name("blob")))
        self._set("media_type", _opt(C.strings_array, media_type, self._name("media_type")))


class Scalars(Archetype):
    """One or more float64 scalars (one series each) at this time: ``scalars`` (N,)."""

    NAME = "Scalars"
    FIELDS = {"scalars": "Scalar"}

    def __init__(self, scalars):
        super().__init__()
        self._set("scalars", C.scalars_array(scalars, np.float64, self._name("scalars")))


class TextLog(Archetype):
    """A log line: ``text`` and ``level`` (CRITICAL, ERROR, WARN, INFO, DEBUG, TRACE)."""

    NAME = "TextLog"
    FIELDS = {"text": "Text", "level": "TextLogLevel", "color": "Color"}

    def __init__(self, text: str, *, level: str | None = None, color=None):
        super().__init__()
        self._set("text", C.strings_array(text, self._name("text")))
        self._set("level", _opt(C.strings_array, level, self._name("level")))
        self._set("color", _opt(C.colors_array, color, self._name("color")))


class TextDocument(Archetype):
    """A text document (``media_type`` ``text/plain`` or ``text/markdown``)."""

    NAME = "TextDocument"
    FIELDS = {"text": "Text", "media_type": "MediaType"}

    def __init__(self, text: str, *, media_type: str | None = None):
        super().__init__()
        self._set("text", C.strings_array(text, self._name("text")))
        self._set("media_type", _opt(C.strings_array, media_type, self._name("media_type")))


class ViewCoordinates(Archetype):
    """Axis semantics of an entity's space, e.g. ``FLU`` (ROS body, REP 103) or ``RDF`` (optical)."""

    NAME = "ViewCoordinates"
    FIELDS = {"xyz": "ViewCoordinates"}

    def __init__(self, xyz: str):
        super().__init__()
        if xyz not in C.VIEW_COORDINATES:
            raise ValueError(f"ViewCoordinates: unknown code {xyz!r}; known: {sorted(C.VIEW_COORDINATES)}")
        self._set("xyz", C.fixed_vectors([C.VIEW_COORDINATES[xyz]], 3, np.uint8, self._name("xyz")))


class Clear(Archetype):
    """Clears an entity (and, if ``recursive``, its children) from this time on."""

    NAME = "Clear"
    FIELDS = {"is_recursive": "ClearIsRecursive"}

    def __init__(self, *, recursive: bool = False):
        super().__init__()
        self._set("is_recursive", C.array([bool(recursive)], pa.bool_()))


class GeoPoints(Archetype):
    """Geographic points: ``lat_lon`` (N, 2) float64 degrees (WGS-84)."""

    NAME = "GeoPoints"
    FIELDS = {"positions": "LatLon", "radii": "Radius", "colors": "Color"}

    def __init__(self, lat_lon, *, radii=None, colors=None):
        super().__init__()
        self._set("positions", C.fixed_vectors(lat_lon, 2, np.float64, self._name("positions")))
        self._set("radii", _opt(C.scalars_array, radii, np.float32, self._name("radii")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))


class AnyValues(Archetype):
    """Arbitrary named columns without a view (e.g. ROS channel metadata): ``name=value`` where a
    value is a string, a number, or a sequence of them. Stored under the archetype name ``NAME``."""

    FIELDS: ClassVar[dict[str, str]] = {}

    def __init__(self, archetype: str = "AnyValues", **values):
        super().__init__()
        self.NAME = archetype
        self._types: dict[str, str] = {}
        for k, v in values.items():
            if v is None:
                continue
            if isinstance(v, pa.Array):
                arr = v
            elif isinstance(v, (str, bytes)):
                arr = C.strings_array(v, f"{archetype}:{k}")
            elif isinstance(v, (bool, np.bool_)):
                arr = C.array([bool(v)], pa.bool_())
            elif isinstance(v, (int, np.integer)):
                arr = C.array([int(v)], pa.int64())
            elif isinstance(v, (float, np.floating)):
                arr = C.array([float(v)], pa.float64())
            else:
                arr = pa.array(list(v))
            self._batches[k] = arr
            self._types[k] = ""

    def descriptor(self, field: str) -> ComponentDescriptor:
        return ComponentDescriptor(self.NAME, field, self._types.get(field, ""))


class SeriesLines(Archetype):
    """Styling of the series of a Scalars entity: ``names`` (one per scalar), optional colours and
    ``widths`` (UI points)."""

    NAME = "SeriesLines"
    FIELDS = {"colors": "Color", "widths": "StrokeWidth", "names": "Name"}

    def __init__(self, *, names=None, colors=None, widths=None):
        super().__init__()
        self._set("widths", _opt(C.scalars_array, widths, np.float32, self._name("widths")))
        self._set("names", _opt(C.strings_array, names, self._name("names")))
        self._set("colors", _opt(C.colors_array, colors, self._name("colors")))
