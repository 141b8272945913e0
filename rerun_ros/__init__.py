"""rerun_ros: Rerun-style, time-aware visual debugging for ROS 2 (ROS-free core).

``rerun_ros.open(path)`` opens an ``.rrd`` or a bag for queries (see :mod:`rerun_ros.query.recording`).
"""


def open(path, **kw):  # noqa: A001 - mirrors rerun_ros.query.recording.open
    """Open an ``.rrd`` or a bag for queries: see :func:`rerun_ros.query.recording.open`."""
    from .query.recording import open as _open
    return _open(path, **kw)


def open_many(paths):
    """Many recordings as one, opened lazily: see :func:`rerun_ros.query.many.open_many`."""
    from .query.many import open_many as _open_many
    return _open_many(paths)
