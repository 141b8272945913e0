"""Uniform batches: small messages that share one byte layout, decoded as one block.

A topic's messages usually differ only in their numbers: a publisher sends the same frame ids,
joint names and sequence lengths in every message, so the strings and sequences (the parts that
move the fields after them) have the same lengths in all of them, and then every field of every
message lies at the same offset. :func:`decode_uniform` finds that layout by walking the first
message of each group of equal-length messages (one Python step per field of *one* message),
checks with one vectorised comparison that every message of the group has the same uint32
lengths at the same places, copies the group's messages into an (M, L) byte block with one
gather, and makes every column a strided view of that block: no per-field work that depends on
the number of messages beyond one numpy gather per leaf.

It returns None when a batch is not uniform (lengths that differ inside a group, big-endian
CDR, a message that runs past its end, invalid UTF-8, messages bigger than
:data:`MAX_BYTES`, more than :data:`MAX_GROUPS` distinct message lengths); the caller then uses
the general decoder (:class:`rerun_ros.cdr.decoder.BatchDecoder`), which handles all of those
per message. Both produce the same Arrow arrays (same types, values and order) and the same
fixed-size number columns for the mappers; tests compare them on every bundled bag.

The wire rules are those of :mod:`rerun_ros.cdr.decoder` (XCDR1 little-endian: primitives
aligned to their size from the byte after the 4-byte encapsulation header, strings as a uint32
length counting the NUL, sequences as a uint32 count then elements aligned only if any, an
empty message as one byte).
"""
from __future__ import annotations

import struct
import sys
from functools import lru_cache

import numpy as np
import pyarrow as pa

from .arrow import PRIM_TYPES as _PRIM_TYPES, gather_rows, list_array as _list, offsets32 as _offsets32
from .arrow import prim_array as _prim_array

_I64 = np.int64
from .schema import PRIMITIVES, Message, Primitive, arrow_type

__all__ = ["decode_uniform", "MAX_BYTES", "MAX_GROUPS"]

#: messages (payload bytes) bigger than this go to the general decoder (which keeps the byte
#: blobs of images and clouds as views instead of copying them into a block)
MAX_BYTES = 4096
#: at most this many distinct message lengths in a batch (each is one group)
MAX_GROUPS = 8

_U32 = struct.Struct("<I")


class _NotUniform(Exception):
    pass


class _Walk:
    """The layout of one message: a tree of nodes (kind, ...) and the uint32 lengths it read."""

    __slots__ = ("raw", "end", "checks")

    def __init__(self, raw: bytes):
        self.raw = raw
        self.end = len(raw)
        self.checks: list[tuple[int, int]] = []

    def need(self, p: int) -> None:
        if p > self.end:
            raise _NotUniform

    def u32(self, p: int) -> int:
        self.need(p + 4)
        v = _U32.unpack_from(self.raw, p)[0]
        self.checks.append((p, v))
        return v

    def node(self, t, p: int) -> tuple[tuple, int]:
        if isinstance(t, Primitive):
            if t.name == "string":
                p = (p + 3) & ~3
                n = self.u32(p)
                self.need(p + 4 + n)
                return ("s", p + 4, max(n - 1, 0)), p + 4 + n
            size = PRIMITIVES[t.name][1]
            p = (p + size - 1) & ~(size - 1)
            self.need(p + size)
            return ("p", p), p + size
        if isinstance(t, Message):
            if not t.fields:  # an empty message is one byte on the wire
                self.need(p + 1)
                return ("m", ()), p + 1
            kids = []
            for _, ft in t.fields:
                k, p = self.node(ft, p)
                kids.append(k)
            return ("m", kids), p
        e = t.elem
        if t.length == 0:
            return ("z",), p
        if isinstance(e, Primitive) and e.name != "string":
            size = PRIMITIVES[e.name][1]
            if t.length is not None:
                p = (p + size - 1) & ~(size - 1)
                self.need(p + size * t.length)
                return ("f", p), p + size * t.length
            p = (p + 3) & ~3
            c = self.u32(p)
            p += 4
            if c:
                p = (p + size - 1) & ~(size - 1)
            self.need(p + c * size)
            return ("q", p, c), p + c * size
        if t.length is None:
            p = (p + 3) & ~3
            c = self.u32(p)
            p += 4
            self.need(p + c)  # every element takes at least one byte
        else:
            c = t.length
        els = []
        for _ in range(c):
            k, p = self.node(e, p)
            els.append(k)
        return ("a", els), p


