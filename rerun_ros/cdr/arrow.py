"""Numpy buffers to Arrow arrays, and byte gathering: what the CDR decoders share.

The general decoder (:mod:`rerun_ros.cdr.decoder`) and the block decoder of uniform layouts
(:mod:`rerun_ros.cdr.uniform`) both build their Arrow columns from numpy buffers with these
helpers (from buffers, never ``pa.array``: that would copy, infer and import pandas), and gather
the bytes of many messages with one copy. Offsets of list columns are int32 (Arrow ``list``).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from .schema import PRIMITIVES, Primitive, arrow_type

__all__ = ["gather_rows", "gather_segments", "prim_array", "list_array", "offsets32", "indices", "mask",
           "PRIM_TYPES"]

_I64 = np.int64


# ---- gathering bytes ----------------------------------------------------------------------

def gather_rows(buf: np.ndarray, addr: np.ndarray, length: int) -> np.ndarray:
    """``length`` bytes at each address of ``buf`` as an (M, length) uint8 array (one copy,
    one memcpy per row through a ``void`` view with a stride of one byte).

    Raises:
        IndexError: an address + length beyond the buffer.
    """
    m = len(addr)
    if length == 0 or m == 0:
        return np.zeros((m, length), np.uint8)
    view = np.ndarray(shape=(len(buf) - length + 1,), dtype=np.dtype((np.void, length)),
                      buffer=buf, offset=0, strides=(1,))
    return view[addr].view(np.uint8).reshape(m, length)


def gather_segments(buf: np.ndarray, src: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the byte segments ``buf[src[i] : src[i] + lens[i]]``.

    Returns:
        (values uint8 (sum(lens),), offsets int64 (M + 1,)).
    """
    m = len(src)
    offsets = np.zeros(m + 1, _I64)
    if m == 0:
        return np.zeros(0, np.uint8), offsets
    np.cumsum(lens, out=offsets[1:])
    total = int(offsets[-1])
    if total == 0:
        return np.zeros(0, np.uint8), offsets
    lo, hi = int(lens.min()), int(lens.max())
    if lo == hi:
        return gather_rows(buf, src, hi).reshape(-1), offsets
    if total >= 256 * m:  # big segments (images, clouds): one memcpy each
        mv = memoryview(buf)
        out = np.empty(total, np.uint8)
        for s, a, b in zip(src.tolist(), offsets[:-1].tolist(), offsets[1:].tolist()):
            out[a:b] = mv[s:s + b - a]
        return out, offsets
    idx = np.repeat(src - offsets[:-1], lens) + np.arange(total, dtype=_I64)
    return buf[idx], offsets


def offsets32(offsets: np.ndarray) -> pa.Array:
    if offsets[-1] >= 2**31:
        raise OverflowError("a list column of more than 2^31 values")
    off = offsets.astype(np.int32)
    return pa.Array.from_buffers(pa.int32(), len(off), [None, pa.py_buffer(off)])


PRIM_TYPES = {name: arrow_type(Primitive(name)) for name in PRIMITIVES}
_LIST_TYPES: dict = {}


def prim_array(name: str, vals: np.ndarray) -> pa.Array:
    """Arrow array of a primitive from a 1-D numpy array in native byte order."""
    typ = PRIM_TYPES[name]
    if name == "bool":
        bits = np.packbits(vals != 0, bitorder="little")
        return pa.Array.from_buffers(typ, len(vals), [None, pa.py_buffer(bits)])
    return pa.Array.from_buffers(typ, len(vals), [None, pa.py_buffer(np.ascontiguousarray(vals))])


def indices(idx: np.ndarray) -> pa.Array:
    """int64 Arrow indices from numpy (from buffers: ``pa.array`` would import pandas)."""
    a = np.ascontiguousarray(idx, _I64)
    return pa.Array.from_buffers(pa.int64(), len(a), [None, pa.py_buffer(a)])


def mask(ok: np.ndarray) -> pa.Array:
    bits = np.packbits(np.asarray(ok, bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(ok), [None, pa.py_buffer(bits)])


def list_array(offsets: np.ndarray, values: pa.Array, elem_type: pa.DataType) -> pa.Array:
    got = _LIST_TYPES.get(id(elem_type))  # by the type object (hashing a struct type formats it)
    if got is not None and got[0] is elem_type:
        typ = got[1]
    else:
        if len(_LIST_TYPES) > 4096:
            _LIST_TYPES.clear()
        typ = pa.list_(pa.field("item", elem_type, nullable=False))
        _LIST_TYPES[id(elem_type)] = (elem_type, typ)  # (kept alive: its id is not reused meanwhile)
    if offsets[-1] >= 2**31:
        raise OverflowError("a list column of more than 2^31 values")
    off = offsets.astype(np.int32)
    return pa.ListArray.from_buffers(typ, len(off) - 1, [None, pa.py_buffer(off)], children=[values])
