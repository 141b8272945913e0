"""Where outputs are written: never over an input, always whole or not at all.

:func:`staged_output` refuses an output that is one of the inputs (the same file, also through a
link or another name: same device and inode) and gives a temporary path beside the output;
the caller writes there and :func:`commit` renames it into place (atomic on POSIX), so an
interrupted run never leaves a half-written file under the output's name nor destroys the
previous one before the new one is complete.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["staged_output", "commit", "discard", "same_file"]


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when both paths exist and are the same file (device and inode)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def staged_output(output: str | os.PathLike, inputs: list, warn=None) -> Path:
    """The temporary path to write ``output`` to (``.<name>.part-<pid>`` in its directory).

    The unfinished outputs of earlier runs that were killed outright (SIGKILL, out of memory,
    power lost: nothing could remove them) are removed, each said through ``warn``: a
    ``.<name>.part-<pid>`` whose process is gone and that was not written for a minute.

    Raises:
        ValueError: the output is one of the inputs (or a file inside an input directory).
        FileNotFoundError: the output's directory does not exist.
    """
    out = Path(output)
    for inp in inputs:
        p = Path(inp)
        files = [f for f in p.iterdir() if f.is_file()] if p.is_dir() else [p]
        for f in files:
            if same_file(out, f):
                raise ValueError(f"{out}: is the input {f}; write the output somewhere else")
    if not out.parent.exists():
        raise FileNotFoundError(f"{out}: output directory {out.parent} does not exist")
    if out.is_dir():
        raise ValueError(f"{out}: is a directory; give an output file name")
    _remove_stale_parts(out, warn)
    return out.with_name(f".{out.name}.part-{os.getpid()}")


def _remove_stale_parts(out: Path, warn) -> None:
    import time
    prefix = f".{out.name}.part-"
    try:
        names = [n for n in os.listdir(out.parent) if n.startswith(prefix)]
    except OSError:
        return
    for n in names:
        try:
            pid = int(n[len(prefix):])
            p = out.parent / n
            if pid == os.getpid() or _alive(pid) or time.time() - p.stat().st_mtime < 60:
                continue
            size = p.stat().st_size
            p.unlink()
        except (ValueError, OSError):
            continue
        if warn is not None:
            warn(f"{p}: removed, the unfinished output ({size} bytes) of an earlier run that was killed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (another user's process: alive)
        return True
    return True


def commit(tmp: Path, output: str | os.PathLike) -> None:
    """Move the finished temporary file into place.

    A file already at ``output`` is unlinked first (the new one is whole by now, so nothing is
    lost): renaming over an existing file makes ext4 (``auto_da_alloc``, on by default) start
    writing the whole new file back to disk inside the rename, which then waits for it (0.24 s
    for 400 MB here; unlinking the old one costs 0.08 s): converting the 400 MB bench bag over
    its previous output took 0.82-0.93 s, now 0.69-0.81 s (0.58-0.65 s to a new name;
    ``rerun mcap convert`` 0.95-0.99 s against 0.76-0.78 s: truncating the old file meets the
    same heuristic). For a moment the name does not exist; the new file is complete.

    Raises:
        OSError: the rename failed (the temporary file stays).
    """
    try:
        if os.path.isfile(output) and not os.path.islink(output):
            os.unlink(output)
    except OSError:
        pass  # (the rename says what is wrong, if anything)
    os.replace(tmp, output)


def discard(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
