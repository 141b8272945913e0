"""What every source of recorded messages yields: channels and batches of raw CDR messages.

A source (MCAP file, rosbag2 directory, sqlite3 ``.db3``) reads a recording and yields
:class:`RawBatch` es: N serialized messages of one channel that sit in one buffer (a
decompressed MCAP chunk, a page of a ``.db3``) with their log and publish times as arrays.
Nothing is decoded here; decoding is :mod:`rerun_ros.cdr`'s job. A source also counts what it
read per channel and knows what the file says it holds (MCAP statistics), so that a shortfall
is reported (see :meth:`SourceStats.shortfalls`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BagError", "Channel", "RawBatch", "SourceStats"]


class BagError(ValueError):
    """The input is not a readable bag (the message names the path and the problem)."""


@dataclass
class Channel:
    """One recorded topic.

    Attributes:
        id: the channel's id in its file (unique per source).
        topic: the ROS topic name, e.g. ``/imu/data``.
        type_name: the ROS type as recorded, e.g. ``sensor_msgs/msg/Imu`` (may be ``pkg/Type``).
        message_encoding: ``cdr`` for ROS 2.
        schema_encoding: ``ros2msg``, ``ros2idl`` or ``""`` when the recording has no definition.
        schema_text: the recorded message definition (empty when none).
        metadata: channel metadata (rosbag2 stores ``offered_qos_profiles`` here).
        schema_id: the schema's id in its file (0: none).
    """

    id: int
    topic: str
    type_name: str
    message_encoding: str = "cdr"
    schema_encoding: str = ""
    schema_text: str = ""
    metadata: dict = field(default_factory=dict)
    schema_id: int = 0


@dataclass
class RawBatch:
    """N serialized messages of one channel.

    Attributes:
        channel: the channel they were recorded on.
        buf: uint8 (B,) buffer that holds them.
        offsets, lengths: int64 (N,): message i is ``buf[offsets[i] : offsets[i] + lengths[i]]``
            (its CDR encapsulation header included).
        log_time, publish_time: int64 (N,) ns since the epoch (MCAP log/publish time; for
            ``.db3`` both are the receive time).
    """

    channel: Channel
    buf: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    log_time: np.ndarray
    publish_time: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets)

    def take(self, idx: np.ndarray) -> "RawBatch":
        """The messages at ``idx`` (int or bool array), same buffer."""
        return RawBatch(self.channel, self.buf, self.offsets[idx], self.lengths[idx],
                        self.log_time[idx], self.publish_time[idx])

    def payload(self, i: int) -> bytes:
        """Message i's bytes (a copy)."""
        o = int(self.offsets[i])
        return self.buf[o:o + int(self.lengths[i])].tobytes()


@dataclass
class SourceStats:
    """What a source read, against what the recording says it holds.

    Attributes:
        expected: channel id → message count the file's statistics give (empty if none).
        read: channel id → messages read whole.
        damaged: a chunk, a record or the file's tail could not be read.
    """

    expected: dict = field(default_factory=dict)
    read: Counter = field(default_factory=Counter)
    damaged: bool = False

    def shortfalls(self, channels: dict) -> list[tuple[Channel, int, int]]:
        """(channel, read, expected) for every channel that has fewer messages than its file
        says (only meaningful when nothing was filtered out)."""
        out = []
        for cid, n in sorted(self.expected.items()):
            got = self.read.get(cid, 0)
            if got < n and cid in channels:
                out.append((channels[cid], got, n))
        return out


