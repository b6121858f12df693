"""Where the operator may send requests (webhooks, chat services, Prometheus): a policy of
address ranges, checked against every address a destination's host resolves to.

By default link-local addresses (169.254.0.0/16, fe80::/10) and the cloud metadata
services are refused: a namespace user who may write a NotificationChannel or an
AlertPolicy must not make the operator fetch its cloud credentials. Loopback and private
ranges stay allowed (in-cluster services live there). Operators change the policy with
`--allow-destination CIDR` and `--deny-destination CIDR`; the most specific range that
contains an address decides; of equally specific ones, the operator's deny, then the
operator's allow, then the default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESS = "169.254.169.254"
DEFAULT_DENIED = (
    "169.254.0.0/16",  # IPv4 link-local, where AWS, GCP, Azure and others serve metadata
    "fe80::/10",  # IPv6 link-local
    f"{METADATA_ADDRESS}/32",
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
"""Names of metadata services: refused as if they were METADATA_ADDRESS."""
DEFAULT_RULE = "link-local/metadata"


@dataclass(frozen=True)
class Rule:
    """One range and whether it is allowed; `origin` says where it comes from, `rank`
    which of two equally specific ranges wins (the higher)."""

    network: Network
    allowed: bool
    origin: str
    rank: int


def _network(cidr: str) -> Network:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{cidr!r} is not an IP address or CIDR range") from None


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class DestinationPolicy:
    """The allowed and refused address ranges. `DestinationPolicy()` is the safe default."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()

    @classmethod
    def from_flags(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> DestinationPolicy:
        """From `--allow-destination` and `--deny-destination` values; raises ValueError
        naming a value that is not a CIDR range or an address."""
        return cls(tuple(map(_network, allow)), tuple(map(_network, deny)))

    def _rules(self) -> list[Rule]:
        rules = [Rule(_network(cidr), False, DEFAULT_RULE, 0) for cidr in DEFAULT_DENIED]
        rules += [Rule(n, True, f"--allow-destination {n}", 1) for n in self.allow]
        rules += [Rule(n, False, f"--deny-destination {n}", 2) for n in self.deny]
        return rules

    def decide(self, address: Address) -> Rule | None:
        """The rule that decides `address`: the most specific, by rank on a tie; None if
        no rule contains it (allowed)."""
        matching = [r for r in self._rules() if r.network.version == address.version]
        matching = [r for r in matching if address in r.network]
        if not matching:
            return None
        return max(matching, key=lambda r: (r.network.prefixlen, r.rank))

    def refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        """Why requests to `host`, which resolves to `addresses`, are refused; None if they
        are allowed. Every address must be allowed (a resolver may return any of them)."""
        name = host.strip("[]").rstrip(".").lower()
        candidates = list(addresses)
        if name in METADATA_HOSTS:
            candidates.append(METADATA_ADDRESS)
        if (literal := _address(name)) is not None:
            candidates.append(str(literal))
        for text in candidates:
            address = _address(text)
            if address is None:
                continue
            rule = self.decide(address)
            if rule is not None and not rule.allowed:
                shown = str(address) if str(address) == name else f"{host} ({address})"
                return (
                    f"destination {shown} is not allowed ({rule.origin}); see --allow-destination"
                )
        return None
