"""Raising and clearing alerts: the one path every source (checks, drift, TLSRPT) goes through.

Public API (keyword-only, safe inside or outside a transaction)::

    from monitoring.alerting import open_alert, resolve_alert

    alert = open_alert(domain=d, code="tlsrpt.failure_rate.high", severity="error",
                       subject="TLSRPT reports", message="12% of sessions failed (threshold 5%)",
                       hint="Look at the failure details ...", key="")
    ...
    resolve_alert(domain=d, code="tlsrpt.failure_rate.high", key="")  # True if it was open

* ``open_alert`` is idempotent while the alert is open: the same (domain, code, key) returns
  the open alert (its texts and severity refreshed) and notifies no channel twice.
* ``resolve_alert`` closes it and sends one "resolved" message to every channel that was told
  it opened; it returns False if nothing was open.
* Each message is a ``Notification`` row written in the caller's transaction and sent by its
  own task after commit, so one slow or broken channel never delays another.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from monitoring.drift import EVENT_CODES, expiring_certificates
from monitoring.models import (
    Alert,
    AlertChannel,
    AlertSource,
    CheckRun,
    Domain,
    Finding,
    Notification,
    NotificationKind,
)

log = logging.getLogger(__name__)

#: Alerts that check runs own: a run resolves these when their finding is gone.
RUN_SOURCES = (AlertSource.CHECK, AlertSource.DRIFT)


def open_alert(
    *,
    domain: Domain,
    code: str,
    severity: str,
    subject: str,
    message: str,
    hint: str,
    key: str = "",
    source: str = AlertSource.OTHER,
    run: CheckRun | None = None,
    is_event: bool = False,
) -> Alert:
    """Open an alert on ``domain`` (or return the one already open for ``code`` + ``key``).

    ``key`` tells apart several alerts with the same code on one domain (e.g. one per MX host);
    ``severity`` is ``error``, ``warning`` or ``info`` and decides which channels hear of it.
    An event (``is_event=True``) is told once and closed at once: no resolve message follows.
    """
    now = timezone.now()
    with transaction.atomic():
        alert, created = _get_or_create_open(
            domain=domain,
            code=code,
            key=key,
            defaults={
                "severity": severity,
                "subject": subject,
                "message": message,
                "hint": hint,
                "source": source,
                "is_event": is_event,
                "opened_at": now,
                "opened_by_run": run,
                "resolved_at": now if is_event else None,
            },
        )
        changed_severity = False
        if not created:
            changed_severity = alert.severity != severity
            _refresh(alert, severity=severity, subject=subject, message=message, hint=hint)
        # A changed severity may reach channels that now qualify; the per-channel dedup key
        # keeps the others from hearing it twice. Otherwise a repeat open says nothing.
        if created or changed_severity:
            channels = routed_channels(domain, alert.severity)
            if notify_channels(alert, NotificationKind.OPENED, channels):
                Alert.objects.filter(id=alert.id).update(last_notified_at=now)
    return alert


def resolve_alert(*, domain: Domain, code: str, key: str = "", run: CheckRun | None = None) -> bool:
    """Resolve the open alert for (``domain``, ``code``, ``key``); False if none was open.

    The conditional update is the claim: two workers resolving at once send one message.
    """
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.filter(
            domain=domain, code=code, key=key, resolved_at__isnull=True
        ).first()
        if alert is None:
            return False
        claimed = Alert.objects.filter(id=alert.id, resolved_at__isnull=True).update(
            resolved_at=now, resolved_by_run=run
        )
        if not claimed:
            return False
        alert.resolved_at = now
        told = AlertChannel.objects.filter(
            notifications__alert=alert, notifications__kind=NotificationKind.OPENED
        ).filter(enabled=True)
        notify_channels(alert, NotificationKind.RESOLVED, told.distinct())
    return True


def open_alerts(domain: Domain) -> list[Alert]:
    """The domain's open alerts, worst first."""
    rank = {"error": 0, "warning": 1, "info": 2}
    alerts = list(Alert.objects.filter(domain=domain, resolved_at__isnull=True))
    return sorted(alerts, key=lambda a: (rank.get(a.severity, 3), a.code, a.key))


def routed_channels(domain: Domain, severity: str) -> list[AlertChannel]:
    """The enabled channels of the domain's organization that take ``severity`` for ``domain``."""
    channels = AlertChannel.objects.filter(organization_id=domain.organization_id, enabled=True)
    chosen = []
    for channel in channels.prefetch_related("domains"):
        picked = routed_domain_ids(channel)
        if channel.accepts(severity) and (not picked or domain.id in picked):
            chosen.append(channel)
    return chosen


