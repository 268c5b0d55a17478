"""Parse the JSON of one TLSRPT aggregate report (RFC 8460 section 4) into dataclasses.

Liberal where it costs nothing (CHECKS.md section 8): ``policy-string`` and ``mx-host``
as a string or an array, missing ``failure-details``, ``contact-info`` null or absent,
datetimes without a zone (read as UTC), missing IPs, unknown ``result-type`` and
``policy-type`` values kept as sent, counts as digit strings. Strict where the data
would be wrong or could hurt storage: required fields, types, negative or absurd
counts, NUL characters and lone surrogates, over-long strings, and the limits.

One pass over the document, no schema library: a report with 10,000 failure entries
parses in a few tens of milliseconds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reports.errors import ReportRejected
from reports.limits import Limits

KNOWN_POLICY_TYPES = frozenset({"sts", "tlsa", "no-policy-found"})
KNOWN_RESULT_TYPES = frozenset(
    {
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
        "tlsa-invalid",
        "dnssec-invalid",
        "dane-required",
        "sts-policy-fetch-error",
        "sts-policy-invalid",
        "sts-webpki-invalid",
    }
)

# Keys read at each level; anything else is ignored but still depth-checked.
_REPORT_KEYS = frozenset(
    {"organization-name", "date-range", "contact-info", "report-id", "policies"}
)
_DATE_RANGE_KEYS = frozenset({"start-datetime", "end-datetime"})
_POLICY_ITEM_KEYS = frozenset({"policy", "summary", "failure-details"})
_POLICY_KEYS = frozenset(
    {"policy-type", "policy-string", "policy-domain", "mx-host", "mx-host-pattern"}
)
_SUMMARY_KEYS = frozenset({"total-successful-session-count", "total-failure-session-count"})
_FAILURE_KEYS = frozenset(
    {
        "result-type",
        "sending-mta-ip",
        "receiving-mx-hostname",
        "receiving-mx-helo",
        "receiving-ip",
        "failed-session-count",
        "additional-information",
        "additional-info-uri",
        "failure-reason-code",
    }
)
# String fields of a failure entry, in FailureDetail's positional order after the count.
_FAILURE_FIELDS = (
    ("result-type", "result_type"),
    ("sending-mta-ip", "sending_mta_ip"),
    ("receiving-mx-hostname", "receiving_mx_hostname"),
    ("receiving-mx-helo", "receiving_mx_helo"),
    ("receiving-ip", "receiving_ip"),
    ("additional-information", "additional_information"),
    ("failure-reason-code", "failure_reason_code"),
)
_FAST_FAILURE_KEYS = _FAILURE_KEYS - {"additional-info-uri"}
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_DIGITS = re.compile(r"[0-9]{1,20}")
_MX_PREFIX = re.compile(r"^mx\s*:\s*", re.IGNORECASE)


@dataclass(slots=True)
class FailureDetail:
    """One ``failure-details`` entry; absent optional fields are None."""

    result_type: str
    failed_session_count: int
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    additional_information: str | None = None
    failure_reason_code: str | None = None


@dataclass(slots=True)
class PolicyResult:
    """One ``policies`` entry: the policy the sender applied and its session counts."""

    policy_type: str
    policy_domain: str
    policy_strings: list[str]
    mx_hosts: list[str]
    total_successful: int
    total_failure: int
    failures: list[FailureDetail] = field(default_factory=list)


@dataclass(slots=True)
class ParsedReport:
    """A parsed report. ``warnings`` lists oddities that were accepted as sent."""

    organization_name: str
    report_id: str
    start_datetime: datetime
    end_datetime: datetime
    contact_info: str | None
    policies: list[PolicyResult]
    warnings: list[str] = field(default_factory=list)

    @property
    def total_successful(self) -> int:
        return sum(policy.total_successful for policy in self.policies)

    @property
    def total_failure(self) -> int:
        return sum(policy.total_failure for policy in self.policies)

    @property
    def failure_detail_count(self) -> int:
        return sum(len(policy.failures) for policy in self.policies)


def dedup_key(parsed: ParsedReport) -> tuple[str, str]:
    """The storage key that makes a report count once: (organization, report-id).

    The organization name is case-folded with its whitespace collapsed; the report-id
    is kept exactly (less outer whitespace), as RFC 8460 makes it the sender's string.
    """
    return " ".join(parsed.organization_name.split()).casefold(), parsed.report_id.strip()


def parse_report(json_bytes: bytes, limits: Limits) -> ParsedReport:
    """Parse one report's JSON text (UTF-8) or raise ``ReportRejected``."""
    root = load_json_object(json_bytes, limits)
    return _Parser(limits).report(root)


