"""The client's address: the peer, or, behind trusted proxies, the right-most hop of
`X-Forwarded-For` that no trusted proxy added (everything left of it is the client's
own say, and a client can write anything there)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """`10.0.0.1,10.1.0.0/16,::1` as networks; ValueError for anything else."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in raw.split(",") if p.strip())


def client_address(peer: str | None, forwarded: str, trusted: Sequence[Network]) -> str:
    """Who to count a request against, given the peer and its X-Forwarded-For."""
    peer = peer or "unknown"
    if not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
