"""Many recordings as one: ``rerun_ros.open_many(paths)`` (or the runs a catalog query selects,
:meth:`rerun_ros.catalog.Catalog.open_runs`). Each recording is opened only when it is read
(large ``.rrd`` files lazily through their footer, as :func:`rerun_ros.open` does), so selecting a
thousand runs costs nothing until their data is asked for.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .recording import Recording
from .recording import open as open_one

__all__ = ["RecordingSet", "open_many"]


class RecordingSet:
    """Recordings by path, opened on first use (then kept). ``dataframe`` concatenates theirs
    with a ``run`` column (the path) first; columns missing in some runs are null there."""

    def __init__(self, paths: list[str]):
        self.paths = [str(p) for p in paths]
        self._open: dict[str, Recording] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Recording:
        p = self.paths[i]
        if p not in self._open:
            self._open[p] = open_one(p)
        return self._open[p]

    def __iter__(self) -> Iterator[Recording]:
        for i in range(len(self.paths)):
            yield self[i]

    def opened(self) -> int:
        """How many recordings have been opened so far."""
        return len(self._open)

    def dataframe(self, timeline: str, entities: str = "/**", **kw) -> pa.Table:
        """One table of every run's :meth:`Recording.dataframe` (same arguments), a ``run``
        column first. Runs without the timeline or entities add no rows."""
        parts = []
        for i, p in enumerate(self.paths):
            t = self[i].dataframe(timeline, entities, **kw)
            if t.num_rows == 0:
                continue
            parts.append(t.add_column(0, "run", pa.array([p] * t.num_rows, pa.string())))
        if not parts:
            return pa.table({"run": pa.array([], pa.string())})
        return pa.concat_tables(parts, promote_options="permissive")

    def to_polars(self, timeline: str, **kw):
        import polars as pl
        return pl.from_arrow(self.dataframe(timeline, **kw))


def open_many(paths) -> RecordingSet:
    """Recordings (``.rrd`` files or bags), opened lazily as they are read.

    Raises:
        FileNotFoundError: a path that does not exist (checked now, before anything is read).
    """
    items = [str(p) for p in (paths if not isinstance(paths, (str, os.PathLike)) else [paths])]
    missing = [p for p in items if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"{missing[0]}: no such recording" + (f" (and {len(missing) - 1} more)"
                                                                         if len(missing) > 1 else ""))
    return RecordingSet(items)
