"""Hard limits applied to every report, whatever route it arrived by."""

from __future__ import annotations

from dataclasses import dataclass, fields

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that make hostile input cheap to refuse.

    ``max_compressed`` applies to the bytes as received (gzip, zip or plain JSON);
    ``max_decompressed`` to the JSON text, summed over every member or part of one
    archive or message.
    """

    max_compressed: int = 10 * MIB
    max_decompressed: int = 50 * MIB
    max_message: int = 25 * MIB  # a whole mail message: base64 inflates by a third
    max_json_depth: int = 64
    max_failure_entries: int = 10_000  # per report, over all its policies
    max_policies: int = 1_000
    max_string_length: int = 2_048  # scalar strings; policy-string lines are exempt
    max_session_count: int = 10**15  # keeps sums of counts far inside a 64-bit column
    max_archive_members: int = 32
    max_mime_parts: int = 64
    max_dkim_signatures: int = 5  # each costs a DNS query

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 1:
                raise ValueError(f"Limits.{field.name} must be at least 1")


DEFAULT_LIMITS = Limits()
