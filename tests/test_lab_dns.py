"""The lab's DNS server answers like an authoritative server, faults included."""

from __future__ import annotations

import socket

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.lab import Lab

pytestmark = pytest.mark.lab


def ask(lab: Lab, name: str, rdtype: str, *, tcp: bool = False, edns: bool = True):
    query = dns.message.make_query(name, rdtype, use_edns=0 if edns else False)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, "127.0.0.1", port=lab.ports.dns, timeout=3)


def texts(response: dns.message.Message, rdtype: str) -> list[str]:
    code = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rrset in response.answer if rrset.rdtype == code for rd in rrset)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_answers_txt_authoritatively(lab: Lab, tcp: bool) -> None:
    response = ask(lab, "_mta-sts.plain.lab.test", "TXT", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert texts(response, "TXT") == ['"v=STSv1; id=20240101T000000"']


def test_keeps_txt_strings_split(lab: Lab) -> None:
    response = ask(lab, "_mta-sts.split-txt.lab.test", "TXT")
    (rdata,) = response.answer[0]
    assert rdata.strings == (b"v=STSv1; id=2024", b"0101T000000;")


def test_follows_cname_inside_the_zone(lab: Lab) -> None:
    response = ask(lab, "_mta-sts.cname-ok.lab.test", "TXT")
    assert texts(response, "CNAME") == ["_mta-sts.cname-target.lab.test."]
    assert texts(response, "TXT") == ['"v=STSv1; id=viacname1"']


def test_nxdomain_carries_soa(lab: Lab) -> None:
    response = ask(lab, "no-such-name.lab.test", "A")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.answer == []
    assert response.authority[0].rdtype == dns.rdatatype.SOA


@pytest.mark.parametrize("name", ["mx1.plain.lab.test", "_tls.plain.lab.test"])
def test_no_data_is_noerror_with_soa(lab: Lab, name: str) -> None:
    # mx1 has only an A record; _tls.plain is an empty non-terminal above _smtp._tls.plain.
    response = ask(lab, name, "TXT")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert response.authority[0].rdtype == dns.rdatatype.SOA


def test_refuses_names_outside_the_zone(lab: Lab) -> None:
    assert ask(lab, "example.com", "A").rcode() == dns.rcode.REFUSED


def test_mx_and_addresses(lab: Lab) -> None:
    assert texts(ask(lab, "two-mx.lab.test", "MX"), "MX") == [
        "10 mx1.two-mx.lab.test.",
        "20 mx2.two-mx.lab.test.",
    ]
    assert texts(ask(lab, "mta-sts.plain.lab.test", "A"), "A") == ["127.0.1.1"]
    assert texts(ask(lab, "mx1.guard-v6.lab.test", "AAAA"), "AAAA") == ["::1"]
    assert texts(ask(lab, "null-mx.lab.test", "MX"), "MX") == ["0 ."]


def test_big_answer_is_truncated_over_udp_and_whole_over_tcp(lab: Lab) -> None:
    udp = ask(lab, "_mta-sts.tcp-fallback.lab.test", "TXT", edns=False)
    assert udp.flags & dns.flags.TC
    tcp = ask(lab, "_mta-sts.tcp-fallback.lab.test", "TXT", tcp=True)
    assert len(texts(tcp, "TXT")) == 9


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_servfail_fault(lab: Lab, tcp: bool) -> None:
    response = ask(lab, "_mta-sts.record-servfail.lab.test", "TXT", tcp=tcp)
    assert response.rcode() == dns.rcode.SERVFAIL


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_timeout_fault_never_answers(lab: Lab, tcp: bool) -> None:
    query = dns.message.make_query("_mta-sts.record-timeout.lab.test", "TXT")
    send = dns.query.tcp if tcp else dns.query.udp
    with pytest.raises(dns.exception.Timeout):
        send(query, "127.0.0.1", port=lab.ports.dns, timeout=0.3)


def test_survives_garbage_datagrams(lab: Lab) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00\x01not dns", ("127.0.0.1", lab.ports.dns))
    assert ask(lab, "_mta-sts.plain.lab.test", "TXT").rcode() == dns.rcode.NOERROR


def test_bench_domains_are_generated(lab: Lab) -> None:
    assert texts(ask(lab, "bench-0500.lab.test", "MX"), "MX") == [
        "10 mx1.bench-0500.lab.test.",
        "20 mx2.bench-0500.lab.test.",
    ]
    assert texts(ask(lab, "mx2.bench-0500.lab.test", "A"), "A") == ["127.0.2.1"]
    assert ask(lab, "bench-5.lab.test", "MX").rcode() == dns.rcode.NXDOMAIN


def test_records_change_at_runtime_and_reset(lab: Lab) -> None:
    domain = "plain.lab.test"
    with lab.changed(domain):
        lab.set_txt(f"_mta-sts.{domain}", [["v=STSv1; ", "id=changed1"], "other"])
        lab.set_mx(domain, [(5, "mx9.plain.lab.test")])
        lab.set_fault(f"_smtp._tls.{domain}", "servfail")
        response = ask(lab, f"_mta-sts.{domain}", "TXT")
        assert texts(response, "TXT") == ['"other"', '"v=STSv1; " "id=changed1"']
        assert texts(ask(lab, domain, "MX"), "MX") == ["5 mx9.plain.lab.test."]
        # a new MX host under lab.test becomes a healthy one with an address
        assert texts(ask(lab, "mx9.plain.lab.test", "A"), "A") == ["127.0.2.1"]
        assert ask(lab, f"_smtp._tls.{domain}", "TXT").rcode() == dns.rcode.SERVFAIL
        lab.remove_txt(f"_mta-sts.{domain}")
        assert ask(lab, f"_mta-sts.{domain}", "TXT").answer == []
    assert texts(ask(lab, f"_mta-sts.{domain}", "TXT"), "TXT") == ['"v=STSv1; id=20240101T000000"']
    assert texts(ask(lab, domain, "MX"), "MX") == ["10 mx1.plain.lab.test."]
    assert ask(lab, f"_smtp._tls.{domain}", "TXT").rcode() == dns.rcode.NOERROR
