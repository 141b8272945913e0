"""OS names for the package's long-lived threads, so that ``top -H`` and
``/proc/<pid>/task/*/comm`` say which one spends the CPU (Python 3.11 names its threads for
Python only)."""
from __future__ import annotations

import sys


def name_os_thread(name: str) -> None:
    """Give the calling thread an OS name (Linux ``prctl(PR_SET_NAME)``, at most 15 bytes kept);
    does nothing on other systems or without a C library that has ``prctl``."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl in this C library
        pass
