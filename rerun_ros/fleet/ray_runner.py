"""``rerun-ros fleet convert``: every bag a task on Ray (a local runtime by default, or the cluster
at ``ray_address``), the driver recording each result in the catalog as it arrives.

- Resumable: a bag whose source, quick key (size and mtime) and converter version match a run in
  the catalog whose ``.rrd`` still exists is skipped (``--force`` converts again).
- Idempotent: each output is staged and renamed (:func:`rerun_ros.convert.convert`); re-running a
  bag replaces its catalog rows (keyed by the input checksum).
- Failures stay local: a bad bag is a ``failed`` row with its reason; an unexpected error in a task
  is retried ``retries`` times by Ray (``retry_exceptions``), then recorded as failed. Nothing stops
  the other bags.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import DEFAULT_NAME, Catalog
from .inputs import BagInput, expand_inputs
from .runs import RunResult, converter_version, process_bag

__all__ = ["fleet_convert", "FleetSummary", "source_key"]


@dataclass
class FleetSummary:
    """What a fleet job did: bags per status, bytes in, wall time, the failed/partial ones."""
    total: int = 0
    ok: int = 0
    partial: int = 0
    failed: int = 0
    skipped: int = 0
    bytes_in: int = 0
    seconds: float = 0.0
    workers: int = 0
    catalog: str = ""
    problems: list = field(default_factory=list)  # [(source, status, reason)]
    #: inputs met that are not bags to convert (dangling symlinks, FIFOs, unreadable directories)
    unreadable: int = 0

    @property
    def exit_code(self) -> int:
        return 3 if (self.failed or self.partial or self.unreadable) else 0

    def to_dict(self) -> dict:
        return {**{k: getattr(self, k) for k in ("total", "ok", "partial", "failed", "skipped", "unreadable",
                                                  "bytes_in", "workers", "catalog")},
                "seconds": round(self.seconds, 3), "exit_code": self.exit_code,
                "problems": [{"source": s, "status": st, "reason": r} for s, st, r in self.problems]}


def source_key(bag: BagInput) -> str:
    """Size and modification time (ns) of a bag (a rosbag2 directory: of its newest file): a
    changed bag gets a new key, and only then is its checksum read again."""
    if bag.remote:
        import fsspec
        fs, path = fsspec.core.url_to_fs(bag.source)
        info = fs.info(path.rstrip("/"))
        return f"{bag.size}:{info.get('ETag') or info.get('mtime') or info.get('LastModified') or ''}"
    p = Path(bag.source)
    mtimes = [f.stat().st_mtime_ns for f in p.iterdir() if f.is_file()] if p.is_dir() else [p.stat().st_mtime_ns]
    return f"{bag.size}:{max(mtimes, default=0)}"


def fleet_convert(inputs: list[str], out_dir: str | os.PathLike, *, catalog: str | os.PathLike | None = None,
                  ray_address: str | None = None, workers: int | None = None, retries: int = 2,
                  tags: dict | None = None, force: bool = False, on_result=None, on_start=None) -> FleetSummary:
    """Convert, check and catalogue every bag ``inputs`` name (:mod:`rerun_ros.fleet.inputs`)
    into ``out_dir`` (module doc). ``on_start(todo_count, todo_bytes)`` and
    ``on_result(RunResult | None for a skipped bag, BagInput)`` report progress.

    Raises:
        rerun_ros.fleet.inputs.InputError: an input naming no bag. ImportError: ray or duckdb
        missing (``pip install 'rerun_ros[fleet]'``).
    """
    t0 = time.perf_counter()
    from .inputs import SKIPPED
    bags = expand_inputs(inputs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cat_path = Path(catalog) if catalog else out / DEFAULT_NAME
    summary = FleetSummary(total=len(bags), catalog=str(cat_path))
    for path, why in SKIPPED:  # said, and in the exit status: not a silent gap in the catalog
        summary.unreadable += 1
        summary.problems.append((path, "unreadable", why))
    converter = converter_version()
    todo: list[tuple[BagInput, str]] = []
    with Catalog(cat_path) as cat:
        for b in bags:
            key = source_key(b)
            if not force and cat.known(b.source, key, converter):
                summary.skipped += 1
                if on_result:
                    on_result(None, b)
                continue
            todo.append((b, key))
        if on_start:
            on_start(len(todo), sum(b.size for b, _ in todo))
        if todo:
            import ray
            started = not ray.is_initialized()
            if started:
                ray.init(address=ray_address, num_cpus=None if ray_address else (workers or os.cpu_count()),
                         include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                         configure_logging=False)
            summary.workers = int(ray.cluster_resources().get("CPU", 0))
            task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(process_bag)
            pending = {task.remote(b, str(out), tags=tags or {}): (b, key) for b, key in todo}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        b, key = pending.pop(ref)
                        try:
                            res: RunResult = ray.get(ref)
                        except Exception as e:  # noqa: BLE001 - a task that failed after its retries
                            msg = str(getattr(e, "cause", None) or e).strip().splitlines()
                            # "error", not "failed": the converter broke, not the bag; a rerun tries again
                            res = RunResult(b.source, str(b.output(out)), "error",
                                            reason=(msg[-1] if msg else type(e).__name__)[:300],
                                            attempts=retries + 1)
                        cat.record(res, converter=converter, source_key=key)
                        summary.bytes_in += b.size
                        kind = "failed" if res.status == "error" else res.status
                        setattr(summary, kind, getattr(summary, kind) + 1)
                        if res.status != "ok":
                            summary.problems.append((b.source, res.status, res.reason))
                        if on_result:
                            on_result(res, b)
            finally:
                if started:
                    ray.shutdown()
    summary.seconds = time.perf_counter() - t0
    return summary
