"""Components: named Arrow datatypes, with Rerun 0.41's names and layouts.

A :class:`ComponentDescriptor` names one field of one archetype (``Points3D:positions``) and
its component type (``rerun.components.Position3D``). The layouts below are those the official
SDK writes (see ``docs/rrd-format.md``); every column of a chunk is a list of these per row.

The ``to_*`` helpers turn numpy/Python input into the flat Arrow array of one row's instances,
validating shape, dtype and finiteness. They raise ``ValueError``/``TypeError`` with a message
that names the component and what was expected.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

__all__ = ["ComponentDescriptor"]


@dataclass(frozen=True)
class ComponentDescriptor:
    """One archetype field: ``archetype`` (``Points3D``), ``field`` (``positions``),
    ``component_type`` (``Position3D``). All short names; ``column`` is ``Points3D:positions``.
    ``namespace`` is the archetype's package when it is not ``rerun.archetypes`` but a Rerun
    one whose columns still use the short name (``rerun.blueprint.archetypes``: the column of
    ``ContainerBlueprint`` is ``ContainerBlueprint:contents``); a foreign archetype (a ROS
    message type, ``dvl_msgs.msg.DVL``) is named in full in ``archetype`` and its column."""

    archetype: str
    field: str
    component_type: str
    namespace: str = ""
    #: the component is named by the field alone, as Rerun names some of its own (the official
    #: MCAP importer's ``McapMetadata`` record columns, e.g. ``rosbag2``); the manifest still
    #: names it ``McapMetadata:rosbag2`` (``column``)
    bare: bool = False

    @property
    def column(self) -> str:
        return f"{self.archetype}:{self.field}"

    @property
    def component(self) -> str:
        """The component's name in a chunk (its Arrow field and ``rerun:component``)."""
        return self.field if self.bare else f"{self.archetype}:{self.field}"

    @property
    def archetype_full(self) -> str:
        if self.bare:
            return self.archetype
        if self.namespace:
            return f"{self.namespace}.{self.archetype}"
        return self.archetype if "." in self.archetype else f"rerun.archetypes.{self.archetype}"

    @property
    def component_type_full(self) -> str:
        t = self.component_type
        return t if "." in t else f"rerun.components.{t}"

    @staticmethod
    def from_metadata(name: str, md: dict[bytes, bytes] | None) -> "ComponentDescriptor":
        """Rebuild from an Arrow field's ``rerun:*`` metadata (names without prefixes)."""
        md = md or {}
        arch = md.get(b"rerun:archetype", b"").decode()
        comp = md.get(b"rerun:component", name.encode()).decode()
        ctype = md.get(b"rerun:component_type", b"").decode()
        ns = ""
        if arch.startswith("rerun.archetypes."):
            arch_short = arch[len("rerun.archetypes."):]
        elif arch.startswith("rerun.blueprint.archetypes."):
            arch_short, ns = arch[len("rerun.blueprint.archetypes."):], "rerun.blueprint.archetypes"
        else:  # another namespace (a ROS type's struct column: ``dvl_msgs.msg.DVL``) keeps its name
            arch_short = arch or (comp.split(":", 1)[0] if ":" in comp else "")
        field = comp.split(":", 1)[1] if ":" in comp else comp
        ctype_short = ctype[len("rerun.components."):] if ctype.startswith("rerun.components.") else ctype
        bare = ":" not in comp and bool(arch) and "." not in arch
        return ComponentDescriptor(arch if bare else arch_short, field, ctype_short, ns, bare)


# ---- Arrow datatypes (Rerun 0.41 layouts) ------------------------------------------------------

def _fsl(item: pa.DataType, n: int) -> pa.DataType:
    return pa.list_(pa.field("item", item, nullable=False), n)


F32x2 = _fsl(pa.float32(), 2)
F32x3 = _fsl(pa.float32(), 3)
F32x4 = _fsl(pa.float32(), 4)
F32x9 = _fsl(pa.float32(), 9)
F64x2 = _fsl(pa.float64(), 2)
U8x3 = _fsl(pa.uint8(), 3)
BLOB = pa.list_(pa.field("item", pa.uint8(), nullable=False))
LINE_STRIP3D = pa.list_(pa.field("item", F32x3, nullable=False))
IMAGE_FORMAT = pa.struct([
    pa.field("width", pa.uint32(), nullable=False),
    pa.field("height", pa.uint32(), nullable=False),
    pa.field("pixel_format", pa.uint8()),
    pa.field("color_model", pa.uint8()),
    pa.field("channel_datatype", pa.uint8()),
])

