#!/usr/bin/env bash
# Set up everything rerun_ros needs on a fresh Debian machine with Python 3.11:
# a virtualenv in .venv with the package (editable) and the test dependencies
# (rerun-sdk 0.41.0 as the RRD oracle; --no-test skips them). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The viewer's display stack (Qt xcb under Xvfb with Mesa's software GL; see docs/viewer.md).
APT_PKGS="xvfb xauth x11-utils libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0
  libxcb-xkb1 libfontconfig1 libdbus-1-3 fonts-dejavu-core"
if ! command -v Xvfb >/dev/null || ! dpkg -s libxcb-cursor0 libxcb-icccm4 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PKGS >/dev/null
  else
    echo "note: install the viewer's display packages with: sudo apt-get install $APT_PKGS" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
# the test dependencies too (pytest, rerun-sdk as the oracle), so that the README's second
# command works right after its first; --no-test leaves them out (--test is accepted, the default);
# the fleet extra (ray, duckdb, fsspec) for `rerun-ros fleet` and the catalog
extras="[test,fleet]"
case " $* " in *" --no-test "*) extras="[fleet]" ;; esac
.venv/bin/python -m pip install -q -e ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
# bytecode now: where PYTHONDONTWRITEBYTECODE is set, every run would compile the package again
.venv/bin/python -m compileall -q rerun_ros viewer >/dev/null
.venv/bin/python -c "import rerun_ros.convert" # fails loudly if the install did not work
# ROS 2 for the live bridge (wheels + generated tf2_msgs), unless --no-ros or a system ROS 2
case " $* " in *" --no-ros "*) ;; *) bash .ci/ros_setup.sh ;; esac
