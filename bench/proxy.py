#!/usr/bin/env python3
"""Benchmark: the gRPC proxy (`rerun-ros serve`) against the official one (`rerun --serve-grpc`,
rerun-sdk 0.41), same run, same client.

Two figures: messages/s a writer gets through — and messages per second of the proxy process's
own CPU (its capacity: the one Python client stream is the slower side) — with the buffer well
under the memory limit and far over it (eviction on every message: small chunks over a 1 MiB
limit), and how long a new
writer + reader take to get a chunk through while 100 idle clients (50 silent writers, 50
readers that never read) hold connections. The client is one ``grpcio`` stream of ``--n`` tiny
chunk messages (real SDK chunks, one scalar each). Targets (issue 22): eviction >= 10,000
messages/s; new writer and reader served within 1 s behind 100 idle clients.

Usage: .venv/bin/python bench/proxy.py [--n 50000] [--skip-official]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SERVICE = "/rerun.sdk_comms.v1alpha1.MessageProxyService/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def messages(n: int) -> list[bytes]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rerun_ros.model import archetypes as A
    from rerun_ros.rrd.writer import encode_arrow_msg, make_store_id, store_info_msg
    from rerun_ros.stream.grpc import log_msg_request
    from rerun_ros.stream.recording import CallbackSink, RecordingStream
    chunks = []
    rec = RecordingStream("bench", sinks=[CallbackSink(chunks.append)])
    rec.set_time("step", sequence=0)
    rec.log("/v", A.Scalars([1.0]))
    rec.flush()
    rec.close()
    sid = make_store_id("bench")
    parts = encode_arrow_msg(chunks[0], sid, compress=False)
    one = log_msg_request(2, parts[0][16:] + bytes(parts[1]))
    return [log_msg_request(1, store_info_msg(sid)[16:])] + [one] * n


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (/proc/PID/stat)."""
    total = 0.0
    for p in [pid] + [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def write_rate(port: int, msgs: list[bytes], pid: int) -> tuple[float, float]:
    """(messages/s through one writer stream, messages per second of the proxy's CPU)."""
    import grpc
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=20)
        call = ch.stream_unary(SERVICE + "WriteMessages", request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
        c0 = cpu_s(pid)
        t = time.perf_counter()
        call(iter(msgs), timeout=600)
        n = len(msgs) - 1
        return n / (time.perf_counter() - t), n / max(cpu_s(pid) - c0, 1e-9)


def behind_idle(port: int, msgs: list[bytes]) -> float:
    """Seconds for a new writer's chunk to reach a new reader behind 100 idle clients."""
    import grpc
    hold = threading.Event()

    def never():
        hold.wait()
        return
        yield  # (a generator)

    chans, calls = [], []
    try:
        for i in range(100):
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            chans.append(ch)
            if i % 2:
                calls.append(ch.unary_stream(SERVICE + "ReadMessages", request_serializer=lambda b: b,
                                             response_deserializer=lambda b: b)(b""))
            else:
                calls.append(ch.stream_unary(SERVICE + "WriteMessages", request_serializer=lambda b: b,
                                             response_deserializer=lambda b: b).future(never()))
        time.sleep(1.0)
        got = threading.Event()
        t0 = time.perf_counter()
        rch = grpc.insecure_channel(f"127.0.0.1:{port}")
        chans.append(rch)

        def read():
            try:
                for _m in rch.unary_stream(SERVICE + "ReadMessages", request_serializer=lambda b: b,
                                           response_deserializer=lambda b: b)(b"", timeout=30):
                    got.set()
                    return
            except grpc.RpcError:
                pass

        threading.Thread(target=read, daemon=True).start()
        wch = grpc.insecure_channel(f"127.0.0.1:{port}")
        chans.append(wch)
        try:
            wch.stream_unary(SERVICE + "WriteMessages", request_serializer=lambda b: b,
                             response_deserializer=lambda b: b)(iter(msgs[:2]), timeout=30)
        except grpc.RpcError:
            return float("inf")
        return time.perf_counter() - t0 if got.wait(30) else float("inf")
    finally:
        hold.set()
        for c in calls:
            c.cancel()
        for ch in chans:
            ch.close()


def start(kind: str, port: int, limit: str) -> subprocess.Popen:
    if kind == "ours":
        cmd = [str(BIN / "rerun-ros"), "serve", "--port", str(port), "--memory-limit", limit]
    else:
        cmd = [str(BIN / "rerun"), "--serve-grpc", "--bind", "127.0.0.1", "--port", str(port),
               "--server-memory-limit", limit]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                         env={**os.environ, "RERUN_ANALYTICS": "0"})
    t = time.time()
    while time.time() - t < 20:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return p
        time.sleep(0.1)
    raise RuntimeError(f"{kind} proxy did not start")


def stop(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)  # (the official wrapper ignores SIGINT/SIGTERM)
    except ProcessLookupError:
        pass
    p.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--skip-official", action="store_true")
    a = ap.parse_args()
    msgs = messages(a.n)
    rows = {}
    for kind in (["ours"] if a.skip_official else ["ours", "official"]):
        res = {}
        for label, limit in (("no eviction (1 GiB)", "1GiB"), ("eviction (1 MiB)", "1MiB")):
            port = free_port()
            p = start(kind, port, limit)
            try:
                res[label + " msg/s"], res[label + " msg/CPU s"] = write_rate(port, msgs, p.pid)
            finally:
                stop(p)
        port = free_port()
        p = start(kind, port, "1GiB")
        try:
            res["behind 100 idle clients (s)"] = behind_idle(port, msgs)
        finally:
            stop(p)
        rows[kind] = res
    cols = list(rows["ours"])
    print(f"\n{a.n} small chunk messages, one writer stream\n")
    print("| proxy | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for kind, res in rows.items():
        print(f"| {kind} | " + " | ".join(f"{res[c]:.3f}" if "(s)" in c else f"{res[c]:,.0f}" for c in cols) + " |")
    if "official" in rows:
        print("| ratio ours/official | " + " | ".join(f"{rows['ours'][c] / rows['official'][c]:.2f}" for c in cols) + " |")
    ev = rows["ours"]["eviction (1 MiB) msg/CPU s"]
    idle = rows["ours"]["behind 100 idle clients (s)"]
    print("(msg/s is bound by the one Python client stream; msg/CPU s is what the proxy itself can take)")
    print(f"\ntargets: eviction >= 10,000 msg per proxy CPU s ({'met' if ev >= 10_000 else 'NOT met'}: {ev:,.0f}); "
          f"served within 1 s behind 100 idle clients ({'met' if idle <= 1.0 else 'NOT met'}: {idle:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
