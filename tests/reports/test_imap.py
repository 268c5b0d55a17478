"""The IMAP poller against a real Dovecot on loopback (Debian's dovecot-imapd).

Dovecot runs from a config in a temporary folder on a free port, as root (with its own
unprivileged users for mail) or as the current user. Messages go in by IMAP APPEND.
"""

from __future__ import annotations

import imaplib
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from reports.models import ImapMailbox, ImapSecurity, RawReport, RawStatus, Report
from reports.receivers import imap
from reports.tasks import poll_imap_mailboxes
from tests.reports.ingest_support import (  # noqa: F401 - fixtures
    eager_tasks,
    no_dkim_dns,
    report_message,
)
from tests.reports.support import report_dict, sample, to_json

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-secret-Pa55"
USERS = [f"user{n}" for n in range(12)]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_dkim_dns", "eager_tasks"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class Dovecot:
    port: int
    users: list[str]

    def append(self, user: str, message: bytes) -> None:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(user, PASSWORD)
            status, data = client.append("INBOX", None, None, message)
            assert status == "OK", data
        finally:
            client.logout()

    def flags(self, user: str) -> list[bytes]:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(user, PASSWORD)
            client.select("INBOX", readonly=True)
            _, data = client.uid("FETCH", "1:*", "(FLAGS)")
            return [item for item in data if item]
        finally:
            client.logout()


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        if os.environ.get("CI"):
            pytest.fail("dovecot not found; .ci/run installs Debian's dovecot-imapd")
        pytest.skip("Debian's dovecot-imapd is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="stsguard-dovecot-"))
    root.chmod(0o755)  # the mail user must reach its home below
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("nobody")
        internal, login = "dovecot", "dovenull"
    else:
        mail_user = pwd.getpwuid(os.getuid())
        internal = login = mail_user.pw_name
    (root / "home").mkdir()
    (root / "state").mkdir()
    os.chown(root / "home", mail_user.pw_uid, mail_user.pw_gid)
    (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in USERS))
    port = _free_port()
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root,
            internal=internal,
            login=login,
            uid=mail_user.pw_uid,
            gid=mail_user.pw_gid,
            port=port,
        )
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("dovecot exited: " + process.stdout.read().decode())
                time.sleep(0.1)
        yield Dovecot(port=port, users=list(USERS))
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def account(dovecot, request) -> str:
    """A fresh, empty IMAP account for one test."""
    return dovecot.users.pop()


@pytest.fixture
def mailbox(team, dovecot, account, settings) -> ImapMailbox:
    # Dovecot is on loopback: allow it as a target for this test only.
    settings.CHECK_OPTIONS = replace(settings.CHECK_OPTIONS, allow_private_targets=True)
    box = ImapMailbox(
        organization=team.org,
        host="127.0.0.1",
        port=dovecot.port,
        security=ImapSecurity.PLAIN,
        username=account,
    )
    box.set_password(PASSWORD)
    box.save()
    return box


def _message(report_id: str) -> bytes:
    document = report_dict()
    document["report-id"] = report_id
    return report_message(to_json(document))


def test_poll_takes_every_new_message(dovecot, mailbox, account):
    dovecot.append(account, _message("one"))
    dovecot.append(account, sample("mjl-__mox__example.eml"))
    dovecot.append(account, b"From: x@y.example\r\nSubject: hi\r\n\r\nnot a report\r\n")

    assert imap.poll(mailbox) == 3
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert (mailbox.last_uid, mailbox.messages_taken) == (3, 3)
    assert mailbox.uidvalidity
    raws = RawReport.objects.order_by("id")
    assert [r.source for r in raws] == ["imap"] * 3
    assert [r.status for r in raws] == [RawStatus.PARSED, RawStatus.PARSED, RawStatus.REJECTED]
    assert raws[0].headers["IMAP-UID"] == "1"
    assert Report.objects.count() == 2
    assert all(b"\\Seen" in item for item in dovecot.flags(account))


def test_a_second_poll_takes_only_what_is_new(dovecot, mailbox, account):
    dovecot.append(account, _message("one"))
    assert imap.poll(mailbox) == 1
    mailbox.refresh_from_db()
    assert imap.poll(mailbox) == 0
    dovecot.append(account, _message("two"))
    mailbox.refresh_from_db()
    assert imap.poll(mailbox) == 1
    assert sorted(Report.objects.values_list("report_id", flat=True)) == ["one", "two"]


def test_a_new_uidvalidity_takes_everything_again_and_reports_stay_single(
    dovecot, mailbox, account
):
    dovecot.append(account, _message("one"))
    imap.poll(mailbox)
    ImapMailbox.objects.filter(id=mailbox.id).update(uidvalidity=1)  # the server renumbered
    mailbox.refresh_from_db()
    assert imap.poll(mailbox) == 1
    assert RawReport.objects.count() == 2
    assert Report.objects.count() == 1
    assert RawReport.objects.order_by("id").last().status == RawStatus.DUPLICATE


def test_a_wrong_password_is_recorded_without_the_password(dovecot, mailbox, caplog):
    mailbox.set_password("wrong-" + PASSWORD)
    mailbox.save()
    with caplog.at_level(logging.DEBUG):
        assert imap.poll(mailbox) == 0
    mailbox.refresh_from_db()
    assert mailbox.last_error.startswith("login refused")
    assert PASSWORD not in mailbox.last_error
    assert PASSWORD not in caplog.text
    assert "login refused" in caplog.text


def test_the_password_is_stored_encrypted(mailbox):
    stored = bytes(ImapMailbox.objects.get(id=mailbox.id).password_encrypted)
    assert PASSWORD.encode() not in stored
    assert ImapMailbox.objects.get(id=mailbox.id).get_password() == PASSWORD
    assert PASSWORD not in repr(mailbox) + str(mailbox)


def test_a_private_address_is_refused_unless_allowed(dovecot, mailbox, account, settings):
    settings.CHECK_OPTIONS = replace(settings.CHECK_OPTIONS, allow_private_targets=False)
    dovecot.append(account, _message("one"))
    assert imap.poll(mailbox) == 0
    mailbox.refresh_from_db()
    assert "127.0.0.1" in mailbox.last_error
    assert "refused" in mailbox.last_error
    assert not RawReport.objects.exists()


def test_an_oversized_message_is_skipped(dovecot, mailbox, account, settings):
    settings.TLSRPT_MAX_MESSAGE = 4096
    dovecot.append(account, _message("small"))
    dovecot.append(account, _message("big") + b"x" * 8192)
    assert imap.poll(mailbox) == 1
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 2  # the big one is passed over, not retried forever
    assert list(Report.objects.values_list("report_id", flat=True)) == ["small"]


def test_the_beat_task_polls_enabled_mailboxes(dovecot, mailbox, account):
    dovecot.append(account, _message("beat"))
    assert poll_imap_mailboxes() == 1
    assert Report.objects.get().report_id == "beat"
    ImapMailbox.objects.update(enabled=False)
    assert poll_imap_mailboxes() == 0
