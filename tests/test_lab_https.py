"""The lab's policy servers: certificates by SNI, and every hostile behaviour as promised.

These speak to the servers with plain clients (httpx, ssl sockets) verifying against the
lab CA, so the lab is known good before the engine is judged against it.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl

import httpx
import pytest

from tests.lab import Lab
from tests.lab.certs import EXPIRING_DAYS
from tests.lab.https_server import HUGE_BYTES

pytestmark = pytest.mark.lab

LIMIT = 64 * 1024


def get(lab: Lab, domain: str, *, verify: bool = True, timeout: float = 3) -> httpx.Response:
    host = f"mta-sts.{domain}"
    address = lab.address(host)
    assert address is not None
    ctx = ssl.create_default_context(cafile=lab.ca_bundle)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with httpx.Client(verify=ctx, timeout=timeout, follow_redirects=False) as client:
        return client.get(
            f"https://{address}:{lab.ports.https}/.well-known/mta-sts.txt",
            headers={"Host": host},
            extensions={"sni_hostname": host},
        )


def strict_context(lab: Lab) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=lab.ca_bundle)
    # Python matches the CN when a certificate has no SAN unless told not to; MTA-STS
    # (RFC 8461 3.3, RFC 6125) goes by SAN only.
    ctx.hostname_checks_common_name = False
    return ctx


def tls_connect(lab: Lab, domain: str, ctx: ssl.SSLContext | None = None) -> ssl.SSLSocket:
    host = f"mta-sts.{domain}"
    address = lab.address(host)
    assert address is not None
    ctx = ctx or strict_context(lab)
    raw = socket.create_connection((address, lab.ports.https), timeout=3)
    return ctx.wrap_socket(raw, server_hostname=host)


def test_serves_the_policy(lab: Lab) -> None:
    response = get(lab, "plain.lab.test")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.content == lab.policy_body("plain.lab.test")
    assert b"mx: mx1.plain.lab.test" in response.content


@pytest.mark.parametrize(
    ("domain", "raw"),
    [
        ("crlf-policy.lab.test", b"version: STSv1\r\nmode: enforce\r\n"),
        ("policy-bom.lab.test", b"\xef\xbb\xbfversion: STSv1\n"),
    ],
)
def test_serves_exact_bytes(lab: Lab, domain: str, raw: bytes) -> None:
    assert get(lab, domain).content.startswith(raw)


def test_lf_policy_has_no_final_line_end(lab: Lab) -> None:
    body = get(lab, "lf-policy.lab.test").content
    assert b"\r" not in body
    assert not body.endswith(b"\n")


def test_certificate_is_picked_by_sni(lab: Lab) -> None:
    with tls_connect(lab, "two-mx.lab.test") as sock:
        cert = sock.getpeercert()
    assert cert["subjectAltName"] == (("DNS", "mta-sts.two-mx.lab.test"),)


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("policy-expired-cert.lab.test", "certificate has expired"),
        ("policy-future-cert.lab.test", "certificate is not yet valid"),
        ("policy-untrusted-cert.lab.test", "unable to get local issuer certificate"),
        ("policy-wrong-name-cert.lab.test", "Hostname mismatch"),
        ("policy-cn-only-cert.lab.test", "Hostname mismatch"),
    ],
)
def test_bad_certificates_fail_verification(lab: Lab, domain: str, reason: str) -> None:
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        tls_connect(lab, domain)
    assert reason in info.value.verify_message


def test_cn_only_certificate_has_the_name_in_the_cn_alone(lab: Lab) -> None:
    loose = ssl.create_default_context(cafile=lab.ca_bundle)  # CN fallback on
    with tls_connect(lab, "policy-cn-only-cert.lab.test", loose) as sock:
        cert = sock.getpeercert()
    assert "subjectAltName" not in cert
    assert cert["subject"] == ((("commonName", "mta-sts.policy-cn-only-cert.lab.test"),),)


def test_expiring_certificate_is_valid_but_short(lab: Lab) -> None:
    with tls_connect(lab, "policy-expiring-cert.lab.test") as sock:
        not_after = ssl.cert_time_to_seconds(sock.getpeercert()["notAfter"])
    left = dt.datetime.fromtimestamp(not_after, dt.UTC) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=EXPIRING_DAYS - 1) < left <= dt.timedelta(days=EXPIRING_DAYS)


@pytest.mark.parametrize(
    ("domain", "status", "content_type"),
    [
        ("policy-404.lab.test", 404, "text/plain"),
        ("policy-500.lab.test", 500, "text/plain"),
        ("policy-html.lab.test", 200, "text/html; charset=utf-8"),
        ("charset.lab.test", 200, "text/plain; charset=utf-8"),
        ("policy-no-content-type.lab.test", 200, None),
    ],
)
def test_status_and_content_type(lab: Lab, domain: str, status: int, content_type: str | None):
    response = get(lab, domain)
    assert response.status_code == status
    assert response.headers.get("content-type") == content_type


def test_redirects(lab: Lab) -> None:
    moved = get(lab, "policy-redirect.lab.test")
    assert moved.status_code == 301
    assert moved.headers["location"].startswith("https://mta-sts.plain.lab.test/")
    loop = get(lab, "policy-redirect-loop.lab.test")
    assert loop.status_code == 302
    assert loop.headers["location"] == (
        "https://mta-sts.policy-redirect-loop.lab.test/.well-known/mta-sts.txt"
    )


def test_over_64k_body(lab: Lab) -> None:
    response = get(lab, "policy-too-large.lab.test")
    assert int(response.headers["content-length"]) > LIMIT
    assert response.content.startswith(b"version: STSv1\n")


@pytest.mark.parametrize("domain", ["policy-huge.lab.test", "policy-huge-chunked.lab.test"])
def test_huge_bodies_stream_and_tolerate_a_client_hanging_up(lab: Lab, domain: str) -> None:
    host = f"mta-sts.{domain}"
    address = lab.address(host)
    ctx = ssl.create_default_context(cafile=lab.ca_bundle)
    with (
        httpx.Client(verify=ctx, timeout=3) as client,
        client.stream(
            "GET",
            f"https://{address}:{lab.ports.https}/.well-known/mta-sts.txt",
            headers={"Host": host},
            extensions={"sni_hostname": host},
        ) as response,
    ):
        if domain == "policy-huge.lab.test":
            assert response.headers["content-length"] == str(HUGE_BYTES)
        else:
            assert "content-length" not in response.headers
        read = 0
        for chunk in response.iter_bytes():
            read += len(chunk)
            if read > LIMIT:
                break  # a correct checker stops here; the server must cope
    assert read > LIMIT
    assert get(lab, "plain.lab.test").status_code == 200  # and it still serves others


def test_hang_answers_nothing(lab: Lab) -> None:
    with pytest.raises(httpx.ReadTimeout):
        get(lab, "policy-hang.lab.test", timeout=0.5)


def test_trickle_sends_one_byte_at_a_time(lab: Lab) -> None:
    with tls_connect(lab, "policy-trickle.lab.test") as sock:
        sock.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n")
        sock.sendall(b"Host: mta-sts.policy-trickle.lab.test\r\n\r\n")
        assert sock.recv(100) == b"H"
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(100)


def test_garbage_is_not_tls(lab: Lab) -> None:
    with pytest.raises(ssl.SSLError):
        tls_connect(lab, "policy-garbage.lab.test")


def test_blackhole_never_handshakes(lab: Lab) -> None:
    address = lab.address("mta-sts.policy-blackhole.lab.test")
    ctx = ssl.create_default_context(cafile=lab.ca_bundle)
    raw = socket.create_connection((address, lab.ports.https), timeout=0.3)
    with pytest.raises(TimeoutError):
        ctx.wrap_socket(raw, server_hostname="mta-sts.policy-blackhole.lab.test")
    raw.close()


def test_reset_and_refused(lab: Lab) -> None:
    with pytest.raises((ConnectionResetError, ssl.SSLError)):
        tls_connect(lab, "policy-reset.lab.test")
    with pytest.raises(ConnectionRefusedError):
        tls_connect(lab, "policy-refused.lab.test")


def test_unknown_host_and_path_get_404(lab: Lab) -> None:
    address = lab.address("mta-sts.plain.lab.test")
    ctx = ssl.create_default_context(cafile=lab.ca_bundle)
    with httpx.Client(verify=ctx, timeout=3) as client:
        other_path = client.get(
            f"https://{address}:{lab.ports.https}/index.html",
            headers={"Host": "mta-sts.plain.lab.test"},
            extensions={"sni_hostname": "mta-sts.plain.lab.test"},
        )
    assert other_path.status_code == 404


def test_policy_changes_at_runtime_and_reset(lab: Lab) -> None:
    domain = "two-mx.lab.test"
    original = lab.policy_body(domain)
    with lab.changed(domain):
        lab.set_policy(domain, "version: STSv1\nmode: testing\nmx: mx1.two-mx.lab.test\n")
        assert get(lab, domain).content.endswith(b"mode: testing\nmx: mx1.two-mx.lab.test\n")
        lab.set_policy(domain, status=503)
        assert get(lab, domain).status_code == 503
        lab.set_policy(domain, behaviour="refused")
        assert lab.address(f"mta-sts.{domain}") == "127.0.1.250"
    assert get(lab, domain).content == original
    assert lab.address(f"mta-sts.{domain}") == "127.0.1.1"


def test_bench_policy_host(lab: Lab) -> None:
    response = get(lab, "bench-0123.lab.test")
    assert response.status_code == 200
    assert b"mx: *.bench-0123.lab.test" in response.content
