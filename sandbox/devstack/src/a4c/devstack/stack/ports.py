"""Where each part listens: fixed default ports, or all of them moved together by a port base.

The defaults are the ones people already know (Temporal 7233 and its UI 8233, the `a4c` CLI's
default provisioning address :50051); `--port-base N` puts every part at N + its offset instead, so
a second stack (the tests) never collides with a running one. Ports are checked free before anything
starts: a busy port is reported at once, naming the part, instead of a part dying half-way up.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

# name → (default port, offset from a port base). Order: the order parts are listed in messages.
PORTS: dict[str, tuple[int, int]] = {
    "provisioning": (50051, 0),
    "dns": (50052, 1),
    "identity": (50053, 2),
    "worker-health": (50054, 3),
    "postgres": (55432, 4),
    "temporal": (7233, 5),
    "temporal-ui": (8233, 6),
    "sandbox-cloudflare": (8787, 7),
    "sandbox-zitadel": (8788, 8),
    "sandbox-dns": (8053, 9),
    # Each part's GET /metrics (A4C_METRICS_PORT): Prometheus's own 9090 is left to a local Prometheus.
    "provisioning-metrics": (9101, 10),
    "dns-metrics": (9102, 11),
    "identity-metrics": (9103, 12),
    "worker-metrics": (9104, 13),
    # The operators' web console (HTTP).
    "console": (8090, 14),
}
METRICS_PARTS = ("provisioning", "dns", "identity", "worker")
# Ports that are also bound over UDP (the authoritative DNS server answers on both).
UDP_TOO = frozenset({"sandbox-dns"})
SPAN = max(offset for _, offset in PORTS.values()) + 1


@dataclass(frozen=True)
class BusyPort:
    name: str
    port: int
    reason: str

    def __str__(self) -> str:
        return f"port {self.port} ({self.name}) is {self.reason}"


def layout(base: int | None) -> dict[str, int]:
    """Every part's port: the defaults, or base + offset."""
    if base is None:
        return {name: default for name, (default, _) in PORTS.items()}
    return {name: base + offset for name, (_, offset) in PORTS.items()}


def busy_ports(ports: dict[str, int], host: str = "127.0.0.1") -> list[BusyPort]:
    """The ports among `ports` that cannot be bound on `host` right now."""
    busy: list[BusyPort] = []
    for name, port in ports.items():
        kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if name in UDP_TOO else [])
        for kind in kinds:
            problem = _bind_problem(host, port, kind)
            if problem:
                busy.append(BusyPort(name, port, problem))
                break
    return busy


def _bind_problem(host: str, port: int, kind: socket.SocketKind) -> str | None:
    with socket.socket(socket.AF_INET, kind) as sock:
        # SO_REUSEADDR as the servers set it: a port in TIME_WAIT after a stop is free for them too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "already in use" + (" (UDP)" if kind == socket.SOCK_DGRAM else "")
            if exc.errno == errno.EACCES:
                return "not allowed for this user"
            return f"not usable: {exc.strerror}"
    return None
