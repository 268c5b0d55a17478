"""What the onboarding wizard hands out: the policy file, DNS records, zone-file lines,
``mx`` pattern suggestions and hosting recipes. Plain Python, no Django import.
"""

from __future__ import annotations

from monitoring.generators.hosting import (
    GeneratedFile,
    Recipe,
    hosted_recipe,
    hosting_recipes,
)
from monitoring.generators.policy import (
    DEFAULT_MAX_AGE,
    PolicySpec,
    new_policy_id,
    render_policy,
)
from monitoring.generators.providers import CoverageResult, Suggestion, coverage, suggest_patterns
from monitoring.generators.records import (
    DnsRecord,
    hosted_cname_record,
    mta_sts_dns_record,
    mta_sts_record,
    policy_host_cname,
    tlsrpt_dns_record,
    tlsrpt_record,
)
from monitoring.generators.zonefile import bind_zone_snippet, records_text, txt_quote

__all__ = [
    "DEFAULT_MAX_AGE",
    "CoverageResult",
    "DnsRecord",
    "GeneratedFile",
    "PolicySpec",
    "Recipe",
    "Suggestion",
    "bind_zone_snippet",
    "coverage",
    "hosted_cname_record",
    "hosted_recipe",
    "hosting_recipes",
    "mta_sts_dns_record",
    "mta_sts_record",
    "new_policy_id",
    "policy_host_cname",
    "records_text",
    "render_policy",
    "suggest_patterns",
    "tlsrpt_dns_record",
    "tlsrpt_record",
    "txt_quote",
]
