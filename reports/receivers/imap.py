"""The IMAP poller: take new messages from a team's existing report mailbox.

Messages are taken by UID above the last one taken (reset when UIDVALIDITY changes), so
reading them in a mail client does not hide them and a message is stored once. Each
message is stored as a raw report in the same transaction that advances ``last_uid``.
The password is decrypted only to log in; errors recorded on the mailbox are the
server's words or the exception's, never the password.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import socket
import ssl

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.checks.netguard import blocked_reason
from reports import ingest
from reports.models import ImapMailbox, ImapSecurity, RawKind, Source

log = logging.getLogger(__name__)

MAX_PER_POLL = 500
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(Exception):
    """A poll that could not finish; the message is safe to show and to log."""


def poll_mailbox_id(mailbox_id: int) -> int:
    """Poll one mailbox by id; returns how many messages were stored."""
    mailbox = ImapMailbox.objects.select_related("organization").filter(id=mailbox_id).first()
    if mailbox is None or not mailbox.enabled:
        return 0
    return poll(mailbox)


def poll(mailbox: ImapMailbox) -> int:
    """Take the mailbox's new messages; records the outcome on the row, never raises."""
    taken = 0
    error = ""
    try:
        taken = _poll(mailbox)
    except ImapError as exc:
        error = str(exc)
    except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error:
        log.warning("tlsrpt imap %s: %s", mailbox, error)  # __str__ has no password
    ImapMailbox.objects.filter(id=mailbox.id).update(
        last_polled_at=timezone.now(), last_error=error[:2000]
    )
    return taken


def _poll(mailbox: ImapMailbox) -> int:
    _guard(mailbox.host, mailbox.port)
    conn = _connect(mailbox)
    try:
        try:
            conn.login(mailbox.username, mailbox.get_password())
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"login refused: {_text(exc)}") from None
        status, data = conn.select(_quote(mailbox.folder))
        if status != "OK":
            raise ImapError(f"cannot open folder {mailbox.folder!r}: {_text(data)}")
        uidvalidity = _uidvalidity(conn)
        last_uid = mailbox.last_uid if mailbox.uidvalidity == uidvalidity else 0
        taken = 0
        for uid in _new_uids(conn, last_uid)[:MAX_PER_POLL]:
            taken += _take(conn, mailbox, uid, uidvalidity)
            last_uid = uid
        return taken
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            conn.logout()


def _guard(host: str, port: int) -> None:
    # The host is typed by a user of a SaaS: never let it reach the service's own network.
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ImapError(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        reason = blocked_reason(str(info[4][0]), settings.CHECK_OPTIONS)
        if reason:
            raise ImapError(f"{host} resolves to {info[4][0]}, which is refused: {reason}")


def _connect(mailbox: ImapMailbox) -> imaplib.IMAP4:
    timeout = settings.IMAP_TIMEOUT
    if mailbox.security == ImapSecurity.SSL:
        context = ssl.create_default_context(cafile=settings.CHECK_OPTIONS.ca_bundle)
        return imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=timeout)
    conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
    if mailbox.security == ImapSecurity.STARTTLS:
        conn.starttls(ssl.create_default_context(cafile=settings.CHECK_OPTIONS.ca_bundle))
    return conn


def _uidvalidity(conn: imaplib.IMAP4) -> int:
    _, data = conn.response("UIDVALIDITY")
    try:
        return int(data[0])
    except (TypeError, ValueError, IndexError):
        return 0


def _new_uids(conn: imaplib.IMAP4, last_uid: int) -> list[int]:
    status, data = conn.uid("SEARCH", None, f"UID {last_uid + 1}:*")
    if status != "OK":
        raise ImapError(f"UID SEARCH failed: {_text(data)}")
    # "n:*" always matches the highest UID, even when it is below n.
    return sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > last_uid)


def _take(conn: imaplib.IMAP4, mailbox: ImapMailbox, uid: int, uidvalidity: int) -> int:
    status, data = conn.uid("FETCH", str(uid), "(RFC822.SIZE)")
    found = _SIZE.search(_first_bytes(data)) if status == "OK" else None
    size = int(found.group(1)) if found else 0
    message = b""
    if size <= settings.TLSRPT_MAX_MESSAGE:
        status, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if status != "OK":
            raise ImapError(f"FETCH of UID {uid} failed: {_text(data)}")
        message = next((part[1] for part in data if isinstance(part, tuple)), b"")
    with transaction.atomic():
        if message:
            ingest.store_raw(
                organization=mailbox.organization,
                data=message,
                source=Source.IMAP,
                kind=RawKind.MESSAGE,
                headers={"IMAP-Mailbox": str(mailbox), "IMAP-UID": str(uid)},
            )
        else:
            log.warning("tlsrpt imap %s: UID %s is %s bytes, over the limit", mailbox, uid, size)
        ImapMailbox.objects.filter(id=mailbox.id).update(
            uidvalidity=uidvalidity,
            last_uid=uid,
            messages_taken=mailbox.messages_taken + (1 if message else 0),
        )
        mailbox.messages_taken += 1 if message else 0
    conn.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
    return 1 if message else 0


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first_bytes(data: list) -> bytes:
    for part in data:
        if isinstance(part, tuple):
            return part[0]
        if isinstance(part, bytes):
            return part
    return b""


def _text(data: object) -> str:
    if isinstance(data, list):
        data = b" ".join(part for part in data if isinstance(part, bytes))
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)
