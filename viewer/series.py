"""What a time series view draws: Scalars of an entity over a time range, and min/max decimation
to the canvas width. Pure numpy."""
from __future__ import annotations

import numpy as np

from ..model.components import indices, list_lengths, list_offsets, to_numpy, validity
from ..store.chunk_store import ChunkStore

__all__ = ["series", "decimate_minmax", "field_series", "numeric_fields", "message_column", "MinMaxPyramid"]


def _floats(arr) -> np.ndarray:
    """A numeric or boolean Arrow array as float64 (n,), NaN where null."""
    out = to_numpy(arr).astype(np.float64)
    if arr.null_count:
        out[~validity(arr)] = np.nan
    return out


def series(store: ChunkStore, entity: str, timeline: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Scalars of an entity in [start, end]: times (n,) int64, values (n, k) float64 (NaN where a
    row has fewer series), and the series names (SeriesLines:names, else ``entity[i]``)."""
    r = store.range(entity, timeline, start, end, "Scalars:scalars")
    if not len(r):
        return np.zeros(0, np.int64), np.zeros((0, 0)), []
    lens = list_lengths(r.values)
    k = int(lens.max()) if len(lens) else 0
    vals = np.full((len(r), k), np.nan)
    flat = _floats(r.values.flatten())
    rows = np.repeat(np.arange(len(r)), lens)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lens) - lens, lens)
    vals[rows, cols] = flat
    names_la = store.latest_at(entity, timeline, end).get("SeriesLines:names")
    names = names_la.values.to_pylist() if names_la is not None else []
    names = [names[i] if i < len(names) else f"{entity}[{i}]" for i in range(k)]
    return r.times, vals, names


def decimate_minmax(x: np.ndarray, y: np.ndarray, x0: float, x1: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max decimation for drawing: for each of ``columns`` pixel columns over [x0, x1], the
    column's minimum and maximum at the column's first x — at most 2 points per column whatever
    the input size, so a line keeps its envelope. O(n) (``reduceat``). x sorted ascending (n,)."""
    if len(x) <= 4 * columns:
        return x, y
    col = np.clip(((x - x0) / (x1 - x0 if x1 > x0 else 1) * columns).astype(np.int64), 0, columns - 1)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(col)) + 1])
    fill = np.nanmean(y) if np.isfinite(y).any() else 0.0
    yy = np.where(np.isfinite(y), y, fill)
    lo = np.minimum.reduceat(yy, starts)
    hi = np.maximum.reduceat(yy, starts)
    xs = np.repeat(x[starts], 2)
    ys = np.empty(2 * len(starts))
    ys[0::2], ys[1::2] = lo, hi
    return xs, ys




def _walk(arr, path: str, label: str):
    """Yield (label, numeric numpy array (n,)) for ``path`` (``a.b[2].c``) inside a struct array."""
    import re

    import pyarrow as pa

    parts = [p for p in re.split(r"\.|(\[\d+\])", path) if p]
    for p in parts:
        if p.startswith("["):
            i = int(p[1:-1])
            if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type)):
                raise KeyError(f"{label}: {p} indexes a field that is not a list")
            off = list_offsets(arr) if not pa.types.is_fixed_size_list(arr.type) else \
                np.arange(len(arr) + 1) * arr.type.list_size
            lens = off[1:] - off[:-1]
            idx = np.where(lens > i, off[:-1] + i, -1)
            vals = arr.flatten() if pa.types.is_fixed_size_list(arr.type) else arr.values
            if not len(vals):
                arr = pa.nulls(len(arr), vals.type)
                continue
            arr = vals.take(indices(idx, null=idx < 0))
            continue
        if not pa.types.is_struct(arr.type):
            raise KeyError(f"{label}: no field {p!r} (not a struct)")
        names = [arr.type.field(k).name for k in range(arr.type.num_fields)]
        if p not in names:
            raise KeyError(f"{label}: no field {p!r} (fields: {', '.join(names)})")
        arr = arr.field(p)
    yield from _leaves(arr, label)


def _leaves(arr, label: str):
    """Numeric leaves of an array: the array itself, or every numeric field of a struct (recursively)."""
    import pyarrow as pa

    t = arr.type
    if pa.types.is_struct(t):
        for k in range(t.num_fields):
            yield from _leaves(arr.field(k), f"{label}.{t.field(k).name}")
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        yield label, _floats(arr)


def numeric_fields(type_, prefix: str = "message") -> list[str]:
    """Paths of the numeric fields of an Arrow type (``message.velocity.x``), lists as ``[0]``
    (first element; the inspector names the others), for the field picker. Bounded to 500."""
    import pyarrow as pa

    out: list[str] = []

    def rec(t, p):
        if len(out) >= 500:
            return
        if pa.types.is_struct(t):
            for k in range(t.num_fields):
                rec(t.field(k).type, f"{p}.{t.field(k).name}")
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            rec(t.value_type, f"{p}[0]")
        elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
            out.append(p)
    rec(type_, prefix)
    return out