@lru_cache(maxsize=4096)
def _cols(starts: tuple, widths: tuple) -> np.ndarray:
    """Byte-column indices of the segments [start, start + width) in order (cached: do not
    modify the result)."""
    if not len(starts):
        return np.zeros(0, _I64)
    starts = np.asarray(starts, _I64)
    widths = np.asarray(widths, _I64)
    total = int(widths.sum())
    if total == 0:
        return np.zeros(0, _I64)
    ends = np.cumsum(widths)
    return np.repeat(starts - (ends - widths), widths) + np.arange(total, dtype=_I64)


@lru_cache(maxsize=4096)
def _pattern_offsets(m: int, lens: tuple) -> np.ndarray:
    """List offsets (m * K + 1,) of m rows that each hold K lists of lengths ``lens`` (cached:
    do not modify the result)."""
    if len(lens) == 1:
        return np.arange(0, m * lens[0] + 1, max(lens[0], 1), dtype=_I64) if lens[0] else np.zeros(m + 1, _I64)
    lens = np.asarray(lens, _I64)
    per = int(lens.sum())
    cum = np.zeros(len(lens) + 1, _I64)
    np.cumsum(lens, out=cum[1:])
    out = np.empty(m * len(lens) + 1, _I64)
    out[:-1] = (np.arange(m, dtype=_I64)[:, None] * per + cum[None, :-1]).reshape(-1)
    out[-1] = m * per
    return out


class _Builder:
    def __init__(self, rows: np.ndarray, cache: dict | None, types: dict):
        self.rows = rows
        self.m = len(rows)
        self.cache = cache
        self._types = types

    def arrow(self, t) -> pa.DataType:
        got = self._types.get(id(t))
        if got is None or got[0] is not t:
            got = self._types[id(t)] = (t, arrow_type(t))
        return got[1]

    def _take(self, starts: list, widths: list) -> np.ndarray:
        """(m, sum(widths)) C-contiguous: the byte segments [start, start + width) of every row."""
        if len(starts) == 1:
            return np.ascontiguousarray(self.rows[:, starts[0]:starts[0] + widths[0]])
        return self.rows.take(_cols(tuple(starts), tuple(widths)), axis=1)

    def build(self, t, lays: list, path: tuple | None) -> pa.Array:
        """The Arrow array of ``m * len(lays)`` values of type ``t`` (row-major: message,
        then layout); ``path`` is the dotted field path for the mappers' number columns, or
        None inside arrays."""
        m, k = self.m, len(lays)
        if isinstance(t, Primitive):
            if t.name == "string":
                lens = [lay[2] for lay in lays]
                vals = self._take([lay[1] for lay in lays], lens).reshape(-1)
                offsets = _offsets32(_pattern_offsets(m, tuple(lens))).buffers()[1]
                arr = pa.Array.from_buffers(pa.utf8(), m * k, [None, offsets, pa.py_buffer(vals)])
                if len(vals) and int(vals.max()) >= 0x80:  # not all ASCII: check the UTF-8
                    try:
                        arr.validate(full=True)
                    except pa.ArrowInvalid:
                        raise _NotUniform from None  # the general decoder replaces and counts it
                return arr
            code, size = PRIMITIVES[t.name]
            vals = self._take([lay[1] for lay in lays], [size] * k).view(code).reshape(-1)
            if path is not None and self.cache is not None:
                self.cache[".".join(path)] = vals
            return _prim_array(t.name, vals)
        if isinstance(t, Message):
            typ = self.arrow(t)
            if not t.fields:
                return pa.StructArray.from_buffers(typ, m * k, [None])
            children = []
            for j, (name, ft) in enumerate(t.fields):
                children.append(self.build(ft, [lay[1][j] for lay in lays],
                                           None if path is None else path + (name,)))
            return pa.StructArray.from_buffers(typ, m * k, [None], children=children)
        e = t.elem
        if t.length == 0:
            et = self.arrow(e)
            return _list(np.zeros(m * k + 1, _I64), pa.nulls(0, et), et)
        if isinstance(e, Primitive) and e.name != "string":
            code, size = PRIMITIVES[e.name]
            if t.length is not None:
                c = t.length
                vals = self._take([lay[1] for lay in lays], [size * c] * k).view(code)
                if path is not None and self.cache is not None:
                    self.cache[".".join(path)] = vals.reshape(m, c)
                offsets = np.arange(0, m * k * c + 1, c, dtype=_I64)
            else:
                counts = [lay[2] for lay in lays]
                vals = self._take([lay[1] for lay in lays], [size * c for c in counts]).view(code)
                offsets = _pattern_offsets(m, tuple(counts))
            return _list(offsets, _prim_array(e.name, vals.reshape(-1)), _PRIM_TYPES[e.name])
        counts = [len(lay[1]) for lay in lays]
        flat = [el for lay in lays for el in lay[1]]
        values = self.build(e, flat, None)
        return _list(_pattern_offsets(m, tuple(counts)), values, self.arrow(e))


