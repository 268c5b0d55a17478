"""The whole path with a real Celery worker and a real Redis broker.

A lab domain falls due, ``dispatch_due_checks`` runs on the worker, the check is stored;
the lab's policy then changes under the same id, which must give ``sts.id.stale`` and
exactly one message on each channel, and restoring it exactly one resolve message.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from monitoring.models import Alert, CheckRun, Domain, Notification, NotificationStatus
from monitoring.tasks import dispatch_due_checks
from tests.monitoring.conftest import make_channels, needs_redis
from tests.monitoring.processes import Worker, running, wait_for

pytestmark = [
    pytest.mark.redis,
    needs_redis,
    pytest.mark.lab,
    pytest.mark.django_db(transaction=True),
]

PLAIN = "plain.lab.test"


def _due(domain: Domain) -> None:
    Domain.objects.filter(id=domain.id).update(next_check_at=timezone.now())


def _check_once(domain: Domain) -> CheckRun:
    """Make the domain due, tick the dispatcher through the broker, wait for the new run."""
    before = CheckRun.objects.filter(domain=domain).count()
    _due(domain)
    dispatch_due_checks.delay()
    wait_for(
        lambda: CheckRun.objects.filter(domain=domain).count() > before,
        what=f"run {before + 1} of {domain}",
    )
    return CheckRun.objects.filter(domain=domain).first()


def _all_settled() -> bool:
    return not Notification.objects.exclude(status=NotificationStatus.SENT).exists()


def test_due_domain_is_checked_stored_and_alerts_once_each_way(
    team, lab, worker_env, tmp_path, http_receiver, smtp_receiver, purged_queues
):
    channels = make_channels(team.org, http_receiver)
    domain = Domain.objects.create(organization=team.org, name=PLAIN)
    # Only the lab domain is watched here (the fixture's others do not resolve anywhere).
    Domain.objects.exclude(id=domain.id).update(enabled=False)
    with running(Worker(worker_env, tmp_path / "worker.log")) as worker:
        dispatch_due_checks.delay()
        first = wait_for(lambda: CheckRun.objects.filter(domain=domain).first(), what="a run")
        assert first.status == "ok"
        assert first.facts["record"]["id"] == "20240101T000000"
        domain.refresh_from_db()
        assert domain.status == "ok"
        assert domain.next_check_at > timezone.now()

        body = lab.policy_body(PLAIN).decode().replace("max_age: 604800", "max_age: 1209600")
        with lab.changed(PLAIN):
            lab.set_policy(PLAIN, body)
            seen = _check_once(domain)
            assert seen.findings.filter(code="sts.id.stale").exists()
            # Not confirmed yet, so due again at once (ALERTS_RECHECK_SECONDS=0 here).
            assert not Alert.objects.exists()
            confirmed = _check_once(domain)
            assert confirmed.findings.get(code="sts.id.stale").streak == 2
            wait_for(lambda: Notification.objects.count() == 4 and _all_settled(), what="sends")
            _check_once(domain)  # still open: nothing new to say
        alert = Alert.objects.get(code="sts.id.stale")
        assert alert.opened_by_run_id == confirmed.id

        restored = _check_once(domain)
        assert not restored.findings.filter(code="sts.id.stale").exists()
        wait_for(lambda: Notification.objects.count() == 8 and _all_settled(), what="resolves")
        _check_once(domain)
        wait_for(_all_settled, what="nothing pending")

    alert.refresh_from_db()
    assert alert.resolved_by_run_id == restored.id
    for kind in ("slack", "teams", "webhook"):
        assert len(http_receiver.to(f"/{kind}")) == 2, kind
    assert http_receiver.to("/slack")[1].json()["text"].startswith("[Resolved] plain.lab.test")
    assert [r.json()["event"] for r in http_receiver.to("/webhook")] == ["opened", "resolved"]
    subjects = [m["Subject"] for m in smtp_receiver.messages]
    assert len(subjects) == 2
    assert subjects[0].startswith("[Problem] plain.lab.test")
    assert subjects[1].startswith("[Resolved] plain.lab.test")
    assert {n.channel_id for n in Notification.objects.all()} == {c.id for c in channels.values()}
    assert Notification.objects.filter(attempts=1).count() == 8
    assert "Traceback" not in worker.output()