def load_json_object(json_bytes: bytes, limits: Limits) -> dict[str, Any]:
    """Decode UTF-8 and JSON, refusing what storage or the parser cannot take."""
    if len(json_bytes) > limits.max_decompressed:
        raise ReportRejected(
            f"{len(json_bytes)} bytes of JSON, the limit is {limits.max_decompressed}",
            "decompressed_too_large",
        )
    try:
        text = json_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportRejected(
            f"not valid UTF-8 at byte {exc.start}: {exc.reason}", "invalid_utf8"
        ) from None
    text = text.removeprefix("\ufeff")
    # An escaped NUL or lone surrogate is valid JSON, but PostgreSQL text cannot hold
    # either; a cheap scan of the text finds both before any object is built.
    if "\\u" in text:
        if "\\u0000" in text:
            raise ReportRejected("the JSON contains a NUL character (\\u0000)", "bad_value")
        found = _LONE_SURROGATE.search(text)
        if found:
            raise ReportRejected(f"the JSON contains a lone surrogate {found.group()}", "bad_value")
    try:
        root = json.loads(text)
    except RecursionError:
        # The C decoder recurses once per nesting level and stops at the interpreter's
        # recursion limit; anything that deep is far over max_json_depth anyway.
        raise ReportRejected(
            f"JSON nesting is deeper than the limit of {limits.max_json_depth}", "too_deep"
        ) from None
    except ValueError as exc:  # JSONDecodeError, and integers over 4300 digits
        raise ReportRejected(f"not JSON: {exc}", "not_json") from None
    if not isinstance(root, dict):
        raise ReportRejected(f"the JSON is {_json_type(root)}, a report is an object", "not_object")
    return root


