"""The MTA-STS policy file [RFC 8461 3.2] and its ``id``.

Line endings: the policy is rendered with CRLF, and the last line ends with CRLF too.
RFC 8461's grammar accepts LF or CRLF (``sts-policy-term = LF / CRLF``) and a missing
final terminator; we pick CRLF because it is the canonical line ending of ``text/plain``
on the wire [RFC 2046 4.1.1], so the bytes we hand out are the ones every conforming
sender must accept, with no reliance on the LF leniency. The hosting recipes keep those
bytes intact (a ``.gitattributes`` stops Git from rewriting them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitoring.generators.names import normalize_pattern

__all__ = [
    "DEFAULT_MAX_AGE",
    "MAX_MAX_AGE",
    "MODES",
    "POLICY_LINE_END",
    "PolicySpec",
    "new_policy_id",
    "render_policy",
]

MODES = ("enforce", "testing", "none")
MAX_MAX_AGE = 31_557_600  # one year, the ceiling in RFC 8461 3.2
DEFAULT_MAX_AGE = 604_800  # a week: long enough to protect, short enough to back out
POLICY_LINE_END = "\r\n"

_ID_FORMAT = "%Y%m%dT%H%M%S"
_ID_RE = re.compile(r"^\d{8}T\d{6}$")


@dataclass(frozen=True)
class PolicySpec:
    """What the wizard asks for: a mode, a ``max_age`` in seconds and the ``mx`` patterns.

    Patterns are normalised (lower case, A-labels, no trailing dot) and de-duplicated in
    their given order. Raises ValueError with a message fit for the user on bad input.
    """

    mode: str
    max_age: int
    mx: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}.")
        if isinstance(self.max_age, bool) or not isinstance(self.max_age, int):
            raise ValueError(f"max_age must be a whole number of seconds; got {self.max_age!r}.")
        if not 1 <= self.max_age <= MAX_MAX_AGE:
            raise ValueError(
                f"max_age must be between 1 and {MAX_MAX_AGE} seconds (a year); got {self.max_age}."
            )
        if isinstance(self.mx, str):
            # A bare string would otherwise be split into one pattern per character.
            raise ValueError("mx must be a list of patterns, not a single string.")
        patterns = _unique(normalize_pattern(p) for p in self.mx)
        if not patterns and self.mode != "none":
            raise ValueError(
                f"mode {self.mode} needs at least one mx pattern: senders would refuse "
                "every MX host."
            )
        object.__setattr__(self, "mx", patterns)


def render_policy(spec: PolicySpec) -> str:
    """Return the policy file text, exactly as it must be served (CRLF line endings)."""
    lines = ["version: STSv1", f"mode: {spec.mode}"]
    lines += [f"mx: {pattern}" for pattern in spec.mx]
    lines.append(f"max_age: {spec.max_age}")
    return "".join(line + POLICY_LINE_END for line in lines)


def new_policy_id(now: datetime, previous: str | None = None) -> str:
    """Return a policy ``id`` made from ``now`` in UTC, e.g. ``20261123T184500``.

    Ids of this form sort by time. When ``previous`` is an id of the same form at or
    after ``now`` (two edits in one second, or a clock that went back), the result is
    one second after it, so the new id always differs and still sorts newer.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC).")
    stamp = now.astimezone(UTC).replace(microsecond=0)
    candidate = stamp.strftime(_ID_FORMAT)
    if previous is not None and _ID_RE.match(previous) and candidate <= previous:
        last = datetime.strptime(previous, _ID_FORMAT).replace(tzinfo=UTC)
        candidate = (last + timedelta(seconds=1)).strftime(_ID_FORMAT)
    return candidate


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
