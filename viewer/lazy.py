"""Re-export: the manifest-backed lazy store lives in :mod:`rerun_ros.lazy_store`."""
from rerun_ros.lazy_store import LazyRrdStore, open_store  # noqa: F401
