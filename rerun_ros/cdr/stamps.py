"""Header stamps read straight from serialized CDR messages, without decoding them.

Used to find a recording's robot clock (:mod:`rerun_ros.model.clock`) before its messages are
decoded. In CDR (XCDR1) a message whose first field is a ``builtin_interfaces/Time`` (``std_msgs/Header``
begins with one; so does ``rosgraph_msgs/Clock``) holds ``int32 sec`` at byte 4 and
``uint32 nanosec`` at byte 8 (after the 4-byte encapsulation header; both aligned). A message
whose first field is a sequence of such messages (``tf2_msgs/TFMessage``) holds the count at
byte 4 and the first element's stamp at bytes 8 and 12. Byte 1 of the encapsulation header says
the byte order (``0x01`` little-endian).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrow import gather_rows

__all__ = ["stamp_offset", "raw_stamps", "is_time"]


def is_time(t: pa.DataType) -> bool:
    """Whether a decoded type is a ``builtin_interfaces/Time``: a struct of ``int32 sec`` and
    ``uint32 nanosec``, in that order (a recorded definition may say otherwise: not a stamp)."""
    return (pa.types.is_struct(t) and t.num_fields == 2 and t[0].name == "sec" and t[1].name == "nanosec"
            and pa.types.is_int32(t[0].type) and pa.types.is_uint32(t[1].type))


def _starts_with_time(t: pa.DataType) -> bool:
    """A struct whose first field is a Time, or a Header-like struct beginning with one."""
    if not pa.types.is_struct(t) or t.num_fields == 0:
        return False
    f = t[0].type
    return is_time(f) or (pa.types.is_struct(f) and f.num_fields > 0 and is_time(f[0].type))


def stamp_offset(arrow_type: pa.DataType) -> int | None:
    """Where the first stamp of a message of this decoded type lies: 4 (a Time or Header
    first), 8 (a sequence of such first: TFMessage), or None (no stamp at a fixed place)."""
    if _starts_with_time(arrow_type):
        return 4
    if pa.types.is_struct(arrow_type) and arrow_type.num_fields:
        f = arrow_type[0].type
        if (pa.types.is_list(f) or pa.types.is_large_list(f)) and _starts_with_time(f.value_type):
            return 8
    return None


def raw_stamps(buf: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, at: int) -> np.ndarray:
    """The stamps (int64 (n,) ns; 0 where a message is too short or, for ``at == 8``, its
    sequence is empty) of n serialized messages ``buf[offsets[i]:offsets[i]+lengths[i]]``."""
    n = len(offsets)
    out = np.zeros(n, np.int64)
    if n == 0:
        return out
    offsets = np.asarray(offsets, np.int64)
    ok = np.asarray(lengths, np.int64) >= at + 8
    if at == 8:
        ok &= np.asarray(lengths, np.int64) >= 16
    if not ok.any():
        return out
    o = offsets[ok]
    b = np.asarray(buf, np.uint8)
    little = b[o + 1] == 1
    raw = gather_rows(b, o + at, 8)  # (m, 8): sec, nanosec
    if not little.all():
        raw[~little] = np.concatenate([raw[~little, 3::-1], raw[~little, :3:-1]], axis=1)
    pair = raw.view("<u4")  # (m, 2), a view
    ns = pair[:, 0].view("<i4").astype(np.int64) * 1_000_000_000 + pair[:, 1]
    if at == 8:
        cnt = gather_rows(b, o + 4, 4)
        if not little.all():
            cnt[~little] = cnt[~little, ::-1]
        ns = np.where(cnt.view("<u4").ravel() > 0, ns, 0)
    out[ok] = ns
    return out
