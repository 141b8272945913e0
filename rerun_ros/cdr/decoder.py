"""Batch CDR → Arrow decoding, compiled once per message type.

:class:`BatchDecoder` turns N serialized ROS 2 messages of one type (XCDR1 as rmw and rosbag2
write it, either byte order) into one Arrow ``StructArray`` of N rows, with no Python call per
message or per field in the common case:

- the message tree is flattened into *leaves* in wire order; consecutive fixed-size leaves
  (numbers, fixed arrays of numbers, nested messages made of them) form a *run* whose internal
  offsets are fixed once the run's start alignment is known, so a run of all N messages is
  copied with one numpy gather (a strided ``void`` view of the buffer, one row per message) and
  every field is then a column view of it;
- strings and sequences of numbers read their uint32 lengths as columns and gather their
  bytes with offsets (one list column over one buffer);
- sequences of messages whose elements have a fixed stride decode all elements of all messages
  as one flattened batch; others advance element *k* of every message at once;
- batches of small messages that share one byte layout (the same string and sequence lengths:
  a publisher's TF frames, joint names) go through :mod:`rerun_ros.cdr.uniform` instead, where
  the general program would loop over array elements: every field is a column of one (N, L)
  block.

CDR rules (ROS 2 DDS-RTPS CDR; the same as ``mcap_ros2._cdr`` and Fast-CDR): a 4-byte
encapsulation header (``00 01`` little-endian, ``00 00`` big-endian), alignment of a primitive
of size n to n counted from the byte after the header, strings as uint32 length with the
terminating NUL counted, sequences as a uint32 count then the elements (aligned only when there
is at least one), fixed arrays without a count, nested messages without alignment of their own,
an empty message as one byte.

A message that runs past its end (or has an unknown encapsulation) does not decode: its row is
reported in :attr:`Decoded.ok` / :attr:`Decoded.errors` and left out by
:meth:`Decoded.valid`; its neighbours are unaffected. Invalid UTF-8 in a string is replaced
(U+FFFD) and counted in :attr:`Decoded.notes`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .schema import PRIMITIVES, Message, Primitive, arrow_type

__all__ = ["BatchDecoder", "Decoded", "gather_segments", "gather_rows"]

from .arrow import PRIM_TYPES as _PRIM_TYPES, gather_rows, gather_segments  # noqa: F401  (also this module's names)
from .arrow import indices as _indices, list_array as _list, mask as _mask, offsets32 as _offsets32
from .arrow import prim_array as _prim_array

_I64 = np.int64


def _align(pos: np.ndarray, a: int) -> np.ndarray:
    return pos if a <= 1 else (pos + (a - 1)) & ~(a - 1)


# ---- decoding state ------------------------------------------------------------------------

class _Ctx:
    """One decode call: the buffer, the per-message bad flags and the first reason of each."""

    __slots__ = ("buf", "bad", "reasons", "notes")

    def __init__(self, buf: np.ndarray, n: int):
        self.buf = buf
        self.bad = np.zeros(n, bool)
        self.reasons: dict[int, str] = {}
        self.notes: Counter = Counter()

    def fail(self, owners: np.ndarray, reason: str) -> None:
        fresh = owners[~self.bad[owners]]
        if len(fresh):
            self.bad[fresh] = True
            for o in np.unique(fresh).tolist():
                self.reasons.setdefault(o, reason)


@dataclass
class _Items:
    """M cursors: absolute address of each item's message payload (after the CDR header), the
    payload length, and the index of the message each item belongs to."""

    base: np.ndarray
    plen: np.ndarray
    owner: np.ndarray

    def take(self, idx: np.ndarray) -> "_Items":
        return _Items(self.base[idx], self.plen[idx], self.owner[idx])

    def repeat(self, counts: np.ndarray) -> "_Items":
        return _Items(np.repeat(self.base, counts), np.repeat(self.plen, counts), np.repeat(self.owner, counts))


def _check(ctx: _Ctx, items: _Items, pos: np.ndarray, need, what: str) -> np.ndarray:
    """Bool mask of items with ``need`` more bytes at ``pos``; the others are failed."""
    ok = pos + need <= items.plen
    if not ok.all():
        ctx.fail(items.owner[~ok], f"{what}: runs past the end of the message")
    return ok


# ---- compiled programs ----------------------------------------------------------------------

@dataclass
class _Leaf:
    path: tuple
    kind: str  # prim | farr | pad | string | pseq | array
    prim: str = ""
    size: int = 0
    count: int = 0  # farr length
    elem: object = None  # array: the element program
    length: int | None = None  # array: fixed length or None for a sequence
    elem_type: object = None


class _Run:
    """Consecutive fixed-size leaves: one gather per start phase."""

    def __init__(self, leaves: list[_Leaf], endian: str):
        self.leaves = leaves
        self.endian = endian
        self.align = max(l.size for l in leaves)  # noqa: E741
        self._layouts: dict[int, tuple[list[int], int]] = {}
        self._lengths: np.ndarray | None = None
        self._infos: list | None = None

    def skip(self, ctx: _Ctx, items: _Items, pos: np.ndarray) -> np.ndarray:
        return _run_skip(self, ctx, items, pos)

    def _info(self, i: int):
        """(size, count, dtype in the message's byte order, is a fixed array, native dtype to
        convert to or None) of leaf ``i``; None for padding. Made once per leaf."""
        infos = self._infos
        if infos is None:
            infos = []
            for leaf in self.leaves:
                if leaf.kind == "pad":
                    infos.append(None)
                    continue
                code, size = PRIMITIVES[leaf.prim]
                dt = np.dtype(code).newbyteorder(self.endian) if size > 1 else np.dtype(code)
                swap = size > 1 and not dt.isnative  # ('<f8' is native here: no copy to '=f8')
                infos.append((size, leaf.count if leaf.kind == "farr" else 1, dt, leaf.kind == "farr",
                              dt.newbyteorder("=") if swap else None))
            self._infos = infos
        return infos[i]

    def layout(self, phase: int) -> tuple[list[int], int]:
        lay = self._layouts.get(phase)
        if lay is None:
            off, offs = phase, []
            for leaf in self.leaves:
                off = int(_align(np.int64(off), leaf.size)) if leaf.kind != "pad" else off
                offs.append(off - phase)
                off += leaf.size * (leaf.count if leaf.kind == "farr" else 1)
            lay = self._layouts[phase] = (offs, off - phase)
        return lay

    def read(self, ctx: _Ctx, items: _Items, pos: np.ndarray, out: dict, cache: dict | None = None) -> np.ndarray:
        m = len(pos)
        a = self.align
        phases = (pos & (a - 1)) if a > 1 else np.zeros(m, _I64)
        p0 = int(phases[0]) if m else 0
        uniform = m == 0 or bool((phases == p0).all())
        groups = [(p0, None)] if uniform else [(int(p), np.nonzero(phases == p)[0]) for p in np.flatnonzero(np.bincount(phases, minlength=a))]
        results: dict[int, np.ndarray] = {}
        new_pos = pos.copy()
        for phase, sel in groups:
            offs, length = self.layout(phase)
            gpos = pos if sel is None else pos[sel]
            gitems = items if sel is None else items.take(sel)
            ok = _check(ctx, gitems, gpos, length, self.leaves[0].path[-1] if self.leaves[0].path else "message")
            addr = gitems.base + gpos
            if not ok.all():
                addr = np.where(ok, addr, 0)
            if length > len(ctx.buf):
                rows = np.zeros((len(gpos), length), np.uint8)
            else:
                rows = gather_rows(ctx.buf, addr, length)
            k = len(gpos)
            typed = k > 0 and rows.flags.c_contiguous
            for i, o in enumerate(offs):
                info = self._info(i)
                if info is None:
                    continue
                size, n, dt, farr, native = info
                if typed:  # one typed strided copy per field (a byte-wise 2-D copy was ~7x slower)
                    vals = np.ascontiguousarray(np.ndarray((k, n) if farr else (k,), dt, buffer=rows, offset=o,
                                                           strides=(length, size) if farr else (length,)))
                else:
                    raw = np.ascontiguousarray(rows[:, o:o + size * n])
                    vals = raw.view(dt).reshape(k, n) if farr else raw.view(dt).reshape(-1)
                if native is not None:
                    vals = vals.astype(native)
                if sel is None:
                    results[i] = vals
                else:
                    full = results.get(i)
                    if full is None:
                        full = results[i] = np.zeros((m,) + vals.shape[1:], vals.dtype)
                    full[sel] = vals
            if sel is None:
                new_pos = gpos + length
            else:
                new_pos[sel] = gpos + length
        for i, leaf in enumerate(self.leaves):
            if leaf.kind == "pad":
                continue
            vals = results[i]
            if cache is not None:
                cache[".".join(leaf.path)] = vals
            if leaf.kind == "farr":
                flat = _prim_array(leaf.prim, vals.reshape(-1))
                offsets = np.arange(0, m * leaf.count + 1, leaf.count, dtype=_I64)
                out[leaf.path] = _list(offsets, flat, _PRIM_TYPES[leaf.prim])
            else:
                out[leaf.path] = _prim_array(leaf.prim, vals)
        return new_pos


def _run_skip(run: "_Run", ctx: _Ctx, items: _Items, pos: np.ndarray) -> np.ndarray:
    a = run.align
    lut = run._lengths
    if lut is None:
        lut = run._lengths = np.array([run.layout(p)[1] for p in range(a)], _I64)
    length = lut[pos & (a - 1)] if a > 1 else np.full(len(pos), lut[0], _I64)
    _check(ctx, items, pos, length, run.leaves[0].path[-1] if run.leaves[0].path else "message")
    return pos + length


def _read_u32(ctx: _Ctx, items: _Items, pos: np.ndarray, endian: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(count int64, position after it) of a uint32 at each aligned position; failed items
    read 0."""
    pos = _align(pos, 4)
    ok = _check(ctx, items, pos, 4, what)
    addr = items.base + pos
    if not ok.all():
        addr = np.where(ok, addr, 0)
    if len(ctx.buf) < 4:
        return np.zeros(len(pos), _I64), pos + 4
    raw = gather_rows(ctx.buf, addr, 4)
    vals = raw.view(np.dtype("u4").newbyteorder(endian)).reshape(-1).astype(_I64)
    if not ok.all():
        vals[~ok] = 0
    return vals, pos + 4


