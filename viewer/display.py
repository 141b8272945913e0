"""Starting a virtual X display (Xvfb) for headless rendering (reports, benchmarks).

Qt's ``xcb`` platform under Xvfb with Mesa's software OpenGL is what runs VisPy canvases
headlessly; Qt's ``offscreen`` platform cannot host them (``../shared/docs/viewer-headless.md``).
"""
from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["start_xvfb"]


def _die_with_parent() -> None:
    import ctypes
    import signal
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_xvfb(size: str = "1600x1000x24", *, with_parent: bool = False) -> tuple[subprocess.Popen, str]:
    """Start ``Xvfb`` on a free display; returns (process, ``":N"``). The caller terminates it,
    or with ``with_parent`` it ends when this process does (after Qt has let go of it).

    Raises:
        FileNotFoundError: Xvfb is not installed (``apt-get install xvfb``).
        RuntimeError: it did not start.
    """
    if shutil.which("Xvfb") is None:
        raise FileNotFoundError("Xvfb is not installed (apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", size, "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent if with_parent else None)
    os.close(w)
    num = b""
    while not num.endswith(b"\n"):
        ch = os.read(r, 1)
        if not ch:
            os.close(r)
            raise RuntimeError("Xvfb did not start")
        num += ch
    os.close(r)
    return proc, f":{int(num)}"
