"""Fleet scale: convert, check and catalogue many recordings as Ray tasks (``rerun-ros fleet
convert``), with the DuckDB catalog of :mod:`rerun_ros.catalog`. Needs the ``fleet`` extra
(``ray``, ``duckdb``, ``fsspec``); the rest of rerun_ros imports without it."""
