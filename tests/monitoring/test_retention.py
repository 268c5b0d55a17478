"""Retention: every run for the full-history window, then the last run of each day."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from monitoring.models import CheckRun, Domain, RunStatus
from monitoring.retention import prune

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=datetime.now().astimezone().tzinfo).astimezone()


def _run(domain: Domain, when: datetime, status: str = RunStatus.OK) -> CheckRun:
    return CheckRun.objects.create(domain=domain, finished_at=when, started_at=when, status=status)


@pytest.fixture
def runs(team, settings):
    settings.RETENTION_FULL_DAYS = 30
    settings.RETENTION_DAILY_DAYS = 0
    domain = team.domain
    made = {}
    for days_ago in (0, 10, 29, 31, 45):
        for hour in (1, 9, 17):
            when = NOW - timedelta(days=days_ago) + timedelta(hours=hour - 12)
            made[(days_ago, hour)] = _run(domain, when)
    return made


def test_recent_runs_all_stay_older_ones_one_per_day(runs):
    result = prune(now=NOW)
    assert result.deleted == 4
    kept = set(CheckRun.objects.values_list("id", flat=True))
    for days_ago in (0, 10, 29):
        assert {runs[(days_ago, h)].id for h in (1, 9, 17)} <= kept
    for days_ago in (31, 45):
        assert runs[(days_ago, 17)].id in kept  # the last run of the day
        assert runs[(days_ago, 1)].id not in kept
        assert CheckRun.objects.get(id=runs[(days_ago, 17)].id).kept_daily


def test_pruning_twice_changes_nothing_more(runs):
    prune(now=NOW)
    assert prune(now=NOW).deleted == 0
    # A day later, day 30 crosses the line and is thinned too.
    assert prune(now=NOW + timedelta(days=2)).deleted == 2


def test_daily_runs_expire_when_configured(runs, settings):
    settings.RETENTION_DAILY_DAYS = 40
    prune(now=NOW)
    assert not CheckRun.objects.filter(finished_at__lt=NOW - timedelta(days=40)).exists()


def test_latest_completed_run_is_never_removed(team, settings):
    settings.RETENTION_FULL_DAYS = 1
    settings.RETENTION_DAILY_DAYS = 2
    domain = Domain.objects.create(organization=team.org, name="quiet.acme.test")
    old = _run(domain, NOW - timedelta(days=100))
    _run(domain, NOW - timedelta(days=99), status=RunStatus.FAILED)
    prune(now=NOW)
    # Drift compares the next run with it, so it stays however old it is.
    assert list(CheckRun.objects.filter(domain=domain)) == [old]
