"""Certificate verdicts: dates, names (SAN only) and trust, each judged on its own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitoring.checks.certs import inspect_chain, trust_store

NOW = dt.datetime.now(dt.UTC)
HOST = "mx1.example.com"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def der_chain(leaf: trustme.LeafCert) -> list[bytes]:
    return [
        x509.load_pem_x509_certificate(blob.bytes()).public_bytes(serialization.Encoding.DER)
        for blob in leaf.cert_chain_pems
    ]


def verdict(chain: list[bytes], bundle: str, host: str = HOST, days: int = 14):
    return inspect_chain(chain, host, ca_bundle=bundle, warning_days=days, now=NOW)


def cn_only_cert(ca: trustme.CA, name: str) -> bytes:
    """A certificate with the name only in the subject CN, as the old practice was."""
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    issuer_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=90))
        .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_valid_certificate_facts(ca: trustme.CA, bundle: str) -> None:
    leaf = ca.issue_cert(HOST, "other.example.com", not_after=NOW + dt.timedelta(days=60))
    result = verdict(der_chain(leaf), bundle)
    assert result.valid and result.problems() == [] and result.expiring is None
    facts = result.facts
    assert facts["sans"] == [HOST, "other.example.com"]
    assert facts["trusted"] is True and facts["name_matches"] is True
    assert facts["days_left"] in (59, 60)
    assert len(facts["fingerprint_sha256"]) == 64
    assert facts["key_type"].startswith(("EC ", "RSA "))
    assert dt.datetime.fromisoformat(facts["not_after"]) > NOW
    assert "trustme" in facts["issuer"]


def test_chain_through_an_intermediate(ca: trustme.CA, bundle: str) -> None:
    leaf = ca.create_child_ca().issue_cert(HOST)
    chain = der_chain(leaf)
    assert len(chain) == 2
    assert verdict(chain, bundle).valid
    missing = verdict(chain[:1], bundle)
    assert missing.trust_error is not None and "no intermediate" in missing.trust_error
    assert missing.expired is None and missing.name_error is None


def test_unknown_ca_is_untrusted_only(bundle: str) -> None:
    rogue = trustme.CA(organization_name="rogue CA")
    result = verdict(der_chain(rogue.issue_cert(HOST)), bundle)
    assert result.trust_error is not None and "rogue CA" in result.trust_error
    assert result.expired is None and result.name_error is None


def test_self_signed_is_named_as_such(bundle: str) -> None:
    lone = trustme.CA()
    chain = [
        x509.load_pem_x509_certificate(lone.cert_pem.bytes()).public_bytes(
            serialization.Encoding.DER
        )
    ]
    result = verdict(chain, bundle)
    assert result.trust_error is not None and "self-signed" in result.trust_error


def test_expired_is_expired_not_untrusted(ca: trustme.CA, bundle: str) -> None:
    leaf = ca.issue_cert(
        HOST, not_before=NOW - dt.timedelta(days=90), not_after=NOW - dt.timedelta(days=3)
    )
    result = verdict(der_chain(leaf), bundle)
    assert result.expired is not None and result.expired.startswith("expired on")
    assert "3 day(s) ago" in result.expired
    assert result.trust_error is None and result.name_error is None and result.expiring is None


def test_not_yet_valid_counts_as_outside_dates(ca: trustme.CA, bundle: str) -> None:
    leaf = ca.issue_cert(
        HOST, not_before=NOW + dt.timedelta(days=10), not_after=NOW + dt.timedelta(days=100)
    )
    result = verdict(der_chain(leaf), bundle)
    assert result.expired is not None and result.expired.startswith("not valid before")
    assert result.trust_error is None


@pytest.mark.parametrize(("days_left", "window", "expiring"), [(5, 14, True), (5, 3, False)])
def test_expiring_window(
    ca: trustme.CA, bundle: str, days_left: int, window: int, expiring: bool
) -> None:
    leaf = ca.issue_cert(HOST, not_after=NOW + dt.timedelta(days=days_left, hours=1))
    result = verdict(der_chain(leaf), bundle, days=window)
    assert result.valid
    assert (result.expiring is not None) is expiring


@pytest.mark.parametrize(
    ("san", "host", "matches"),
    [
        ("*.example.com", "mx1.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        ("wrong-name.example.net", "mx1.example.com", False),
        ("MX1.EXAMPLE.COM", "mx1.example.com", True),
    ],
)
def test_name_matching_uses_the_san(
    ca: trustme.CA, bundle: str, san: str, host: str, matches: bool
) -> None:
    result = verdict(der_chain(ca.issue_cert(san)), bundle, host=host)
    assert (result.name_error is None) is matches
    assert result.trust_error is None
    if not matches:
        assert host in result.name_error and san in result.name_error


def test_name_in_cn_only_is_a_mismatch(ca: trustme.CA, bundle: str) -> None:
    result = verdict([cn_only_cert(ca, HOST)], bundle)
    assert result.name_error is not None and "no DNS subjectAltName" in result.name_error
    assert result.trust_error is None and result.expired is None


def test_no_certificate_and_garbage(bundle: str) -> None:
    assert verdict([], bundle).trust_error == "the server presented no certificate"
    garbage = verdict([b"\x30\x03\x02\x01\x00"], bundle)
    assert garbage.trust_error is not None and "cannot be parsed" in garbage.trust_error


def test_unreadable_bundle_is_untrusted_not_a_crash(ca: trustme.CA, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificates here\n")
    result = verdict(der_chain(ca.issue_cert(HOST)), str(empty))
    assert result.trust_error is not None and "no trusted roots" in result.trust_error


def test_system_store_loads() -> None:
    assert trust_store(None) is not None
