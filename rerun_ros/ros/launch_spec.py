"""The node sets of rerun_ros's launch files, and how launch arguments become node parameters.

One source of truth, ROS-free: ``launch/*.launch.py`` build their ``launch_ros`` Node actions from
it (for ``ros2 launch rerun_ros bridge.launch.py output:=run.rrd``), and ``rerun-ros launch``
runs the same nodes as processes where ``ros2 launch`` is not installed.

Launches: ``bridge`` (bridge node), ``record`` (recorder node), ``view`` (viewer), ``bringup``
(bridge + viewer: the rviz replacement on a laptop).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LaunchArg", "NodeSpec", "LAUNCHES", "resolve", "ros_args", "parse_launch_args", "LaunchError"]

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class LaunchError(ValueError):
    """An unknown launch, unknown argument or bad value (message lists what is accepted)."""


@dataclass(frozen=True)
class LaunchArg:
    name: str
    default: str
    description: str


@dataclass(frozen=True)
class NodeSpec:
    """A node of a launch: its executable, node name, and parameter ← argument mapping."""

    executable: str
    name: str
    #: parameter name -> launch argument name
    params: dict = field(default_factory=dict)


ARGS = {
    "config": LaunchArg("config", "", "a ROS 2 parameters YAML (e.g. config/bridge.yaml) for the nodes"),
    "output": LaunchArg("output", "", "write the recording to this .rrd"),
    "topics": LaunchArg("topics", "", "topic specs separated by ';' (e.g. '/tf;/camera/image qos=sensor_data')"),
    "stream_address": LaunchArg("stream_address", "127.0.0.1:9877", "viewer stream host:port"),
    "fixed_frame": LaunchArg("fixed_frame", "map", "the viewer's fixed frame (rviz's fixed frame)"),
    "target_frame": LaunchArg("target_frame", "", "the frame the viewer's 3D camera follows (rviz's target frame; "
                                                  "empty: the robot's base frame)"),
    "blueprint": LaunchArg("blueprint", "", "a viewer blueprint YAML"),
    "use_sim_time": LaunchArg("use_sim_time", "false", "use /clock"),
    "rotate_bytes": LaunchArg("rotate_bytes", "0", "recorder: new file past this size"),
    "rotate_seconds": LaunchArg("rotate_seconds", "0", "recorder: new file after this many seconds"),
    "split": LaunchArg("split", "true", "recorder: decimated viewer stream"),
    "grpc_url": LaunchArg("grpc_url", "", "also stream to a Rerun gRPC proxy (rerun+http://host:port/proxy; "
                                          "'default' = the official viewer on 127.0.0.1:9876)"),
    "viewer": LaunchArg("viewer", "", "'rerun': stream to the official Rerun viewer started with `rerun` "
                                      "(= grpc_url:=default, with the blueprint as its layout)"),
}

BRIDGE = NodeSpec("bridge", "rerun_bridge", {"rrd_path": "output", "topics": "topics",
                                              "stream_address": "stream_address", "use_sim_time": "use_sim_time",
                                              "grpc_url": "grpc_url", "blueprint": "blueprint"})
RECORDER = NodeSpec("recorder", "rerun_recorder", {"rrd_path": "output", "topics": "topics",
                                                    "stream_address": "stream_address", "use_sim_time": "use_sim_time",
                                                    "rotate_bytes": "rotate_bytes", "rotate_seconds": "rotate_seconds",
                                                    "split": "split", "grpc_url": "grpc_url", "blueprint": "blueprint"})
VIEWER = NodeSpec("viewer", "rerun_viewer", {"stream_address": "stream_address", "fixed_frame": "fixed_frame",
                                              "target_frame": "target_frame", "blueprint": "blueprint",
                                              "use_sim_time": "use_sim_time"})

LAUNCHES: dict[str, tuple[list[str], list[NodeSpec]]] = {
    "bridge": (["config", "output", "topics", "stream_address", "use_sim_time", "grpc_url", "viewer", "blueprint"],
               [BRIDGE]),
    "record": (["config", "output", "topics", "stream_address", "rotate_bytes", "rotate_seconds", "split",
                "use_sim_time", "grpc_url", "viewer", "blueprint"], [RECORDER]),
    "view": (["config", "stream_address", "fixed_frame", "target_frame", "blueprint", "use_sim_time"], [VIEWER]),
    "bringup": (["config", "output", "topics", "stream_address", "fixed_frame", "target_frame", "blueprint",
                 "use_sim_time"],
                [BRIDGE, VIEWER]),
}

_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_INT_PARAMS = {"rotate_bytes"}
_FLOAT_PARAMS = {"rotate_seconds"}
_BOOL_PARAMS = {"use_sim_time", "split"}


def _typed(param: str, value: str):
    if param in _BOOL_PARAMS:
        v = _BOOL.get(value.strip().lower())
        if v is None:
            raise LaunchError(f"{param}: expected true or false, got {value!r}")
        return v
    if param in _INT_PARAMS:
        try:
            return int(float(value))
        except ValueError:
            raise LaunchError(f"{param}: expected an integer, got {value!r}") from None
    if param in _FLOAT_PARAMS:
        try:
            return float(value)
        except ValueError:
            raise LaunchError(f"{param}: expected a number, got {value!r}") from None
    if param == "topics":
        return [t.strip() for t in value.split(";") if t.strip()]
    return value


def parse_launch_args(items: list[str]) -> dict[str, str]:
    """``["output:=a.rrd", "fixed_frame:=odom"]`` → dict (the ``ros2 launch`` syntax).

    Raises:
        LaunchError: an item without ``:=``.
    """
    out = {}
    for it in items:
        k, sep, v = it.partition(":=")
        if not sep or not k:
            raise LaunchError(f"launch arguments are name:=value, got {it!r}")
        out[k] = v
    return out


def resolve(launch: str, args: dict[str, str]) -> tuple[list[tuple[NodeSpec, dict]], str | None]:
    """The nodes of a launch with their parameters for the given arguments, and the params file.

    Empty arguments leave the node's own default (or the config file's value) in place.

    Raises:
        LaunchError: unknown launch or argument, or a bad value.
    """
    if launch not in LAUNCHES:
        raise LaunchError(f"unknown launch {launch!r}; known: {', '.join(LAUNCHES)}")
    names, nodes = LAUNCHES[launch]
    unknown = set(args) - set(names)
    if unknown:
        raise LaunchError(f"launch {launch}: unknown argument(s) {', '.join(sorted(unknown))}; "
                          f"accepted: {', '.join(names)}")
    values = {n: args.get(n, ARGS[n].default) for n in names}
    if values.get("viewer", "") not in ("", "rerun"):
        raise LaunchError(f"viewer: expected 'rerun' (the official viewer) or nothing, got {values['viewer']!r}")
    if values.get("viewer") == "rerun" and not values.get("grpc_url"):
        values["grpc_url"] = "default"
    config = values.get("config") or None
    if config and not Path(config).is_file():
        raise LaunchError(f"config file {config} does not exist")
    out = []
    for node in nodes:
        params = {}
        for param, arg in node.params.items():
            if arg in values and values[arg] != "":
                params[param] = _typed(param, values[arg])
        out.append((node, params))
    return out, config


def _ros_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ",".join(json.dumps(str(x)) for x in v) + "]"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v)) if str(v) == "" or str(v).strip() != str(v) else str(v)


def ros_args(node: NodeSpec, params: dict, config: str | None) -> list[str]:
    """The ``--ros-args`` of one node: its name, the params file, then each parameter."""
    out = ["--ros-args", "-r", f"__node:={node.name}"]
    if config:
        out += ["--params-file", str(config)]
    for k, v in params.items():
        out += ["-p", f"{k}:={_ros_value(v)}"]
    return out
