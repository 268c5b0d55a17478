"""The one exception raised for input that is not an acceptable TLSRPT report."""

from __future__ import annotations

# Stable codes: the API, the UI and stored RawReport rows use them, so add freely and
# never rename one.
REJECTION_CODES: dict[str, str] = {
    "too_large": "the input is over the size limit",
    "decompressed_too_large": "the decompressed content is over the size limit",
    "bad_gzip": "not a gzip stream, corrupt, or truncated",
    "bad_zip": "not a zip archive, corrupt, or encrypted",
    "too_many_members": "a zip archive with too many members",
    "no_report_in_archive": "a zip archive with no .json or .json.gz member",
    "multiple_reports": "one report was expected, the input holds several",
    "invalid_utf8": "the JSON text is not valid UTF-8",
    "not_json": "not JSON",
    "not_object": "JSON, but not an object",
    "too_deep": "JSON (or MIME) nesting over the depth limit",
    "too_many_failures": "more failure-details entries than the limit",
    "too_many_policies": "more policies than the limit",
    "missing_field": "a required field is missing or null",
    "wrong_type": "a field has the wrong JSON type",
    "bad_value": "a field has the right type but an unacceptable value",
    "too_long": "a string field is over the length limit",
    "too_many_parts": "a mail message with too many MIME parts",
    "no_report_in_message": "a mail message with no part that decodes to a report",
}


class ReportRejected(Exception):
    """Input refused with a human-readable ``reason`` and a stable machine ``code``."""

    def __init__(self, reason: str, code: str) -> None:
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(f"{code}: {reason}")
        self.reason = reason
        self.code = code