def _group(msg: Message, buf: np.ndarray, offsets: np.ndarray, length: int,
           cache: dict | None, types: dict) -> tuple[pa.Array, int]:
    """(StructArray, payload bytes used) of messages of one ``length``, or raise _NotUniform."""
    base = offsets + 4
    a = int(base[0])
    w = _Walk(buf[a:a + length - 4].tobytes())
    lay, used = w.node(msg, 0)  # (never past the first message's end: _Walk.need)
    rows = gather_rows(buf, base, used) if used else np.zeros((len(base), 0), np.uint8)
    if w.checks:
        cols = _cols(tuple(p for p, _ in w.checks), (4,) * len(w.checks))
        got = rows.take(cols, axis=1).view("<u4")
        want = np.array([v for _, v in w.checks], np.uint32)
        if not (got == want).all():
            raise _NotUniform
    return _Builder(rows, cache, types).build(msg, [lay], ()), used


def decode_uniform(msg: Message, buf: np.ndarray, offsets: np.ndarray, lengths: np.ndarray,
                   types: dict | None = None) -> tuple[pa.StructArray, dict, np.ndarray] | None:
    """Decode N little-endian CDR messages of type ``msg`` if each group of equal-length
    messages shares the first one's layout.

    Args:
        msg: the resolved message type.
        buf: uint8 (B,) holding the messages; offsets, lengths: int64 (N,), each message's
            4-byte encapsulation header included (the caller has checked it is ``00 01``).

    Returns:
        (StructArray of N rows, number columns by dotted path (numpy (N,) or (N, k)), end
        int64 (N,): bytes each message used, header included), or None: not uniform (decode
        with the general decoder).
    """
    n = len(offsets)
    if n == 0 or sys.byteorder != "little":
        return None
    types = {} if types is None else types
    l0 = int(lengths[0])
    try:
        if (lengths == l0).all():
            if l0 - 4 > MAX_BYTES or l0 < 4:
                return None
            cache: dict = {}
            arr, used = _group(msg, buf, offsets, l0, cache, types)
            return arr, cache, np.full(n, used + 4, _I64)
        if int(lengths.max()) - 4 > MAX_BYTES or int(lengths.min()) < 4:
            return None
        values, inverse = np.unique(lengths, return_inverse=True)
        if len(values) > MAX_GROUPS:
            return None
        order = np.argsort(inverse, kind="stable")  # message indices, group by group
        bounds = np.searchsorted(inverse[order], np.arange(len(values) + 1))
        parts, caches = [], []
        end = np.empty(n, _I64)
        for g, length in enumerate(values.tolist()):
            idx = order[bounds[g]:bounds[g + 1]]
            cache = {}
            arr, used = _group(msg, buf, offsets[idx], length, cache, types)
            parts.append(arr)
            caches.append(cache)
            end[idx] = used + 4
    except _NotUniform:
        return None
    back = np.empty(n, _I64)  # where each message's row is in the groups' concatenation
    back[order] = np.arange(n, dtype=_I64)
    arr = pa.concat_arrays(parts).take(pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(back)]))
    cache = {}
    for key in caches[0]:
        if all(key in c for c in caches):
            cache[key] = np.concatenate([c[key] for c in caches])[back]
    return arr, cache, end