# Rerun enums (values as the SDK writes them).
COLOR_MODEL = {"L": 1, "RGB": 2, "RGBA": 3, "BGR": 4, "BGRA": 5}
CHANNEL_DATATYPE = {"U8": 6, "I8": 7, "U16": 8, "I16": 9, "U32": 10, "I32": 11, "U64": 12,
                    "I64": 13, "F16": 33, "F32": 34, "F64": 35}
CHANNEL_DATATYPE_NUMPY = {6: np.uint8, 7: np.int8, 8: np.uint16, 9: np.int16, 10: np.uint32,
                          11: np.int32, 12: np.uint64, 13: np.int64, 33: np.float16,
                          34: np.float32, 35: np.float64}
PIXEL_FORMAT = {"Y_U_V12_LimitedRange": 20, "NV12": 26, "YUY2": 27, "Y8_FullRange": 30,
                "Y_U_V24_LimitedRange": 39, "Y_U_V24_FullRange": 40, "Y8_LimitedRange": 41,
                "Y_U_V12_FullRange": 44, "Y_U_V16_LimitedRange": 49, "Y_U_V16_FullRange": 50,
                "BayerRGGB8": 128, "BayerBGGR8": 129, "BayerGBRG8": 130, "BayerGRBG8": 131}
TRANSFORM_RELATION = {"ParentFromChild": 1, "ChildFromParent": 2}
COLORMAP = {"Grayscale": 1, "Inferno": 2, "Magma": 3, "Plasma": 4, "Turbo": 5, "Viridis": 6,
            "CyanToYellow": 7, "Spectral": 8, "Twilight": 9, "RvizMap": 10, "RvizCostmap": 11,
            "Costmap": 12}
FILL_MODE = {"MajorWireframe": 1, "DenseWireframe": 2, "Solid": 3}
TEXT_LOG_LEVELS = ("CRITICAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE")
# View coordinates: axis codes Up=1 Down=2 Right=3 Left=4 Forward=5 Back=6 (x, y, z order).
VIEW_COORDINATES = {"RDF": (3, 2, 5), "FLU": (5, 4, 1), "RUB": (3, 1, 6), "RFU": (3, 5, 1),
                    "LUF": (4, 1, 5), "RDB": (3, 2, 6), "FRD": (5, 3, 2)}


# ---- deferred batches ---------------------------------------------------------------------------

class NumpyBatch:
    """One row's instances as a numpy array (shape (m,) or (m, n)) with its Arrow type.

    Kept as numpy until a chunk is built, where all rows of a column are concatenated and
    converted to Arrow at once (much cheaper than one Arrow array per row for small rows).
    """

    __slots__ = ("array", "type")

    def __init__(self, array: np.ndarray, arrow_type: pa.DataType):
        self.array = array
        self.type = arrow_type

    def __len__(self) -> int:
        return len(self.array)

    @property
    def nbytes(self) -> int:
        return self.array.nbytes

    def to_arrow(self) -> pa.Array:
        return _numpy_to_arrow(self.array, self.type)

    def to_pylist(self) -> list:
        return self.to_arrow().to_pylist()


class ListBatch:
    """One row's instances as a Python list (strings) with its Arrow type (deferred like
    :class:`NumpyBatch`)."""

    __slots__ = ("items", "type")

    def __init__(self, items: list, arrow_type: pa.DataType):
        self.items = items
        self.type = arrow_type

    def __len__(self) -> int:
        return len(self.items)

    @property
    def nbytes(self) -> int:
        return sum(len(s) for s in self.items) + 8 * len(self.items)

    def to_arrow(self) -> pa.Array:
        return array(self.items, self.type)

    def to_pylist(self) -> list:
        return list(self.items)

# ---- Arrow arrays from buffers ---------------------------------------------------------------

_NP_OF = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
          pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
          pa.float16(): np.float16, pa.float32(): np.float32, pa.float64(): np.float64}


def _validity(values) -> tuple[pa.Buffer | None, list]:
    """(validity bitmap or None, values with None replaced by 0) for a Python sequence."""
    if isinstance(values, np.ndarray) or not any(v is None for v in values):
        return None, values
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    return pa.py_buffer(np.packbits(valid, bitorder="little")), [0 if v is None else v for v in values]


