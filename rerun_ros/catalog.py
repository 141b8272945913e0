"""The catalog of converted runs: a DuckDB file (``catalog.duckdb``) that ``rerun-ros fleet
convert`` fills and ``rerun-ros catalog query "SQL"`` / :func:`open` read, as the seed's fleet
pattern puts it: recordings are the artifact, the catalog indexes them, dashboards load
dataframes from it.

Tables (times as UTC ``TIMESTAMP``, durations in s, distances in m, speeds in m/s):

- ``runs``: ``run_id`` (the input's checksum and a hash of its source: a re-converted bag keeps its
  id; the same bytes at two places are two runs), ``checksum``, ``source`` (input
  path or URI), ``path`` (the ``.rrd``), ``robot``, ``start_time``, ``end_time``, ``duration_s``,
  ``messages``, ``converted``, ``topics``, ``distance_m``, ``max_speed_mps``, ``motion_source``
  (``odometry``, ``tf``, ``none``), ``warnings``, ``verdict`` (``ok``, ``warnings``, ``damaged``),
  ``status`` (``ok``, ``partial``: converted with losses, ``failed``: the bag cannot be converted,
  ``error``: the conversion broke after its retries, tried again by the next job), ``reason``, ``tags`` (``MAP(VARCHAR, VARCHAR)``),
  ``converter``, ``bytes_in``, ``bytes_out``, ``seconds`` (conversion wall time), ``source_key``
  (size and mtime: a quick check before the checksum), ``converted_at``;
- ``topics``: ``run_id``, ``topic``, ``entity``, ``type``, ``messages``, ``converted``,
  ``rate_hz``, ``max_gap_s``;
- ``events``: ``run_id``, ``kind`` (``conversion`` or the report's finding kinds), ``entity``,
  ``message``.

Example: ``SELECT robot, sum(distance_m) FROM runs WHERE verdict = 'ok' GROUP BY robot``.
"""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

__all__ = ["Catalog", "open", "DEFAULT_NAME", "SCHEMA"]

DEFAULT_NAME = "catalog.duckdb"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, checksum VARCHAR, source VARCHAR, path VARCHAR, robot VARCHAR,
    start_time TIMESTAMP, end_time TIMESTAMP, duration_s DOUBLE, messages BIGINT, converted BIGINT,
    topics INTEGER, distance_m DOUBLE, max_speed_mps DOUBLE, motion_source VARCHAR, warnings INTEGER,
    verdict VARCHAR, status VARCHAR, reason VARCHAR, tags MAP(VARCHAR, VARCHAR), converter VARCHAR,
    bytes_in BIGINT, bytes_out BIGINT, seconds DOUBLE, source_key VARCHAR, converted_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS topics (
    run_id VARCHAR, topic VARCHAR, entity VARCHAR, type VARCHAR, messages BIGINT, converted BIGINT,
    rate_hz DOUBLE, max_gap_s DOUBLE);
