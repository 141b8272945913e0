"""Recorded messages in, raw batches out: MCAP files, rosbag2 directories and ``.db3`` bags.

:func:`open_bag` picks the source for a path (storage backends never import each other); every
source yields :class:`~rerun_ros.sources.base.RawBatch` es and keeps
:class:`~rerun_ros.sources.base.SourceStats`.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from .base import BagError, Channel, RawBatch, SourceStats

__all__ = ["open_bag", "BagError", "Channel", "RawBatch", "SourceStats"]


def open_bag(path: str | os.PathLike, warn: Callable[[str], None] | None = None):
    """A source for a bag: an MCAP file, a rosbag2 directory (MCAP or sqlite3 storage), or a
    sqlite3 ``.db3`` file.

    Raises:
        FileNotFoundError: no such path. BagError: not a bag (a FIFO, a device, a file of
            another format; the message says which).
    """
    from .rosbag2 import db3_files

    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such file or directory") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise BagError(f"{p}: not a regular file or directory (a FIFO or device cannot be read as a bag)")
    if db3_files(p):
        from .db3 import Db3Source
        return Db3Source(p, warn=warn)
    from .mcap import McapSource
    return McapSource(p, warn=warn)
