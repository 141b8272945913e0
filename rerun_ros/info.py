"""``rerun-ros info``: what an ``.rrd`` holds — entities, archetypes, component columns,
timelines with min/max, rows, chunks, static flags, and the robot clock ``ros_time`` is on. The JSON form is documented in
``docs/cli.md`` and stable (version field ``"info_version": 1``)."""
from __future__ import annotations

import os
from pathlib import Path

from .model.names import CLOCK_PROPERTY
from .rrd.reader import RrdReader

__all__ = ["rrd_info"]

INFO_VERSION = 1


def rrd_info(path: str | os.PathLike) -> dict:
    """Summarise an ``.rrd`` file by streaming all its chunks.

    Raises:
        FileNotFoundError, RrdError: unreadable file.
    """
    with RrdReader(path) as r:
        ents: dict[str, dict] = {}
        tls: dict[str, dict] = {}
        n_chunks = n_rows = n_static = 0
        clock = None
        for c in r.iter_chunks():
            if c.entity_path == CLOCK_PROPERTY:
                clock = _clock_of(c) or clock
            n_chunks += 1
            n_rows += len(c)
            n_static += c.is_static
            e = ents.setdefault(c.entity_path, {"chunks": 0, "rows": 0, "static_rows": 0, "archetypes": set(),
                                                "components": {}, "timelines": {}})
            e["chunks"] += 1
            e["rows"] += len(c)
            if c.is_static:
                e["static_rows"] += len(c)
            for name, (tl, _) in c.timelines.items():
                rng = c.time_range(name)
                if rng is None:
                    continue
                for target in (tls.setdefault(name, {"kind": tl.kind, "min": rng[0], "max": rng[1]}),
                               e["timelines"].setdefault(name, {"min": rng[0], "max": rng[1]})):
                    target["min"] = min(target["min"], rng[0])
                    target["max"] = max(target["max"], rng[1])
            for d, col in c.components.items():
                if d.archetype:
                    e["archetypes"].add(d.archetype)
                comp = e["components"].setdefault(d.column, {"component_type": d.component_type_full if d.component_type else "",
                                                             "arrow_type": str(col.type.value_type), "rows": 0,
                                                             "static": False})
                comp["rows"] += len(col) - col.null_count
                comp["static"] = comp["static"] or c.is_static
        store = next(iter(r.stores.values()), None)
        out = {
            "info_version": INFO_VERSION,
            "file": str(Path(path)),
            "bytes": r.size,
            "has_footer": r.has_footer,
            "application_id": store.application_id if store else None,
            "recording_id": store.recording_id if store else None,
            "rerun_version": ".".join(map(str, store.version)) if store and store.version else None,
            "chunks": n_chunks,
            "rows": n_rows,
            "static_chunks": n_static,
            "timelines": dict(sorted(tls.items())),
            "clock": clock,
            "entities": {k: {**v, "archetypes": sorted(v["archetypes"]),
                             "components": dict(sorted(v["components"].items()))}
                         for k, v in sorted(ents.items())},
            "warnings": list(r.warnings),
        }
        return out


def _clock_of(chunk) -> dict | None:
    """The robot clock a recording's ``ros_time`` is on, from its ``/__properties/ros_clock``
    row (see :mod:`rerun_ros.model.clock`): the JSON, with the one-line text as ``text``."""
    import json
    out = None
    for d, col in chunk.components.items():
        vals = [v for v in col.to_pylist() if v]
        if not vals:
            continue
        if d.field == "json":
            try:
                out = {**(out or {}), **json.loads(vals[-1][0])}
            except (ValueError, TypeError):
                continue
        elif d.column == "TextDocument:text":
            out = {**(out or {}), "text": vals[-1][0]}
    return out
