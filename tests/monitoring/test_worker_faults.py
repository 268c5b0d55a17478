"""Faults with a real worker and a real Redis: nothing lost, nothing done twice.

* a channel answering 500 then 200 (retried, delivered once) and one answering 404
  (disabled with the reason; the others unaffected);
* a pool process SIGKILLed mid-check (reject_on_worker_lost re-delivers it);
* the whole worker SIGKILLed mid-check (another worker gets it after the visibility timeout);
* the broker restarted mid-run (a private redis-server with an append-only file);
* the database unreachable while a check stores its run (the task retries with a countdown);
* a check over its soft time limit (stored as a failed run with the reason).
"""

from __future__ import annotations

import time

import pytest
import redis
from celery import current_app
from django.db import connection

from monitoring.alerting import open_alert
from monitoring.models import AlertChannel, CheckRun, Domain, Notification, NotificationStatus
from monitoring.tasks import run_check
from tests.monitoring.conftest import make_channels, needs_redis
from tests.monitoring.processes import (
    RedisServer,
    TcpProxy,
    Worker,
    database_url,
    running,
    wait_for,
)

pytestmark = [
    pytest.mark.redis,
    needs_redis,
    pytest.mark.lab,
    pytest.mark.django_db(transaction=True),
]

HANG = "policy-hang.lab.test"  # the policy host never answers: a check takes its whole deadline
# Long enough that "mid-check" is a wide window, short enough to keep the tests quick.
# The visibility timeout must outlast a check, or Redis hands a running check out again.
SLOW = {"MTASTS_TIMEOUT": "6", "MTASTS_DEADLINE": "8", "CELERY_VISIBILITY_TIMEOUT": "15"}


@pytest.fixture
def slow_env(worker_env):
    return {**worker_env, **SLOW}


@pytest.fixture
def only(team):
    """Create lab domains with every other domain switched off."""
    Domain.objects.update(enabled=False)

    def make(name: str) -> Domain:
        return Domain.objects.create(organization=team.org, name=name, enabled=False)

    return make


def _received(worker: Worker, task_id: str) -> bool:
    return f"[{task_id}] received" in worker.output()


def _runs(task_id: str) -> int:
    return CheckRun.objects.filter(task_id=task_id).count()


def test_channel_500_then_200_and_404_through_the_worker(
    team, worker_env, tmp_path, http_receiver, smtp_receiver, purged_queues
):
    channels = make_channels(team.org, http_receiver)
    http_receiver.script["/slack"] = [500]
    http_receiver.script["/teams"] = [404]
    with running(Worker(worker_env, tmp_path / "worker.log")):
        open_alert(
            domain=team.domain,
            code="sts.id.stale",
            severity="error",
            subject="_mta-sts.acme.test",
            message="The policy changed but the record id is still 1",
            hint="Change the id.",
        )
        wait_for(
            lambda: (
                not Notification.objects.filter(
                    status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING]
                ).exists()
            ),
            what="every notification to settle",
        )
    by_kind = {n.channel.kind: n for n in Notification.objects.select_related("channel")}
    assert (by_kind["slack"].status, by_kind["slack"].attempts) == ("sent", 2)
    assert [r.path for r in http_receiver.to("/slack")] == ["/slack"] * 2
    assert by_kind["teams"].status == "failed"
    teams = AlertChannel.objects.get(id=channels["teams"].id)
    assert not teams.enabled
    assert "HTTP 404" in teams.disabled_reason
    assert len(http_receiver.to("/teams")) == 1  # a permanent error is not retried
    assert (by_kind["webhook"].status, by_kind["webhook"].attempts) == ("sent", 1)
    assert len(http_receiver.to("/webhook")) == 1
    assert (by_kind["email"].status, len(smtp_receiver.messages)) == ("sent", 1)


def test_pool_process_killed_mid_check_is_redelivered(only, slow_env, tmp_path, purged_queues):
    domain = only(HANG)
    with running(Worker(slow_env, tmp_path / "worker.log")) as worker:
        task_id = run_check.apply_async((domain.id,)).id
        wait_for(lambda: _received(worker, task_id), what="the worker to take the check")
        time.sleep(1.5)  # well inside the check, which waits 6 s for the policy host
        assert _runs(task_id) == 0
        assert worker.kill_children()
        wait_for(lambda: _runs(task_id), what="the re-delivered check to finish")
        assert "WorkerLostError" in worker.output() or "SIGKILL" in worker.output()
    run = CheckRun.objects.get(task_id=task_id)
    assert run.status == "error"
    assert "policy.fetch.failed" in {f.code for f in run.findings.all()}
    assert CheckRun.objects.filter(domain=domain).count() == 1