CREATE TABLE IF NOT EXISTS events (run_id VARCHAR, kind VARCHAR, entity VARCHAR, message VARCHAR);
"""


def _clean(v):
    """Text for the catalog: a path whose bytes are not UTF-8 (a file name from another locale,
    decoded by Python with surrogate escapes) kept as ``\\xNN`` escapes; other values as they are."""
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _ts(ns):
    return None if ns is None else _dt.datetime.fromtimestamp(ns / 1e9, _dt.timezone.utc).replace(tzinfo=None)


def _num(v):
    return None if v is None else float(v)


class Catalog:
    """A catalog file, open. ``sql(query)`` returns a DuckDB relation (``.pl()``, ``.df()``,
    ``.arrow()``, ``.fetchall()``); :meth:`runs`, :meth:`open_runs` for the usual selections.

    ``confined`` (what ``rerun-ros catalog query`` uses): read-only, and the SQL can reach no
    file but the catalog, install no extension, and not change that (DuckDB's
    ``enable_external_access = false`` under ``lock_configuration``).

    Raises:
        ImportError: duckdb is not installed (the ``fleet`` extra). duckdb.Error: an unreadable file.
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False, confined: bool = False):
        import duckdb
        self.path = Path(path)
        if (read_only or confined) and not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no catalog here (rerun-ros fleet convert makes one)")
        self.db = duckdb.connect(str(self.path), read_only=read_only or confined)
        if confined:
            # SQL from the command line reads this catalog and nothing else: no files (COPY TO,
            # EXPORT, read_csv, glob, ATTACH), no extension downloads, and no way to undo it
            for setting in ("enable_external_access = false", "autoinstall_known_extensions = false",
                            "autoload_known_extensions = false", "allow_community_extensions = false",
                            "lock_configuration = true"):
                self.db.execute(f"SET {setting}")
        elif not read_only:
            self.db.execute(SCHEMA)

    # -- reading -------------------------------------------------------------------------------

    def sql(self, query: str, params: list | None = None):
        """A DuckDB relation for ``query`` (any SQL over ``runs``, ``topics``, ``events``)."""
        return self.db.sql(query, params=params) if params else self.db.sql(query)

    def runs(self, where: str = "TRUE"):
        """``SELECT * FROM runs WHERE <where> ORDER BY start_time`` as a polars DataFrame."""
        return self.sql(f"SELECT * FROM runs WHERE {where} ORDER BY start_time").pl()

    def paths(self, query: str) -> list[str]:
        """The ``path`` column (the ``.rrd`` files) of a query over ``runs``."""
        rel = self.sql(query)
        if "path" not in rel.columns:
            raise ValueError("the query must select the runs' path column")
        return [r[0] for r in rel.select("path").fetchall() if r[0]]

    def run_path(self, ref: str) -> tuple[str, str]:
        """(run_id, ``.rrd`` path) of the run ``ref`` names: its run_id, its source (the bag's
        path) or the source's file name.

        Raises:
            ValueError: no run, several runs, or a run without a readable output (failed).
        """
        rows = self.db.execute("SELECT run_id, path, status, source FROM runs WHERE run_id = ? OR source = ? "
                               "OR regexp_extract(source, '[^/]+/?$') IN (?, ? || '/') ORDER BY start_time",
                               [ref, ref, ref, ref]).fetchall()
        if not rows:
            raise ValueError(f"{self.path}: no run {ref!r} (give a run_id or a source: rerun-ros catalog query "
                             f"\"SELECT run_id, source FROM runs\")")
        if len(rows) > 1:
            raise ValueError(f"{self.path}: {len(rows)} runs match {ref!r}: " + ", ".join(r[0] for r in rows[:5])
                             + "; give a run_id")
        run_id, path, status, _ = rows[0]
        if status == "failed" or not path:
            raise ValueError(f"{self.path}: run {run_id} failed to convert; nothing to compare")
        return run_id, path

    def baseline_of(self, run_id: str) -> tuple[str, str]:
        """(run_id, path) of the baseline of a run: the same robot's run that started last before
        it (not failed).

        Raises:
            ValueError: the run is the robot's first.
        """
        row = self.db.execute(
            "SELECT b.run_id, b.path FROM runs a JOIN runs b ON coalesce(b.robot, '') = coalesce(a.robot, '') "
            "AND b.start_time < a.start_time AND b.status != 'failed' AND b.path IS NOT NULL "
            "WHERE a.run_id = ? ORDER BY b.start_time DESC LIMIT 1", [run_id]).fetchone()
        if row is None:
            raise ValueError(f"{self.path}: run {run_id} has no earlier run of its robot to compare with; "
                             "give --baseline")
        return row[0], row[1]

    def open_runs(self, query: str = "SELECT * FROM runs WHERE status != 'failed'"):
        """The recordings a query selects, opened lazily (:func:`rerun_ros.open_many`)."""
        from .query.many import open_many
        return open_many(self.paths(query))

    def known(self, source: str, source_key: str, converter: str) -> tuple[str, str] | None:
        """(run_id, path) of a run already converted from ``source`` with the same quick key and
        converter, whose output still exists (or that failed: the same bytes fail the same way;
        ``--force`` tries again); None otherwise."""
        rows = self.db.execute("SELECT run_id, path, status FROM runs WHERE source = ? AND source_key = ? AND "
                               "converter = ?", _clean([source, source_key, converter])).fetchall()
        for run_id, path, status in rows:
            if status == "failed" or (path and Path(path).exists()):  # a failure is a known result too
                return run_id, path
        return None

    # -- writing (the fleet driver, one process) --------------------------------------------------

    def record(self, result, *, converter: str, source_key: str) -> None:
        """Insert or replace one run (a :class:`rerun_ros.fleet.runs.RunResult`) and its topics
        and events, in one transaction."""
        r = result.run
        import xxhash
        where = xxhash.xxh64_hexdigest(result.source.encode("utf-8", "surrogateescape"))[:8]
        run_id = f"{result.checksum[:16]}-{where}" if result.checksum else f"{result.status}-{where}"
        tags = {str(k): str(v) for k, v in (r.get("tags") or {}).items()}
        self.db.execute("BEGIN")
        try:
            # the run's earlier rows, and those of an older version of the same source
            old = [r[0] for r in self.db.execute("SELECT run_id FROM runs WHERE run_id = ? OR source = ?",
                                                 _clean([run_id, result.source])).fetchall()] or [run_id]
            for table in ("runs", "topics", "events"):
                self.db.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [old])
            self.db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, MAP(?, ?), ?, ?, ?, ?, ?, ?)",
                _clean([run_id, result.checksum, result.source, result.output if result.status != "failed" else None, r.get("robot"),
                 _ts(r.get("start_ns")), _ts(r.get("end_ns")), _num(r.get("duration_s")), r.get("messages"),
                 r.get("converted"), r.get("topics"), _num(r.get("distance_m")), _num(r.get("max_speed_mps")),
                 r.get("motion_source"), r.get("warnings"), r.get("verdict"), result.status, result.reason,
                 list(tags), list(tags.values()), converter, result.bytes_in, result.bytes_out, result.seconds,
                 source_key, _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)]))
            if result.topics:
                self.db.executemany("INSERT INTO topics VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    [_clean([run_id, t["topic"], t["entity"], t["type"], t["messages"], t["converted"],
                                             _num(t["rate_hz"]), _num(t["max_gap_s"])]) for t in result.topics])
            if result.events:
                self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)",
                                    [_clean([run_id, e["kind"], e["entity"], e["message"]]) for e in result.events])
            self.db.execute("COMMIT")
        except Exception:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open(path: str | os.PathLike = DEFAULT_NAME, *, read_only: bool = True,  # noqa: A001
         confined: bool = False) -> Catalog:
    """Open a catalog for queries (read-only by default: several readers at once; ``confined``:
    see :class:`Catalog`).

    Raises:
        FileNotFoundError: no catalog at ``path``. ImportError: duckdb missing (``rerun_ros[fleet]``).
    """
    return Catalog(path, read_only=read_only, confined=confined)
