"""The lab's SMTP servers: STARTTLS with SNI-picked certificates, and every failure mode."""

from __future__ import annotations

import smtplib
import socket
import ssl
import warnings

import pytest

from tests.lab import Lab

pytestmark = pytest.mark.lab


def strict_context(lab: Lab) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=lab.ca_bundle)
    ctx.hostname_checks_common_name = False  # SAN only, as RFC 8461 asks
    return ctx


def weak_context(lab: Lab) -> ssl.SSLContext:
    ctx = strict_context(lab)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def connect(lab: Lab, host: str, timeout: float = 3) -> smtplib.SMTP:
    address = lab.address(host)
    assert address is not None
    client = smtplib.SMTP(timeout=timeout)
    client._host = host  # smtplib sends this as SNI in starttls()
    code, banner = client.connect(address, lab.ports.smtp)
    if code != 220:
        client.close()
        raise smtplib.SMTPConnectError(code, banner)
    return client


def starttls(lab: Lab, host: str, ctx: ssl.SSLContext | None = None) -> smtplib.SMTP:
    client = connect(lab, host)
    client.ehlo("checker.lab.test")
    client.starttls(context=ctx or strict_context(lab))
    return client


def test_healthy_host_offers_starttls_with_its_own_certificate(lab: Lab) -> None:
    client = connect(lab, "mx2.two-mx.lab.test")
    client.ehlo("checker.lab.test")
    assert client.has_extn("starttls")
    code, _ = client.starttls(context=strict_context(lab))
    assert code == 220
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert client.sock.getpeercert()["subjectAltName"] == (("DNS", "mx2.two-mx.lab.test"),)
    client.ehlo("checker.lab.test")
    assert not client.has_extn("starttls")  # not offered twice
    assert client.quit()[0] == 221


def test_wildcard_certificate(lab: Lab) -> None:
    client = starttls(lab, "mx1.wildcard.lab.test")
    assert client.sock.getpeercert()["subjectAltName"] == (("DNS", "*.wildcard.lab.test"),)
    client.quit()


def test_weak_host_speaks_only_old_tls(lab: Lab) -> None:
    with pytest.raises(ssl.SSLError):
        starttls(lab, "mx1.mx-weak-tls.lab.test")
    client = starttls(lab, "mx1.mx-weak-tls.lab.test", weak_context(lab))
    assert client.sock.version() == "TLSv1.1"
    client.quit()


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("mx1.mx-expired.lab.test", "certificate has expired"),
        ("mx1.mx-future-cert.lab.test", "certificate is not yet valid"),
        ("mx1.mx-untrusted.lab.test", "unable to get local issuer certificate"),
        ("mx1.mx-mismatch.lab.test", "Hostname mismatch"),
        ("mx1.mx-cn-only.lab.test", "Hostname mismatch"),
        ("mx1.mx-wildcard-too-deep-cert.lab.test", "Hostname mismatch"),
        ("mx2.mx-backup-broken.lab.test", "unable to get local issuer certificate"),
    ],
)
def test_bad_certificates(lab: Lab, host: str, reason: str) -> None:
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        starttls(lab, host)
    assert reason in info.value.verify_message


def test_no_starttls(lab: Lab) -> None:
    client = connect(lab, "mx1.mx-no-starttls.lab.test")
    client.ehlo("checker.lab.test")
    assert not client.has_extn("starttls")
    assert client.docmd("STARTTLS")[0] == 502
    client.quit()


def test_starttls_454(lab: Lab) -> None:
    with pytest.raises(smtplib.SMTPResponseException) as info:
        starttls(lab, "mx1.mx-starttls-454.lab.test")
    assert info.value.smtp_code == 454


def test_drop_after_starttls(lab: Lab) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError, smtplib.SMTPServerDisconnected)):
        starttls(lab, "mx1.mx-starttls-drop.lab.test")


def test_no_banner(lab: Lab) -> None:
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        connect(lab, "mx1.mx-no-banner.lab.test", timeout=0.3)


def test_garbage_banner(lab: Lab) -> None:
    with pytest.raises(smtplib.SMTPConnectError) as info:
        connect(lab, "mx1.mx-garbage-banner.lab.test")
    assert info.value.smtp_code == -1  # smtplib's "not an SMTP reply"


def test_banner_554(lab: Lab) -> None:
    with pytest.raises(smtplib.SMTPConnectError) as info:
        connect(lab, "mx1.mx-banner-554.lab.test")
    assert info.value.smtp_code == 554


def test_reset_refused_and_no_address(lab: Lab) -> None:
    with pytest.raises((ConnectionResetError, smtplib.SMTPServerDisconnected)):
        connect(lab, "mx1.mx-reset.lab.test")
    with pytest.raises(ConnectionRefusedError):
        connect(lab, "mx1.mx-refused.lab.test")
    assert lab.address("mx1.mx-no-address.lab.test") is None


def test_bench_hosts(lab: Lab) -> None:
    for host in ("mx1.bench-0007.lab.test", "mx2.bench-0007.lab.test"):
        client = starttls(lab, host)
        assert client.sock.getpeercert()["subjectAltName"] == (("DNS", "*.bench-0007.lab.test"),)
        client.quit()


def test_mx_host_behaviour_changes_at_runtime(lab: Lab) -> None:
    domain = "plain.lab.test"
    with lab.changed(domain):
        lab.set_mx_host(
            "mx1.plain.lab.test",
            lab.scenario("mx-expired.lab.test").mx_hosts["mx1.mx-expired.lab.test"],
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            starttls(lab, "mx1.plain.lab.test")
    starttls(lab, "mx1.plain.lab.test").quit()


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_tripwires_count_connections(lab: Lab, address: str) -> None:
    if not any(key.endswith(f"/{address}") for key in lab.tripwires):
        pytest.skip(f"{address} is not available on this machine")
    before = lab.stats.total("tripwire/")
    for port in (lab.ports.https, lab.ports.smtp):
        with socket.create_connection((address, port), timeout=3) as sock:
            sock.recv(1)
    assert lab.stats.total("tripwire/") == before + 2
