"""The dashboard: rows, filters, sort, search, pages, bulk actions, and a fixed query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Alert, Domain, DomainSummary
from monitoring.views.dashboard import sparkline
from tests.ui.support import add_tlsrpt, broken_report, report, store

pytestmark = pytest.mark.django_db


def _url(team, **query) -> str:
    from urllib.parse import urlencode

    base = reverse("domain_list", args=[team.org.uuid])
    return f"{base}?{urlencode(query)}" if query else base


@pytest.fixture
def fleet(team):
    """acme.test healthy, broken.acme.test broken with an open alert, new.acme.test unchecked."""
    store(team.domain, report("acme.test"))
    broken = Domain.objects.create(organization=team.org, name="broken.acme.test")
    store(broken, broken_report("broken.acme.test"))
    Alert.objects.create(domain=broken, code="mx.not_covered", key="mx2", severity="error")
    fresh = Domain.objects.create(organization=team.org, name="new.acme.test")
    return {"ok": team.domain, "broken": broken, "new": fresh}


def _names(response) -> list[str]:
    body = response.content.decode()
    order = []
    for name in ("broken.acme.test", "new.acme.test", "acme.test"):
        marker = f">{name}</a>"
        if marker in body:
            order.append((body.index(marker), name))
    return [name for _, name in sorted(order)]


def test_rows_show_every_column(team, fleet):
    body = team.client("owner").get(_url(team)).content.decode()
    assert "Domains of Acme" in body
    assert "enforce" in body and "20240101T000000" in body
    assert ">1/2</span>" in body  # broken: one of two MX hosts covered
    assert ">1/1</span>" in body
    assert ">5 d</span>" in body  # fewest days left on any certificate
    assert ">60 d</span>" in body  # acme.test: the policy host's certificate is the soonest
    assert 'class="alertcount"' in body
    assert "other.test" not in body


def test_worst_first_by_default_and_sortable(team, fleet):
    client = team.client("owner")
    assert _names(client.get(_url(team))) == ["broken.acme.test", "new.acme.test", "acme.test"]
    assert _names(client.get(_url(team, sort="name"))) == [
        "acme.test",
        "broken.acme.test",
        "new.acme.test",
    ]
    assert _names(client.get(_url(team, sort="-name")))[0] == "new.acme.test"
    certs = _names(client.get(_url(team, sort="certs")))
    assert certs[:2] == ["broken.acme.test", "acme.test"]  # unknown (None) last
    assert _names(client.get(_url(team, sort="-alerts")))[0] == "broken.acme.test"


def test_filters_and_search(team, fleet):
    client = team.client("owner")
    assert _names(client.get(_url(team, status="error"))) == ["broken.acme.test"]
    assert _names(client.get(_url(team, status="pending"))) == ["new.acme.test"]
    assert _names(client.get(_url(team, problems="on"))) == ["broken.acme.test"]
    assert _names(client.get(_url(team, mode="enforce", sort="name"))) == [
        "acme.test",
        "broken.acme.test",
    ]
    assert _names(client.get(_url(team, mode="nopolicy"))) == ["new.acme.test"]
    assert _names(client.get(_url(team, q="BROK"))) == ["broken.acme.test"]
    Domain.objects.filter(id=fleet["ok"].id).update(enabled=False)
    assert _names(client.get(_url(team, status="paused"))) == ["acme.test"]
    assert "No domain matches" in client.get(_url(team, q="nothing-here")).content.decode()


def test_htmx_gets_only_the_table(team, fleet):
    response = team.client("owner").get(_url(team, q="acme"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="domains"' in body
    assert "<html" not in body and "Domains of Acme" not in body


def test_pagination(team):
    Domain.objects.bulk_create(
        Domain(organization=team.org, name=f"d{n:03d}.example.com") for n in range(60)
    )
    client = team.client("owner")
    first = client.get(_url(team, sort="name")).content.decode()
    assert "Showing 1\N{EN DASH}50 of 61" in first and "Page 1 of 2" in first
    second = client.get(_url(team, sort="name", page=2)).content.decode()
    assert "Showing 51\N{EN DASH}61 of 61" in second and ">d059.example.com</a>" in second
    small = client.get(_url(team, per_page=25)).content.decode()
    assert "Page 1 of 3" in small


def test_tlsrpt_rate_and_sparkline(team):
    today = timezone.now().date()
    for back, (ok, bad) in enumerate([(100, 0), (90, 10), (99, 1)]):
        add_tlsrpt(team.domain, today - dt.timedelta(days=back), ok, bad)
    store(team.domain, report("acme.test"))
    summary = DomainSummary.objects.get(domain=team.domain)
    assert summary.tlsrpt_rate_7d == pytest.approx(289 / 300)
    assert summary.tlsrpt_sessions_7d == 300
    assert summary.tlsrpt_daily[-1] == 1.0 and summary.tlsrpt_daily[0] is None
    body = team.client("owner").get(_url(team)).content.decode()
    assert "96.3%" in body
    assert "<polyline" in body and "Daily TLS success, oldest first" in body


def test_sparkline_splits_at_days_without_reports():
    spark = sparkline([None, 1.0, 0.5, None, 0.9, 1.0, None])
    assert len(spark["lines"]) == 2
    assert sparkline([None] * 7) is None
    top, bottom = sparkline([1.0, 0.0])["lines"][0].split()
    assert float(top.split(",")[1]) < float(bottom.split(",")[1])


def _bulk(team, who, action, domains, **extra):
    url = reverse("dashboard_bulk", args=[team.org.uuid])
    data = {"action": action, "domains": [str(d.uuid) for d in domains], **extra}
    return team.client(who).post(url, data)


def test_bulk_pause_resume_and_check_now(team, fleet):
    later = timezone.now() + dt.timedelta(hours=1)
    Domain.objects.update(next_check_at=later)
    assert _bulk(team, "member", "pause", [fleet["ok"], fleet["broken"]]).status_code == 302
    assert not Domain.objects.get(id=fleet["ok"].id).enabled
    _bulk(team, "member", "resume", [fleet["ok"]])
    ok = Domain.objects.get(id=fleet["ok"].id)
    assert ok.enabled and ok.next_check_at <= timezone.now()
    _bulk(team, "member", "check", [fleet["new"], fleet["broken"]])
    assert Domain.objects.get(id=fleet["new"].id).next_check_at <= timezone.now()
    # A paused domain is not checked by "check now".
    assert Domain.objects.get(id=fleet["broken"].id).next_check_at == later


def test_bulk_delete_asks_first(team, fleet):
    response = _bulk(team, "owner", "delete", [fleet["new"], fleet["broken"]])
    assert response.status_code == 200
    assert "Stop monitoring 2 domains?" in response.content.decode()
    assert Domain.objects.filter(organization=team.org).count() == 3
    response = _bulk(team, "owner", "delete", [fleet["new"], fleet["broken"]], confirm="yes")
    assert response.status_code == 302
    assert list(Domain.objects.filter(organization=team.org).values_list("name", flat=True)) == [
        "acme.test"
    ]


def test_bulk_never_touches_another_organization(team, fleet):
    _bulk(team, "owner", "delete", [team.other_domain], confirm="yes")
    _bulk(team, "owner", "pause", [team.other_domain])
    other = Domain.objects.get(id=team.other_domain.id)
    assert other.enabled


def test_bulk_tenancy(team, fleet):
    assert _bulk(team, "viewer", "pause", [fleet["ok"]]).status_code == 403
    assert _bulk(team, "stranger", "delete", [fleet["ok"]], confirm="yes").status_code == 404
    assert Domain.objects.get(id=fleet["ok"].id).enabled
    body = team.client("viewer").get(_url(team)).content.decode()
    assert 'name="domains"' not in body and "Check now" not in body


def _fill(org, start: int, count: int) -> None:
    """``count`` checked domains with summaries; every third has an open alert."""
    names = [f"host{n:05d}.example.net" for n in range(start, start + count)]
    Domain.objects.bulk_create(Domain(organization=org, name=n, status="ok") for n in names)
    domains = list(Domain.objects.filter(organization=org, name__in=names))
    DomainSummary.objects.bulk_create(
        DomainSummary(
            domain=domain,
            mode="enforce",
            policy_id="20240101T000000",
            mx_total=2,
            mx_covered=2 - n % 2,
            min_cert_days=n % 90,
            tlsrpt_rate_7d=0.99,
            tlsrpt_daily=[1.0, 0.98, None, 0.99, 1.0, 1.0, 0.97],
        )
        for n, domain in enumerate(domains)
    )
    Alert.objects.bulk_create(
        Alert(domain=d, code="mx.cert.expiring", severity="warning") for d in domains[::3]
    )


@pytest.mark.parametrize("query", [{}, {"sort": "-alerts", "problems": "on"}, {"per_page": 200}])
def test_query_count_does_not_grow_with_the_number_of_domains(team, query):
    client = team.client("owner")
    url = _url(team, **query)
    _fill(team.org, 0, 10)
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _fill(team.org, 10, 990)
    _fill(team.other_org, 0, 50)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert response.status_code == 200
    assert Domain.objects.filter(organization=team.org).count() == 1001
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
    assert len(large) <= 10


def test_bulk_check_now_runs_the_dispatcher_at_once(
    team, fleet, django_capture_on_commit_callbacks
):
    from tests.broker import drain

    with django_capture_on_commit_callbacks(execute=True):
        _bulk(team, "member", "check", [fleet["new"]])
    tasks = [task for task, _ in drain("default")]
    assert "monitoring.tasks.dispatch_due_checks" in tasks