class _Parser:
    """Walks the decoded document once; methods take the JSON path for error reasons."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.max_len = limits.max_string_length
        self.failure_budget = limits.max_failure_entries
        self.warnings: list[str] = []
        self.unknown_result_types: set[str] = set()

    def report(self, root: dict[str, Any]) -> ParsedReport:
        self.extra_keys(root, _REPORT_KEYS, "", 1)
        organization = self.required_str(root, "organization-name", "")
        report_id = self.report_id(root)
        start, end = self.date_range(root)
        contact = self.optional_str(root, "contact-info", "")
        policies_raw = self.required(root, "policies", "", list)
        if len(policies_raw) > self.limits.max_policies:
            raise ReportRejected(
                f"policies has {len(policies_raw)} entries, the limit is "
                f"{self.limits.max_policies}",
                "too_many_policies",
            )
        policies = [self.policy(item, f"policies[{i}]") for i, item in enumerate(policies_raw)]
        if self.unknown_result_types:
            self.warnings.append(
                "unknown result-type values kept as sent: "
                + ", ".join(sorted(self.unknown_result_types))
            )
        return ParsedReport(
            organization_name=organization,
            report_id=report_id,
            start_datetime=start,
            end_datetime=end,
            contact_info=contact,
            policies=policies,
            warnings=self.warnings,
        )

    def report_id(self, root: dict[str, Any]) -> str:
        value = root.get("report-id")
        # A numeric report-id is an RFC violation with an unambiguous reading.
        if type(value) is int:
            return str(value)
        return self.required_str(root, "report-id", "")

    def date_range(self, root: dict[str, Any]) -> tuple[datetime, datetime]:
        dates = self.required(root, "date-range", "", dict)
        self.extra_keys(dates, _DATE_RANGE_KEYS, "date-range", 2)
        start = parse_datetime(
            self.required_str(dates, "start-datetime", "date-range"),
            "date-range.start-datetime",
        )
        end = parse_datetime(
            self.required_str(dates, "end-datetime", "date-range"), "date-range.end-datetime"
        )
        if end < start:
            raise ReportRejected(
                f"date-range.end-datetime {end.isoformat()} is before start-datetime "
                f"{start.isoformat()}",
                "bad_value",
            )
        return start, end

    def policy(self, item: Any, path: str) -> PolicyResult:
        fields = _fast_policy(item, self.max_len, self.limits.max_session_count)
        if fields is None:
            fields = self.policy_fields(item, path)
        policy_type, domain, strings, mx_patterns, successful, failed = fields
        mx_hosts = [normalise_mx_host(host) for host in mx_patterns]
        failures = self.failures(item.get("failure-details"), f"{path}.failure-details")
        detailed = sum(detail.failed_session_count for detail in failures)
        if failures and detailed != failed:
            self.warnings.append(
                f"{path}: failure-details add up to {detailed} sessions, "
                f"total-failure-session-count says {failed}"
            )
        return PolicyResult(
            policy_type=policy_type,
            policy_domain=domain,
            policy_strings=strings,
            mx_hosts=mx_hosts,
            total_successful=successful,
            total_failure=failed,
            failures=failures,
        )

    def policy_fields(self, item: Any, path: str) -> _PolicyFields:
        """A ``policies`` entry's fields, checked one by one with a reason on refusal."""
        item = self.expect(item, dict, path)
        self.extra_keys(item, _POLICY_ITEM_KEYS, path, 3)
        policy = self.required(item, "policy", path, dict)
        policy_path = f"{path}.policy"
        self.extra_keys(policy, _POLICY_KEYS, policy_path, 4)
        policy_type = self.required_str(policy, "policy-type", policy_path)
        if policy_type not in KNOWN_POLICY_TYPES:
            self.warnings.append(f"{policy_path}.policy-type {policy_type!r} is not in RFC 8460")
        domain = self.required_str(policy, "policy-domain", policy_path)
        strings = self.string_list(policy, "policy-string", policy_path, limit_length=False)
        mx_key = "mx-host" if policy.get("mx-host") is not None else "mx-host-pattern"
        mx_patterns = self.string_list(policy, mx_key, policy_path, limit_length=True)
        summary = self.required(item, "summary", path, dict)
        summary_path = f"{path}.summary"
        self.extra_keys(summary, _SUMMARY_KEYS, summary_path, 4)
        successful = self.count(summary, "total-successful-session-count", summary_path)
        failed = self.count(summary, "total-failure-session-count", summary_path)
        return policy_type, domain, strings, mx_patterns, successful, failed

    def failures(self, entries: Any, path: str) -> list[FailureDetail]:
        if entries is None:
            return []
        entries = self.expect(entries, list, path)
        self.failure_budget -= len(entries)
        if self.failure_budget < 0:
            raise ReportRejected(
                f"more than {self.limits.max_failure_entries} failure-details entries "
                f"(reached at {path}, which has {len(entries)})",
                "too_many_failures",
            )
        max_len, max_count = self.max_len, self.limits.max_session_count
        details = []
        for i, entry in enumerate(entries):
            detail = _fast_failure(entry, max_len, max_count)
            if detail is None:
                detail = self.failure(entry, f"{path}[{i}]")
            elif detail.result_type not in KNOWN_RESULT_TYPES:
                self.unknown_result_types.add(detail.result_type)
            details.append(detail)
        return details

    def failure(self, entry: Any, path: str) -> FailureDetail:
        entry = self.expect(entry, dict, path)
        self.extra_keys(entry, _FAILURE_KEYS, path, 5)
        result_type = self.required_str(entry, "result-type", path)
        if result_type not in KNOWN_RESULT_TYPES:
            self.unknown_result_types.add(result_type)
        detail = FailureDetail(result_type, self.count(entry, "failed-session-count", path))
        for key, attribute in _FAILURE_FIELDS[1:]:
            setattr(detail, attribute, self.optional_str(entry, key, path))
        if detail.additional_information is None:  # the key some senders use instead
            detail.additional_information = self.optional_str(entry, "additional-info-uri", path)
        return detail

    # Field helpers: each raises ReportRejected naming the JSON path.

    def required(self, obj: dict[str, Any], key: str, path: str, kind: type) -> Any:
        value = obj.get(key)
        if value is None:
            raise ReportRejected(f"{_join(path, key)} is missing", "missing_field")
        return self.expect(value, kind, _join(path, key))

    def expect(self, value: Any, kind: type, path: str) -> Any:
        if type(value) is not kind:
            raise ReportRejected(
                f"{path} is {_json_type(value)}, expected {_KIND_NAMES[kind]}", "wrong_type"
            )
        return value

    def required_str(self, obj: dict[str, Any], key: str, path: str) -> str:
        value = self.optional_str(obj, key, path)
        if value is None or value.isspace():
            raise ReportRejected(f"{_join(path, key)} is missing or blank", "missing_field")
        return value

    def optional_str(self, obj: dict[str, Any], key: str, path: str) -> str | None:
        """A string field, kept as sent; absent, null or empty reads as None."""
        value = obj.get(key)
        if value is None:
            return None
        self.expect(value, str, _join(path, key))
        self.check_length(value, _join(path, key))
        return value or None

    def check_length(self, value: str, path: str) -> None:
        if len(value) > self.max_len:
            raise ReportRejected(
                f"{path} is {len(value)} characters, the limit is {self.max_len}", "too_long"
            )

    def string_list(
        self, obj: dict[str, Any], key: str, path: str, *, limit_length: bool
    ) -> list[str]:
        value = obj.get(key)
        if value is None:
            return []
        if type(value) is str:
            value = [value]
        value = self.expect(value, list, _join(path, key))
        for i, item in enumerate(value):
            item_path = f"{_join(path, key)}[{i}]"
            self.expect(item, str, item_path)
            if limit_length:
                self.check_length(item, item_path)
        return value

    def count(self, obj: dict[str, Any], key: str, path: str) -> int:
        """A session count: a non-negative integer, or a string of decimal digits."""
        value = obj.get(key)
        field_path = _join(path, key)
        if value is None:
            raise ReportRejected(f"{field_path} is missing", "missing_field")
        if type(value) is str and _DIGITS.fullmatch(value.strip()):
            value = int(value)
        if type(value) is not int:
            raise ReportRejected(
                f"{field_path} is {_json_type(value)} {_preview(value)}, "
                "expected a non-negative integer",
                "wrong_type",
            )
        if value < 0 or value > self.limits.max_session_count:
            raise ReportRejected(
                f"{field_path} is {value}, expected 0 to {self.limits.max_session_count}",
                "bad_value",
            )
        return value

    def extra_keys(self, obj: dict[str, Any], known: frozenset[str], path: str, depth: int) -> None:
        """Depth-check the values of keys the parser does not read."""
        if obj.keys() <= known:
            return
        for key, value in obj.items():
            if key not in known and isinstance(value, dict | list):
                check_depth(value, depth + 1, self.limits.max_json_depth, _join(path, key))