def array(values, typ: pa.DataType) -> pa.Array:
    """An Arrow array of a primitive type (ints, floats, bool, timestamp, duration, utf8, binary)
    from a numpy array or a sequence (None = null), built from buffers: numeric numpy input is
    not copied, and unlike ``pa.array`` nothing is inferred, so pyarrow's one-time import of
    pandas (~0.3 s per process) never happens. Other types go to ``pa.array``.

    Raises:
        ValueError / TypeError: values that do not fit the type.
    """
    n = len(values)
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        validity, values = _validity(values)
        enc = [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(b) for b in enc], out=offsets[1:])
        if offsets[-1] >= 2**31:
            return pa.array(values, type=typ)
        return pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(offsets.astype(np.int32)),
                                               pa.py_buffer(b"".join(enc))])
    if pa.types.is_fixed_size_binary(typ):
        validity, values = _validity(values)
        w = typ.byte_width
        data = b"".join(bytes(w) if v == 0 else bytes(v) for v in values)
        if len(data) != n * w:
            raise ValueError(f"expected {n} values of {w} bytes")
        return pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(data)])
    if pa.types.is_boolean(typ):
        validity, values = _validity(values)
        bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
        return pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(bits)])
    if pa.types.is_timestamp(typ) or pa.types.is_duration(typ):
        dtype = np.int64
    else:
        dtype = _NP_OF.get(typ)
        if dtype is None:
            return pa.array(values, type=typ)
    validity, values = _validity(values)
    data = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    return pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(data)])


def indices(idx, null=None) -> pa.Array:
    """int64 take-indices (n,) as an Arrow array from numpy, built from buffers (:func:`array`;
    ``pa.array`` would import pandas, ~0.3 s, on its first call in a process).

    Args:
        idx: (n,) integers; positions where ``null`` is True may hold anything.
        null: optional (n,) bool; True gives a null index (``take`` then yields null).
    """
    a = np.ascontiguousarray(idx, dtype=np.int64)
    if null is None or not np.any(null):
        return array(a, pa.int64())
    null = np.asarray(null, dtype=bool)
    return pa.Array.from_buffers(pa.int64(), len(a), [pa.py_buffer(np.packbits(~null, bitorder="little")),
                                                      pa.py_buffer(np.where(null, 0, a))])


def offsets_array(offsets) -> pa.Array:
    """int32 list offsets (from a numpy array or a sequence) as an Arrow array."""
    return array(np.asarray(offsets, dtype=np.int32), pa.int32())


def warm_up() -> None:
    """Do now what the first conversion might do lazily: pyarrow imports pandas (when it is
    installed) on its first ``pa.array`` call, about 0.3 s. Our hot paths build arrays from
    buffers (:func:`array`) and avoid it, but a mapper or a sink may still call ``pa.array``; a
    live bridge or viewer calls this at start-up so that no first message is held up by it."""
    pa.array(np.zeros(1, dtype=np.int32))


def _numpy_to_arrow(a: np.ndarray, typ: pa.DataType) -> pa.Array:
    if pa.types.is_fixed_size_list(typ):
        flat = np.ascontiguousarray(a).reshape(-1)
        return pa.FixedSizeListArray.from_arrays(array(flat, typ.value_type), type=typ)
    return array(a, typ)


def to_arrow(batch) -> pa.Array:
    """A component batch (Arrow array, NumpyBatch or ListBatch) as an Arrow array."""
    return batch if isinstance(batch, pa.Array) else batch.to_arrow()


def concat_batches(parts: list) -> pa.Array:
    """Concatenate the present (non-None) batches of one column into one flat Arrow array."""
    first = parts[0]
    if isinstance(first, NumpyBatch) and all(
            isinstance(p, NumpyBatch) and p.type == first.type and p.array.dtype == first.array.dtype
            and p.array.shape[1:] == first.array.shape[1:] for p in parts):
        arr = np.concatenate([p.array for p in parts]) if len(parts) > 1 else first.array
        return _numpy_to_arrow(arr, first.type)
    if isinstance(first, ListBatch) and all(isinstance(p, ListBatch) and p.type == first.type for p in parts):
        items: list = []
        for p in parts:
            items.extend(p.items)
        return array(items, first.type)
    arrays = [to_arrow(p) for p in parts]
    typ = arrays[0].type
    arrays = [a if a.type == typ else a.cast(typ) for a in arrays]
    return pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]


# ---- converters --------------------------------------------------------------------------------

def _where(desc: str) -> str:
    return f"{desc}: "


