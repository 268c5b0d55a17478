"""TLSRPT storage: the raw bytes as received, then the parsed report, policies and failures.

A ``RawReport`` is written in the same transaction that accepts the input, whatever
happens later; parsing fills ``Report`` / ``PolicyResult`` / ``FailureDetail`` and sets
the raw row's status. ``PolicyResult`` and ``FailureDetail`` carry the organization,
domain and day of their report so the charts aggregate one table without joins.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
import uuid

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.utils import timezone

from monitoring.models import Domain, Organization


def time_ordered_uuid() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Report rows arrive by the thousand; random (version 4) keys land all over their
    unique index, so every batch rewrote most of its pages (measured on SQLite with
    200,000 reports stored: inserting 10,000 more took 1.75 s with version 4 keys,
    0.82 s with these). They stay as hard to guess: 74 random bits.
    """
    value = time.time_ns() // 1_000_000 << 80 | int.from_bytes(os.urandom(10))
    # Version 7 in bits 76-79, variant 0b10 in bits 62-63.
    value = value & ~(0xF << 76) | 0x7 << 76
    value = value & ~(0x3 << 62) | 0x2 << 62
    return uuid.UUID(int=value)


def new_token() -> str:
    """A report-address token: lower-case hex, so it survives mail local-part folding."""
    return secrets.token_hex(16)


class ReportEndpoint(models.Model):
    """The secret token behind ``/tlsrpt/<token>/`` and ``<token>@<REPORT_MAIL_DOMAIN>``.

    One per organization (``domain`` null), created lazily, plus optional per-domain
    tokens, so a team can publish a different ``rua`` per domain and revoke one alone.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="report_endpoints"
    )
    domain = models.OneToOneField(
        Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="report_endpoint"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(domain__isnull=True),
                name="one_org_report_endpoint",
            )
        ]

    def __str__(self) -> str:
        scope = self.domain.name if self.domain_id else self.organization.name
        return f"report endpoint of {scope}"

    @property
    def mail_address(self) -> str:
        return f"{self.token}@{settings.REPORT_MAIL_DOMAIN}"

    @property
    def https_path(self) -> str:
        return f"/tlsrpt/{self.token}/"


class Source(models.TextChoices):
    HTTPS = "https", "HTTPS POST"
    SMTP = "smtp", "Mail (SMTP receiver)"
    IMAP = "imap", "Mail (IMAP mailbox)"
    UPLOAD = "upload", "Upload"
    CLI = "cli", "Command line"


class RawStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be parsed"
    PARSED = "parsed", "Parsed"
    DUPLICATE = "duplicate", "Duplicate of a stored report"
    REJECTED = "rejected", "Refused"
    ERROR = "error", "Parser error"


class RawKind(models.TextChoices):
    BODY = "body", "Report body (JSON, gzip or zip)"
    MESSAGE = "message", "Mail message"


class RawReport(models.Model):
    """Input exactly as received; kept whatever the parser makes of it."""

    uuid = models.UUIDField(default=time_ordered_uuid, unique=True, editable=False)
    # Not indexed alone: raw_org_recv leads with it (one index less on every insert).
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="raw_reports", db_index=False
    )
    # Indexed only where set (see Meta): most inputs come by mail or the command line.
    endpoint = models.ForeignKey(
        ReportEndpoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    kind = models.CharField(max_length=10, choices=RawKind.choices, default=RawKind.BODY)
    data = models.BinaryField()
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)  # shown and searched in the admin, never joined
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=255, blank=True)
    #: Transport facts worth keeping: HTTP content type and peer, mail headers kept.
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=10, choices=RawStatus.choices, default=RawStatus.PENDING)
    reason_code = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    parsed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    dkim_status = models.CharField(max_length=10, blank=True)  # pass / fail / none / ""
    dkim_domains = models.JSONField(default=list, blank=True)
    dkim_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-received_at"], name="raw_org_recv"),
            # A plain index: db_index on a CharField also builds a LIKE index on PostgreSQL.
            models.Index(fields=["status"], name="raw_status"),
            models.Index(
                fields=["endpoint"], condition=models.Q(endpoint__isnull=False), name="raw_endpoint"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.received_at:%Y-%m-%d %H:%M} ({self.status})"

    @staticmethod
    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    @property
    def report_domain_header(self) -> str:
        return self.headers.get("TLS-Report-Domain", "")

    @property
    def report_submitter_header(self) -> str:
        return self.headers.get("TLS-Report-Submitter", "")


class Report(models.Model):
    """One parsed TLSRPT report. Stored once per (organization, submitter, report-id)."""

    uuid = models.UUIDField(default=time_ordered_uuid, unique=True, editable=False)
    # organization and domain are not indexed alone: the indexes in Meta lead with them.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    domain = models.ForeignKey(
        Domain,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tlsrpt_reports",
        db_index=False,
    )
    raw = models.ForeignKey(RawReport, on_delete=models.CASCADE, related_name="reports")
    document_index = models.PositiveIntegerField(default=0)  # which report of the raw input
    organization_name = models.CharField(max_length=2048)
    submitter_key = models.CharField(max_length=2048)  # case-folded organization-name
    # SHA-256 of (submitter_key, report_id): a fixed-size key for the unique index, which
    # PostgreSQL could not build over two 2,048-character strings.
    dedup_hash = models.CharField(max_length=64)
    contact_info = models.CharField(max_length=2048, blank=True)
    report_id = models.CharField(max_length=2048)
    start_datetime = models.DateTimeField()
    end_datetime = models.DateTimeField()
    day = models.DateField()  # the UTC day the date range starts on
    policy_domain = models.CharField(max_length=253)
    total_successful = models.PositiveBigIntegerField(default=0)
    total_failure = models.PositiveBigIntegerField(default=0)
    failure_detail_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-start_datetime", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedup_hash"], name="unique_tlsrpt_report"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "day"], name="report_org_day"),
            models.Index(fields=["domain", "day"], name="report_domain_day"),
            models.Index(fields=["domain", "-end_datetime"], name="report_domain_end"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_name} {self.report_id}"

    @property
    def total_sessions(self) -> int:
        return self.total_successful + self.total_failure

    @staticmethod
    def make_dedup_hash(submitter_key: str, report_id: str) -> str:
        return hashlib.sha256(f"{submitter_key}\0{report_id}".encode()).hexdigest()


# PolicyResult and FailureDetail carry copies of their report's organization and domain
# for the charts. They are not indexed alone (each table's indexes lead with them) and not
# constrained in the database, whose deferred foreign-key checks were most of
# PostgreSQL's commit time in a bulk ingest (measured: 7 us per key per row). Django still
# applies on_delete to them; the report's own keys are checked.
def copied_organization_key() -> models.ForeignKey:
    """The organization of the row's report, as a chart key."""
    return models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )


def copied_domain_key() -> models.ForeignKey:
    """The domain of the row's report (None when unmatched), as a chart key."""
    return models.ForeignKey(
        Domain,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )


class PolicyResult(models.Model):
    """One ``policies`` entry of a report, with the chart keys copied from the report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="policies")
    organization = copied_organization_key()
    domain = copied_domain_key()
    day = models.DateField()
    policy_type = models.CharField(max_length=64)
    policy_domain = models.CharField(max_length=253)
    policy_strings = models.JSONField(default=list, blank=True)
    policy_fingerprint = models.CharField(max_length=64, blank=True)
    mx_hosts = models.JSONField(default=list, blank=True)
    successful_sessions = models.PositiveBigIntegerField(default=0)
    failed_sessions = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["domain", "day"], name="policy_domain_day"),
            models.Index(fields=["organization", "day"], name="policy_org_day"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_type} {self.policy_domain}"


class FailureDetail(models.Model):
    """One ``failure-details`` entry, with the chart keys copied from the report."""

    policy = models.ForeignKey(PolicyResult, on_delete=models.CASCADE, related_name="failures")
    # A copy of the policy's report, unconstrained as the other copies are.
    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="failures", db_constraint=False
    )
    organization = copied_organization_key()
    domain = copied_domain_key()
    day = models.DateField()
    result_type = models.CharField(max_length=200)  # indexed: truncated to fit a btree row
    sending_mta_ip = models.CharField(max_length=2048, blank=True)
    receiving_mx_hostname = models.CharField(max_length=2048, blank=True)
    receiving_mx_helo = models.CharField(max_length=2048, blank=True)
    receiving_ip = models.CharField(max_length=2048, blank=True)
    failed_session_count = models.PositiveBigIntegerField(default=0)
    failure_reason_code = models.CharField(max_length=2048, blank=True)
    additional_information = models.CharField(max_length=2048, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["domain", "day"], name="failure_domain_day"),
            models.Index(fields=["organization", "day"], name="failure_org_day"),
            models.Index(fields=["domain", "result_type"], name="failure_domain_type"),
        ]

    def __str__(self) -> str:
        return f"{self.result_type} x{self.failed_session_count}"


def _fernet() -> Fernet:
    # A key derived from SECRET_KEY for this purpose only; rotating SECRET_KEY means
    # re-entering mailbox passwords, which the settings page says.
    digest = hashlib.sha256(b"stsguard.reports.imap-password\0" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


class ImapSecurity(models.TextChoices):
    SSL = "ssl", "TLS (IMAPS, usually port 993)"
    STARTTLS = "starttls", "STARTTLS (usually port 143)"
    PLAIN = "plain", "None (only for a mailbox on this machine)"


class ImapMailbox(models.Model):
    """An existing mailbox that receives an organization's reports, polled by beat.

    The password is stored encrypted and is never rendered or logged; ``__repr__`` and
    ``__str__`` leave it out.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="imap_mailbox"
    )
    enabled = models.BooleanField(default=True)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(
        max_length=10, choices=ImapSecurity.choices, default=ImapSecurity.SSL
    )
    username = models.CharField(max_length=255)
    password_encrypted = models.BinaryField(default=b"", editable=False)
    folder = models.CharField(max_length=255, default="INBOX")
    # Messages are taken by UID, so reading them in a mail client does not hide them.
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.PositiveBigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    messages_taken = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    def __repr__(self) -> str:
        return f"<ImapMailbox {self.pk} {self}>"

    def set_password(self, password: str) -> None:
        self.password_encrypted = _fernet().encrypt(password.encode())

    def get_password(self) -> str:
        """The plain password, for the IMAP login only; "" when unset or unreadable."""
        if not self.password_encrypted:
            return ""
        try:
            return _fernet().decrypt(bytes(self.password_encrypted)).decode()
        except InvalidToken:
            return ""

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)