# policy-type, policy-domain, policy-string, mx-host patterns, successful, failed.
_PolicyFields = tuple[str, str, list[str], list[str], int, int]


def _fast_policy(item: Any, max_len: int, max_count: int) -> _PolicyFields | None:
    """A well-formed ``policies`` entry's fields without per-field calls; None otherwise.

    As ``_fast_failure``: anything unusual (wrong types, extra keys, an unknown
    policy-type, blank or over-long strings, a lone string for a list, digit-string
    counts) returns None and goes to ``_Parser.policy_fields``, which accepts or
    refuses it with a reason; both agree on every entry they accept.
    """
    if type(item) is not dict or not item.keys() <= _POLICY_ITEM_KEYS:
        return None
    policy = item.get("policy")
    summary = item.get("summary")
    if type(policy) is not dict or not policy.keys() <= _POLICY_KEYS:
        return None
    if type(summary) is not dict or not summary.keys() <= _SUMMARY_KEYS:
        return None
    policy_type = policy.get("policy-type")
    domain = policy.get("policy-domain")
    if type(policy_type) is not str or policy_type not in KNOWN_POLICY_TYPES:
        return None
    if type(domain) is not str or not domain or len(domain) > max_len or domain.isspace():
        return None
    strings = policy.get("policy-string")
    if strings is None:
        strings = []
    elif type(strings) is not list or any(type(line) is not str for line in strings):
        return None
    mx_patterns = policy.get("mx-host")
    if mx_patterns is None:
        mx_patterns = policy.get("mx-host-pattern")
    if mx_patterns is None:
        mx_patterns = []
    elif type(mx_patterns) is not list or any(
        type(host) is not str or len(host) > max_len for host in mx_patterns
    ):
        return None
    successful = summary.get("total-successful-session-count")
    failed = summary.get("total-failure-session-count")
    if type(successful) is not int or not 0 <= successful <= max_count:
        return None
    if type(failed) is not int or not 0 <= failed <= max_count:
        return None
    return policy_type, domain, strings, mx_patterns, successful, failed