def routed_domain_ids(channel: AlertChannel) -> set[int]:
    """The domains a channel is limited to; empty means every domain of the organization."""
    return {d.id for d in channel.domains.all()}


def notify_channels(alert: Alert, kind: str, channels: Iterable[AlertChannel]) -> int:
    """Queue one ``kind`` message about ``alert`` to each channel; returns how many are new."""
    payload = alert_payload(alert, kind)
    queued = 0
    for channel in channels:
        if queue_notification(
            channel=channel,
            kind=kind,
            dedup_key=_dedup_key(alert, kind),
            payload=payload,
            alert=alert,
            domain=alert.domain,
        ):
            queued += 1
    return queued


def queue_notification(
    *,
    channel: AlertChannel,
    kind: str,
    dedup_key: str,
    payload: dict,
    alert: Alert | None = None,
    domain: Domain | None = None,
) -> Notification | None:
    """Write a Notification row and send it after commit; None if this key was already queued."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                channel=channel,
                kind=kind,
                dedup_key=dedup_key[:200],
                payload=payload,
                alert=alert,
                domain=domain,
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _enqueue(notification.id))
    return notification


def _enqueue(notification_id: int) -> None:
    from monitoring.tasks import send_notification

    try:
        send_notification.delay(notification_id)
    except Exception:
        # The row is committed; the sweep (requeue_stuck) queues it once the broker is back.
        log.exception("could not queue notification %s; the sweep will retry", notification_id)


def _dedup_key(alert: Alert, kind: str) -> str:
    if kind == NotificationKind.REMINDER:
        return f"{kind}:{alert.id}:{alert.reminders_sent}"
    return f"{kind}:{alert.id}"


def alert_payload(alert: Alert, kind: str) -> dict:
    """Everything a channel needs to render the message, as JSON-ready values."""
    domain = alert.domain
    return {
        "event": kind,
        "alert": str(alert.uuid),
        "organization": domain.organization.name,
        "domain": domain.name,
        "domain_uuid": str(domain.uuid),
        "code": alert.code,
        "key": alert.key,
        "severity": alert.severity,
        "subject": alert.subject,
        "message": alert.message,
        "hint": alert.hint,
        "source": alert.source,
        "opened_at": _iso(alert.opened_at),
        "resolved_at": _iso(alert.resolved_at) if not alert.is_event else None,
        "url": domain_url(domain),
    }


def domain_url(domain: Domain) -> str:
    """The absolute link to the domain's history page, for messages."""
    return settings.SITE_URL + reverse("domain_history", args=[domain.uuid])


def _get_or_create_open(
    *, domain: Domain, code: str, key: str, defaults: dict
) -> tuple[Alert, bool]:
    existing = Alert.objects.filter(domain=domain, code=code, key=key, resolved_at__isnull=True)
    alert = existing.first()
    if alert is not None:
        return alert, False
    try:
        with transaction.atomic():
            return Alert.objects.create(domain=domain, code=code, key=key, **defaults), True
    except IntegrityError:
        # Another worker opened it between our read and insert: the constraint picked one.
        alert = existing.first()
        if alert is None:
            raise
        return alert, False


def _refresh(alert: Alert, **fields: str) -> None:
    changed = [name for name, value in fields.items() if getattr(alert, name) != value]
    for name in changed:
        setattr(alert, name, fields[name])
    if changed:
        alert.save(update_fields=changed)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- alerts from check runs ---------------------------------------------------------------


def sync_run_alerts(run: CheckRun, findings: Iterable[Finding]) -> bool:
    """Open alerts for confirmed findings of ``run`` and resolve those that cleared.

    A finding opens its alert once seen on ``ALERTS_CONFIRM_RUNS`` consecutive runs (its
    ``streak``), so one flaky run alerts nobody; drift events alert at once. Returns True
    when a warning or error is still waiting for confirmation, so the caller re-runs sooner.
    """
    domain = run.domain
    confirm = settings.ALERTS_CONFIRM_RUNS
    open_now = {
        (a.code, a.key): a
        for a in Alert.objects.filter(
            domain=domain, resolved_at__isnull=True, source__in=RUN_SOURCES
        )
    }
    seen: set[tuple[str, str]] = set()
    waiting = False
    for finding in findings:
        key = (finding.code, finding.subject)
        seen.add(key)
        event = finding.code in EVENT_CODES
        if not event and finding.streak < confirm:
            waiting = waiting or finding.severity in ("error", "warning")
            continue
        alert = open_now.get(key)
        if alert is not None and alert.severity == finding.severity:
            continue  # still open, nothing new to say: no repeat
        open_alert(
            domain=domain,
            code=finding.code,
            severity=finding.severity,
            subject=finding.subject,
            message=finding.message,
            hint=finding.hint,
            key=finding.subject,
            source=AlertSource.DRIFT
            if finding.code.startswith("drift.") or event
            else AlertSource.CHECK,
            run=run,
            is_event=event,
        )
    for (code, key), _alert in open_now.items():
        if (code, key) not in seen:
            resolve_alert(domain=domain, code=code, key=key, run=run)
    return waiting


