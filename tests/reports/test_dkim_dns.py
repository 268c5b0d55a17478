"""dnsfunc_from_resolver: DKIM keys fetched by dnspython from a DNS server on loopback."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator

import dkim
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reports.dkim_check import dnsfunc_from_resolver, verify_dkim

KEY_NAME = "lab._domainkey.sender.example."
MESSAGE = (
    b"From: tlsrpt@sender.example\r\nTo: reports@example.com\r\n"
    b"Subject: report\r\nTLS-Report-Domain: example.com\r\n\r\nbody\r\n"
)


class TxtServer:
    """Answers TXT queries for one name over UDP on 127.0.0.1; NXDOMAIN for others."""

    def __init__(self, name: str, text: bytes) -> None:
        self.name, self.text = name, text
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:  # closed by stop()
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            if question.name.to_text() == self.name and question.rdtype == dns.rdatatype.TXT:
                # TXT strings are at most 255 bytes: split the key record like a zone file.
                chunks = [self.text[i : i + 255] for i in range(0, len(self.text), 255)]
                quoted = " ".join('"' + chunk.decode() + '"' for chunk in chunks)
                response.answer.append(dns.rrset.from_text(self.name, 60, "IN", "TXT", quoted))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def resolver(key: rsa.RSAPrivateKey) -> Iterator[dns.resolver.Resolver]:
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    server = TxtServer(KEY_NAME, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))
    server.thread.start()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    yield resolver
    server.stop()


def sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return dkim.sign(message, b"lab", b"sender.example", pem) + message


def test_key_served_on_loopback_verifies(
    key: rsa.RSAPrivateKey, resolver: dns.resolver.Resolver
) -> None:
    result = verify_dkim(sign(key, MESSAGE), dnsfunc_from_resolver(resolver))
    assert result.status == "pass"
    assert result.domains == ["sender.example"]


def test_unknown_selector_fails(key: rsa.RSAPrivateKey, resolver: dns.resolver.Resolver) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signed = dkim.sign(MESSAGE, b"other", b"sender.example", pem) + MESSAGE
    assert verify_dkim(signed, dnsfunc_from_resolver(resolver)).status == "fail"
