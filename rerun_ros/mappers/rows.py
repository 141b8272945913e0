"""Row views: one message of a decoded batch read by attribute, for row mappers.

``RowView(batch_struct_array, i).header.frame_id`` reads field values of row i lazily from the
Arrow columns: numbers and strings as Python values, sequences of numbers as numpy views of the
column (no copy; ``uint8``/``int8`` sequences as ``bytes``-like numpy arrays), sequences of
strings as lists, nested messages and sequences of messages as row views. Used by the ingest
for types whose mapper works one message at a time (see :mod:`rerun_ros.mappers.base`).
"""
from __future__ import annotations

import pyarrow as pa

from ..model.components import to_numpy

__all__ = ["RowView", "rows_of"]


class _Cols:
    """The children of a StructArray, flattened once (offset-aware), with their kinds."""

    __slots__ = ("arrays", "kinds", "sub", "index")

    def __init__(self, arr: pa.StructArray):
        self.arrays = {}
        self.kinds = {}
        self.sub = {}
        children = arr.flatten()
        for f, c in zip(arr.type, children):
            self.arrays[f.name] = c
            t = f.type
            if pa.types.is_struct(t):
                self.kinds[f.name] = "struct"
            elif pa.types.is_list(t) or pa.types.is_large_list(t):
                vt = t.value_type
                self.kinds[f.name] = ("lstruct" if pa.types.is_struct(vt) else
                                      "lstring" if pa.types.is_string(vt) else
                                      "lbool" if pa.types.is_boolean(vt) else "lnum")
            else:
                self.kinds[f.name] = "value"

    def child(self, name: str) -> "_Cols":
        c = self.sub.get(name)
        if c is None:
            arr = self.arrays[name]
            if self.kinds[name] == "lstruct":
                arr = arr.values
            c = self.sub[name] = _Cols(arr)
        return c


class RowView:
    """Row ``i`` of a StructArray, read by attribute (see the module docstring).

    Raises:
        AttributeError: no such field.
    """

    __slots__ = ("_c", "_i")

    def __init__(self, cols, i: int):
        self._c = cols if isinstance(cols, _Cols) else _Cols(cols)
        self._i = i

    def __getattr__(self, name: str):
        c = self._c
        kind = c.kinds.get(name)
        if kind is None:
            raise AttributeError(name)
        arr = c.arrays[name]
        i = self._i
        if kind == "value":
            return arr[i].as_py()
        if kind == "struct":
            return RowView(c.child(name), i)
        off = arr.offsets
        a, b = off[i].as_py(), off[i + 1].as_py()
        if kind == "lstruct":
            sub = c.child(name)
            return [RowView(sub, k) for k in range(a, b)]
        vals = arr.values
        if kind == "lstring":
            return vals.slice(a, b - a).to_pylist()
        if kind == "lbool":
            return to_numpy(vals.slice(a, b - a))
        return to_numpy(vals.slice(a, b - a))

    def get_fields_and_field_types(self) -> dict:
        return {k: "" for k in self._c.kinds}

    def __repr__(self) -> str:
        return f"RowView({', '.join(self._c.kinds)})"


def rows_of(arr: pa.StructArray) -> list[RowView]:
    """A view of every row of a decoded batch."""
    cols = _Cols(arr)
    return [RowView(cols, i) for i in range(len(arr))]