def fixed_vectors(data, n: int, dtype, name: str, finite: bool = False) -> NumpyBatch:
    """An (m, n) array (or anything numpy reads as one; one vector is accepted as (n,)) as a
    ``fixed_size_list<dtype not null>[n]`` array of m instances.

    Raises:
        ValueError: wrong shape, or non-finite values where ``finite`` is required.
        TypeError: values that are not numeric.
    """
    if type(data) is list and len(data) == n and all(type(v) is float for v in data):
        # fast path for one small vector given as floats (e.g. a ROS Vector3/Quaternion)
        if finite and not all(math.isfinite(v) for v in data):
            raise ValueError(f"{_where(name)}values must be finite (found NaN or inf)")
        return NumpyBatch(np.array(data, dtype=dtype).reshape(1, n), _fsl(pa.from_numpy_dtype(dtype), n))
    a = np.asarray(data)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{_where(name)}expected numbers, got dtype {a.dtype}")
    if a.ndim == 1 and a.shape[0] == n:
        a = a.reshape(1, n)
    if a.ndim != 2 or a.shape[1] != n:
        raise ValueError(f"{_where(name)}expected shape (N, {n}), got {a.shape}")
    a = np.ascontiguousarray(a, dtype=dtype)
    if finite and a.size and not np.isfinite(a).all():
        raise ValueError(f"{_where(name)}values must be finite (found NaN or inf)")
    return NumpyBatch(a, _fsl(pa.from_numpy_dtype(dtype), n))


def scalars_array(data, dtype, name: str) -> NumpyBatch:
    """A 1-D array of instances of a primitive dtype (scalars, radii, class ids)."""
    a = np.asarray(data)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{_where(name)}expected a 1-D batch, got shape {a.shape}")
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{_where(name)}expected numbers, got dtype {a.dtype}")
    return NumpyBatch(np.ascontiguousarray(a, dtype=dtype), pa.from_numpy_dtype(np.dtype(dtype)))


def colors_array(data, name: str) -> pa.Array:
    """Colours as Rerun's packed ``uint32`` 0xRRGGBBAA.

    Accepts (m, 3) or (m, 4) uint8 RGB(A), (m, 3|4) floats in [0, 1], or (m,) uint32 already
    packed. A single colour may be given as (3,) or (4,), or as one packed integer (``0xFF0000FF``).
    """
    a = np.asarray(data)
    if a.ndim == 0 and a.dtype.kind in "ui":
        if not 0 <= int(a) <= 0xFFFFFFFF:
            raise ValueError(f"{_where(name)}a packed colour is 0xRRGGBBAA (0 to 2^32-1), got {int(a)}")
        a = a.reshape(1)
    if a.ndim == 1 and a.shape[0] in (3, 4) and a.dtype != np.uint32:
        a = a.reshape(1, -1)
    if a.ndim == 1:
        if a.dtype.kind not in "ui":
            raise TypeError(f"{_where(name)}packed colours must be integers (0xRRGGBBAA)")
        return NumpyBatch(a.astype(np.uint32), pa.uint32())
    if a.ndim != 2 or a.shape[1] not in (3, 4):
        raise ValueError(f"{_where(name)}expected shape (N, 3) or (N, 4), got {a.shape}")
    if a.dtype.kind == "f":
        a = np.clip(np.round(a * 255.0), 0, 255)
    a = a.astype(np.uint32)
    alpha = a[:, 3] if a.shape[1] == 4 else np.uint32(255)
    packed = (a[:, 0] << 24) | (a[:, 1] << 16) | (a[:, 2] << 8) | alpha
    return NumpyBatch(packed.astype(np.uint32), pa.uint32())


def unpack_colors(packed: np.ndarray) -> np.ndarray:
    """(m,) uint32 0xRRGGBBAA → (m, 4) uint8 RGBA."""
    p = np.asarray(packed, dtype=np.uint32)
    return np.stack([(p >> 24) & 255, (p >> 16) & 255, (p >> 8) & 255, p & 255], axis=1).astype(np.uint8)


def strings_array(data: str | Iterable[str], name: str) -> ListBatch:
    """A batch of UTF-8 strings; a single ``str`` is one instance."""
    if isinstance(data, (str, bytes)):
        data = [data]
    items = [d.decode("utf-8", "replace") if isinstance(d, bytes) else d for d in data]
    for s in items:
        if not isinstance(s, str):
            raise TypeError(f"{_where(name)}expected strings, got {type(s).__name__}")
    try:
        "".join(items).encode("utf-8")
    except UnicodeEncodeError as e:  # (a lone surrogate: no UTF-8 for it; refused here, not at flush)
        raise ValueError(f"{_where(name)}not valid Unicode text ({e.reason} at {e.start})") from None
    return ListBatch(items, pa.utf8())


