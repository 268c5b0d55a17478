"""``manage.py check_domain``: arguments, output formats and exit status.

No servers: the resolver points at a port where nothing listens, so every look-up fails
fast and the command still prints a full report.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from monitoring.checks.options import CheckOptions

DEAD = CheckOptions(nameservers=(("127.0.0.1", 9),), timeout=0.4, deadline=3)


def run(*args: str, status: int = 2) -> str:
    """Run the command; every look-up fails, so the expected exit status is 2 (error)."""
    out = StringIO()
    with override_settings(CHECK_OPTIONS=DEAD), pytest.raises(SystemExit) as exited:
        call_command("check_domain", *args, stdout=out)
    assert exited.value.code == status
    return out.getvalue()


def test_json_output() -> None:
    data = json.loads(run("B.example.", "a.example", "--json"))
    assert [d["domain"] for d in data] == ["b.example", "a.example"]
    assert "sts.record.lookup_failed" in {f["code"] for f in data[0]["findings"]}


def test_text_output() -> None:
    text = run("example.com")
    assert text.startswith("example.com: ERROR (4 findings;")
    assert "sts.record.lookup_failed" in text and "fix: " in text


def test_invalid_domain_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="just the domain") as raised:
        call_command("check_domain", "https://example.com/", stdout=StringIO())
    assert raised.value.returncode == 3
