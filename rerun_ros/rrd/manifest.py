"""The RRD footer's chunk manifest: one row per chunk with its byte range and, per timeline and
component, the time range and row count — what lets a reader load chunks lazily.

Columns, names, types and metadata follow what Rerun 0.41 writes (``docs/rrd-format.md``):
``chunk_entity_path``, ``chunk_id``, ``chunk_is_static``, ``chunk_num_rows``,
``chunk_byte_offset``, ``chunk_byte_size``, ``chunk_byte_size_uncompressed``, then
``<Comp>:has_static_data``, ``<tl>:start|end``, ``<tl>:<Comp>:start|end|num_rows``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..model.chunk import Chunk, Timeline
from ..model.components import ComponentDescriptor, array, validity

__all__ = ["ManifestEntry", "ManifestBuilder", "component_of"]


@dataclass
class ManifestEntry:
    """What the manifest knows of one chunk (byte_offset is that of the ArrowMsg protobuf body)."""

    entity_path: str
    chunk_id: bytes
    is_static: bool
    num_rows: int
    byte_offset: int
    byte_size: int
    byte_size_uncompressed: int
    static_components: set = field(default_factory=set)
    # timeline name -> (start, end)
    time_ranges: dict = field(default_factory=dict)
    # (timeline name, component column) -> (start, end, num_rows)
    component_ranges: dict = field(default_factory=dict)


def _col(component: str) -> str:
    """A component's name in manifest column names: Rerun writes ``.`` as ``_`` there
    (``dvl_msgs.msg.DVL:message`` → ``dvl_msgs_msg_DVL:message``); the field metadata keeps the
    real name (``rerun:component``)."""
    return component.replace(".", "_")


def component_of(field: pa.Field) -> str:
    """The component column (``Archetype:field``, as :attr:`ComponentDescriptor.column`) a
    manifest column is about, from its metadata, else its name."""
    md = field.metadata or {}
    comp = md.get(b"rerun:component", b"").decode()
    if not comp:
        return field.name
    arch = md.get(b"rerun:archetype", b"").decode()
    if ":" not in comp and arch and "." not in arch:  # a bare component (McapMetadata's ``rosbag2``)
        return f"{arch}:{comp}"
    return comp


class ManifestBuilder:
    """Collects manifest entries while chunks are written; ``to_table()`` makes the Arrow table."""

    def __init__(self) -> None:
        self.entries: list[ManifestEntry] = []
        self.descriptors: dict[str, ComponentDescriptor] = {}
        self.timelines: dict[str, Timeline] = {}
        # entity -> {column: (descriptor, arrow type)} for the sorbet schema
        self.entity_columns: dict[str, dict[str, tuple[ComponentDescriptor, pa.DataType]]] = {}

    def add(self, chunk: Chunk, byte_offset: int, byte_size: int, byte_size_uncompressed: int,
            chunk_id: bytes) -> None:
        e = ManifestEntry(chunk.entity_path, chunk_id, chunk.is_static, len(chunk), byte_offset,
                          byte_size, byte_size_uncompressed)
        cols = self.entity_columns.setdefault(chunk.entity_path, {})
        for d, col in chunk.components.items():
            self.descriptors.setdefault(d.column, d)
            cols.setdefault(d.column, (d, col.type))
            if chunk.is_static:
                e.static_components.add(d.column)
        for name, (tl, times) in chunk.timelines.items():
            self.timelines.setdefault(name, tl)
            if not len(times):
                continue
            full = chunk.time_range(name)
            e.time_ranges[name] = full
            n = len(times)
            for d, col in chunk.components.items():
                if col.null_count:
                    valid = validity(col)
                    t = times[valid]
                    if len(t):
                        e.component_ranges[(name, d.column)] = (int(t.min()), int(t.max()), len(t))
                else:
                    e.component_ranges[(name, d.column)] = (full[0], full[1], n)
        self.entries.append(e)

    def extend(self, other: "ManifestBuilder", shift: int) -> None:
        """Append another builder's entries (chunks of a part written elsewhere), their byte
        offsets moved by ``shift`` (where the part's bytes now start, minus where they started)."""
        for e in other.entries:
            e.byte_offset += shift
            self.entries.append(e)
        for k, d in other.descriptors.items():
            self.descriptors.setdefault(k, d)
        for k, tl in other.timelines.items():
            self.timelines.setdefault(k, tl)
        for ep, cols in other.entity_columns.items():
            mine = self.entity_columns.setdefault(ep, {})
            for c, v in cols.items():
                mine.setdefault(c, v)

    def to_table(self) -> pa.Table:
        """The manifest as one Arrow table, one row per chunk in the order written.

        The per-timeline and per-component columns are filled as numpy matrices in one pass
        over the entries (each entry names only its own components): the list of every
        column's values per entry, looked up cell by cell, took ~15 ms for 511 chunks, part of
        the serial end of a conversion (docs/parallel.md)."""
        E = self.entries
        n = len(E)
        cols: list[pa.Array] = []
        fields: list[pa.Field] = []

        def add(f: pa.Field, arr):
            fields.append(f)
            cols.append(arr if isinstance(arr, pa.Array) else array(arr, f.type))

        add(pa.field("chunk_entity_path", pa.utf8(), False), [e.entity_path for e in E])
        add(pa.field("chunk_id", pa.binary(16), False), [e.chunk_id for e in E])
        add(pa.field("chunk_is_static", pa.bool_(), False), [e.is_static for e in E])
        for key in ("num_rows", "byte_offset", "byte_size", "byte_size_uncompressed"):
            add(pa.field(f"chunk_{key}", pa.uint64(), False),
                np.fromiter((getattr(e, key) for e in E), np.uint64, count=n))
        comps = sorted(self.descriptors)
        tls = sorted(self.timelines)
        ci = {c: i for i, c in enumerate(comps)}
        ti = {t: i for i, t in enumerate(tls)}
        static = np.zeros((len(comps), n), bool)
        t_rng = np.zeros((len(tls), 2, n), np.int64)
        t_ok = np.zeros((len(tls), n), bool)
        c_rng = np.zeros((len(tls), len(comps), 3, n), np.int64)
        c_ok = np.zeros((len(tls), len(comps), n), bool)
        for j, e in enumerate(E):
            for c in e.static_components:
                static[ci[c], j] = True
            for name, (lo, hi) in e.time_ranges.items():
                k = ti[name]
                t_rng[k, 0, j], t_rng[k, 1, j] = lo, hi
                t_ok[k, j] = True
            for (name, c), (lo, hi, rows) in e.component_ranges.items():
                k, i = ti[name], ci[c]
                c_rng[k, i, 0, j], c_rng[k, i, 1, j], c_rng[k, i, 2, j] = lo, hi, rows
                c_ok[k, i, j] = True

        def cmd(d: ComponentDescriptor, index: str) -> dict:
            md = {"rerun:component": d.component, "rerun:index": index}
            if d.archetype:
                md["rerun:archetype"] = d.archetype_full
            if d.component_type:
                md["rerun:component_type"] = d.component_type_full
            return md

        for i, c in enumerate(comps):
            d = self.descriptors[c]
            add(pa.field(f"{_col(c)}:has_static_data", pa.bool_(), False, metadata=cmd(d, "rerun:static")),
                pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(np.packbits(static[i], bitorder="little"))]))
        for k, name in enumerate(tls):
            typ = self.timelines[name].arrow_type
            for j, which in enumerate(("start", "end")):
                add(pa.field(f"{name}:{which}", typ, True, metadata={"rerun:index": name}),
                    _masked(t_rng[k, j], t_ok[k], typ))
        for k, name in enumerate(tls):
            typ = self.timelines[name].arrow_type
            for i, c in enumerate(comps):
                md = cmd(self.descriptors[c], name)
                for j, which in enumerate(("start", "end")):
                    add(pa.field(f"{name}:{_col(c)}:{which}", typ, True, metadata=md),
                        _masked(c_rng[k, i, j], c_ok[k, i], typ))
                add(pa.field(f"{name}:{_col(c)}:num_rows", pa.uint64(), True, metadata=md),
                    array(np.ascontiguousarray(c_rng[k, i, 2]).view(np.uint64), pa.uint64()))
        return pa.Table.from_arrays(cols, schema=pa.schema(fields))

    def sorbet_schema(self) -> pa.Schema:
        """The recording's overall schema: index columns, then ``entity:Archetype:field`` columns."""
        fields = []
        for name in sorted(self.timelines):
            fields.append(pa.field(name, self.timelines[name].arrow_type, True,
                                   metadata={"rerun:index_name": name, "rerun:kind": "index"}))
        for ep in sorted(self.entity_columns):
            for col, (d, typ) in sorted(self.entity_columns[ep].items()):
                md = {"rerun:component": d.component, "rerun:entity_path": ep, "rerun:kind": "data"}
                if d.archetype:
                    md["rerun:archetype"] = d.archetype_full
                if d.component_type:
                    md["rerun:component_type"] = d.component_type_full
                fields.append(pa.field(f"{ep}:{col}", typ, True, metadata=md))
        return pa.schema(fields)

    @staticmethod
    def schema_bytes(schema: pa.Schema) -> tuple[bytes, bytes]:
        """(Arrow IPC schema message, its sha256)."""
        raw = schema.serialize().to_pybytes()
        return raw, hashlib.sha256(raw).digest()


def _masked(values: np.ndarray, valid: np.ndarray, typ: pa.DataType) -> pa.Array:
    """A 64-bit Arrow array (int64, timestamp or duration ``typ``) of ``values`` (n,) int64,
    null where ``valid`` (n,) bool is False."""
    data = pa.py_buffer(np.ascontiguousarray(values))
    if valid.all():
        return pa.Array.from_buffers(typ, len(values), [None, data])
    return pa.Array.from_buffers(typ, len(values), [pa.py_buffer(np.packbits(valid, bitorder="little")), data])
