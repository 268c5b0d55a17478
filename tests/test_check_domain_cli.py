"""``manage.py check_domain`` as a script sees it: real process, real lab, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.lab


def _run(lab, *domains: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTASTS_")}
    env.update(lab.env())
    env.update({"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"})
    return subprocess.run(
        [sys.executable, "manage.py", "check_domain", "--json", *domains],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("domains", "status"),
    [
        (["plain.lab.test", "two-mx.lab.test"], 0),
        (["plain.lab.test", "tlsrpt-missing.lab.test"], 1),
        (["tlsrpt-missing.lab.test", "mx-expired.lab.test", "plain.lab.test"], 2),
    ],
)
def test_exit_status_is_the_worst_domain_status(lab, domains, status):
    result = _run(lab, *domains)
    assert result.returncode == status, result.stderr
    data = json.loads(result.stdout)
    assert [d["domain"] for d in data] == domains
    assert set(data[0]) >= {"domain", "status", "checked_at", "record", "policy", "mx"}
    assert {"tlsrpt", "findings"} <= set(data[0])


def test_a_bad_argument_exits_3(lab):
    result = _run(lab, "not a domain")
    assert result.returncode == 3
    assert "domain" in result.stderr
