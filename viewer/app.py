"""``rerun-ros view``: open an ``.rrd``, a bag (``.mcap``, rosbag2 directory, ``.db3``) or a live
stream (the bridge's ``tcp://host:port``, or a Rerun gRPC proxy ``rerun+http://host:port/proxy``:
the official viewer, ``rerun --serve-grpc``, ``rerun-ros serve``) in the viewer window, or render a screenshot headlessly and exit.

Exit status: 0, 1 for an unreadable source or blueprint (one-line error), 2 for usage errors.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..store.chunk_store import ChunkStore

__all__ = ["load_source", "run_viewer", "is_live"]

LAZY_THRESHOLD = 256 << 20  # .rrd files larger than this open lazily


def is_live(source: str) -> bool:
    """A stream to follow (not a file): ``tcp://`` (our bridge) or ``rerun+http://`` (a gRPC proxy)."""
    return source.startswith(("tcp://", "rerun+http://"))


def load_source(source: str, store: ChunkStore, warn=print):
    """Fill ``store`` from a file, or start a client following a live stream (returned; it has
    ``connected`` (an Event) and ``close()``): a StreamClient for ``tcp://host:port``, a
    GrpcReader for ``rerun+http://host:port/proxy``."""
    if is_live(source):
        from ..model.components import warm_up
        warm_up()  # pyarrow's one-time lazy import now, not when the first live chunk arrives
        if source.startswith("tcp://"):
            from ..stream.tcp import StreamClient
            return StreamClient(source[len("tcp://"):], store.add_chunk)
        from ..stream.grpc import GrpcReader
        return GrpcReader(source, store.add_chunk)
    from ..store.open import open_source
    for w in open_source(source, store=store).warnings:
        warn(f"warning: {w}")
    return None


def run_viewer(source, *, blueprint: str | None = None, time: str | None = None, timeline: str | None = None,
               fixed_frame: str | None = None, target_frame: str | None = None, screenshot: str | None = None,
               size: str = "1280x800", select: str | None = None, save_blueprint: str | None = None,
               align: str = "start") -> int:
    """Open ``source`` in the viewer window (``screenshot``: render it to that PNG and return).

    ``source`` is one path or stream, or a list of two or more recordings/bags: the runs are
    overlaid on one timeline, aligned by ``align`` (:func:`rerun_ros.compare.overlay.overlay_runs`:
    ``start``, ``ros_time``, a topic's first message, ``log:TEXT``), each under ``/A``, ``/B``, ...

    Raises:
        OSError: no display to open a window on (and not a screenshot), or no Xvfb for one;
            an unreadable source.
        ValueError: a malformed ``size``, ``time`` or blueprint.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    if (not screenshot and os.environ["QT_QPA_PLATFORM"] == "xcb" and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")):
        raise OSError("no display to open the viewer window on (DISPLAY is not set): run it on a desktop, "
                      "over `ssh -X`, or render a picture with --screenshot PNG")
    if screenshot and not os.environ.get("DISPLAY") and os.environ["QT_QPA_PLATFORM"] == "xcb":
        # headless: our own virtual display (Qt would abort without one)
        from .display import start_xvfb
        try:
            _, os.environ["DISPLAY"] = start_xvfb(f"{size}x24" if "x" in size else "1600x1000x24",
                                                     with_parent=True)
        except (FileNotFoundError, RuntimeError) as e:
            raise OSError(f"--screenshot without a display needs Xvfb: {e}") from None
    # (the Xvfb ends with this process, after Qt has disconnected from it)
    return _run_viewer(source, blueprint=blueprint, time=time, timeline=timeline, fixed_frame=fixed_frame,
                       target_frame=target_frame, screenshot=screenshot, size=size, select=select, save_blueprint=save_blueprint, align=align)


def _run_viewer(source, *, blueprint, time, timeline, fixed_frame, target_frame, screenshot, size, select,
                save_blueprint, align="start") -> int:
    from PyQt6 import QtWidgets

    from ..convert import parse_time

    from . import blueprint as B
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must be WIDTHxHEIGHT, got {size!r}") from None
    bp = B.load(blueprint) if blueprint else None
    client = None
    tints = None
    title = f"rerun_ros — {source}"
    if isinstance(source, (list, tuple)) and len(source) == 1:
        source = source[0]
    if isinstance(source, (list, tuple)):
        store, bp, tints, title = _overlay(source, align, bp, fixed_frame)
        source = " ".join(source)
    elif is_live(source):
        store = ChunkStore(compact_max_rows=4096, compact_max_bytes=8 << 20)
        client = load_source(source, store, warn=lambda s: print(s, file=sys.stderr))
    else:
        from ..store.open import open_source
        opened = open_source(source, warn=lambda s: print(f"warning: {s}", file=sys.stderr))
        store = opened.store
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    if client is not None:
        import time as _t
        client.connected.wait(5.0)
        _t.sleep(0.5)
    from .window import ViewerWindow
    win = ViewerWindow(store, bp, timeline=timeline, fixed_frame=fixed_frame, target_frame=target_frame, title=title,
                       source_name=source, frame_tints=tints)
    win.resize(w, h)
    if client is not None:
        win.live.setChecked(True)
        win.enable_live_tools()
    if save_blueprint:
        B.dump(win.blueprint, save_blueprint)
    win.show()
    for _ in range(10):
        app.processEvents()
    if time is not None:
        rng = win.time_range()
        win.set_time(parse_time(time, rng[0] if rng else 0))
    if select:
        win.select(select)
    if screenshot:
        win.screenshot(screenshot)
        print(f"wrote {screenshot}")
        if client is not None:
            client.close()
        return 0
    code = app.exec()
    if client is not None:
        client.close()
    return code


VIEWER_PARAMS = {"stream_address": "127.0.0.1:9877", "fixed_frame": "", "target_frame": "", "blueprint": "",
                 "use_sim_time": False, "source": "", "screenshot": "", "size": "1280x800"}
VIEWER_PARAM_HELP = {
    "stream_address": "the bridge's stream (host:port) to follow",
    "fixed_frame": "the 3D views' fixed frame (rviz's Fixed Frame; default: map, odom or the TF root data uses)",
    "target_frame": "the frame the 3D camera orbits and follows (rviz's Target Frame; default: the robot's base frame)",
    "blueprint": "blueprint YAML of the layout (default: a layout made from the data)",
    "use_sim_time": "accepted for launch files; the viewer shows the recorded robot clock either way",
    "source": "open this .rrd, bag or stream instead of stream_address",
    "screenshot": "render the window to this PNG and exit",
    "size": "window size WIDTHxHEIGHT",
}


def _overlay(sources: list, align: str, bp, fixed_frame):
    """(store, blueprint, frame tints, window title) of runs overlaid; each source a file."""
    from ..compare.overlay import overlay_runs, run_labels
    from ..store.open import open_source

    from . import blueprint as B
    live = [s for s in sources if is_live(s)]
    if live:
        raise ValueError(f"{live[0]}: only recordings and bags can be overlaid, not a live stream")
    stores = []
    for src in sources:
        opened = open_source(src, lazy_threshold=1 << 62, warn=lambda s: print(f"warning: {s}", file=sys.stderr))
        stores.append(opened.store)
    labels = run_labels(len(sources))
    ov = overlay_runs(stores, align, labels, names=list(sources))
    for lab, src in zip(labels, sources):
        print(f"/{lab}: {src}", file=sys.stderr)
    title = "rerun_ros — " + "  ".join(f"{lab}: {Path(src).name}" for lab, src in zip(labels, sources)) + f"  (aligned: {align})"
    if bp is None or not B.names_runs(bp, labels):  # a layout of one run: shown for every run
        bp = B.overlay_blueprint(stores[0], labels, fixed_frame, base=bp)
    return ov.store, bp, ov.tints, title


def help_text(name: str = "rerun_viewer") -> str:
    """The viewer node's usage and parameters (what ``--help`` prints; needs no display)."""
    lines = [f"usage: {name} [--ros-args -p NAME:=VALUE ...]", "",
             "ROS 2 parameters:"]
    for key, value in VIEWER_PARAMS.items():
        lines.append(f"  {key} (default {value!r}): {VIEWER_PARAM_HELP[key]}")
    return "\n".join(lines)


