"""The finding codes of the shared design document are a public contract: all must exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitoring.checks.findings import CATALOGUE

CHECKS_MD = Path(__file__).resolve().parents[2].parent / "shared" / "docs" / "CHECKS.md"


def _documented_codes() -> set[str]:
    rows = re.findall(r"^\| `([a-z_]+(?:\.[a-z_0-9]+)+)` \|", CHECKS_MD.read_text(), re.M)
    return set(rows)


@pytest.mark.skipif(not CHECKS_MD.exists(), reason="shared/docs/CHECKS.md is not beside the repo")
def test_every_documented_code_is_in_the_catalogue():
    documented = _documented_codes()
    assert len(documented) >= 35
    assert documented - set(CATALOGUE) == set()


@pytest.mark.skipif(not CHECKS_MD.exists(), reason="shared/docs/CHECKS.md is not beside the repo")
def test_documented_severities_match_the_catalogue():
    text = CHECKS_MD.read_text()
    for code, severity in re.findall(r"^\| `([a-z_.0-9]+)` \| (error|warning|info) \|", text, re.M):
        assert CATALOGUE[code].severity == severity, code
