"""The dispatcher claims due domains once each, over whatever broker is configured.

CI runs this against a real Redis broker (CELERY_BROKER_URL=redis://...); without one it
uses kombu's in-memory transport, which exercises the same publishing path.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from monitoring import scheduling
from monitoring.models import Domain, Organization
from monitoring.tasks import dispatch_due_checks
from tests import broker

pytestmark = pytest.mark.django_db(transaction=True)


def drain(queue: str = "checks") -> list[int]:
    """The domain ids of every ``run_check`` queued, taken off ``queue``."""
    taken = broker.drain(queue)
    assert {task for task, _ in taken} <= {"monitoring.tasks.run_check"}
    return [domain_id for _, args in taken for domain_id in args]


@pytest.fixture
def domains():
    drain()
    now = timezone.now()
    org = Organization.objects.create(name="Dispatch", slug="dispatch")
    due = [
        Domain.objects.create(organization=org, name=f"due{i}.example.com", next_check_at=now)
        for i in range(6)
    ]
    later = Domain.objects.create(
        organization=org, name="later.example.com", next_check_at=now + timedelta(minutes=10)
    )
    off = Domain.objects.create(
        organization=org, name="off.example.com", next_check_at=now, enabled=False
    )
    yield {"due": due, "later": later, "off": off}
    drain()


def test_due_domains_are_enqueued_once_each(domains):
    assert dispatch_due_checks() == 6
    assert sorted(drain()) == sorted(d.id for d in domains["due"])
    # Claimed domains moved one interval ahead, so a second tick enqueues nothing.
    assert dispatch_due_checks() == 0
    assert drain() == []
    for domain in domains["due"]:
        domain.refresh_from_db()
        assert domain.next_check_at > timezone.now() + timedelta(minutes=55)


def test_not_due_and_disabled_are_left_alone(domains):
    dispatch_due_checks()
    queued = set(drain())
    assert domains["later"].id not in queued
    assert domains["off"].id not in queued


def test_two_dispatchers_racing_never_claim_a_domain_twice(domains):
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def race() -> None:
        start.wait()
        try:
            counts.append(dispatch_due_checks())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    queued = drain()
    assert errors == []
    assert len(counts) == 2
    assert sum(counts) == 6
    assert sorted(queued) == sorted(d.id for d in domains["due"])


def test_claims_are_exclusive_when_interleaved(domains):
    """Two claimers that read the same due rows: only the first update of each row wins."""
    now = timezone.now()
    first = scheduling.claim_due_domains(now=now)
    second = scheduling.claim_due_domains(now=now)
    assert sorted(first) == sorted(d.id for d in domains["due"])
    assert second == []


def test_a_dead_broker_loses_nothing(domains):
    def broken(_domain_id: int) -> None:
        raise ConnectionError("broker down")

    assert scheduling.dispatch(broken) == 0
    # Every claim was released, so the next tick with a live broker takes them all.
    assert dispatch_due_checks() == 6
    assert sorted(drain()) == sorted(d.id for d in domains["due"])
