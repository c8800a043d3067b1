"""Where webhooks may go. A change manager names a URL and the server POSTs audit data to it, so a
URL must never reach the server's own neighbourhood: loopback, private, link-local, multicast,
reserved and cloud-metadata addresses are refused when a subscription is saved, and again at
each delivery, where the host is resolved, every address checked, and the checked address is the
one connected to (a name that resolved to a public address at save time may not later point at
169.254.169.254). Operators allow on-premises receivers with WEBHOOK_ALLOWED_NETWORKS.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Metadata services answer on these even where link-local and private ranges are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# IPv6 prefixes that carry an IPv4 address inside them (NAT64, 6to4).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


class UnsafeDestination(ValueError):
    """The URL or one of its addresses is not a place webhooks may go."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query
    addresses: tuple[str, ...]


def _allowed_entries() -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], set[str]]:
    networks, hosts = [], set()
    for entry in settings.WEBHOOK_ALLOWED_NETWORKS:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return networks, hosts


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR:
        return address.sixtofour
    return None


def refusal(address: IPAddress, *, host_allowed: bool = False) -> str | None:
    """Why webhooks may not go to `address`, or None when they may."""
    networks, _hosts = _allowed_entries()
    if any(address in network for network in networks):
        return None
    if address in METADATA_ADDRESSES:
        return _("%(address)s is a cloud metadata address.") % {"address": address}
    if host_allowed:
        return None
    inner = _embedded_ipv4(address)
    if inner is not None:
        return refusal(inner)
    if address.is_loopback:
        kind = _("a loopback address")
    elif address.is_link_local:
        kind = _("a link-local address")
    elif address.is_multicast:
        kind = _("a multicast address")
    elif address.is_private:
        kind = _("a private address")
    elif address.is_reserved or address.is_unspecified or not address.is_global:
        kind = _("a reserved address")
    else:
        return None
    return _("%(address)s is %(kind)s.") % {"address": address, "kind": kind}


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an acceptable URL, or UnsafeDestination."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeDestination(_("The URL is malformed.")) from error
    schemes = ("https",) if settings.WEBHOOK_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in schemes:
        raise UnsafeDestination(_("Webhook URLs must use https."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeDestination(_("The URL names no host."))
    if parts.username or parts.password:
        raise UnsafeDestination(_("Put no credentials in the URL; use the signing secret."))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), target


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check(url: str, *, resolver: Resolver | None = None, must_resolve: bool = True) -> Destination:
    """The destination of `url` with every address it resolves to checked.

    At save time (`must_resolve=False`) a name that does not resolve yet is accepted: it is
    checked again, like every name, when each delivery is sent.
    """
    scheme, host, port, target = parse(url)
    _networks, allowed_hosts = _allowed_entries()
    host_allowed = host.lower() in allowed_hosts
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    elif not host_allowed and (host.lower() == "localhost" or host.lower().endswith(".localhost")):
        raise UnsafeDestination(_("%(host)s is this machine.") % {"host": host})
    else:
        try:
            addresses = (resolver or resolve)(host, port)
        except OSError as error:
            if must_resolve:
                raise UnsafeDestination(_("%(host)s does not resolve.") % {"host": host}) from error
            addresses = []
    if must_resolve and not addresses:
        raise UnsafeDestination(_("%(host)s does not resolve.") % {"host": host})
    for address in addresses:
        reason = refusal(ipaddress.ip_address(address.split("%")[0]), host_allowed=host_allowed)
        if reason:
            raise UnsafeDestination(reason)
    return Destination(scheme, host, port, target, tuple(addresses))
