"""Dashboard render time and query count with 1,000 domains (SQLite, DEBUG off).

Builds a throw-away database in a temporary folder: one organization with ``--domains``
checked domains (summaries filled in, every third with an open alert), then renders the
dashboard through Django's test client, as a logged-in owner, for a few views. Prints one
line per view, ready for bench/README.md.

    .venv/bin/python bench/dashboard_render.py [--domains 1000] [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VIEWS = {
    "default (worst first, 50 rows)": "",
    "sorted by name, 200 rows": "?sort=name&per_page=200",
    "has problems, by open alerts": "?problems=on&sort=-alerts",
    "search 'host00'": "?q=host00",
    "htmx table only (filter change)": "?status=ok",
}


def configure(folder: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "bench-only-secret-key",
            "DEBUG": "0",
            "VAR_DIR": folder,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "CELERY_BROKER_URL": "memory://",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate(count: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from monitoring.models import Alert, Domain, DomainSummary, Membership, Organization, Role

    org = Organization.objects.create(name="Bench MSP", slug="bench")
    user = get_user_model().objects.create_user(username="owner@bench.test", password="x")
    Membership.objects.create(user=user, organization=org, role=Role.OWNER)
    now = timezone.now()
    statuses = ["ok"] * 7 + ["warning", "warning", "error"]
    Domain.objects.bulk_create(
        Domain(
            organization=org,
            name=f"host{n:05d}.example.net",
            status=statuses[n % 10],
            last_checked_at=now,
        )
        for n in range(count)
    )
    domains = list(Domain.objects.filter(organization=org))
    DomainSummary.objects.bulk_create(
        DomainSummary(
            domain=d,
            mode=("enforce", "testing", "none")[n % 3],
            policy_id="20240101T000000",
            mx_total=2,
            mx_covered=2 - n % 7 // 6,
            min_cert_days=n % 90,
            min_cert_host=f"mx1.{d.name}",
            tlsrpt_rate_7d=0.95 + (n % 5) / 100,
            tlsrpt_daily=[1.0, 0.98, None, 0.99, 1.0, 1.0, 0.97],
            tlsrpt_sessions_7d=7000,
            checked_at=now,
        )
        for n, d in enumerate(domains)
    )
    Alert.objects.bulk_create(
        Alert(domain=d, code="mx.cert.expiring", key="mx1", severity="warning")
        for d in domains[::3]
    )
    return org, user


def measure(client, url: str, runs: int, htmx: bool) -> tuple[list[float], int, int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for _ in range(3):  # warm the template cache and the session
        client.get(url, **headers)
    reset_queries()  # each request clears the log at its start; count from empty
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    queries = len(captured)  # now: the log is cleared by the next request
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
    return times, queries, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stsguard-bench-") as folder:
        configure(folder)
        from django.test import Client
        from django.urls import reverse

        org, user = populate(args.domains)
        client = Client()
        client.force_login(user)
        base = reverse("domain_list", args=[org.uuid])
        print(
            f"# dashboard_render: {args.domains} domains, {args.runs} runs per view, "
            f"Python {platform.python_version()}, SQLite, {os.cpu_count()} CPUs"
        )
        for label, query in VIEWS.items():
            times, queries, size = measure(client, base + query, args.runs, "htmx" in label)
            median = statistics.median(times)
            p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
            print(
                f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms, "
                f"{queries} queries, {size / 1024:.0f} KiB"
            )


if __name__ == "__main__":
    main()