def test_worker_killed_mid_check_another_worker_finishes_it(
    only, slow_env, tmp_path, purged_queues
):
    domain = only(HANG)
    first = Worker(slow_env, tmp_path / "first.log").start()
    try:
        task_id = run_check.apply_async((domain.id,)).id
        wait_for(lambda: _received(first, task_id), what="the first worker to take the check")
        time.sleep(1.5)
        first.kill()  # no warm shutdown: the task stays unacknowledged in Redis
    finally:
        first.stop()
    assert _runs(task_id) == 0
    with running(Worker(slow_env, tmp_path / "second.log")) as second:
        wait_for(lambda: _runs(task_id), what="the second worker to finish the check")
        assert _received(second, task_id)
    assert CheckRun.objects.filter(domain=domain).count() == 1


def test_broker_restart_mid_run_loses_nothing_and_repeats_nothing(
    only, slow_env, tmp_path, purged_queues
):
    broker = RedisServer(tmp_path / "redis").start()
    try:
        env = {**slow_env, "CELERY_BROKER_URL": broker.url}
        names = [HANG, "policy-blackhole.lab.test", "plain.lab.test", "two-mx.lab.test"]
        domains = [only(name) for name in names]
        with running(Worker(env, tmp_path / "worker.log")) as worker:
            with current_app.connection_for_write(broker.url) as conn:
                ids = [run_check.apply_async((d.id,), connection=conn).id for d in domains]
            wait_for(lambda: _received(worker, ids[0]), what="the first check to start")
            time.sleep(1.0)
            broker.restart(down_for=2.0)
            wait_for(lambda: all(_runs(i) for i in ids), what="every check to be stored")
            client = redis.Redis.from_url(broker.url)
            # Taken-but-unacknowledged tasks come back after the visibility timeout; wait
            # until Redis holds nothing at all, then make sure none ran twice.
            wait_for(
                lambda: (
                    client.hlen("unacked") == 0
                    and client.llen("checks") == 0
                    and client.llen("default") == 0
                ),
                what="the broker to drain",
            )
            time.sleep(2)
        assert [_runs(i) for i in ids] == [1] * len(ids)
        assert CheckRun.objects.count() == len(ids)
    finally:
        broker.stop()


@pytest.mark.skipif(
    "postgresql" not in connection.settings_dict["ENGINE"], reason="needs PostgreSQL over TCP"
)
def test_database_unreachable_while_storing_the_task_retries(
    only, slow_env, tmp_path, purged_queues
):
    conf = connection.settings_dict
    proxy = TcpProxy((conf.get("HOST") or "127.0.0.1", int(conf.get("PORT") or 5432))).start()
    try:
        env = {**slow_env, "DATABASE_URL": database_url(conf, host="127.0.0.1", port=proxy.port)}
        domain = only(HANG)
        with running(Worker(env, tmp_path / "worker.log")) as worker:
            task_id = run_check.apply_async((domain.id,)).id
            wait_for(lambda: _received(worker, task_id), what="the worker to take the check")
            time.sleep(1.0)
            proxy.cut()  # the check is still running; storing it will find no database
            wait_for(
                lambda: "database unavailable while checking" in worker.output(),
                what="the task to hit the dead database",
            )
            assert _runs(task_id) == 0
            proxy.restore()
            wait_for(lambda: _runs(task_id), what="the retried check to be stored")
            assert f"Task monitoring.tasks.run_check[{task_id}] retry" in worker.output()
        assert CheckRun.objects.filter(domain=domain).count() == 1
    finally:
        proxy.stop()


def test_check_over_its_soft_time_limit_becomes_a_failed_run(
    only, slow_env, tmp_path, purged_queues
):
    env = {**slow_env, "CHECK_TASK_SOFT_TIME_LIMIT": "2", "CHECK_TASK_TIME_LIMIT": "30"}
    domain = only(HANG)
    with running(Worker(env, tmp_path / "worker.log")):
        # The sender stamps the limits on the message, so this process states them too.
        task_id = run_check.apply_async((domain.id,), soft_time_limit=2, time_limit=30).id
        run = wait_for(lambda: CheckRun.objects.filter(task_id=task_id).first(), what="a run")
    assert run.status == "failed"
    assert run.error == "The check timed out after 2 s."
    domain.refresh_from_db()
    assert domain.last_checked_at == run.finished_at
