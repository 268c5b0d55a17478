"""Monitoring throughput: N lab domains due at once, dispatched through Redis to real workers.

What it measures (printed as lines ready for bench/README.md):

* domains checked and stored per minute (dispatch of the first to the last run stored);
* dispatch-to-stored latency per domain: median and 95th percentile;
* database rows written per check (inserts + updates, from pg_stat_user_tables);
* peak memory (VmHWM) of the worker processes.

It needs PostgreSQL (DATABASE_URL names the server; the bench makes and drops its own
database, ``<name>_bench_monitor``) and starts its own redis-server on a free port, the lab
in its own process, and the workers as ``celery -A config worker`` subprocesses.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stsguard \\
        .venv/bin/python bench/monitor_throughput.py [--domains 1000] [--workers 1]
        [--concurrency 4] [--pool prefork]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLES = (
    "monitoring_domain",
    "monitoring_checkrun",
    "monitoring_finding",
    "monitoring_alert",
    "monitoring_notification",
    "monitoring_domainsummary",
)


def serve_lab(count: int, pipe: Connection) -> None:
    """Child process: the lab with the bench certificates issued, until told to stop."""
    from tests.lab import Lab

    with Lab() as lab:
        lab.prepare_bench(count)
        pipe.send(lab.env())
        pipe.recv()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def bench_database(url: str) -> tuple[str, str]:
    """(the admin URL, the bench database URL) derived from DATABASE_URL."""
    import dj_database_url

    conf = dj_database_url.parse(url)
    if "postgresql" not in conf["ENGINE"]:
        raise SystemExit("the bench needs PostgreSQL: DATABASE_URL=postgres://...")
    base, _, name = url.rpartition("/")
    return f"{base}/postgres", f"{base}/{name}_bench_monitor"


def recreate_database(admin_url: str, bench_url: str, *, drop_only: bool = False) -> None:
    import psycopg

    name = bench_url.rpartition("/")[2]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.monitoring.processes import RedisServer

    server = RedisServer(directory).start()
    assert server.process is not None
    return server.process, server.url


def vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_pids(process: subprocess.Popen[bytes]) -> list[int]:
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    except OSError:
        children = []
    return [process.pid, *map(int, children)]


def table_writes(cursor) -> dict[str, tuple[int, int]]:
    """Rows inserted and updated per table since the last pg_stat_reset()."""
    cursor.execute(
        "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables WHERE relname = ANY(%s)",
        [list(TABLES)],
    )
    return {name: (ins, upd) for name, ins, upd in cursor.fetchall()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads"])
    args = parser.parse_args()

    admin_url, bench_url = bench_database(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stsguard")
    )
    recreate_database(admin_url, bench_url)
    tmp = Path(tempfile.mkdtemp(prefix="stsguard-bench-monitor-"))
    redis_process, broker = start_redis(tmp / "redis")
    parent, child = mp.Pipe()
    lab = mp.Process(target=serve_lab, args=(args.domains, child), daemon=True)
    lab.start()
    lab_env = parent.recv()
    env = {
        **os.environ,
        **lab_env,
        "DATABASE_URL": bench_url,
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "DEBUG": "0",
        "VAR_DIR": str(tmp / "var"),
        "LOG_LEVEL": "WARNING",
        # The bench measures the check path; no alert channels exist, so none is sent.
        "MTASTS_TIMEOUT": "5",
        "MTASTS_DEADLINE": "15",
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY",
                                            "VAR_DIR", "DEBUG", "LOG_LEVEL")})  # fmt: skip
    os.environ.update(lab_env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        return run(args, env, tmp, workers)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        parent.send("stop")
        lab.join(timeout=10)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        recreate_database(admin_url, bench_url, drop_only=True)


def run(args: argparse.Namespace, env: dict[str, str], tmp: Path, workers: list) -> int:
    from django.db import connection
    from django.utils import timezone

    from monitoring import scheduling
    from monitoring.models import CheckRun, Domain, Organization
    from monitoring.tasks import run_check
    from tests.lab import Lab

    names = Lab.bench_domains(args.domains)
    org = Organization.objects.create(name="Bench", slug="bench")
    far = timezone.now() + timezone.timedelta(days=1)
    Domain.objects.bulk_create(
        [Domain(organization=org, name=name, next_check_at=far) for name in names]
    )
    for index in range(args.workers):
        log = (tmp / f"worker{index}.log").open("ab")
        workers.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("celery")),
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    "checks,default",
                    "-P",
                    args.pool,
                    "-c",
                    str(args.concurrency),
                    "-l",
                    "WARNING",
                    "--without-mingle",
                    "--without-gossip",
                    "-n",
                    f"bench{index}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    time.sleep(8)  # workers connected and their pools forked
    # Everything due at once; one dispatcher tick claims and queues them all through Redis.
    Domain.objects.filter(organization=org).update(next_check_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_reset()")
    time.sleep(1.5)
    queued_at: dict[int, float] = {}

    def enqueue(domain_id: int) -> None:
        queued_at[domain_id] = time.time()
        run_check.apply_async((domain_id,), retry=False)

    started = time.time()
    dispatched = scheduling.dispatch(enqueue)
    dispatch_done = time.time()
    peak: dict[int, int] = {}
    while CheckRun.objects.filter(domain__organization=org).count() < dispatched:
        for worker in workers:
            for pid in worker_pids(worker):
                peak[pid] = max(peak.get(pid, 0), vm_hwm_kb(pid))
        time.sleep(0.5)
    for worker in workers:
        for pid in worker_pids(worker):
            peak[pid] = max(peak.get(pid, 0), vm_hwm_kb(pid))
    runs = list(
        CheckRun.objects.filter(domain__organization=org).values_list(
            "domain_id", "finished_at", "status", "duration_ms"
        )
    )
    for worker in workers:  # disconnecting flushes each backend's table statistics
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)
    time.sleep(2)
    with connection.cursor() as cursor:
        writes = table_writes(cursor)

    last = max(finished.timestamp() for _, finished, _, _ in runs)
    latencies = [finished.timestamp() - queued_at[d] for d, finished, _, _ in runs]
    statuses: dict[str, int] = {}
    for _, _, status, _ in runs:
        statuses[status] = statuses.get(status, 0) + 1
    per_check = {
        t.removeprefix("monitoring_"): f"{ins / len(runs):.2f} ins + {upd / len(runs):.2f} upd"
        for t, (ins, upd) in sorted(writes.items())
        if ins or upd
    }
    rows = sum(ins + upd for ins, upd in writes.values()) / len(runs)
    elapsed = last - started
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"workers: {args.workers} x {args.pool} concurrency {args.concurrency}; broker Redis; "
          f"PostgreSQL")  # fmt: skip
    print(f"domains: {len(runs)} (statuses {statuses}); dispatch of all took "
          f"{dispatch_done - started:.2f} s")  # fmt: skip
    print(f"throughput: {len(runs) / elapsed * 60:.0f} domains checked and stored per minute "
          f"({elapsed:.1f} s for all)")  # fmt: skip
    print(f"dispatch-to-stored latency: median {statistics.median(latencies):.1f} s, "
          f"p95 {percentile(latencies, 0.95):.1f} s")  # fmt: skip
    print(f"check duration (engine): median {statistics.median(r[3] for r in runs):.0f} ms")
    print(f"database rows written per check: {rows:.2f} ({per_check})")
    children = sorted((kb for pid, kb in peak.items()), reverse=True)
    print(f"peak memory (VmHWM): largest worker process {children[0] / 1024:.0f} MiB, "
          f"all {len(children)} worker processes {sum(children) / 1024:.0f} MiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
