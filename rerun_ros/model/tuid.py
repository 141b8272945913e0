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

__all__ = ["new_tuids", "new_tuid", "tuid_bytes", "tuids_to_fixed16", "fixed16_to_tuids"]

_lock = threading.Lock()
_last_ns = 0
_inc = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)


def new_tuids(n: int) -> tuple[int, int]:
    """Reserve ``n`` consecutive TUIDs; returns ``(time_ns, first_inc)``.

    The ids are ``(time_ns, first_inc + i)`` for ``i`` in ``range(n)``.
    """
    global _last_ns, _inc
    with _lock:
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


def fixed16_to_tuids(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`tuids_to_fixed16`: (n, 16) uint8 → (time_ns uint64 (n,), inc uint64 (n,))."""
    v = np.ascontiguousarray(raw).view(">u8").reshape(-1, 2)
    return v[:, 0].astype(np.uint64), v[:, 1].astype(np.uint64)
