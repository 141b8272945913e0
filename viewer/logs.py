"""What a text log view lists: TextLog rows (``/rosout``) up to a time, by level and text."""
from __future__ import annotations

from ..store.chunk_store import ChunkStore

__all__ = ["text_log", "LEVEL_ORDER"]

LEVEL_ORDER = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "CRITICAL": 5}


def text_log(store: ChunkStore, entities: list[str], timeline: str, t: int, min_level: str = "TRACE",
             search: str = "") -> list[tuple[int, str, str, str]]:
    """(time, entity, level, text) of TextLog rows up to ``t``, filtered by level and a
    case-insensitive search string, sorted by time."""
    lo = LEVEL_ORDER.get(min_level, 0)
    out = []
    for ent in entities:
        texts = store.range(ent, timeline, -2**62, t, "TextLog:text", include_latest_at=False)
        if not len(texts):
            continue
        levels = store.range(ent, timeline, -2**62, t, "TextLog:level", include_latest_at=False)
        lv = {bytes(r): v[0] if v else "INFO" for r, v in zip(levels.row_ids, levels.values.to_pylist())}
        for tm, rid, v in zip(texts.times, texts.row_ids, texts.values.to_pylist()):
            level = lv.get(bytes(rid), "INFO")
            text = v[0] if v else ""
            if LEVEL_ORDER.get(level, 2) < lo or (search and search.lower() not in text.lower()):
                continue
            out.append((int(tm), ent, level, text))
    out.sort(key=lambda r: r[0])
    return out