def blob_array(data, name: str) -> pa.Array:
    """One blob (bytes, memoryview or a numpy array viewed as bytes) as ``list<uint8>``.

    The bytes are not copied: the Arrow buffer wraps the given memory.
    """
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        buf = pa.py_buffer(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        buf = pa.py_buffer(data)
    else:
        try:  # any buffer (array.array from rclpy's uint8[] fields, ...), viewed as bytes
            buf = pa.py_buffer(memoryview(data).cast("B"))
        except TypeError:
            raise TypeError(f"{_where(name)}expected bytes or a buffer, got {type(data).__name__}") from None
    n = buf.size
    values = pa.Array.from_buffers(pa.uint8(), n, [None, buf])
    return pa.ListArray.from_arrays(offsets_array([0, n]), values, type=BLOB)


def image_format_array(width: int, height: int, *, color_model: int | None = None,
                       channel_datatype: int | None = None, pixel_format: int | None = None) -> pa.Array:
    """One ``ImageFormat`` struct instance (width, height in pixels, Rerun enum codes)."""
    key = (int(width), int(height), pixel_format, color_model, channel_datatype)
    arr = _IMAGE_FORMATS.get(key)
    if arr is None:
        values = {"width": key[0], "height": key[1], "pixel_format": pixel_format,
                  "color_model": color_model, "channel_datatype": channel_datatype}
        children = [array([values[f.name]], f.type) for f in IMAGE_FORMAT]
        arr = pa.StructArray.from_arrays(children, fields=list(IMAGE_FORMAT))
        if len(_IMAGE_FORMATS) > 1024:
            _IMAGE_FORMATS.clear()
        _IMAGE_FORMATS[key] = arr  # immutable: one array per distinct format
    return arr


_IMAGE_FORMATS: dict[tuple, pa.Array] = {}


def line_strips_array(strips: Sequence, name: str) -> pa.Array:
    """A batch of 3D line strips, each an (k, 3) array, as ``list<fixed_size_list<f32>[3]>``."""
    arrs = [np.asarray(s, dtype=np.float32).reshape(-1, 3) if len(s) else np.zeros((0, 3), np.float32)
            for s in strips]
    lengths = np.array([len(a) for a in arrs], dtype=np.int64)
    offsets = np.zeros(len(arrs) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate(arrs) if arrs else np.zeros((0, 3), np.float32)
    pts = fixed_vectors(flat, 3, np.float32, name).to_arrow()
    return pa.ListArray.from_arrays(offsets_array(offsets), pts, type=LINE_STRIP3D)


# ---- columns: one list of instances per row, for many rows at once ------------------------------

def values_array(data: np.ndarray, typ: pa.DataType) -> pa.Array:
    """Flat instances from numpy without a Python loop: a 1-D array of a primitive type, or an
    (m, k) array as ``fixed_size_list<item not null>[k]`` (``typ`` is then the list type).

    Raises:
        ValueError: a shape that does not fit ``typ``.
    """
    if pa.types.is_fixed_size_list(typ):
        k = typ.list_size
        a = np.ascontiguousarray(data, dtype=_NP_OF[typ.value_type]).reshape(-1)
        if a.size % k:
            raise ValueError(f"{a.size} values do not make vectors of {k}")
        return pa.FixedSizeListArray.from_arrays(array(a, typ.value_type), type=typ)
    return array(np.ascontiguousarray(data), typ)


def list_column(values: pa.Array, offsets: np.ndarray | None = None, valid: np.ndarray | None = None) -> pa.Array:
    """A component column: row i holds ``values[offsets[i]:offsets[i+1]]``.

    Args:
        values: the flat instances of all rows.
        offsets: int (n + 1,); None means one instance per row (n = len(values)).
        valid: bool (n,); rows where it is False are null (the row does not set the component).

    Raises:
        ValueError: offsets that do not fit the values.
    """
    n = len(values) if offsets is None else len(offsets) - 1
    if offsets is None:
        off = _ARANGE32[:n + 1] if n < len(_ARANGE32) else np.arange(n + 1, dtype=np.int32)
    else:
        off = np.asarray(offsets)
        if len(off) and int(off[-1]) != len(values):
            raise ValueError(f"offsets end at {int(off[-1])} for {len(values)} values")
        off = off.astype(np.int32)
    vt = values.type
    if pa.types.is_nested(vt):
        # the list type of a message struct is made in C++: hashing a nested DataType (to look
        # its list type up) formats it, ~20 us for a message struct, per column
        nulls = None
        if valid is not None and not np.all(valid):
            nulls = pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(
                np.packbits(~np.asarray(valid, bool), bitorder="little"))])
        offs = pa.Array.from_buffers(pa.int32(), n + 1, [None, pa.py_buffer(off)])
        return pa.ListArray.from_arrays(offs, values, mask=nulls)
    mask = None
    if valid is not None and not np.all(valid):
        mask = pa.py_buffer(np.packbits(np.asarray(valid, bool), bitorder="little"))
    typ = _LIST_OF.get(values.type)
    if typ is None:
        if len(_LIST_OF) > 4096:
            _LIST_OF.clear()
        typ = _LIST_OF[values.type] = pa.list_(pa.field("item", values.type, nullable=True))
    return pa.ListArray.from_buffers(typ, n, [mask, pa.py_buffer(off)], children=[values])


