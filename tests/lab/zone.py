"""The lab's DNS data: a mutable, thread-safe map of rrsets under ``lab.test.``.

Tests change records from their own thread while the DNS server answers from the lab's
event-loop thread, so every read and write goes through one lock. Names under a
registered generator (the bench domains) are synthesised on demand instead of stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

ORIGIN = dns.name.from_text("lab.test.")
# TTL 0: a test that changes a record and checks again must never see a cached answer.
TTL = 0
SOA_TEXT = "ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 0"
MAX_CNAME_CHAIN = 8

TxtRecord = str | Sequence[str]
Rdatas = list[dns.rdata.Rdata]
Node = dict[int, dns.rrset.RRset]
Generator = Callable[[dns.name.Name], Node | None]


class Fault(StrEnum):
    """How the server misbehaves for one name."""

    SERVFAIL = "servfail"
    TIMEOUT = "timeout"  # never answer, over UDP or TCP


def to_name(name: str | dns.name.Name) -> dns.name.Name:
    """An absolute, lower-case name; relative names are taken as absolute."""
    if isinstance(name, dns.name.Name):
        return name.canonicalize()
    text = name if name.endswith(".") else name + "."
    return dns.name.from_text(text).canonicalize()


def txt_rdata(record: TxtRecord) -> dns.rdata.Rdata:
    """One TXT rdata; a sequence of strings stays split into separate strings."""
    strings = [record] if isinstance(record, str) else list(record)
    quoted = " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, quoted)


def rdata(rdtype: str | int, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.RdataType.make(rdtype), text)


@dataclass
class Answer:
    """What the server puts in the response for one question."""

    rcode: int = dns.rcode.NOERROR
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    drop: bool = False


class Zone:
    """The records of ``lab.test.``; all methods are safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # RRsets are built once when written: building them per query (hashing every
        # rdata) was most of the cost of an answer.
        self._data: dict[dns.name.Name, Node] = {}
        self._faults: dict[dns.name.Name, Fault] = {}
        self._generators: list[Generator] = []
        self.put(ORIGIN, "SOA", [rdata("SOA", SOA_TEXT)])
        self.put(ORIGIN, "NS", [rdata("NS", "ns.lab.test.")])
        self.put("ns.lab.test", "A", [rdata("A", "127.0.0.1")])

    # -- writing ---------------------------------------------------------------------
    def put(self, name: str | dns.name.Name, rdtype: str | int, rdatas: Iterable[dns.rdata.Rdata]):
        """Replace the rrset of one type at a name (an empty list removes it)."""
        key = to_name(name)
        if not key.is_subdomain(ORIGIN):
            raise ValueError(f"{key} is outside {ORIGIN}")
        code = dns.rdatatype.RdataType.make(rdtype)
        items = list(rdatas)
        with self._lock:
            node = self._data.setdefault(key, {})
            if items:
                node[code] = to_rrset(key, code, items)
            else:
                node.pop(code, None)
            if not node:
                del self._data[key]

    def remove(self, name: str | dns.name.Name, rdtype: str | int | None = None) -> None:
        """Remove one type at a name, or the whole name when no type is given."""
        key = to_name(name)
        with self._lock:
            if rdtype is None:
                self._data.pop(key, None)
            else:
                self.put(key, rdtype, [])

    def remove_subtree(self, name: str | dns.name.Name) -> None:
        """Remove a name, every name below it, and their faults."""
        top = to_name(name)
        with self._lock:
            for key in [k for k in self._data if k.is_subdomain(top)]:
                del self._data[key]
            for key in [k for k in self._faults if k.is_subdomain(top)]:
                del self._faults[key]

    def set_fault(self, name: str | dns.name.Name, fault: Fault | str | None) -> None:
        """Make the server SERVFAIL or stay silent for a name; ``None`` clears it."""
        key = to_name(name)
        with self._lock:
            if fault is None:
                self._faults.pop(key, None)
            else:
                self._faults[key] = Fault(fault)

    def add_generator(self, generator: Generator) -> None:
        """Synthesise records for names no one stored (the bench domains)."""
        with self._lock:
            self._generators.append(generator)

    # -- reading ---------------------------------------------------------------------
    def get(self, name: str | dns.name.Name, rdtype: str | int) -> Rdatas:
        node = self._node(to_name(name))
        rrset = node.get(dns.rdatatype.RdataType.make(rdtype)) if node else None
        return list(rrset) if rrset is not None else []

    def names(self) -> list[dns.name.Name]:
        with self._lock:
            return sorted(self._data)

    def _node(self, name: dns.name.Name) -> Node | None:
        with self._lock:
            node = self._data.get(name)
            if node is not None:
                return dict(node)
            generators = list(self._generators)
        for generator in generators:
            generated = generator(name)
            if generated:
                return generated
        return None

    def _exists(self, name: dns.name.Name) -> bool:
        """A stored name, a generated one, or an empty non-terminal above one."""
        if self._node(name) is not None:
            return True
        with self._lock:
            return any(other.is_subdomain(name) for other in self._data)

    def lookup(self, qname: dns.name.Name, qtype: int) -> Answer:
        """The authoritative answer, following CNAMEs inside the zone."""
        qname = qname.canonicalize()
        result = Answer()
        if not qname.is_subdomain(ORIGIN):
            result.rcode = dns.rcode.REFUSED  # authoritative only: no recursion
            return result
        name = qname
        for _ in range(MAX_CNAME_CHAIN):
            with self._lock:
                fault = self._faults.get(name)
            if fault is Fault.TIMEOUT:
                result.drop = True
                return result
            if fault is Fault.SERVFAIL:
                return Answer(rcode=dns.rcode.SERVFAIL)
            node = self._node(name)
            if node is None:
                if not self._exists(name):
                    result.rcode = dns.rcode.NXDOMAIN
                self._add_soa(result)
                return result
            cname = node.get(dns.rdatatype.CNAME)
            if cname and qtype != dns.rdatatype.CNAME:
                result.answer.append(cname)
                target = next(iter(cname)).target.canonicalize()  # type: ignore[attr-defined]
                if not target.is_subdomain(ORIGIN):
                    return result  # out of zone: the resolver follows it elsewhere
                name = target
                continue
            if qtype == dns.rdatatype.ANY:
                result.answer += [rrset for _, rrset in sorted(node.items())]
            elif qtype in node:
                result.answer.append(node[qtype])
            else:
                self._add_soa(result)  # NOERROR, no data
            return result
        result.rcode = dns.rcode.SERVFAIL  # CNAME loop
        result.answer.clear()
        return result

    def _add_soa(self, result: Answer) -> None:
        with self._lock:
            result.authority.append(self._data[ORIGIN][dns.rdatatype.SOA])


def to_rrset(name: dns.name.Name, rdtype: int, items: Rdatas) -> dns.rrset.RRset:
    """An RRset (TTL 0) of ``items`` at ``name``."""
    rrset = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.RdataType.make(rdtype))
    for item in items:
        rrset.add(item, TTL)
    return rrset


def respond(zone: Zone, wire: bytes) -> dns.message.Message | None:
    """The response to one query in wire format, or ``None`` to stay silent."""
    try:
        query = dns.message.from_wire(wire)
    except Exception:
        return None  # not DNS: a real server drops it too
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    response.flags &= ~dns.flags.RA
    if query.opcode() != 0 or len(query.question) != 1:
        response.set_rcode(dns.rcode.NOTIMP if query.opcode() != 0 else dns.rcode.FORMERR)
        return response
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        response.set_rcode(dns.rcode.REFUSED)
        return response
    result = zone.lookup(question.name, question.rdtype)
    if result.drop:
        return None
    response.set_rcode(result.rcode)
    response.answer = result.answer
    response.authority = result.authority
    return response
