"""The check engine: plain Python (no Django), one domain in, one ``DomainReport`` out.

Public API::

    from monitoring.checks import CheckOptions, check_domain
    report = check_domain("example.com", CheckOptions.from_env())
"""

from __future__ import annotations

from monitoring.checks.engine import check_domain, check_domain_async, check_many
from monitoring.checks.findings import CATALOGUE, Finding
from monitoring.checks.names import is_valid_pattern, matches_pattern, normalize_domain
from monitoring.checks.options import CheckOptions, ConfigError
from monitoring.checks.report import DomainReport

__all__ = [
    "CATALOGUE",
    "CheckOptions",
    "ConfigError",
    "DomainReport",
    "Finding",
    "check_domain",
    "check_domain_async",
    "check_many",
    "is_valid_pattern",
    "matches_pattern",
    "normalize_domain",
]