_ARANGE32 = np.arange(1 << 16, dtype=np.int32)  # shared offsets of one-instance-per-row columns (read only)
_ARANGE32.setflags(write=False)
_LIST_OF: dict = {}


def repeat_column(values: pa.Array, n: int) -> pa.Array:
    """A column of ``n`` rows that all hold the same instances ``values`` (e.g. series names)."""
    k = len(values)
    idx = np.tile(np.arange(k, dtype=np.int64), n)
    return list_column(values.take(array(idx, pa.int64())) if n != 1 else values,
                       np.arange(0, n * k + 1, max(k, 1), dtype=np.int64) if k else np.zeros(n + 1, np.int64))


def string_lengths(arr: pa.Array) -> np.ndarray:
    """Byte lengths (int64 (n,)) of the values of a utf8/binary array (nulls count 0), from its
    offsets without a copy of the data."""
    n = len(arr)
    off = np.frombuffer(arr.buffers()[1], np.int32, count=arr.offset + n + 1)[arr.offset:]
    lens = np.diff(off).astype(np.int64)
    if arr.null_count:
        lens[~validity(arr)] = 0
    return lens


def repeat_string(value: str, n: int, typ: pa.DataType = pa.utf8()) -> pa.Array:
    """A utf8 array of ``n`` times ``value``, built from buffers."""
    b = value.encode()
    off = (np.arange(n + 1, dtype=np.int64) * len(b)).astype(np.int32)
    return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(off), pa.py_buffer(b * n)])


