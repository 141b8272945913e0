"""Who is on the other end of a loopback TCP connection: the local user that owns a socket.

Linux lists every TCP socket of a network namespace in ``/proc/net/tcp`` and ``/proc/net/tcp6``
(``proc(5)``): local and remote address as hex ``IP:PORT`` (IPv4 as a little-endian 32-bit word,
IPv6 as four of them), the state (``0A`` = LISTEN) and the owner's uid. A server can therefore
learn which local user a loopback client is — the client's own socket is the entry whose local
address is the server's peer address — and a client which user serves a port. The gRPC proxy,
whose protocol has no authentication, serves only its own user this way (and root); the bridge
streams only to a proxy its user (or root) runs. Elsewhere (no ``/proc``: not Linux) the owner is
unknown (None) and callers decide.
"""
from __future__ import annotations

import ipaddress
import os

__all__ = ["socket_owner", "listener_owner", "peer_owner", "trusted_uid"]

_LISTEN = "0A"


def _addr(hexaddr: str) -> tuple[str, int]:
    ip, port = hexaddr.split(":")
    raw = bytes.fromhex(ip)
    if len(raw) == 4:
        host = str(ipaddress.IPv4Address(raw[::-1]))
    else:
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        a = ipaddress.IPv6Address(words)
        host = str(a.ipv4_mapped) if a.ipv4_mapped else str(a)
    return host, int(port, 16)


def _rows():
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 8:
                continue
            try:
                yield _addr(parts[1]), _addr(parts[2]), parts[3], int(parts[7])
            except ValueError:
                continue


def _same_host(a: str, b: str) -> bool:
    def norm(h: str) -> str:
        h = h.strip("[]")
        return "127.0.0.1" if h in ("::1", "localhost") else h
    return norm(a) == norm(b)


def socket_owner(local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The uid owning the TCP socket with this local and remote address, or None (no such
    socket, or no ``/proc/net``)."""
    for loc, rem, _state, uid in _rows():
        if loc[1] == local[1] and rem[1] == remote[1] and _same_host(loc[0], local[0]) \
                and _same_host(rem[0], remote[0]):
            return uid
    return None


def listener_owner(port: int) -> int | None:
    """The uid owning the socket listening on ``port`` (any local address), or None."""
    for loc, _rem, state, uid in _rows():
        if state == _LISTEN and loc[1] == port:
            return uid
    return None


def peer_owner(peer: str, server_port: int) -> int | None:
    """The local uid of a gRPC peer (``context.peer()``: ``ipv4:127.0.0.1:54321`` or
    ``ipv6:[::1]:54321``) connected to our ``server_port``; None when it is not a local socket
    (another machine) or unknown."""
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return None
    host, _, port = rest.rpartition(":")
    try:
        p = int(port)
    except ValueError:
        return None
    host = host.strip("[]")
    if kind == "ipv4" and not host.startswith("127."):
        return None
    if kind == "ipv6" and host not in ("::1",) and not host.startswith("::ffff:127."):
        return None
    return socket_owner((host.replace("::ffff:", ""), p), (host.replace("::ffff:", ""), server_port))


def trusted_uid(uid: int | None) -> bool:
    """A uid this process may share recordings with: its own, or root's (who can read them
    anyway). None (unknown) is not trusted."""
    return uid is not None and (uid == os.getuid() or uid == 0)
