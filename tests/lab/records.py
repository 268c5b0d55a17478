"""Turn a :class:`Scenario` into DNS records (a pure function, shared by zone and bench)."""

from __future__ import annotations

import ipaddress

import dns.name
import dns.rdatatype

from tests.lab.scenarios import Scenario
from tests.lab.zone import Rdatas, rdata, to_name, txt_rdata

Records = dict[dns.name.Name, dict[int, Rdatas]]


def address_rdatas(addresses: tuple[str, ...] | list[str]) -> dict[int, Rdatas]:
    """A and AAAA rdatas for a list of IP addresses."""
    out: dict[int, Rdatas] = {}
    for address in addresses:
        kind = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
        out.setdefault(dns.rdatatype.RdataType.make(kind), []).append(rdata(kind, address))
    return out


def scenario_records(s: Scenario) -> Records:
    """Every record the scenario needs, by name and type."""
    records: Records = {}

    def put(name: str, rdtype: str, items: Rdatas) -> None:
        if items:
            records.setdefault(to_name(name), {})[dns.rdatatype.RdataType.make(rdtype)] = items

    def put_addresses(name: str, addresses: list[str]) -> None:
        for rdtype, items in address_rdatas(addresses).items():
            records.setdefault(to_name(name), {})[rdtype] = items

    put(f"_mta-sts.{s.domain}", "TXT", [txt_rdata(r) for r in s.sts])
    put(f"_smtp._tls.{s.domain}", "TXT", [txt_rdata(r) for r in s.tlsrpt])
    put(s.domain, "MX", [rdata("MX", f"{pref} {host}.") for pref, host in s.mx])
    policy_address = s.policy.address()
    put_addresses(s.policy_host, [policy_address] if policy_address else [])
    for host, spec in s.mx_hosts.items():
        address = spec.address()
        put_addresses(host, [address] if address else [])
    for host, addresses in s.addresses.items():
        records.pop(to_name(host), None)  # a fixed address replaces the behaviour's one
        put_addresses(host, list(addresses))
    for name, target in s.cnames.items():
        put(name, "CNAME", [rdata("CNAME", target.rstrip(".") + ".")])
    for name, txts in s.txt.items():
        put(name, "TXT", [txt_rdata(r) for r in txts])
    return records
