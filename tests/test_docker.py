"""No Docker engine runs here, so the deployment files are checked by reading them."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parent.parent / "docker"


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_has_every_service():
    services = _compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)


def test_app_services_run_the_right_commands():
    services = _compose()["services"]
    assert services["web"]["command"][0] == "gunicorn"
    assert "config.wsgi:application" in services["web"]["command"]
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert "checks" in worker[worker.index("-Q") + 1].split(",")
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_app_services_use_postgres_and_redis_and_wait_for_them():
    for name in ("web", "worker", "beat"):
        service = _compose()["services"][name]
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert env["DEBUG"] == "0"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert _compose()["services"]["worker"]["environment"]["MIGRATE"] == "0"


def test_secrets_are_required_from_the_environment():
    text = (DOCKER / "compose.yaml").read_text()
    assert "${SECRET_KEY:?" in text
    assert "${POSTGRES_PASSWORD:?" in text


def test_image_runs_as_non_root_and_migrates_on_entry():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["/entrypoint.sh"]' in dockerfile
    entrypoint = (DOCKER / "entrypoint.sh").read_text()
    assert "manage.py migrate --noinput" in entrypoint
    assert 'exec "$@"' in entrypoint
