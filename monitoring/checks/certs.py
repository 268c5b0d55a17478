"""Certificates: what a server presented, and whether it is valid for a host name.

Design (one handshake per connection). The handshake uses a NON-verifying context so the
certificate facts are always available for the UI, even when the certificate is bad.
Validity is then decided here, in three independent parts, so each gets its own finding:

- dates: the leaf's notBefore/notAfter against now;
- name: the leaf's dNSName SANs against the host name [RFC 6125, wildcard one label,
  never the CN];
- trust: the presented chain is verified against the trust store with cryptography's
  X.509 path builder, at a time inside the leaf's validity window (so an expired leaf is
  "expired", not also "untrusted"), with a permissive end-entity extension policy (names
  and dates are checked above; the strict web-PKI leaf profile would reject certificates
  that OpenSSL-based senders accept). CA certificates keep the web-PKI CA profile.

Python before 3.13 has no public API for the presented chain; the private
``_sslobj.get_unverified_chain`` exists since 3.10 and is used when the public one is
missing. Without either, only the leaf is verified (a missing intermediate then shows
as untrusted, which is also what most senders conclude).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import os
import ssl
import warnings
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from monitoring.checks.names import matching_san

log = logging.getLogger(__name__)


@dataclass
class CertVerdict:
    """Facts about the presented leaf, and what (if anything) is wrong with it."""

    facts: dict[str, Any] = field(default_factory=dict)
    expired: str | None = None  # outside its dates
    name_error: str | None = None
    trust_error: str | None = None
    expiring: str | None = None  # valid, but within the warning window

    @property
    def valid(self) -> bool:
        return not (self.expired or self.name_error or self.trust_error)

    def problems(self) -> list[str]:
        return [p for p in (self.expired, self.name_error, self.trust_error) if p]


def client_context(legacy_protocols: bool = False) -> ssl.SSLContext:
    """A client context that completes the handshake whatever the certificate.

    ``legacy_protocols`` also offers TLS 1.0/1.1 (security level 0) so an old MX host
    is reported as weak rather than as having no working STARTTLS.
    """
    return _client_context(legacy_protocols)


@functools.lru_cache(maxsize=2)
def _client_context(legacy_protocols: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if legacy_protocols:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        # OpenSSL 3 refuses TLS < 1.2 above security level 0. Anonymous suites stay
        # out: a certificate is what MTA-STS validates.
        ctx.set_ciphers("ALL:!aNULL:!eNULL:@SECLEVEL=0")
        # Old servers without secure renegotiation (RFC 5746) are still worth measuring.
        ctx.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def peer_chain(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> list[bytes]:
    """The DER certificates the server presented, leaf first (see the module docstring)."""
    if ssl_object is None:
        return []
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        try:
            chain = getter() or []
            return [_der(cert) for cert in chain]
        except (AttributeError, ValueError, ssl.SSLError):
            log.debug("could not read the presented chain", exc_info=True)
    leaf = ssl_object.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _der(cert: Any) -> bytes:
    if isinstance(cert, bytes):
        return cert
    return cert.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]


def trust_store(ca_bundle: str | None) -> Store | None:
    """The roots to verify against: the bundle, or the system store when None."""
    path = ca_bundle or _system_bundle()
    if path is None:
        return None
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return _load_store(path, mtime)


def _system_bundle() -> str | None:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return None
    return certifi.where()


@functools.lru_cache(maxsize=8)
def _load_store(path: str, mtime: float) -> Store | None:
    del mtime  # part of the cache key only: a rewritten bundle is read again
    with open(path, "rb") as handle:
        data = handle.read()
    certs: list[x509.Certificate] = []
    marker = b"-----BEGIN CERTIFICATE-----"
    for block in data.split(marker)[1:]:
        try:
            with warnings.catch_warnings():
                # Some distribution roots have non-positive serials: usable, but noisy.
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                certs.append(x509.load_pem_x509_certificate(marker + block))
        except ValueError:
            # One odd root must not disable the whole store.
            log.warning("skipping an unreadable certificate in %s", path)
    return Store(certs) if certs else None


def inspect_chain(
    chain: list[bytes],
    host: str,
    *,
    ca_bundle: str | None,
    warning_days: int,
    now: dt.datetime | None = None,
) -> CertVerdict:
    """Facts and verdict for the chain a server presented when asked for ``host``."""
    now = now or dt.datetime.now(dt.UTC)
    if not chain:
        return CertVerdict(trust_error="the server presented no certificate")
    try:
        leaf = x509.load_der_x509_certificate(chain[0])
    except ValueError as exc:
        return CertVerdict(trust_error=f"the certificate cannot be parsed: {exc}")
    intermediates = _load_all(chain[1:])
    verdict = CertVerdict(facts=describe(leaf, chain[0], now))
    verdict.facts["chain_length"] = len(chain)
    _check_dates(verdict, leaf, now, warning_days)
    _check_name(verdict, host)
    verdict.trust_error = _check_trust(leaf, intermediates, ca_bundle, now)
    verdict.facts["trusted"] = verdict.trust_error is None
    return verdict


def _load_all(ders: list[bytes]) -> list[x509.Certificate]:
    out = []
    for der in ders:
        try:
            out.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return out


def describe(cert: x509.Certificate, der: bytes, now: dt.datetime) -> dict[str, Any]:
    """JSON-ready facts about one certificate, as shown in the UI."""
    not_after = cert.not_valid_after_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": _dns_sans(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": (not_after - now) // dt.timedelta(days=1),
        "key_type": key_type(cert),
        "fingerprint_sha256": hashlib.sha256(der).hexdigest(),
        "serial": format(cert.serial_number, "x"),
    }


def _dns_sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    except ValueError:  # a malformed extension: treat as no names
        return []
    return [str(name) for name in ext.value.get_values_for_type(x509.DNSName)]


def key_type(cert: x509.Certificate) -> str:
    """``RSA 2048``, ``EC secp256r1``, ``Ed25519``...: what the UI shows as the key."""
    try:
        key = cert.public_key()
    except (ValueError, TypeError):
        return "unknown"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    return type(key).__name__


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    days = int(abs((moment - now).total_seconds()) // 86400)
    return f"{moment:%Y-%m-%d %H:%M} UTC, {days} day(s) {'ago' if moment < now else 'from now'}"


def _check_dates(verdict: CertVerdict, leaf: x509.Certificate, now: dt.datetime, days: int) -> None:
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    if not_after < now:
        verdict.expired = f"expired on {_when(not_after, now)}"
    elif not_before > now:
        verdict.expired = f"not valid before {_when(not_before, now)}"
    elif not_after - now < dt.timedelta(days=days):
        verdict.expiring = f"on {_when(not_after, now)}"


def _check_name(verdict: CertVerdict, host: str) -> None:
    sans = verdict.facts.get("sans", [])
    matched = matching_san(host, sans)
    verdict.facts["name_matches"] = matched is not None
    if matched is not None:
        return
    if not sans:
        verdict.name_error = (
            f"the certificate has no DNS subjectAltName (subject {verdict.facts['subject']}); "
            f"a name only in the CN does not count for {host}"
        )
    else:
        verdict.name_error = f"no subjectAltName matches {host} (names: {', '.join(sans)})"


def _check_trust(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    ca_bundle: str | None,
    now: dt.datetime,
) -> str | None:
    try:
        store = trust_store(ca_bundle)
    except OSError as exc:
        return f"the trust store could not be read: {exc}"
    if store is None:
        return f"no trusted roots could be loaded from {ca_bundle or 'the system store'}"
    # Verify inside the leaf's validity window: its dates have their own finding.
    moment = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    verifier = (
        PolicyBuilder()
        .store(store)
        .time(moment)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError as exc:
        return _trust_reason(leaf, intermediates, str(exc))
    return None


def _trust_reason(leaf: x509.Certificate, intermediates: list[x509.Certificate], raw: str) -> str:
    if "candidates exhausted" in raw:
        if leaf.issuer == leaf.subject:
            return f"self-signed certificate (issuer {leaf.issuer.rfc4514_string()})"
        sent = (
            "no intermediate certificates were sent"
            if not intermediates
            else (f"{len(intermediates)} intermediate(s) sent")
        )
        return (
            f"issuer {leaf.issuer.rfc4514_string()} is not a trusted CA and no path to a "
            f"trusted root was found ({sent})"
        )
    return raw.removeprefix("validation failed: ").split(" (encountered processing")[0]