def merge_batches(batches, max_bytes: int = 8 << 20, big_message: int = 16 << 10):
    """Regroup small batches (a chunk's worth of each channel) into fewer, larger ones: the
    buffers of consecutive batches are copied into one group buffer (up to ``max_bytes``) as
    they come, and each channel's messages become one batch, so per-batch work is paid per
    megabytes, not per chunk. Batches of big messages (mean size over ``big_message`` bytes:
    images, clouds) pass through untouched, without a copy, and so does a group of one chunk.
    Message order within a channel is kept.

    Buffers that lie one after the other in one uint8 array (chunks a source decompressed one
    after the other into one arena, or uncompressed chunks of one mapped window of a file, a few
    record headers apart: :class:`rerun_ros.sources.mcap.McapSource`) are not copied at all: the
    group is a view of the array (the bytes between them included, never read), and it closes
    where that run of buffers ends (the source sizes those arrays as groups, about
    ``max_bytes``; at ``4 * max_bytes`` at the latest).

    Memory: a chunk's buffer is let go once copied, the group buffer is reused by the next
    group once nothing holds it, and each merged batch is let go when the next is asked for:
    about one group's bytes are held, not the chunks and their copy side by side.

    Args:
        batches: an iterable of :class:`RawBatch` (uint8 buffers).

    Yields:
        :class:`RawBatch` es.
    """
    # the group: per batch (channel, offsets in its own buffer, lengths, log, publish, where
    # its buffer starts in the group buffer); its first buffer is copied only once a second one
    # comes (a group of one chunk stays a view of it)
    pending: list[tuple] = []
    where: dict[int, tuple] = {}  # id(buffer) -> (weak reference to it, its start in the group buffer)
    first = None
    grp: np.ndarray | None = None
    used = size = 0
    spare: list = [None]  # the last group buffer, reused once nothing holds it
    # while the group's buffers lie side by side in one array: [that array, start, end] (bytes
    # into it); the group is then a view of it, nothing copied
    run: list | None = None

    def copy_run() -> None:
        """The group so far (its first buffer, or the run of buffers side by side) into the
        group buffer, at the same offsets."""
        nonlocal first, run
        copy_in(first if run is None else run[0][run[1]:run[2]])
        first = run = None

    def copy_in(buf) -> int:
        nonlocal grp, used
        n = len(buf)
        if grp is None:
            grp = _group_buffer(spare, max(min(max_bytes, 64 << 20), n) + (1 << 20))
        elif used + n > len(grp):  # (a chunk past the bound and the slack: a bigger buffer)
            bigger = np.empty(max(2 * len(grp), used + n), np.uint8)
            bigger[:used] = grp[:used]
            grp = bigger
        grp[used:used + n] = buf
        at = used
        used += n
        where[id(buf)] = (_ref(buf), at)
        return at

    def flush():
        nonlocal first, grp, used, size, run
        if not pending:
            return
        merged = grp[:used] if grp is not None else first if run is None else run[0][run[1]:run[2]]
        if len(pending) == 1:
            ch, o, ln, lg, pb, at = pending[0]
            out = [RawBatch(ch, merged, o + at if at else o, ln, lg, pb)]
        else:
            per: dict[int, list] = {}
            for p in pending:
                per.setdefault(p[0].id, []).append(p)
            out = [RawBatch(parts[0][0], merged,
                            np.concatenate([p[1] + p[5] for p in parts]),
                            np.concatenate([p[2] for p in parts]),
                            np.concatenate([p[3] for p in parts]),
                            np.concatenate([p[4] for p in parts])) for parts in per.values()]
        if grp is not None:  # (a group of one chunk leaves the spare as it was)
            spare[0] = grp
        pending.clear()
        where.clear()
        first = grp = merged = run = None
        used = size = 0
        out.reverse()
        while out:
            yield out.pop()

    for b in batches:
        n = len(b)
        if n and int(b.lengths.sum()) > big_message * n:
            yield b  # (small batches keep gathering: order is kept within each channel)
            continue
        if len(b.buf) > (1 << 20) and len(b.buf) > 4 * int(b.lengths.sum()):
            # a few small messages in a big chunk (TF between camera frames): copy only them,
            # not the whole chunk into the merged buffer
            from ..cdr.arrow import gather_segments
            vals, offs = gather_segments(b.buf, b.offsets, b.lengths)
            b = RawBatch(b.channel, vals, offs[:-1], b.lengths, b.log_time, b.publish_time)
        buf = b.buf
        w = where.get(id(buf))
        if w is None or w[0]() is not buf:
            # a group closes at a buffer's first batch, once it holds max_bytes: every batch
            # of a chunk stays in one group (a chunk that crossed the bound was copied twice);
            # one that is a view of an array (the source's arena or window of a mapped file)
            # closes where the array's run of buffers ends (at 4 max_bytes at the latest)
            span = _span(buf) if (run is not None or (first is None and grp is None)) else None
            beside = run is not None and span is not None and span[0] is run[0] and \
                run[2] <= span[1] <= run[2] + MAX_GAP
            if (size >= max_bytes and run is None) or (run is not None and not beside) or size >= 4 * max_bytes:
                yield from flush()
                span = _span(buf)
                beside = False
            size += len(buf)
            if first is None and grp is None and run is None:
                first = buf
                run = [span[0], span[1], span[1] + len(buf)] if span is not None else None
                where[id(buf)] = (_ref(buf), 0)
                at = 0
            elif beside:  # (in the group's array, after it: its place in the view)
                at = span[1] - run[1]
                run[2] = span[1] + len(buf)
                where[id(buf)] = (_ref(buf), at)
            else:
                if grp is None:  # a second buffer: the first goes into the group buffer too
                    copy_run()
                at = copy_in(buf)
        else:
            at = w[1]
        pending.append((b.channel, b.offsets, b.lengths, b.log_time, b.publish_time, at))
        del b, buf
    yield from flush()


#: bytes between two buffers of one array that a group viewing the array spans (the records
#: between two uncompressed MCAP chunks: message indexes, the next chunk's header)
MAX_GAP = 1 << 20


def _span(buf: np.ndarray) -> tuple[np.ndarray, int] | None:
    """(the 1-D uint8 array whose memory ``buf`` is part of, where ``buf`` starts in it, bytes),
    following numpy views and memoryviews down to the last array (the one that owns the memory,
    or wraps a memory map); None when there is no such array (bytes, a bare memory map)."""
    o, owner = buf.base, None
    while o is not None:
        if isinstance(o, memoryview):
            o = o.obj
        elif isinstance(o, np.ndarray):
            owner, o = o, o.base
        else:
            break
    o = owner
    if not (isinstance(o, np.ndarray) and o.ndim == 1 and o.dtype == np.uint8 and o.flags.c_contiguous
            and buf.ndim == 1 and buf.dtype == np.uint8 and buf.flags.c_contiguous):
        return None
    at = buf.__array_interface__["data"][0] - o.__array_interface__["data"][0]
    return (o, at) if 0 <= at and at + len(buf) <= len(o) else None


def _ref(buf):
    """A weak reference to a buffer (a strong one where it takes none)."""
    import weakref
    try:
        return weakref.ref(buf)
    except TypeError:
        return lambda: buf


def _holders(spare: list) -> int:
    """The reference count of ``spare[0]`` as seen from here (the list, the local, the call)."""
    import sys
    old = spare[0]
    return sys.getrefcount(old)


#: :func:`_holders` of a buffer nothing else holds, measured on this interpreter (CPython
#: versions differ in the references a local and a call take)
_UNHELD = _holders([np.empty(1, np.uint8)])


def _group_buffer(spare: list, n: int) -> np.ndarray:
    """A uint8 buffer of at least ``n`` bytes: the spare one when nothing else holds it (no view
    of it left: no fresh pages to fault in), else a new one."""
    old = spare[0]
    if old is not None and len(old) >= n:
        del old
        if _holders(spare) == _UNHELD:
            old, spare[0] = spare[0], None
            return old
    return np.empty(n, np.uint8)
