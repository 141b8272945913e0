"""What a text log view lists: TextLog rows (``/rosout``) up to a time, filtered by level, node
and text. The rows of a store are indexed once per store generation (:class:`LogIndex`) and each
query is a few numpy masks, so scrubbing a long log stays fast."""
from __future__ import annotations

import numpy as np

from ..store.chunk_store import ChunkStore

__all__ = ["text_log", "LogIndex", "LEVEL_ORDER"]

LEVEL_ORDER = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "CRITICAL": 5}
LEVEL_NAMES = {v: k for k, v in LEVEL_ORDER.items()}


def _aligned(base, other, values: list, default):
    """``values`` (rows of ``other``) reordered to the rows of ``base`` by row id."""
    if len(base) == len(other) and np.array_equal(base.row_ids, other.row_ids):
        return values
    pos = {bytes(r): i for i, r in enumerate(other.row_ids)}
    return [values[pos[bytes(r)]] if bytes(r) in pos else default for r in base.row_ids]


class LogIndex:
    """Every TextLog row of ``entities`` on ``timeline``, sorted by time: ``times`` (n,) int64 ns,
    ``levels`` (n,) int8 (LEVEL_ORDER), ``texts``, ``entities`` and ``nodes`` (n,) object arrays
    (``nodes``: the rcl_interfaces/Log ``name`` of ``/rosout`` rows, "" for others)."""

    def __init__(self, store: ChunkStore, entities: list[str], timeline: str):
        t, lv, tx, en, nd = [], [], [], [], []
        for ent in entities:
            texts = store.range(ent, timeline, -2**62, 2**62, "TextLog:text", include_latest_at=False)
            if not len(texts):
                continue
            levels = store.range(ent, timeline, -2**62, 2**62, "TextLog:level", include_latest_at=False)
            lvals = [v[0] if v else "INFO" for v in levels.values.to_pylist()]
            lvals = _aligned(texts, levels, lvals, "INFO")
            nodes = [""] * len(texts)
            msg_col = next((c for c in store.columns(ent) if c.endswith(":message") and "Log" in c), None)
            if msg_col is not None:
                m = store.range(ent, timeline, -2**62, 2**62, msg_col, include_latest_at=False)
                flat = m.values.flatten()
                if len(flat) == len(m) and "name" in [flat.type.field(k).name for k in range(flat.type.num_fields)]:
                    nodes = _aligned(texts, m, flat.field("name").to_pylist(), "")
            t.append(np.asarray(texts.times, np.int64))
            lv.append(np.array([LEVEL_ORDER.get(x, 2) for x in lvals], np.int8))
            tx += [v[0] if v else "" for v in texts.values.to_pylist()]
            en += [ent] * len(texts)
            nd += [n or "" for n in nodes]
        times = np.concatenate(t) if t else np.zeros(0, np.int64)
        order = np.argsort(times, kind="stable")
        self.times = times[order]
        self.levels = (np.concatenate(lv) if lv else np.zeros(0, np.int8))[order]
        self.texts = np.array(tx, dtype=object)[order] if tx else np.zeros(0, object)
        self.entities = np.array(en, dtype=object)[order] if en else np.zeros(0, object)
        self.nodes = np.array(nd, dtype=object)[order] if nd else np.zeros(0, object)
        self._lower = None

    def node_names(self) -> list[str]:
        return sorted({n for n in self.nodes.tolist() if n})

    def query(self, t: int, min_level: str = "TRACE", search: str = "", node: str = "") -> np.ndarray:
        """Indices of the rows up to ``t`` at ``min_level`` or above, from ``node`` (all if ""),
        whose text contains ``search`` (case-insensitive)."""
        n = int(np.searchsorted(self.times, t, "right"))
        keep = self.levels[:n] >= LEVEL_ORDER.get(min_level, 0)
        if node:
            keep &= self.nodes[:n] == node
        if search:
            if self._lower is None:
                self._lower = np.char.lower(self.texts.astype(str)) if len(self.texts) else np.zeros(0, str)
            keep &= np.char.find(self._lower[:n], search.lower()) >= 0
        return np.flatnonzero(keep)


def text_log(store: ChunkStore, entities: list[str], timeline: str, t: int, min_level: str = "TRACE",
             search: str = "", node: str = "", index: LogIndex | None = None) -> list[tuple[int, str, str, str]]:
    """(time ns, entity, level, text) of TextLog rows up to ``t``, filtered by level, node and a
    case-insensitive search string, sorted by time."""
    ix = index or LogIndex(store, entities, timeline)
    rows = ix.query(t, min_level, search, node)
    return [(int(ix.times[i]), ix.entities[i], LEVEL_NAMES.get(int(ix.levels[i]), "INFO"), ix.texts[i]) for i in rows]
