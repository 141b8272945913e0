"""ros2 launch rerun_ros view.launch.py [arg:=value ...] — see rerun_ros/launch_spec.py for the
arguments (run `rerun-ros launch view --help`); without ros2 launch: `rerun-ros launch view ...`."""
from rerun_ros.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description("view")