def parse_ros_args(argv: list[str], node_name: str = "rerun_viewer") -> dict:
    """The viewer's parameters from ``--ros-args`` (``-p name:=value``, ``--params-file F`` with
    ``<node>: ros__parameters:``, ``-r __node:=name``), as ``ros2 run``/``ros2 launch`` pass them.
    The viewer needs no rclpy: it reads these and connects to the bridge's stream.

    Raises:
        ValueError: an unknown parameter or a malformed argument.
    """

    from .. import safe_yaml
    params = dict(VIEWER_PARAMS)
    if "--ros-args" not in argv:
        return params
    args = argv[argv.index("--ros-args") + 1:]
    i = 0
    files, overrides = [], {}
    while i < len(args):
        a = args[i]
        if a in ("-p", "--param") and i + 1 < len(args):
            k, sep, v = args[i + 1].partition(":=")
            if not sep:
                raise ValueError(f"viewer: parameter {args[i + 1]!r} is not name:=value")
            overrides[k] = safe_yaml.load(v) if v else ""
            i += 2
        elif a == "--params-file" and i + 1 < len(args):
            files.append(args[i + 1])
            i += 2
        elif a in ("-r", "--remap") and i + 1 < len(args):
            k, _, v = args[i + 1].partition(":=")
            if k == "__node":
                node_name = v
            i += 2
        elif a == "--":
            break
        else:
            i += 1
    for f in files:
        data = safe_yaml.load(Path(f).read_text()) or {}
        for key in (node_name, "/" + node_name, "/**"):
            params.update((data.get(key) or {}).get("ros__parameters", {}) or {})
    params.update(overrides)
    unknown = set(params) - set(VIEWER_PARAMS)
    if unknown:
        raise ValueError(f"viewer: unknown parameter(s) {', '.join(sorted(unknown))}; known: {', '.join(VIEWER_PARAMS)}")
    return params


def ros_main(argv: list[str] | None = None) -> int:
    """``ros2 run rerun_ros viewer --ros-args -p stream_address:=host:port -p fixed_frame:=map``."""
    argv = sys.argv if argv is None else argv
    head = argv[1:argv.index("--ros-args")] if "--ros-args" in argv else argv[1:]
    if any(a in ("-h", "--help") for a in head):
        print(help_text(os.path.basename(argv[0]) if argv else "rerun_viewer"))
        return 0
    try:
        p = parse_ros_args(argv)
        source = p["source"] or f"tcp://{p['stream_address']}"
        return run_viewer(source, blueprint=p["blueprint"] or None, fixed_frame=p["fixed_frame"] or None,
                          target_frame=p["target_frame"] or None, screenshot=p["screenshot"] or None,
                          size=str(p["size"]))
    except (ValueError, OSError) as e:
        print(f"rerun_viewer: error: {e}", file=sys.stderr)
        return 1


def console_viewer() -> None:
    sys.exit(ros_main())