def _fast_failure(entry: Any, max_len: int, max_count: int) -> FailureDetail | None:
    """The common case, a well-formed entry, without per-field calls; None otherwise.

    This loop dominates the cost of a large report, so it is kept flat. Anything
    unusual (wrong types, extra keys, over-long or blank strings, digit-string counts,
    the non-RFC additional-info-uri) returns None and goes to ``_Parser.failure``,
    which accepts or rejects it with a reason; both agree on every entry they accept.
    """
    if type(entry) is not dict or not entry.keys() <= _FAST_FAILURE_KEYS:
        return None
    get = entry.get
    count = get("failed-session-count")
    if type(count) is not int or count < 0 or count > max_count:
        return None
    values = (
        get("result-type"),
        get("sending-mta-ip"),
        get("receiving-mx-hostname"),
        get("receiving-mx-helo"),
        get("receiving-ip"),
        get("additional-information"),
        get("failure-reason-code"),
    )
    for value in values:
        if value is not None and (type(value) is not str or len(value) > max_len):
            return None
    result_type, sending_ip, mx_hostname, mx_helo, receiving_ip, info, reason = values
    if not result_type or result_type.isspace():
        return None
    return FailureDetail(
        result_type,
        count,
        sending_ip or None,
        mx_hostname or None,
        mx_helo or None,
        receiving_ip or None,
        info or None,
        reason or None,
    )


def check_depth(value: Any, depth: int, max_depth: int, path: str) -> None:
    """Refuse a container nested deeper than ``max_depth`` (the root object is depth 1).

    Only parts the parser does not read are walked: the known structure is at most 5
    deep and its types are checked as it is read, so a whole-document pre-scan (which
    cost as much as ``json.loads`` when measured) is not needed.
    """
    stack = [(value, depth)]
    while stack:
        node, level = stack.pop()
        if level > max_depth:
            raise ReportRejected(f"{path} nests deeper than the limit of {max_depth}", "too_deep")
        children = node.values() if type(node) is dict else node
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))


def parse_datetime(value: str, path: str) -> datetime:
    """An RFC 3339 date-time as an aware UTC datetime; a missing zone is read as UTC.

    Also accepts fractional seconds, ``Z`` or ``+hh:mm``, a space instead of ``T``,
    and a bare date (midnight UTC).
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ReportRejected(
            f"{path} {_preview(value)} is not an RFC 3339 date-time", "bad_value"
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def normalise_mx_host(pattern: str) -> str:
    """An ``mx-host`` pattern without the ``mx:`` prefix some senders copy from the policy."""
    return _MX_PREFIX.sub("", pattern.strip()).strip()


_KIND_NAMES = {dict: "an object", list: "an array", str: "a string", int: "an integer"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _KIND_NAMES.get(type(value), type(value).__name__)


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
