"""Time-ordered unique ids (Rerun's TUID): 64-bit nanoseconds since the epoch + 64-bit counter.

Row ids and chunk ids are TUIDs. Rerun stores a row id as ``fixed_size_binary[16]`` holding
``time_ns`` then ``inc``, both big-endian, so byte order equals time order. Ids made by one
process are strictly increasing (the counter always advances, the clock never goes back).
"""
from __future__ import annotations

import os
import threading
import time

import numpy as np

__all__ = ["new_tuids", "new_tuid", "tuid_bytes", "tuids_to_fixed16", "fixed16_to_tuids", "fixed_time",
           "consecutive_fixed16"]

_lock = threading.Lock()
_last_ns = 0
_inc = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
#: while set (see :func:`fixed_time`): every id's time_ns, the counter counting from 0
_fixed: int | None = None


def _reseed() -> None:
    """A forked child draws its own counter start (ids of parent and child never meet)."""
    global _inc
    _inc = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


class fixed_time:
    """Context manager: ids made inside are ``(time_ns, 0)``, ``(time_ns, 1)``, ... — the same
    ids for the same sequence of calls, in any process. A conversion split into units gives
    unit k the time ``base + k``, so the ids of every unit sort after those of the units before
    it (Rerun orders rows by id) and one job or many make identical ids. Not for concurrent
    use by several threads with different times."""

    def __init__(self, time_ns: int):
        self.time_ns = int(time_ns)

    def __enter__(self) -> "fixed_time":
        global _fixed, _inc
        with _lock:
            self._saved = (_fixed, _inc)
            _fixed, _inc = self.time_ns, 0
        return self

    def __exit__(self, *exc) -> None:
        global _fixed, _inc
        with _lock:
            _fixed, _inc = self._saved


def new_tuids(n: int) -> tuple[int, int]:
    """Reserve ``n`` consecutive TUIDs; returns ``(time_ns, first_inc)``.

    The ids are ``(time_ns, first_inc + i)`` for ``i`` in ``range(n)``.
    """
    global _last_ns, _inc
    with _lock:
        if _fixed is not None:
            first = _inc
            _inc += n
            return _fixed, first
        now = time.time_ns()
        if now < _last_ns:
            now = _last_ns
        _last_ns = now
        first = _inc
        _inc += n
        return now, first


def new_tuid() -> tuple[int, int]:
    """One new TUID as ``(time_ns, inc)``."""
    return new_tuids(1)


def tuid_bytes(time_ns: int, inc: int) -> bytes:
    """The 16 big-endian bytes of a TUID."""
    return time_ns.to_bytes(8, "big") + (inc & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def tuids_to_fixed16(time_ns: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Pack arrays of ``time_ns`` (uint64, shape (n,)) and ``inc`` (uint64, (n,)) into (n, 16) uint8."""
    out = np.empty((len(time_ns), 2), dtype=">u8")
    out[:, 0] = time_ns
    out[:, 1] = inc
    return out.view(np.uint8).reshape(len(time_ns), 16)


def consecutive_fixed16(time_ns: int, first_inc: int, n: int) -> np.ndarray:
    """The (n, 16) uint8 ids ``(time_ns, first_inc + i)`` of :func:`new_tuids` (as
    :func:`tuids_to_fixed16` packs them, without building the two (n,) inputs first: the time is
    one broadcast value, the counter one byte-swapped range; 1M ids in ~10 ms instead of ~50)."""
    out = np.empty((n, 2), dtype=np.uint64)
    out[:, 0] = np.array([time_ns], ">u8").view(np.uint64)[0]
    inc = np.arange(first_inc, first_inc + n, dtype=np.uint64)
    out[:, 1] = inc.byteswap() if np.little_endian else inc
    return out.view(np.uint8).reshape(n, 16)


def fixed16_to_tuids(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`tuids_to_fixed16`: (n, 16) uint8 → (time_ns uint64 (n,), inc uint64 (n,))."""
    v = np.ascontiguousarray(raw).view(">u8").reshape(-1, 2)
    return v[:, 0].astype(np.uint64), v[:, 1].astype(np.uint64)
