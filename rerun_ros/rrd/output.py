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


def staged_output(output: str | os.PathLike, inputs: list) -> Path:
    """The temporary path to write ``output`` to (``.<name>.part-<pid>`` in its directory).

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
    return out.with_name(f".{out.name}.part-{os.getpid()}")


def commit(tmp: Path, output: str | os.PathLike) -> None:
    """Move the finished temporary file into place."""
    os.replace(tmp, output)


def discard(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
