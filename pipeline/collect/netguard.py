"""SSRF guard: the collector only connects to public addresses unless a host is explicitly allowed.

Feeds are untrusted input: an item link or a redirect can point at 127.0.0.1, a cloud metadata endpoint
(169.254.169.254) or an office network. The check runs inside the HTTP client's connect step, on the very
addresses the socket then connects to, so a name that resolves to a public address when checked and to a
private one when connected (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddressError(Exception):
    """Connecting to this host was refused by the address policy (not a network failure, never retried)."""

    def __init__(self, host: str, addresses: Iterable[str]) -> None:
        self.host = host
        self.addresses = tuple(addresses)
        super().__init__(f"{host} resolves to non-public address(es) {', '.join(self.addresses)}")


class NameResolutionError(httpcore.ConnectError):
    """DNS lookup failed. A ConnectError so httpx reports it like any other connection failure."""


# IPv6 prefixes that carry an IPv4 address in their last 32 bits, which a translator or relay on the path
# then reaches: 64:ff9b::/96 (NAT64, RFC 6052), ::/96 (the deprecated IPv4-compatible form).
_EMBEDDING_LAST_32 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
# Never public, whatever they carry: local-use NAT64 (RFC 8215; Python 3.11 counts it as global), and
# Teredo (2001::/32), whose client address is obscured.
_NEVER_PUBLIC = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("2001::/32"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002:aabb:ccdd::/48),
    NAT64 (64:ff9b::a.b.c.d) or IPv4-compatible (::a.b.c.d); None for a plain IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    for network in _EMBEDDING_LAST_32:
        if ip in network and int(ip) > 1:  # :: and ::1 are themselves, not 0.0.0.0 and 0.0.0.1
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NEVER_PUBLIC):
            return False
        inner = embedded_ipv4(ip)
        if inner is not None:
            # 2002:a00:1:: is 10.0.0.1 behind a 6to4 relay; 64:ff9b::7f00:1 is 127.0.0.1 behind NAT64.
            return is_public(inner)
    # is_global excludes private, loopback, link-local, shared (100.64/10), reserved and documentation ranges.
    return ip.is_global and not ip.is_multicast


Origin = tuple[str, int]  # (host as written in the URL, port)


def _host_key(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


class AddressPolicy:
    """Which hosts may resolve to non-public addresses: names, IP literals or networks (CIDR), for every
    request (the settings' ``allow_private_hosts``), and origins (host and port) for the requests of one feed
    (its ``allow_private``; see ``with_origin``)."""

    def __init__(self, allowed: Iterable[str] = (), *, origins: Iterable[Origin] = ()) -> None:
        self._names: set[str] = set()
        self._networks: list[IPNetwork] = []
        self._origins = frozenset((_host_key(host), port) for host, port in origins)
        for entry in allowed:
            self.allow(entry)

    def with_origin(self, origin: Origin) -> AddressPolicy:
        """This policy, plus ``origin`` exactly: that host name (or IP literal) as written, on that port. Not
        other names that resolve to the same address, not other ports: a feed's allowance is for its server."""
        scoped = AddressPolicy(origins={*self._origins, origin})
        scoped._names = set(self._names)
        scoped._networks = list(self._networks)
        return scoped

    def allow(self, entry: str) -> None:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            return
        try:
            self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            self._names.add(entry)

    def permits(self, host: str, ip: IPAddress, port: int | None = None) -> bool:
        if is_public(ip):
            return True
        name = _host_key(host)
        if name in self._names or (port is not None and (name, port) in self._origins):
            return True
        return any(ip.version == net.version and ip in net for net in self._networks)


async def resolve(host: str, port: int, timeout: float | None) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise NameResolutionError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, checks every address, then connects to a checked one."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port, timeout)
        # One bad address is enough to refuse: which one the OS would pick is not ours to predict.
        refused = [a for a in addresses if not self.policy.permits(host, ipaddress.ip_address(a), port)]
        if refused:
            raise BlockedAddressError(host, refused)
        last_error: Exception | None = None
        for address in addresses:
            try:
                # TLS still verifies and sends SNI for ``host``: httpcore passes the name separately.
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError(path, ["unix socket"])

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
