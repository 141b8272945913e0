"""rerun_ros: Rerun-style, time-aware visual debugging for ROS 2 (ROS-free core).

``rerun_ros.open(path)`` opens an ``.rrd`` or a bag for queries (see :mod:`rerun_ros.query.recording`).
"""


def open(path, **kw):  # noqa: A001 - mirrors rerun_ros.query.recording.open
    """Open an ``.rrd`` or a bag for queries: see :func:`rerun_ros.query.recording.open`."""
    from .query.recording import open as _open
    return _open(path, **kw)
