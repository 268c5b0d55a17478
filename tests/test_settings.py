"""Settings come from the environment and a bad value stops start-up, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import Env

ROOT = Path(__file__).resolve().parent.parent


def _start(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MTASTS_", "DJANGO_"))}
    base.update({"DEBUG": "0", "SECRET_KEY": "x" * 40, **env})
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
            "'config.settings'; django.setup(); print('started')",
        ],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "carrier-pigeon://x"}, "CELERY_BROKER_URL"),
        ({"MTASTS_SMTP_PORT": "abc"}, "MTASTS_SMTP_PORT"),
        ({"MTASTS_ALLOW_PRIVATE_TARGETS": "perhaps"}, "MTASTS_ALLOW_PRIVATE_TARGETS"),
    ],
)
def test_bad_value_fails_loudly_naming_the_variable(env, variable):
    result = _start(env)
    assert result.returncode != 0
    assert variable in result.stderr


def test_defaults_start_without_any_service():
    result = _start({})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_env_helpers_parse_types():
    env = Env({"A": "yes", "B": "42", "C": "a, b,,c", "D": ""})
    assert env.bool("A", False) is True
    assert env.int("B", 0) == 42
    assert env.list("C", []) == ["a", "b", "c"]
    assert env.str("D", "fallback") == "fallback"
    assert env.optional("D") is None


def test_a_soft_time_limit_under_the_engine_deadline_is_flagged(settings):
    from dataclasses import replace

    from monitoring.system_checks import check_time_limits

    assert check_time_limits(None) == []
    settings.CHECK_OPTIONS = replace(settings.CHECK_OPTIONS, deadline=90)
    warnings = check_time_limits(None)
    assert [w.id for w in warnings] == ["stsguard.W001"]
    assert "MTASTS_DEADLINE" in warnings[0].msg
