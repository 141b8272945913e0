"""Builds ``launch`` descriptions from :mod:`rerun_ros.ros.launch_spec` (needs the ROS 2 ``launch``
and ``launch_ros`` packages, i.e. a system ROS 2 install)."""
from __future__ import annotations


def launch_description(name: str):
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from .launch_spec import ARGS, LAUNCHES, resolve

    names, _ = LAUNCHES[name]

    def nodes(context, *_, **__):
        values = {n: LaunchConfiguration(n).perform(context) for n in names}
        resolved, config = resolve(name, values)
        actions = []
        for node, params in resolved:
            plist = ([config] if config else []) + ([params] if params else [])
            actions.append(Node(package="rerun_ros", executable=node.executable, name=node.name,
                                parameters=plist, output="screen"))
        return actions

    decl = [DeclareLaunchArgument(n, default_value=ARGS[n].default, description=ARGS[n].description) for n in names]
    return LaunchDescription(decl + [OpaqueFunction(function=nodes)])