def message_column(store: ChunkStore, entity: str) -> str | None:
    """The entity's whole-message column (``<pkg>.msg.<Type>:message``, kept by the ingest), or None."""
    return next((c for c in store.columns(entity) if c.endswith(":message")), None)


def field_series(store: ChunkStore, entity: str, path: str, timeline: str, start: int = -2**62,
                 end: int = 2**62) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Any numeric field of an entity's messages over [start, end] as a series: ``path`` is
    ``message.<field>[.<field>|[i]]...`` (``message.altitude``, ``message.beams[0].distance``) in the
    whole-message column, or ``Archetype:field`` for a component (``Scalars:scalars``). A struct
    selects all its numeric leaves. Returns times (n,) int64 ns, values (n, k) float64 (NaN where
    a row lacks the field), names (k,) as ``entity:path``.

    Raises:
        KeyError: the entity has no such column or field (message names the known fields).
    """

    label = f"{entity}:{path}"
    if ":" in path:
        col, sub = path, ""
    else:
        col = message_column(store, entity)
        if col is None:
            raise KeyError(f"{entity}: no message column (columns: {', '.join(store.columns(entity))})")
        sub = path.split(".", 1)[1] if path.startswith("message.") else ("" if path == "message" else path)
    r = store.range(entity, timeline, start, end, col, include_latest_at=False)
    if not len(r):
        if col not in store.columns(entity):
            raise KeyError(f"{entity}: no column {col!r}")
        return np.zeros(0, np.int64), np.zeros((0, 0)), []
    lens = list_lengths(r.values)
    off = np.concatenate([[0], np.cumsum(lens)])
    first = r.values.flatten().take(indices(np.minimum(off[:-1], max(off[-1] - 1, 0))))
    names, cols = [], []
    for name, v in (_walk(first, sub, label) if sub else _leaves(first, label)):
        v = v.copy()
        v[lens == 0] = np.nan
        names.append(name)
        cols.append(v)
    if not cols:
        raise KeyError(f"{label}: not a numeric field")
    return np.asarray(r.times, np.int64), np.stack(cols, 1), names


class MinMaxPyramid:
    """Min/max of a series over blocks of 4, 16, 64, ... samples, built once (O(n)), so that a plot
    of any visible range costs O(canvas width) per frame whatever the series length (as
    PlotJuggler and Rerun draw millions of samples). ``x`` (n,) sorted float64, ``y`` (n,) float64
    with NaN gaps (ignored within a block)."""

    BASE = 4

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x = np.asarray(x, np.float64)
        self.y = np.asarray(y, np.float64)
        self.levels = []  # (block size, block start x (m,), min (m,), max (m,))
        lo, hi, xs, b = self.y, self.y, self.x, 1
        while len(xs) > 4 * self.BASE:
            m = len(xs) // self.BASE * self.BASE
            with np.errstate(invalid="ignore"), _nan_quiet():
                lo = np.fmin.reduce(lo[:m].reshape(-1, self.BASE), axis=1)
                hi = np.fmax.reduce(hi[:m].reshape(-1, self.BASE), axis=1)
            xs = xs[:m:self.BASE]
            b *= self.BASE
            self.levels.append((b, xs, lo, hi))

    def query(self, x0: float, x1: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
        """Points to draw over [x0, x1] on ``columns`` pixels: the raw samples when few enough,
        else each block's min and max at the block's start (at most ~4 points per column), plus
        one sample beyond each edge so the line reaches the border."""
        a = max(int(np.searchsorted(self.x, x0, "left")) - 1, 0)
        b = min(int(np.searchsorted(self.x, x1, "right")) + 1, len(self.x))
        n = b - a
        if n <= 4 * columns:
            return self.x[a:b], self.y[a:b]
        for size, xs, lo, hi in self.levels:
            if n / size <= 2 * columns:
                i0, i1 = a // size, -(-b // size)
                i1 = min(i1, len(xs))
                out_x = np.repeat(xs[i0:i1], 2)
                out_y = np.empty(2 * (i1 - i0))
                out_y[0::2], out_y[1::2] = lo[i0:i1], hi[i0:i1]
                return out_x, out_y
        size, xs, lo, hi = self.levels[-1]
        out_y = np.empty(2 * len(xs))
        out_y[0::2], out_y[1::2] = lo, hi
        return np.repeat(xs, 2), out_y


class _nan_quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *a):
        self._w.__exit__(*a)