def certificate_reminders(run: CheckRun) -> int:
    """Queue reminders for certificates 30, 14, 7, 3 and 1 days (configurable) from expiry.

    One message per certificate (by fingerprint) per threshold per channel: the dedup key
    makes every later run that sees the same certificate at the same threshold a no-op.
    """
    domain = run.domain
    by_fingerprint: dict[str, dict] = {}
    for cert in expiring_certificates(run.facts, settings.ALERTS_CERT_REMINDER_DAYS):
        item = by_fingerprint.setdefault(cert["fingerprint"], {**cert, "places": []})
        item["places"].append(cert["where"])
    queued = 0
    for fingerprint, cert in by_fingerprint.items():
        severity = "error" if cert["days_left"] <= 3 else "warning"
        payload = expiry_payload(domain, cert, severity)
        for channel in routed_channels(domain, severity):
            key = f"expiry:{domain.id}:{fingerprint[:32]}:{cert['threshold']}"
            if queue_notification(
                channel=channel,
                kind=NotificationKind.EXPIRY,
                dedup_key=key,
                payload=payload,
                domain=domain,
            ):
                queued += 1
    return queued


def expiry_payload(domain: Domain, cert: dict, severity: str) -> dict:
    places = ", ".join(cert["places"])
    days = cert["days_left"]
    return {
        "event": NotificationKind.EXPIRY,
        "organization": domain.organization.name,
        "domain": domain.name,
        "domain_uuid": str(domain.uuid),
        "code": "cert.expiry.reminder",
        "title": f"Certificate expires in {days} day{'s' if days != 1 else ''}",
        "severity": severity,
        "subject": places,
        "message": f"The certificate of {places} expires in {days} days "
        f"(not after {cert['not_after']}).",
        "hint": "Renew the certificate and install it on every host that serves it before "
        "it expires; senders that enforce MTA-STS refuse an expired certificate.",
        "days_left": days,
        "threshold": cert["threshold"],
        "url": domain_url(domain),
    }


def send_reminders(*, now: datetime | None = None) -> int:
    """Remind the channels of alerts still open ``ALERTS_REMINDER_HOURS`` after the last word.

    At most ``ALERTS_MAX_REMINDERS`` per alert; the conditional update on ``reminders_sent``
    is the claim, so two beat ticks never remind twice.
    """
    hours = settings.ALERTS_REMINDER_HOURS
    if not hours:
        return 0
    now = now or timezone.now()
    due = Alert.objects.filter(
        resolved_at__isnull=True,
        is_event=False,
        last_notified_at__lte=now - timedelta(hours=hours),
        reminders_sent__lt=settings.ALERTS_MAX_REMINDERS,
    ).select_related("domain__organization")
    sent = 0
    for alert in due:
        with transaction.atomic():
            claimed = Alert.objects.filter(
                id=alert.id, reminders_sent=alert.reminders_sent, resolved_at__isnull=True
            ).update(reminders_sent=alert.reminders_sent + 1, last_notified_at=now)
            if not claimed:
                continue
            told = AlertChannel.objects.filter(
                enabled=True,
                notifications__alert=alert,
                notifications__kind=NotificationKind.OPENED,
            ).distinct()
            sent += notify_channels(alert, NotificationKind.REMINDER, told)
    return sent


def open_alerts_of(organization) -> list[Alert]:
    """Every open alert of an organization's domains, worst first, then newest."""
    rank = {"error": 0, "warning": 1, "info": 2}
    alerts = Alert.objects.filter(
        domain__organization=organization, resolved_at__isnull=True
    ).select_related("domain")
    return sorted(alerts, key=lambda a: (rank.get(a.severity, 3), -a.opened_at.timestamp()))
