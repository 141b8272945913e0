"""The VisPy/Qt viewer of rerun_ros, installed as ``rerun_ros.viewer`` (``docs/viewer.md``): the
window and its panels, one module per view kind, one visualizer per archetype; what it draws comes
from :class:`rerun_ros.store.chunk_store.ChunkStore` latest-at and range queries."""
