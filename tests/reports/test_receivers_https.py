"""The HTTPS receiver over a real socket: pytest-django's live server, httpx as the sender."""

from __future__ import annotations

import os

import httpx
import pytest
from django.core.cache import cache

from reports import ingest
from reports.models import RawReport, RawStatus, Report, ReportEndpoint
from reports.receivers import ratelimit
from tests.reports.ingest_support import eager_tasks, no_dkim_dns  # noqa: F401 - fixtures
from tests.reports.support import MIB, gzip_bytes, report_dict, sample, to_json

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_dkim_dns", "eager_tasks"),
]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def endpoint(team) -> ReportEndpoint:
    return ingest.endpoint_for(team.org)


def post(live_server, token: str, body, content_type: str = "application/tlsrpt+gzip"):
    return httpx.post(
        f"{live_server.url}/tlsrpt/{token}/",
        content=body,
        headers={"Content-Type": content_type},
        timeout=30,
    )


def test_gzip_report_is_accepted_stored_and_parsed(live_server, endpoint, team):
    body = gzip_bytes(sample("stalwartlabs__mail-auth__rpt02.json"))
    response = post(live_server, endpoint.token, body)
    assert response.status_code == 201
    raw = RawReport.objects.get(uuid=response.json()["id"])
    assert raw.organization == team.org
    assert raw.source == "https"
    assert raw.endpoint == endpoint
    assert bytes(raw.data) == body
    assert raw.headers["Content-Type"] == "application/tlsrpt+gzip"
    assert raw.status == RawStatus.PARSED  # the queued task ran (eagerly) after commit
    assert Report.objects.get(raw=raw).total_failure == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "application/tlsrpt+json",
        "application/json; charset=utf-8",
        "application/octet-stream",
    ],
)
def test_json_and_lenient_types_are_accepted(live_server, endpoint, content_type):
    response = post(live_server, endpoint.token, to_json(report_dict()), content_type)
    assert response.status_code == 201
    assert RawReport.objects.get().status == RawStatus.PARSED


def test_gzip_labelled_as_plain_gzip_is_accepted(live_server, endpoint):
    body = gzip_bytes(to_json(report_dict()))
    assert post(live_server, endpoint.token, body, "application/gzip").status_code == 201


def test_a_refused_body_still_answers_201_and_is_kept(live_server, endpoint):
    response = post(live_server, endpoint.token, b"not json", "application/tlsrpt+json")
    assert response.status_code == 201  # RFC 8460: accept, process later
    raw = RawReport.objects.get()
    assert (raw.status, raw.reason_code) == (RawStatus.REJECTED, "not_json")
    assert bytes(raw.data) == b"not json"


def test_unknown_token_is_404_and_nothing_is_stored(live_server, endpoint):
    response = post(live_server, "0" * 32, gzip_bytes(to_json(report_dict())))
    assert response.status_code == 404
    assert not RawReport.objects.exists()


def test_get_is_not_allowed(live_server, endpoint):
    assert httpx.get(f"{live_server.url}/tlsrpt/{endpoint.token}/").status_code == 405


def test_other_content_types_are_415(live_server, endpoint):
    response = post(live_server, endpoint.token, b"<html>", "text/html")
    assert response.status_code == 415
    assert not RawReport.objects.exists()


def test_over_the_limit_is_413_by_declared_length(live_server, endpoint, settings):
    settings.TLSRPT_MAX_COMPRESSED = 64 * 1024
    body = os.urandom(64 * 1024 + 1)
    response = post(live_server, endpoint.token, body)
    assert response.status_code == 413
    assert not RawReport.objects.exists()


def test_exactly_the_limit_is_accepted(live_server, endpoint, settings):
    settings.TLSRPT_MAX_COMPRESSED = 64 * 1024
    body = os.urandom(64 * 1024)
    assert post(live_server, endpoint.token, body).status_code == 201
    assert RawReport.objects.get().size == 64 * 1024


def test_a_body_over_data_upload_max_memory_size_is_read(live_server, endpoint, settings):
    """request.body would refuse this (DATA_UPLOAD_MAX_MEMORY_SIZE); the stream read does not."""
    assert int(2.5 * MIB) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    document = to_json(report_dict())
    body = document[:-1] + b" " * (4 * MIB) + b"}"
    response = post(live_server, endpoint.token, body, "application/tlsrpt+json")
    assert response.status_code == 201
    raw = RawReport.objects.get()
    assert raw.size == len(body)
    assert raw.status == RawStatus.PARSED


def test_a_body_without_content_length_is_411(live_server, endpoint):
    def chunks():
        yield to_json(report_dict())

    response = httpx.post(
        f"{live_server.url}/tlsrpt/{endpoint.token}/",
        content=chunks(),
        headers={"Content-Type": "application/tlsrpt+json"},
    )
    assert response.status_code == 411
    assert not RawReport.objects.exists()


def test_rate_limit_per_token(live_server, endpoint, team, settings):
    settings.TLSRPT_RATE_LIMIT = 3
    body = gzip_bytes(to_json(report_dict()))
    codes = [post(live_server, endpoint.token, body).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = post(live_server, endpoint.token, body)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert RawReport.objects.count() == 3
    # Another organization's token has its own window.
    other = ingest.endpoint_for(team.other_org)
    assert post(live_server, other.token, body).status_code == 201


def test_a_domain_token_reaches_the_same_organization(live_server, team):
    endpoint = ReportEndpoint.objects.create(organization=team.org, domain=team.domain)
    document = report_dict()
    document["policies"][0]["policy"]["policy-domain"] = "acme.test"
    response = post(live_server, endpoint.token, to_json(document), "application/tlsrpt+json")
    assert response.status_code == 201
    report = Report.objects.get()
    assert (report.organization, report.domain) == (team.org, team.domain)
    assert report.raw.endpoint == endpoint


def test_csrf_is_exempt_only_for_the_receiver(live_server, endpoint, team):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    upload = client.post(f"/orgs/{team.org.uuid}/reports/upload/", {})
    assert upload.status_code == 403  # CSRF still guards the upload form


def test_fixed_window_counter():
    assert all(ratelimit.hit("t", "k", limit=2, window=60, now=120.0) for _ in range(2))
    assert not ratelimit.hit("t", "k", limit=2, window=60, now=150.0)
    assert ratelimit.hit("t", "k", limit=2, window=60, now=180.0)  # the next window
    assert ratelimit.retry_after(60, now=150.0) == 30


@pytest.mark.redis
def test_fixed_window_counter_on_redis(settings):
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs Redis (CELERY_BROKER_URL=redis://...)")
    # Database 14: apart from the broker's, and flushed by this test only.
    location = broker.rsplit("/", 1)[0] + "/14"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    }
    cache.clear()
    assert [ratelimit.hit("t", "redis", limit=2, window=60, now=60.0) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    cache.clear()
