"""The VisPy/Qt viewer of rerun_ros (issue: viewer). Not implemented yet; the data it will draw
comes from :class:`rerun_ros.store.chunk_store.ChunkStore` latest-at and range queries."""
