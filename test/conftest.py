"""Shared test helpers: real bags bundled in test/data (see its LICENSES.md), the official Rerun 0.41 reader as the
oracle for RRD files, and an MCAP writer using the message definitions embedded in real bags."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcap.reader import make_reader

ROOT = Path(__file__).resolve().parents[1]
# RERUN_ROS_TEST_DATA may point at another copy laid out the same way (e.g. the workspace's shared/data)
_OTHER = os.environ.get("RERUN_ROS_TEST_DATA")
DATA = Path(_OTHER) if _OTHER else ROOT / "test" / "data"
SENSORS = DATA / "sensors" / "rosbag2_2025_09_10-13_03_56_0.mcap" if _OTHER else \
    ROOT / "rerun_ros" / "data" / "demo_sensors.mcap"  # the bundled demo bag is this recording
FIELD = DATA / "field" / "SO_bag_0.mcap"
LIDAR = DATA / "lidar" / "default_conf.mcap_0.mcap"
MARKERS = DATA / "markers" / "test_bag_file_0.mcap"
BAD = DATA / "bad"
BIN = Path(sys.executable).parent
RERUN = str(BIN / "rerun")
RERUN_ROS = str(BIN / "rerun-ros")

os.environ.setdefault("RERUN_ANALYTICS", "0")


def pytest_configure(config):
    if not SENSORS.exists():
        raise pytest.UsageError(f"test data not found at {DATA} (set RERUN_ROS_TEST_DATA)")


def rerun_verify(path) -> subprocess.CompletedProcess:
    """Run the official `rerun rrd verify` on a file."""
    return subprocess.run([RERUN, "rrd", "verify", str(path)], capture_output=True, text=True, timeout=120)


def official_table(path, entity: str, index: str | None = "ros_time"):
    """Rows of one entity as read by the official reader (rerun-sdk 0.41), as a pyarrow Table."""
    from rerun.chunk import RrdReader

    store = RrdReader(str(path)).store().stream().collect()
    return store.reader(index=index, contents=entity).to_arrow_table()


def schemas_from(path) -> dict[str, tuple[str, bytes]]:
    """{type name: (schema encoding, definition text)} of the schemas embedded in a real bag."""
    out = {}
    with open(path, "rb") as f:
        s = make_reader(f).get_summary()
        for sc in s.schemas.values():
            out[sc.name] = (sc.encoding, sc.data)
    return out


class BagBuilder:
    """Writes a ROS 2 MCAP with mcap-ros2-support, using real definitions from the shared bags."""

    def __init__(self, path, chunk_size: int = 1 << 20, compression: str = "zstd"):
        from mcap_ros2.writer import Writer

        self._f = open(path, "wb")
        self.w = Writer(self._f, chunk_size=chunk_size,
                        compression=__import__("mcap.writer", fromlist=["CompressionType"]).CompressionType[compression.upper()])
        self.defs = {**schemas_from(FIELD), **schemas_from(SENSORS)}
        self.schemas = {}
        self.path = path

    def schema(self, type_name: str, text: str | None = None):
        if type_name not in self.schemas:
            if text is None and type_name not in self.defs:
                # standard ROS 2 definitions as rosbags knows them (rosbag2's concatenated form)
                from rosbags.typesys import Stores, get_typestore
                text = get_typestore(Stores.ROS2_HUMBLE).generate_msgdef(type_name, ros_version=2)[0]
            data = text if text is not None else self.defs[type_name][1].decode()
            self.schemas[type_name] = self.w.register_msgdef(type_name, data)
        return self.schemas[type_name]

    def write(self, topic: str, type_name: str, msg: dict, t_ns: int, publish_ns: int | None = None):
        self.w.write_message(topic, self.schema(type_name), msg, log_time=t_ns,
                             publish_time=publish_ns if publish_ns is not None else t_ns)

    def close(self):
        self.w.finish()
        self._f.close()


def header(t_ns: int, frame: str = "base_link") -> dict:
    return {"stamp": {"sec": t_ns // 10**9, "nanosec": t_ns % 10**9}, "frame_id": frame}


@pytest.fixture
def bag_builder(tmp_path):
    made = []

    def make(name="test.mcap", **kw):
        b = BagBuilder(tmp_path / name, **kw)
        made.append(b)
        return b

    yield make


def free_port() -> int:
    """A TCP port nobody listens on now (for a server a test starts)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run_cli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([RERUN_ROS, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


_XVFB: list = []  # keeps the Xvfb process object alive for the session


@pytest.fixture(scope="session")
def xdisplay():
    """A real X display (Xvfb, 24-bit) for Qt's xcb platform; VisPy needs it (offscreen won't do)."""
    import shutil as _sh
    if _sh.which("Xvfb") is None:
        raise RuntimeError("Xvfb is not installed: run `bash .ci/setup.sh` (it installs the display packages)")
    r, w = os.pipe()
    def die_with_parent():  # Xvfb ends when the test process does, after Qt has disconnected
        import ctypes
        import signal as _sig
        ctypes.CDLL("libc.so.6").prctl(1, _sig.SIGTERM)  # PR_SET_PDEATHSIG

    _XVFB.append(subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=die_with_parent))
    os.close(w)
    num = b""
    while not num.endswith(b"\n"):
        ch = os.read(r, 1)
        if not ch:
            raise RuntimeError("Xvfb did not start")
        num += ch
    os.close(r)
    os.environ["DISPLAY"] = f":{int(num)}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    yield os.environ["DISPLAY"]
    # Not stopped here: a QApplication may still hold the connection until interpreter exit,
    # and Qt aborts the process if the server goes away first. PR_SET_PDEATHSIG stops it.


@pytest.fixture(scope="session")
def qapp(xdisplay):
    from PyQt6 import QtWidgets
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["rerun_ros-tests"])
    yield app
    app.closeAllWindows()


@pytest.fixture(autouse=True)
def _dispose_windows(request):
    """After each test that used a window: close and destroy its top-level windows now, then
    collect garbage. Left to Python's garbage collector, a dead window's QOpenGLWidget is
    destroyed whenever a collection happens to run — inside another window's resize/paint, where
    its destructor leaves no GL context current and Qt's paint dereferences the null context
    (SIGSEGV in QOpenGLContext::functions(), seen in full runs, never in a file alone)."""
    yield
    if "qapp" not in request.fixturenames:
        return
    import gc
    from PyQt6 import QtCore, QtWidgets, sip
    app = QtWidgets.QApplication.instance()
    wins = [w for w in app.topLevelWidgets() if isinstance(w, QtWidgets.QMainWindow)]
    for w in wins:
        w.close()
    app.processEvents()
    for w in wins:
        if not sip.isdeleted(w):
            sip.delete(w)
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)
    gc.collect()


def nan_safe(v):
    """Values with NaN replaced by a marker, for comparing decoded messages (NaN != NaN, and
    real bags carry NaN: the field run's Odometry and NavSatFix without a fix)."""
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, list):
        return [nan_safe(x) for x in v]
    if isinstance(v, dict):
        return {k: nan_safe(x) for k, x in v.items()}
    return v


@pytest.fixture
def ros_env():
    """The environment of a test's ROS 2 processes: a domain of its own, loopback discovery."""
    import random
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(random.randint(100, 200))
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.pop("ROS_LOCALHOST_ONLY", None)
    return env
