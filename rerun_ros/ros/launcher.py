"""``rerun-ros launch NAME [arg:=value ...]``: run a launch's node set as child processes, the
same nodes and parameters ``ros2 launch rerun_ros NAME.launch.py`` would start (see
:mod:`rerun_ros.ros.launch_spec`). SIGINT/SIGTERM are forwarded; it exits when all nodes have."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

from .launch_spec import ARGS, LAUNCHES, ros_args, resolve

__all__ = ["launch", "commands"]


def commands(name: str, args: dict[str, str]) -> list[list[str]]:
    """The command line of every node of a launch (``rerun-ros <node> --ros-args ...``)."""
    resolved, config = resolve(name, args)
    exe = [sys.executable, "-m", "rerun_ros.cli"]
    return [[*exe, node.executable, *ros_args(node, params, config)] for node, params in resolved]


def describe(name: str) -> str:
    names, nodes = LAUNCHES[name]
    lines = [f"launch {name}: nodes {', '.join(n.name for n in nodes)}", "arguments:"]
    lines += [f"  {n}:={ARGS[n].default!r:<18} {ARGS[n].description}" for n in names]
    return "\n".join(lines)


def launch(name: str, args: dict[str, str]) -> int:
    """Start the nodes and wait; returns the worst exit status."""
    cmds = commands(name, args)
    procs = [subprocess.Popen(c) for c in cmds]
    stopping = False

    def forward(signum, frame):
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        while any(p.poll() is None for p in procs):
            if not stopping and any(p.poll() not in (None, 0) for p in procs):
                forward(signal.SIGTERM, None)  # one node failed: stop the rest
            time.sleep(0.1)
    finally:
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)