def take_strings(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    """Rows ``idx`` (int64 (m,)) of a utf8 array without nulls, gathered with numpy over its
    buffers (``Array.take`` would import pyarrow.compute, ~40 ms a process)."""
    n = len(arr)
    idx = np.asarray(idx, np.int64)
    off = np.frombuffer(arr.buffers()[1], np.int32, count=arr.offset + n + 1)[arr.offset:].astype(np.int64)
    data = arr.buffers()[2]
    raw = np.frombuffer(data, np.uint8) if data is not None and data.size else np.zeros(0, np.uint8)
    lens = off[idx + 1] - off[idx]
    new = np.zeros(len(idx) + 1, np.int64)
    np.cumsum(lens, out=new[1:])
    total = int(new[-1])
    vals = raw[np.repeat(off[idx] - new[:-1], lens) + np.arange(total, dtype=np.int64)] if total else raw[:0]
    if total >= 2**31:
        raise OverflowError("a string column of more than 2 GiB")
    return pa.Array.from_buffers(arr.type, len(idx), [None, pa.py_buffer(new.astype(np.int32)),
                                                      pa.py_buffer(np.ascontiguousarray(vals))])


def take_runs(arr: pa.Array, idx: np.ndarray, max_runs: int = 256) -> pa.Array:
    """Rows ``idx`` (int64 (m,), increasing) of any Arrow array as the concatenation of its
    runs of consecutive rows (one zero-copy slice each; ``pa.concat_arrays`` copies once):
    no pyarrow.compute (its import costs ~40 ms a process) when the rows come in at most
    ``max_runs`` runs, ``Array.take`` beyond."""
    idx = np.asarray(idx, np.int64)
    if not len(idx):
        return arr.slice(0, 0)
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1] + 1])
    if len(starts) > max_runs:
        return arr.take(array(idx, pa.int64()))
    ends = np.r_[starts[1:], len(idx)]
    parts = [arr.slice(int(idx[a]), int(b - a)) for a, b in zip(starts, ends)]
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def string_codes(arr: pa.Array) -> tuple[np.ndarray, list[str]]:
    """(codes int64 (n,), distinct values): the distinct strings of a utf8 array (nulls as
    ``""``) and, per row, the index of its value — numpy over the array's buffers, without
    pyarrow.compute (its import costs ~40 ms a process) or a Python object per row. Values are
    sorted by their bytes. One 64-bit key per row (length and bytes folded in, one gather per
    byte position) grouped with ``np.unique``; a key shared by different strings (a collision)
    falls back to a byte-wise unique."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, np.int64), []
    lens = string_lengths(arr)
    start = np.frombuffer(arr.buffers()[1], np.int32, count=arr.offset + n + 1)[arr.offset:-1].astype(np.int64)
    data = arr.buffers()[2]
    raw = np.frombuffer(data, np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
    width = int(lens.max())

    if n <= _FEW_STRINGS:  # a live batch of a few messages: the dict costs less than the vector steps
        return _few_string_codes(raw.tobytes(), start.tolist(), lens.tolist())
    # the bytes as little-endian 64-bit words at any byte offset (8 zero bytes appended)
    padded = np.concatenate([raw, np.zeros(8, np.uint8)])
    words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))

    def word(rows, j: int) -> np.ndarray:  # bytes j..j+7 of each row, 0 past its end
        rem = np.clip(lens[rows] - j, 0, 8).astype(np.uint64)
        w = words[np.minimum(start[rows] + j, len(words) - 1)]
        keep = np.where(rem >= 8, np.uint64(0xFFFFFFFFFFFFFFFF),
                        (np.uint64(1) << (rem * np.uint64(8))) - np.uint64(1))
        return w & keep

    every = np.arange(n)
    h = lens.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for j in range(0, width, 8):
            h = (h ^ word(every, j)) * np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
    _, first, codes = np.unique(h, return_index=True, return_inverse=True)
    codes = codes.ravel()
    rep = first[codes]
    same = lens[rep] == lens
    for j in range(0, width, 8):
        same &= word(rep, j) == word(every, j)
    values = [bytes(raw[start[k]:start[k] + lens[k]]) if lens[k] else b"" for k in first]
    if not same.all():  # a collision: group by the bytes themselves
        d: dict = {}
        codes = np.fromiter((d.setdefault(bytes(raw[s:s + ln]) if ln else b"", len(d)) for s, ln in zip(start, lens)),
                            np.int64, count=n)
        values = list(d)
    order = sorted(range(len(values)), key=values.__getitem__)
    remap = np.empty(len(values), np.int64)
    remap[np.asarray(order, np.int64)] = np.arange(len(values))
    return remap[codes], [values[k].decode("utf-8", "replace") for k in order]


_FEW_STRINGS = 32


def _few_string_codes(raw: bytes, starts: list, lens: list) -> tuple[np.ndarray, list[str]]:
    """:func:`string_codes` of a few strings (the bytes ``raw[s:s + ln]`` of each row)."""
    d: dict = {}
    codes = [d.setdefault(raw[s:s + ln], len(d)) for s, ln in zip(starts, lens)]
    values = list(d)
    order = sorted(range(len(values)), key=values.__getitem__)
    remap = [0] * len(values)
    for new, old in enumerate(order):
        remap[old] = new
    return (np.array([remap[c] for c in codes], np.int64),
            [values[k].decode("utf-8", "replace") for k in order])


_NP_CODE = {pa.int8(): "i1", pa.int16(): "i2", pa.int32(): "i4", pa.int64(): "i8", pa.uint8(): "u1",
            pa.uint16(): "u2", pa.uint32(): "u4", pa.uint64(): "u8", pa.float16(): "f2", pa.float32(): "f4",
            pa.float64(): "f8"}


def to_numpy(arr: pa.Array) -> np.ndarray:
    """A primitive Arrow array as numpy (n,), a zero-copy view of its buffer when it has no
    nulls (timestamps/durations as int64, booleans unpacked). Unlike ``Array.to_numpy`` this
    never imports pandas (pyarrow does so on its first conversion, ~0.3 s).

    Raises:
        TypeError: not a primitive (numeric, boolean, temporal) array.
    """
    typ = arr.type
    n, off = len(arr), arr.offset
    if pa.types.is_boolean(typ):
        bits = np.frombuffer(arr.buffers()[1], np.uint8)
        out = np.unpackbits(bits, bitorder="little", count=off + n)[off:].astype(bool)
    else:
        code = _NP_CODE.get(typ) or ("i8" if pa.types.is_timestamp(typ) or pa.types.is_duration(typ) else None)
        if code is None:
            raise TypeError(f"to_numpy: {typ} is not a primitive type")
        buf = arr.buffers()[1]
        out = np.frombuffer(buf, np.dtype(code), count=off + n)[off:] if n else np.zeros(0, code)
    if arr.null_count:
        out = out.astype(np.float64) if out.dtype.kind == "f" else out.copy()
        valid = validity(arr)
        if out.dtype.kind == "f":
            out[~valid] = np.nan
    return out


def as_numpy(arr: pa.Array) -> np.ndarray:
    """Any Arrow array as numpy (n,): :func:`to_numpy` for primitive types (a view when there
    are no nulls), else an object array of Python values (strings, structs as dicts), without
    pandas (``Array.to_numpy(zero_copy_only=False)`` imports it, ~0.3 s, the first time)."""
    try:
        return to_numpy(arr)
    except TypeError:
        out = np.empty(len(arr), dtype=object)
        out[:] = arr.to_pylist()
        return out


def list_offsets(arr: pa.Array) -> np.ndarray:
    """int64 (n + 1,) offsets of a list (or string) array into its (unsliced) values."""
    t = arr.type
    code = "i8" if (pa.types.is_large_list(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t)) else "i4"
    return np.frombuffer(arr.buffers()[1], code, count=arr.offset + len(arr) + 1)[arr.offset:].astype(np.int64)


def list_lengths(arr: pa.Array) -> np.ndarray:
    """int64 (n,) element count of each row of a list array, 0 for null rows (no compute kernel)."""
    off = list_offsets(arr)
    lens = off[1:] - off[:-1]
    if arr.null_count:
        lens[~validity(arr)] = 0
    return lens


def join_strings(pieces: list, n: int) -> pa.Array:
    """Row-wise concatenation of string pieces into a utf8 array of n rows, with numpy (no
    Python per row). A piece is a utf8 array of n rows, or ``(text, mask)``: the constant
    ``text`` in the rows where the bool (n,) mask is True."""
    parts = []
    for p in pieces:
        if isinstance(p, tuple):
            text, mask = p
            b = np.frombuffer(text.encode(), np.uint8)
            lens = np.where(mask, len(b), 0).astype(np.int64)
            parts.append((b, np.zeros(n, np.int64), lens))
        else:
            off = list_offsets(p)
            data = np.frombuffer(p.buffers()[2], np.uint8) if p.buffers()[2] is not None else np.zeros(0, np.uint8)
            parts.append((data, off[:-1], np.diff(off)))
    total = np.zeros(n, np.int64)
    for _, _, lens in parts:
        total += lens
    out_off = np.zeros(n + 1, np.int64)
    np.cumsum(total, out=out_off[1:])
    out = np.empty(int(out_off[-1]), np.uint8)
    cursor = out_off[:-1].copy()
    for data, src, lens in parts:
        k = int(lens.sum())
        if k:
            rel = np.arange(k, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
            out[np.repeat(cursor, lens) + rel] = data[np.repeat(src, lens) + rel]
        cursor += lens
    if out_off[-1] >= 2**31:
        raise OverflowError("more than 2 GiB of text in one column")
    return pa.Array.from_buffers(pa.utf8(), n, [None, pa.py_buffer(out_off.astype(np.int32)), pa.py_buffer(out)])


def validity(arr: pa.Array) -> np.ndarray:
    """bool (n,): True where ``arr`` is not null, from its validity bitmap (no compute kernel)."""
    n = len(arr)
    if arr.null_count == 0:
        return np.ones(n, bool)
    bm = arr.buffers()[0]
    if bm is None:  # e.g. a null-typed array
        return np.zeros(n, bool)
    bits = np.frombuffer(bm, np.uint8)
    return np.unpackbits(bits, bitorder="little", count=arr.offset + n)[arr.offset:].astype(bool)


def list_flat(arr: pa.Array) -> pa.Array:
    """The values of the rows of a list array (what ``ListArray.flatten`` gives for rows without
    nulls), as a slice of its child: no copy, no compute kernel."""
    off = list_offsets(arr)
    return arr.values.slice(int(off[0]), int(off[-1] - off[0]))