class _String:
    """A string field (also the element program of ``string[]``)."""

    def __init__(self, endian: str, name: str):
        self.endian, self.name = endian, name
        self.fixed_stride = None
        self.min_size = 4
        self.arrow = pa.utf8()

    def read(self, ctx: _Ctx, items: _Items, pos: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        n, pos = _read_u32(ctx, items, pos, self.endian, self.name)
        ok = _check(ctx, items, pos, n, self.name)
        if not ok.all():
            n = np.where(ok, n, 0)
        strlen = np.maximum(n - 1, 0)
        values, offsets = gather_segments(ctx.buf, items.base + pos, strlen)
        arr = pa.Array.from_buffers(pa.utf8(), len(n), [None, _offsets32(offsets).buffers()[1],
                                                         pa.py_buffer(values)])
        try:
            arr.validate(full=True)
        except pa.ArrowInvalid:
            ctx.notes[f"field {self.name}: invalid UTF-8 replaced"] += 1
            raw = values.tobytes()
            fixed = [raw[a:b].decode("utf-8", "replace").encode() for a, b in
                     zip(offsets[:-1].tolist(), offsets[1:].tolist())]
            noff = np.zeros(len(fixed) + 1, _I64)
            np.cumsum([len(x) for x in fixed], out=noff[1:])
            arr = pa.Array.from_buffers(pa.utf8(), len(fixed), [None, _offsets32(noff).buffers()[1],
                                                                 pa.py_buffer(b"".join(fixed))])
        return arr, pos + n

    def skip(self, ctx: _Ctx, items: _Items, pos: np.ndarray) -> np.ndarray:
        n, pos = _read_u32(ctx, items, pos, self.endian, self.name)
        _check(ctx, items, pos, n, self.name)
        return pos + n


class _Struct:
    """A compiled message: its leaves in wire order, grouped into runs and variable parts."""

    def __init__(self, msg: Message, endian: str):
        self.msg = msg
        self.endian = endian
        self._struct_types: dict = {}
        self.arrow = arrow_type(msg)
        leaves: list[_Leaf] = []
        self._flatten(msg, (), leaves)
        self.steps: list = []
        run: list[_Leaf] = []
        for leaf in leaves:
            if leaf.kind in ("prim", "farr", "pad"):
                run.append(leaf)
                continue
            if run:
                self.steps.append(_Run(run, endian))
                run = []
            self.steps.append(leaf)
        if run:
            self.steps.append(_Run(run, endian))
        # a fixed stride: one run whose layout does not depend on where an element starts
        self.fixed_stride = None
        if len(self.steps) == 1 and isinstance(self.steps[0], _Run):
            r = self.steps[0]
            offs, length = r.layout(0)
            first = r.leaves[0]
            if first.kind != "pad" and first.size == r.align and length % r.align == 0:
                self.fixed_stride = length
        self.min_size = self._min_size()

    def _min_size(self) -> int:
        total = 0
        for s in self.steps:
            if isinstance(s, _Run):
                total += s.layout(0)[1]
            else:
                total += 4 if (s.kind in ("string", "pseq") or s.length is None) else 0
        return max(total, 1)

    def _flatten(self, msg: Message, prefix: tuple, out: list) -> None:
        if not msg.fields:
            out.append(_Leaf(prefix + ("",), "pad", "uint8", 1))
            return
        for name, t in msg.fields:
            path = prefix + (name,)
            if isinstance(t, Primitive):
                if t.name == "string":
                    out.append(_Leaf(path, "string", elem=_String(self.endian, ".".join(path))))
                else:
                    out.append(_Leaf(path, "prim", t.name, PRIMITIVES[t.name][1]))
            elif isinstance(t, Message):
                self._flatten(t, path, out)
            else:
                e = t.elem
                if isinstance(e, Primitive) and e.name != "string":
                    if t.length is not None and t.length > 0:
                        out.append(_Leaf(path, "farr", e.name, PRIMITIVES[e.name][1], count=t.length))
                    elif t.length is not None:  # T[0]: nothing on the wire
                        out.append(_Leaf(path, "array", elem=None, length=0, elem_type=arrow_type(e)))
                    else:
                        out.append(_Leaf(path, "pseq", e.name, PRIMITIVES[e.name][1]))
                else:
                    prog = _String(self.endian, ".".join(path)) if isinstance(e, Primitive) else _Struct(e, self.endian)
                    out.append(_Leaf(path, "array", elem=prog, length=t.length, elem_type=arrow_type(e)))

    # -- reading ----------------------------------------------------------------------------

    def read(self, ctx: _Ctx, items: _Items, pos: np.ndarray, cache: dict | None = None) -> tuple[pa.Array, np.ndarray]:
        out: dict[tuple, pa.Array] = {}
        m = len(pos)
        for step in self.steps:
            if isinstance(step, _Run):
                pos = step.read(ctx, items, pos, out, cache)
            elif step.kind == "string":
                out[step.path], pos = step.elem.read(ctx, items, pos)
            elif step.kind == "pseq":
                out[step.path], pos = self._read_pseq(ctx, items, pos, step)
            else:
                out[step.path], pos = self._read_array(ctx, items, pos, step)
        return self._assemble(self.msg, (), out, m), pos

    def _read_pseq(self, ctx, items, pos, leaf: _Leaf):
        name = ".".join(leaf.path)
        cnt, pos = _read_u32(ctx, items, pos, self.endian, name)
        size = leaf.size
        pos = np.where(cnt > 0, _align(pos, size), pos) if size > 1 else pos
        nbytes = cnt * size
        ok = _check(ctx, items, pos, nbytes, name)
        if not ok.all():
            cnt = np.where(ok, cnt, 0)
            nbytes = cnt * size
        if size == 1 and len(pos) == 1 and leaf.prim != "bool":
            # one message's byte blob (an image, a cloud): a view of the buffer, not a copy
            a = int(items.base[0] + pos[0])
            values, boff = ctx.buf[a:a + int(nbytes[0])], np.array([0, int(nbytes[0])], _I64)
        else:
            values, boff = gather_segments(ctx.buf, items.base + pos, nbytes)
        code = PRIMITIVES[leaf.prim][0]
        dt = np.dtype(code).newbyteorder(self.endian) if size > 1 else np.dtype(code)
        vals = values.view(dt)
        if size > 1 and not dt.isnative:
            vals = vals.astype(dt.newbyteorder("="))
        offsets = boff // size if size > 1 else boff
        return _list(offsets, _prim_array(leaf.prim, vals), _PRIM_TYPES[leaf.prim]), pos + nbytes

    def _read_array(self, ctx, items, pos, leaf: _Leaf):
        m = len(pos)
        name = ".".join(leaf.path)
        prog = leaf.elem
        if leaf.length == 0 or prog is None:
            empty = pa.nulls(0, leaf.elem_type)
            return _list(np.zeros(m + 1, _I64), empty, leaf.elem_type), pos
        cnt, pos = self._counts(ctx, items, pos, leaf, name)
        offsets = np.zeros(m + 1, _I64)
        np.cumsum(cnt, out=offsets[1:])
        total = int(offsets[-1])
        if total == 0:
            empty = prog.read(ctx, items.take(np.zeros(0, _I64)), np.zeros(0, _I64))[0]
            return _list(offsets, empty, leaf.elem_type), pos
        stride = prog.fixed_stride
        if stride is not None:
            start = np.where(cnt > 0, _align(pos, prog.steps[0].align), pos)
            ok = _check(ctx, items, start, cnt * stride, name)
            if not ok.all():
                cnt = np.where(ok, cnt, 0)
                np.cumsum(cnt, out=offsets[1:])
                total = int(offsets[-1])
            k = np.arange(total, dtype=_I64) - np.repeat(offsets[:-1], cnt)
            epos = np.repeat(start, cnt) + k * stride
            values, _ = prog.read(ctx, items.repeat(cnt), epos)
            return _list(offsets, values, leaf.elem_type), start + cnt * stride
        # variable-size elements: find where element k of every message starts (k = 0, 1, ...:
        # only lengths are read), then decode all elements at once in message order
        epos = np.empty(total, _I64)
        pos = pos.copy()
        for k in range(int(cnt.max())):
            idx = np.nonzero(cnt > k)[0]
            epos[offsets[idx] + k] = pos[idx]
            pos[idx] = prog.skip(ctx, items.take(idx), pos[idx])
        values, _ = prog.read(ctx, items.repeat(cnt), epos)
        return _list(offsets, values, leaf.elem_type), pos

    def skip(self, ctx: _Ctx, items: _Items, pos: np.ndarray) -> np.ndarray:
        """The position after one value of this message at ``pos`` (lengths read, nothing
        decoded)."""
        for step in self.steps:
            if isinstance(step, _Run):
                pos = step.skip(ctx, items, pos)
            elif step.kind == "string":
                pos = step.elem.skip(ctx, items, pos)
            elif step.kind == "pseq":
                name = ".".join(step.path)
                cnt, pos = _read_u32(ctx, items, pos, self.endian, name)
                if step.size > 1:
                    pos = np.where(cnt > 0, _align(pos, step.size), pos)
                _check(ctx, items, pos, cnt * step.size, name)
                pos = pos + cnt * step.size
            else:
                pos = self._skip_array(ctx, items, pos, step)
        return pos

    def _counts(self, ctx, items, pos, leaf: _Leaf, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(element count of each item, position after the count) of an array field: a
        sequence's uint32 count (0 where it cannot fit in the message), or the fixed length."""
        if leaf.length is not None:
            return np.full(len(pos), leaf.length, _I64), pos
        cnt, pos = _read_u32(ctx, items, pos, self.endian, name)
        ok = _check(ctx, items, pos, cnt * leaf.elem.min_size, name)
        return (cnt if ok.all() else np.where(ok, cnt, 0)), pos

    def _skip_array(self, ctx, items, pos, leaf: _Leaf) -> np.ndarray:
        prog = leaf.elem
        if leaf.length == 0 or prog is None:
            return pos
        name = ".".join(leaf.path)
        cnt, pos = self._counts(ctx, items, pos, leaf, name)
        if prog.fixed_stride is not None:
            start = np.where(cnt > 0, _align(pos, prog.steps[0].align), pos)
            _check(ctx, items, start, cnt * prog.fixed_stride, name)
            return start + cnt * prog.fixed_stride
        pos = pos.copy()
        for k in range(int(cnt.max()) if len(cnt) else 0):
            idx = np.nonzero(cnt > k)[0]
            pos[idx] = prog.skip(ctx, items.take(idx), pos[idx])
        return pos

    def _assemble(self, msg: Message, prefix: tuple, out: dict, m: int) -> pa.Array:
        typ = self._struct_types.get(prefix)
        if typ is None:
            typ = self._struct_types[prefix] = arrow_type(msg)
        if not msg.fields:
            return pa.StructArray.from_buffers(typ, m, [None])
        children = []
        for name, t in msg.fields:
            path = prefix + (name,)
            children.append(self._assemble(t, path, out, m) if isinstance(t, Message) else out[path])
        return pa.StructArray.from_buffers(typ, m, [None], children=children)


def _loops(prog: _Struct) -> bool:
    """Whether decoding ``prog`` walks array elements one index at a time (an array of strings
    or of messages without a fixed stride, at any depth)."""
    for step in prog.steps:
        if isinstance(step, _Leaf) and step.kind == "array" and step.elem is not None:
            if step.elem.fixed_stride is None or (isinstance(step.elem, _Struct) and _loops(step.elem)):
                return True
    return False


def _uniform(msg: Message, buf: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, types: dict):
    """:func:`rerun_ros.cdr.uniform.decode_uniform` where every message is little-endian CDR
    (header ``00 01``), else None."""
    if int(lengths.min()) < 4 or int((offsets + lengths).max()) > len(buf) or not (buf[offsets + 1] == 1).all():
        return None
    from .uniform import decode_uniform
    return decode_uniform(msg, buf, offsets, lengths, types)


# ---- public face ---------------------------------------------------------------------------

@dataclass
class Decoded:
    """The result of decoding N messages.

    Attributes:
        array: a StructArray of N rows (rows that failed hold unspecified values).
        ok: bool (N,), True where the message decoded.
        errors: reason → number of messages that failed for it.
        first_error: (row, reason) of the first failure, or None.
        notes: problems that did not cost the message (e.g. invalid UTF-8 replaced) → count.
        numbers: dotted path → numpy (N,) or (N, k) of the message's fixed-size numeric fields
            outside sequences (the arrays the columns were made from; for mappers).
        end: int64 (N,) bytes each message used, its CDR header included.
    """

    array: pa.StructArray
    ok: np.ndarray
    errors: Counter = field(default_factory=Counter)
    first_error: tuple[int, str] | None = None
    notes: Counter = field(default_factory=Counter)
    numbers: dict = field(default_factory=dict)
    end: np.ndarray | None = None

    def valid(self) -> pa.StructArray:
        """The rows that decoded (all of ``array`` when none failed)."""
        if self.ok.all():
            return self.array
        return self.array.filter(_mask(self.ok))


class BatchDecoder:
    """Decodes batches of serialized messages of one type.

    Args:
        msg: the resolved message type (:func:`rerun_ros.cdr.schema.resolve`).
        uniform: decode batches of small messages that share one byte layout as one block
            (:mod:`rerun_ros.cdr.uniform`; the same result, faster); False: always the
            general per-field programs.

    Attributes:
        arrow_type: the struct type of a decoded message (:func:`~rerun_ros.cdr.schema.arrow_type`).
    """

    def __init__(self, msg: Message, uniform: bool = True):
        self.msg = msg
        self.arrow_type = arrow_type(msg)
        self._progs: dict[str, _Struct] = {}
        # the uniform path pays where the general one loops over the elements of arrays of
        # strings or of variable-size messages (TF, JointState names, markers); elsewhere the
        # general programs are as fast (measured on the bundled bags and the bench mix)
        self.uniform = uniform and _loops(self._prog("<"))
        self._types: dict = {}

    def _prog(self, endian: str) -> _Struct:
        p = self._progs.get(endian)
        if p is None:
            p = self._progs[endian] = _Struct(self.msg, endian)
        return p

    def decode(self, buf, offsets: np.ndarray, lengths: np.ndarray) -> Decoded:
        """Decode N messages: message i is ``buf[offsets[i] : offsets[i] + lengths[i]]``, its
        4-byte encapsulation header included.

        Args:
            buf: uint8 numpy array (or any buffer) holding the messages.
            offsets, lengths: int64 (N,).

        Returns:
            :class:`Decoded`; never raises for bad message bytes.
        """
        buf = np.frombuffer(buf, np.uint8) if not isinstance(buf, np.ndarray) else buf
        offsets = np.asarray(offsets, _I64)
        lengths = np.asarray(lengths, _I64)
        n = len(offsets)
        if self.uniform and n:
            got = _uniform(self.msg, buf, offsets, lengths, self._types)
            if got is not None:
                return Decoded(got[0], np.ones(n, bool), Counter(), None, Counter(), got[1], got[2])
        ctx = _Ctx(buf, n)
        short = lengths < 4
        if short.any():
            ctx.fail(np.nonzero(short)[0], "shorter than the 4-byte CDR header")
        kind = np.zeros(n, np.uint8)
        okh = ~short
        if okh.any():
            kind[okh] = buf[offsets[okh] + 1]
        kind[short] = 1
        items = _Items(offsets + 4, np.maximum(lengths - 4, 0), np.arange(n, dtype=_I64))
        other = (kind != 1) & (kind != 0)
        if other.any():
            ctx.fail(np.nonzero(other)[0], f"unsupported CDR encapsulation kind {int(kind[other][0])} "
                                           "(only plain CDR is)")
        be = kind == 0
        cache: dict = {}
        end = None
        if not be.any():
            arr, end = self._prog("<").read(ctx, items, np.zeros(n, _I64), cache)
            end = end + 4
        else:
            parts, order = [], []
            for endian, mask in (("<", ~be), (">", be)):
                idx = np.nonzero(mask)[0]
                if len(idx):
                    a, _ = self._prog(endian).read(ctx, items.take(idx), np.zeros(len(idx), _I64))
                    parts.append(a)
                    order.append(idx)
            arr = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
            o = np.concatenate(order)
            inv = np.empty(n, _I64)
            inv[o] = np.arange(n, dtype=_I64)
            arr = arr.take(_indices(inv))
        ok = ~ctx.bad
        errors: Counter = Counter(ctx.reasons.values())
        first = None
        if ctx.reasons:
            r = min(ctx.reasons)
            first = (r, ctx.reasons[r])
        return Decoded(arr, ok, errors, first, ctx.notes, cache, end)
