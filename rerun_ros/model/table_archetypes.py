"""Archetypes made from Rerun 0.41's definitions (:mod:`rerun_ros.model.archetype_table`), for
every archetype without a hand-written class in :mod:`rerun_ros.model.archetypes`.

:func:`archetype_class` builds a class per archetype: its fields in the definition's order, each
value converted to its component's Arrow type by :func:`convert` (vectors, scalars, colours,
strings, line strips, enums by name, tensors, pairs of strings), so what is stored has the same
components, names and Arrow types as the official SDK stores. Positional arguments fill the
required fields in order, as the official constructors take them. ROS-free.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import components as C
from .archetype_table import ARCHETYPES, ARGS, COMPONENTS, ENUMS
from .archetypes import Archetype

__all__ = ["archetype_class", "convert", "tensor_data", "ALIASES", "ArgumentError"]


class ArgumentError(TypeError):
    """A constructor's arguments are wrong (missing, unknown, too many): raised even where bad
    values only warn (Python raises it for the official SDK's constructors too)."""

#: arguments the official constructors name otherwise than the field they fill
ALIASES: dict[str, dict[str, str]] = {
    "GeoLineStrings": {"lat_lon": "line_strings"},
    "AssetAudio": {"contents": "blob"},
    "AssetVideo": {"contents": "blob"},
    "VideoFrameReference": {"nanoseconds": "timestamp"},
}


def _assets(name: str, kw: dict) -> dict:
    """The official constructors' other forms: an asset's ``path=`` (its bytes, the media type
    guessed from the name), a video frame's ``seconds=``."""
    if name in ("AssetAudio", "AssetVideo") and kw.get("path") is not None:
        import mimetypes
        from pathlib import Path
        path = Path(kw.pop("path"))
        kw["blob"] = path.read_bytes()
        if kw.get("media_type") is None:
            kw["media_type"] = mimetypes.guess_type(path.name)[0]
    if name == "VideoFrameReference" and kw.get("seconds") is not None:
        kw["timestamp"] = int(round(float(kw.pop("seconds")) * 1e9))
    return kw

#: TensorBuffer's union members by numpy dtype (Rerun's ``TensorBuffer`` type codes)
_TENSOR_CODES = {np.dtype(np.uint8): 1, np.dtype(np.uint16): 2, np.dtype(np.uint32): 3, np.dtype(np.uint64): 4,
                 np.dtype(np.int8): 5, np.dtype(np.int16): 6, np.dtype(np.int32): 7, np.dtype(np.int64): 8,
                 np.dtype(np.float16): 9, np.dtype(np.float32): 10, np.dtype(np.float64): 11}


def tensor_data(value, typ: pa.DataType, name: str, dim_names=None) -> pa.Array:
    """One ``TensorData`` instance (shape, optional dimension names, the typed buffer) from an
    n-d numpy array (any of Rerun's 11 element types; bool as uint8).

    Raises:
        TypeError: an element type Rerun's tensors do not have.
    """
    a = np.asarray(value)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    code = _TENSOR_CODES.get(a.dtype)
    if code is None:
        raise TypeError(f"{name}: tensors hold u8..u64, i8..i64, f16, f32 or f64, not {a.dtype}")
    # built from buffers (C.array, list_of): pyarrow's pa.array on Python lists imports pandas (0.25 s)
    shape_t, names_t, buf_t = typ.field("shape").type, typ.field("names").type, typ.field("buffer").type

    def list_of(values: pa.Array, t: pa.DataType) -> pa.Array:  # one list holding ``values``
        return pa.ListArray.from_arrays(C.offsets_array(np.array([0, len(values)], np.int64)), values, type=t)

    shape = list_of(C.array(np.asarray(a.shape, np.uint64), pa.uint64()), shape_t)
    names = (list_of(C.array([str(d) for d in dim_names], pa.utf8()), names_t) if dim_names is not None
             else pa.nulls(1, names_t))
    children = []
    for i in range(buf_t.num_fields):
        f = buf_t.field(i)
        if buf_t.type_codes[i] == code:
            flat = np.ascontiguousarray(a).reshape(-1)
            children.append(list_of(C.array(flat, f.type.value_type), f.type))
        else:
            children.append(pa.nulls(0, f.type) if pa.types.is_null(f.type) else
                            pa.ListArray.from_arrays(C.offsets_array(np.zeros(1, np.int64)),
                                                     C.array(np.zeros(0, f.type.value_type.to_pandas_dtype()),
                                                             f.type.value_type), type=f.type))
    types, offsets = C.array(np.array([code], np.int8), pa.int8()), C.array(np.array([0], np.int32), pa.int32())
    buffer = pa.Array.from_buffers(buf_t, 1, [None, types.buffers()[1], offsets.buffers()[1]], children=children)
    return pa.StructArray.from_arrays([shape, names, buffer], fields=[typ.field(i) for i in range(3)])


def _strips(value, typ: pa.DataType, name: str) -> pa.Array:
    """Strips (sequences of k-vectors) as ``list<fixed_size_list<item>[k]>``; one (n, k) array
    is one strip."""
    inner = typ.value_type
    k, dt = inner.list_size, inner.value_type.to_pandas_dtype()
    if isinstance(value, np.ndarray) and value.ndim == 2:
        value = [value]
    arrs = [np.asarray(s, dtype=dt).reshape(-1, k) for s in value]
    off = np.zeros(len(arrs) + 1, np.int32)
    np.cumsum([len(a) for a in arrs], out=off[1:])
    flat = np.concatenate(arrs) if arrs else np.zeros((0, k), dt)
    pts = C.fixed_vectors(flat, k, dt, name).to_arrow()
    if pts.type != inner:
        pts = pts.cast(inner)
    return pa.ListArray.from_arrays(C.offsets_array(off), pts, type=typ)


def _enum(value, ctype: str, name: str) -> pa.Array:
    members = ENUMS[ctype]
    vals = [value] if isinstance(value, (str, int, np.integer)) or hasattr(value, "value") else list(value)
    out = []
    by_name = {k.lower(): v for k, v in members.items()}
    for v in vals:
        v = getattr(v, "value", v)
        if isinstance(v, str):
            key = by_name.get(v.replace("_", "").lower())
            if key is None:
                raise ValueError(f"{name}: unknown {ctype} {v!r}; known: {', '.join(members)}")
            out.append(key)
        elif int(v) in members.values():
            out.append(int(v))
        else:
            raise ValueError(f"{name}: unknown {ctype} value {v!r}; known: {', '.join(members)}")
    return C.array(out, COMPONENTS[ctype])


def _packed_color(c, name: str):
    if c is None:
        return None
    return int(C.to_arrow(C.colors_array(c, name)).to_numpy()[0])


def _annotation_info(item, name: str) -> dict:
    """An AnnotationInfo from an object with ``id``/``label``/``color``, a tuple
    ``(id, label[, color])`` or an id."""
    if hasattr(item, "id"):
        i, label, color = item.id, getattr(item, "label", None), getattr(item, "color", None)
    elif isinstance(item, (tuple, list)):
        i, label, color = (list(item) + [None, None])[:3]
    else:
        i, label, color = item, None, None
    return {"id": int(i), "label": None if label is None else str(label), "color": _packed_color(color, name)}


def _annotation_context(value, typ: pa.DataType, name: str) -> pa.Array:
    """One AnnotationContext instance: class descriptions (``ClassDescription``-like objects with
    ``info``, ``keypoint_annotations``, ``keypoint_connections``; AnnotationInfo-like objects;
    tuples ``(id, label, color)``) keyed by their class id."""
    items = value.items() if isinstance(value, dict) else value
    elems = []
    for item in items:
        if isinstance(value, dict):
            item = item[1]
        if hasattr(item, "info"):
            info = _annotation_info(item.info, name)
            kps = [_annotation_info(k, name) for k in (getattr(item, "keypoint_annotations", None) or [])]
            conns = [{"keypoint0": int(a), "keypoint1": int(b)}
                     for a, b in (getattr(item, "keypoint_connections", None) or [])]
        else:
            info, kps, conns = _annotation_info(item, name), [], []
        elems.append({"class_id": info["id"], "class_description": {
            "info": info, "keypoint_annotations": kps, "keypoint_connections": conns}})
    return pa.array([elems], typ)


def _axis_angles(value, typ: pa.DataType, name: str) -> pa.Array:
    """RotationAxisAngle instances from objects with ``axis`` and an angle (``radians``,
    ``angle`` in radians or an Angle), or ``(axis, radians)`` pairs; the axis stored as given."""
    items = [value] if hasattr(value, "axis") or (isinstance(value, tuple) and len(value) == 2
                                                  and np.ndim(value[0]) == 1) else list(value)
    out = []
    for it in items:
        if hasattr(it, "axis"):
            axis = getattr(it, "axis_given", it.axis)
            ang = getattr(it, "radians", None)
            if ang is None:
                ang = getattr(it, "angle")
        else:
            axis, ang = it
        ang = getattr(ang, "radians", ang)
        out.append(([float(v) for v in np.asarray(axis, float).reshape(3)], float(ang)))
    axes = C.fixed_vectors(np.array([a for a, _ in out], np.float32).reshape(-1, 3), 3, np.float32, name).to_arrow()
    angles = C.array(np.array([g for _, g in out], np.float32), pa.float32())
    return pa.StructArray.from_arrays([axes.cast(typ.field(0).type), angles], fields=list(typ))


def _code(value, table: dict, what: str, name: str):
    if value is None:
        return None
    value = getattr(value, "value", value)
    if isinstance(value, str):
        key = {k.lower(): v for k, v in table.items()}.get(value.lower())
        if key is None:
            raise ValueError(f"{name}: unknown {what} {value!r}; known: {', '.join(table)}")
        return key
    return int(value)


def _image_format(value, name: str) -> pa.Array:
    """One ImageFormat from an object with ``width``, ``height`` and ``pixel_format`` or
    ``color_model``/``channel_datatype`` (names or Rerun's codes)."""
    return C.image_format_array(
        int(value.width), int(value.height),
        color_model=_code(getattr(value, "color_model", None), C.COLOR_MODEL, "color model", name),
        channel_datatype=_code(getattr(value, "channel_datatype", None), C.CHANNEL_DATATYPE, "channel datatype", name),
        pixel_format=_code(getattr(value, "pixel_format", None), ENUMS.get("PixelFormat", {}), "pixel format", name))


def convert(value, ctype: str, name: str):
    """A field's value (what the official SDK accepts for it) as instances of its component's
    Arrow type (:data:`COMPONENTS`): an Arrow array, or a batch :func:`C.to_arrow` makes one.

    Raises:
        ValueError, TypeError: values the component cannot hold (the message names the field).
    """
    typ = COMPONENTS[ctype]
    if isinstance(value, pa.Array):
        return value if value.type == typ else value.cast(typ)
    if ctype in ENUMS:
        return _enum(value, ctype, name)
    if ctype == "Color":
        return C.colors_array(value, name)
    if ctype == "TensorData":
        return tensor_data(value, typ, name)
    if ctype == "AnnotationContext":
        return _annotation_context(value, typ, name)
    if ctype == "RotationAxisAngle":
        return _axis_angles(value, typ, name)
    if ctype == "ImageFormat" and hasattr(value, "width"):
        return _image_format(value, name)
    if pa.types.is_fixed_size_list(typ) and (pa.types.is_floating(typ.value_type) or pa.types.is_integer(typ.value_type)):
        return C.fixed_vectors(value, typ.list_size, typ.value_type.to_pandas_dtype(), name)
    if pa.types.is_floating(typ) or pa.types.is_integer(typ):
        return C.scalars_array(value, typ.to_pandas_dtype(), name)
    if pa.types.is_boolean(typ):
        return C.array(np.atleast_1d(np.asarray(value, bool)).tolist(), typ)
    if pa.types.is_string(typ):
        return C.strings_array(value, name)
    if pa.types.is_list(typ) and pa.types.is_fixed_size_list(typ.value_type):
        return _strips(value, typ, name)
    if pa.types.is_list(typ) and typ.value_type == pa.uint8() and not isinstance(value, (list, tuple)):
        return C.blob_array(value, name)  # one blob (bytes, a buffer, a numpy array's bytes)
    if pa.types.is_struct(typ) and [f.name for f in typ] == ["first", "second"]:  # Utf8Pair (graph edges)
        pairs = [value] if isinstance(value, tuple) else list(value)
        try:
            first, second = [str(p[0]) for p in pairs], [str(p[1]) for p in pairs]
            if any(len(p) != 2 for p in pairs):
                raise ValueError
        except (TypeError, ValueError, IndexError):
            raise TypeError(f"{name}: expected pairs of names (a, b)") from None
        return pa.StructArray.from_arrays([C.array(first, pa.utf8()), C.array(second, pa.utf8())], fields=list(typ))
    try:
        return pa.array(value if isinstance(value, (list, tuple)) else [value], typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
        raise TypeError(f"{name}: cannot store {type(value).__name__} as {ctype} ({e})") from None


_CLASSES: dict[str, type] = {}


def archetype_class(name: str) -> type:
    """The class of archetype ``name`` made from its definition (cached).

    Raises:
        KeyError: not an archetype of Rerun 0.41.
    """
    cls = _CLASSES.get(name)
    if cls is not None:
        return cls
    fields = ARCHETYPES[name]
    field_types = {f: ct for f, ct, _ in fields}
    args = ARGS.get(name, tuple((f, False, r) for f, _, r in fields))
    positional = [a for a, pos, _ in args if pos]
    required = [a for a, _, req in args if req]
    alias = ALIASES.get(name, {})
    known = set(field_types) | {a for a, _, _ in args}

    def __init__(self, *values, **kw):
        Archetype.__init__(self)
        if len(values) > len(positional):
            raise ArgumentError(f"{name}() takes {len(positional)} positional arguments "
                            f"({', '.join(positional) or 'none'}), {len(values)} were given")
        for a, v in zip(positional, values):
            if a in kw:
                raise ArgumentError(f"{name}() got two values for {a!r}")
            kw[a] = v
        unknown = sorted(set(kw) - known)
        if unknown:
            raise ArgumentError(f"{name}() got an unexpected keyword argument {unknown[0]!r}; its arguments: "
                            f"{', '.join(a for a, _, _ in args)}")
        missing = [a for a in required if kw.get(a) is None]
        if missing:
            raise ArgumentError(f"{name}() is missing {', '.join(missing)}")
        dim_names = kw.pop("dim_names", None) if name == "Tensor" else None
        kw = _assets(name, {alias.get(k, k): v for k, v in kw.items()})
        unmapped = sorted(k for k, v in kw.items() if v is not None and k not in field_types)
        if unmapped:  # (an argument of the official constructor with no field behind it here: refused, never dropped)
            raise ArgumentError(f"{name}(): rerun_ros.sdk does not take {unmapped[0]!r} yet; give the field itself "
                            f"({', '.join(field_types)})")
        for f, ctype, _ in fields:
            v = kw.get(f)
            if v is None:
                continue
            if ctype == "TensorData" and dim_names is not None and not isinstance(v, pa.Array):
                self._set(f, tensor_data(v, COMPONENTS[ctype], f"{name}:{f}", dim_names))
            else:
                self._set(f, convert(v, ctype, f"{name}:{f}"))

    doc = (f"Rerun 0.41's ``{name}`` archetype (made from its definition): fields "
           + ", ".join(f"``{f}`` ({ct}{', required' if r else ''})" for f, ct, r in fields) + ".")
    cls = type(name, (Archetype,), {"NAME": name, "FIELDS": field_types, "__init__": __init__, "__doc__": doc,
                                    "__module__": __name__, "REQUIRED": tuple(required)})
    _CLASSES[name] = cls
    return cls
