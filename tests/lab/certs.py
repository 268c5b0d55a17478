"""The lab's test CA and the certificates it hands out, chosen by SNI.

Two CAs are made at start: the trusted one (written to ``ca.pem``, the bundle the checker
is pointed at) and a rogue one that nothing trusts, for the "untrusted" variant.
Certificates are issued lazily, the first time a name is asked for, and cached.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class CertKind(StrEnum):
    """What is wrong (or right) with the certificate served for a host name."""

    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    MISMATCH = "mismatch"  # valid, but for another name
    UNTRUSTED = "untrusted"  # issued by a CA that is not in the bundle
    CN_ONLY = "cn_only"  # the right name in the subject CN, no SAN at all
    EXPIRING = "expiring"  # valid, expires in EXPIRING_DAYS days
    WILDCARD = "wildcard"  # valid, SAN is *.<parent of the host>
    WILDCARD_TOO_DEEP = "wildcard_too_deep"  # SAN *.<grandparent>: matches no name
    CHAIN = "chain"  # valid, issued by an intermediate CA that is sent along
    CHAIN_MISSING = "chain_missing"  # issued by the intermediate, sent without it
    SELF_SIGNED = "self_signed"  # the right name, signed by its own key


class Profile(StrEnum):
    """Protocol settings of a server context (kept when SNI swaps the certificate)."""

    MODERN = "modern"  # TLS 1.2 and later
    WEAK = "weak"  # TLS 1.0 and 1.1 only


EXPIRING_DAYS = 5
MISMATCH_NAME = "wrong-name.lab.test"
DEFAULT_NAME = "lab.test"


@dataclass(frozen=True)
class _Key:
    name: str
    kind: CertKind
    profile: Profile


def _canonical(key: _Key) -> _Key:
    """Hosts that would get the same certificate share one cached context."""
    if key.kind is CertKind.WILDCARD:
        return _Key("*." + key.name.split(".", 1)[1], CertKind.VALID, key.profile)
    if key.kind is CertKind.WILDCARD_TOO_DEEP:
        return _Key("*." + key.name.split(".", 2)[2], CertKind.VALID, key.profile)
    if key.kind is CertKind.MISMATCH:
        return _Key(MISMATCH_NAME, CertKind.VALID, key.profile)
    return key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CertStore:
    """Issues and caches server contexts per (host name, kind, profile); thread-safe."""

    def __init__(self, directory: Path, *, keep_ca: bool = False) -> None:
        """Make (or with ``keep_ca``, reuse) the lab CA in ``directory``.

        ``keep_ca`` keeps ``ca.pem`` and its key across runs, so processes that read the
        bundle once (a web server, a worker) keep trusting a restarted lab.
        """
        self.directory = directory
        self.ca_bundle = directory / "ca.pem"
        key_path = directory / "ca-key.pem"
        if keep_ca and self.ca_bundle.is_file() and key_path.is_file():
            self.ca = trustme.CA.from_pem(self.ca_bundle.read_bytes(), key_path.read_bytes())
        else:
            self.ca = trustme.CA(organization_name="stsguard lab CA")
            if keep_ca:
                self.ca.private_key_pem.write_to_path(str(key_path))
                key_path.chmod(0o600)
            self.ca.cert_pem.write_to_path(str(self.ca_bundle))
        self.rogue_ca = trustme.CA(organization_name="stsguard rogue CA")
        self._intermediate_ca: trustme.CA | None = None
        self._contexts: dict[_Key, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context(
        self, name: str, kind: CertKind = CertKind.VALID, profile: Profile = Profile.MODERN
    ) -> ssl.SSLContext:
        """The server context serving ``name`` with a certificate of ``kind``."""
        key = _canonical(_Key(name.lower().rstrip("."), CertKind(kind), Profile(profile)))
        with self._lock:
            ctx = self._contexts.get(key)
        if ctx is None:
            # Issue outside the lock: key generation is the slow part and may run twice
            # for the same name under a race, which is harmless.
            ctx = self._build(key)
            with self._lock:
                ctx = self._contexts.setdefault(key, ctx)
        return ctx

    def server_context(
        self, profile: Profile, kind_for: Callable[[str], CertKind | None]
    ) -> ssl.SSLContext:
        """A listener's context: swaps in each host's certificate by SNI.

        ``kind_for(name)`` says which certificate a host gets; ``None`` (an unknown
        name, or no SNI) leaves the default one, made for ``lab.test`` only.
        """
        ctx = self._build(_Key(DEFAULT_NAME, CertKind.VALID, Profile(profile)))

        def pick(sslobj: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
            kind = kind_for(server_name) if server_name else None
            if kind is not None:
                sslobj.context = self.context(server_name or "", kind, profile)

        ctx.sni_callback = pick  # type: ignore[assignment]
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only the lab CA (for the lab's self-tests)."""
        ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        return ctx

    def _build(self, key: _Key) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if key.profile is Profile.WEAK:
            with warnings.catch_warnings():
                # TLS 1.0/1.1 are deprecated on purpose; this server exists to be weak.
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            # OpenSSL 3 refuses TLS < 1.2 above security level 0 (SHA-1 handshake MACs).
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        leaf = self._issue(key.name, key.kind)
        leaf.configure_cert(ctx)
        return ctx

    def _intermediate(self) -> trustme.CA:
        with self._lock:
            if self._intermediate_ca is None:
                self._intermediate_ca = self.ca.create_child_ca()
            return self._intermediate_ca

    def _issue(self, name: str, kind: CertKind) -> trustme.LeafCert:
        now = _now()
        if kind is CertKind.VALID:
            # Shaped like an ACME certificate a month into its life, so the demo and the
            # tests show real "days left" figures rather than trustme's year-3000 default.
            return self.ca.issue_cert(
                name, not_before=now - dt.timedelta(days=30), not_after=now + dt.timedelta(days=60)
            )
        if kind is CertKind.EXPIRED:
            return self.ca.issue_cert(
                name, not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=1)
            )
        if kind is CertKind.NOT_YET_VALID:
            return self.ca.issue_cert(
                name, not_before=now + dt.timedelta(days=10), not_after=now + dt.timedelta(days=100)
            )
        if kind is CertKind.UNTRUSTED:
            return self.rogue_ca.issue_cert(name)
        if kind is CertKind.EXPIRING:
            return self.ca.issue_cert(name, not_after=now + dt.timedelta(days=EXPIRING_DAYS))
        if kind is CertKind.CN_ONLY:
            return self._issue_cn_only(name)
        if kind is CertKind.SELF_SIGNED:
            return self._issue_self_signed(name)
        if kind is CertKind.CHAIN:
            return self._intermediate().issue_cert(
                name, not_before=now - dt.timedelta(days=30), not_after=now + dt.timedelta(days=60)
            )
        if kind is CertKind.CHAIN_MISSING:
            full = self._intermediate().issue_cert(name)
            leaf_only = full.cert_chain_pems[0].bytes()
            return trustme.LeafCert(full.private_key_pem.bytes(), leaf_only, [])
        raise ValueError(f"unknown certificate kind {kind!r}")

    def _issue_cn_only(self, name: str) -> trustme.LeafCert:
        # trustme always writes a SAN extension, so build this legacy shape by hand,
        # signed by the trusted CA: only the missing SAN is wrong with it.
        ca_key = serialization.load_pem_private_key(self.ca.private_key_pem.bytes(), None)
        ca_cert = x509.load_pem_x509_certificate(self.ca.cert_pem.bytes())
        return _hand_made_leaf(name, ca_cert.subject, ca_key, with_san=False)

    def _issue_self_signed(self, name: str) -> trustme.LeafCert:
        return _hand_made_leaf(name, None, None, with_san=True)


def _hand_made_leaf(
    name: str, issuer: x509.Name | None, issuer_key: Any, *, with_san: bool
) -> trustme.LeafCert:
    """A leaf trustme cannot make: without SAN, or self-signed (no issuer given)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if with_san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return trustme.LeafCert(key_pem, cert.public_bytes(serialization.Encoding.PEM), [])
