"""Re-export: the manifest-backed lazy store lives in :mod:`rerun_ros.store.lazy`."""
from ..store.lazy import LazyRrdStore, open_store  # noqa: F401
