"""The task wrappers: a database outage makes run_check retry with a countdown."""

from __future__ import annotations

import pytest
from celery import current_app
from celery.exceptions import Retry
from django.db import connection

from monitoring.models import CheckRun, Domain
from monitoring.tasks import run_check

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lab]


def test_database_unavailable_retries_with_a_countdown(team, lab, settings):
    settings.CHECK_OPTIONS = lab.options()
    settings.CHECK_DB_RETRY_SECONDS = 7
    domain = Domain.objects.create(organization=team.org, name="plain.lab.test")
    real = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/dir/db.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens there
    run_check.push_request(
        id="db-down-1",
        retries=0,
        is_eager=False,
        called_directly=False,
        args=[domain.id],
        kwargs={},
    )
    try:
        with pytest.raises(Retry) as caught:
            run_check.run(domain.id)
    finally:
        run_check.pop_request()
        connection.close()
        connection.settings_dict.update(real)
    assert caught.value.when == 7
    assert not CheckRun.objects.exists()
    # With the database back, the same task (same id) stores its run once.
    run_check.push_request(
        id="db-down-1",
        retries=1,
        is_eager=False,
        called_directly=False,
        args=[domain.id],
        kwargs={},
    )
    try:
        assert run_check.run(domain.id) == "ok"
        assert run_check.run(domain.id) == "ok"
    finally:
        run_check.pop_request()
    assert CheckRun.objects.filter(task_id="db-down-1").count() == 1
    current_app.control.purge()  # the retry message: nobody here consumes it
