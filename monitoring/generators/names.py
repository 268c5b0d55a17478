"""Host names and ``mx`` patterns as the generators accept them.

Host names go through the engine's ``normalize_domain`` so the wizard and the checker
agree on what a valid name is; this module only adds the ``*.`` wildcard form.
"""

from __future__ import annotations

from monitoring.checks.names import normalize_domain

__all__ = ["is_wildcard", "normalize_host", "normalize_pattern", "parent_of"]


def normalize_host(name: str) -> str:
    """Return ``name`` as a lower-case A-label host without a trailing dot, or raise ValueError."""
    if not isinstance(name, str):
        raise ValueError(f"A host name must be text, not {type(name).__name__}.")
    return normalize_domain(name)


def normalize_pattern(pattern: str) -> str:
    """Return an MTA-STS ``mx`` pattern in canonical form, or raise ValueError.

    A pattern is a host name, or ``*.`` followed by a host name of two labels or more:
    the wildcard stands for exactly one left-most label [RFC 8461 4.1], so ``*.com``
    would trust every host of a top-level domain and is refused.
    """
    if not isinstance(pattern, str):
        raise ValueError(f"An mx pattern must be text, not {type(pattern).__name__}.")
    raw = pattern.strip()
    if raw.startswith("*."):
        base = raw[2:]
        if "*" in base:
            raise ValueError(
                f"mx pattern {raw!r} is invalid: only the whole left-most label may be '*'."
            )
        try:
            return "*." + normalize_domain(base)
        except ValueError as exc:
            raise ValueError(f"mx pattern {raw!r} is invalid: {exc}") from None
    if "*" in raw:
        raise ValueError(
            f"mx pattern {raw!r} is invalid: a wildcard must be a whole left-most label, "
            "as in '*.example.com'."
        )
    try:
        return normalize_domain(raw)
    except ValueError as exc:
        raise ValueError(f"mx pattern {raw!r} is invalid: {exc}") from None


def is_wildcard(pattern: str) -> bool:
    """True for a ``*.`` pattern."""
    return pattern.startswith("*.")


def parent_of(host: str) -> str:
    """The name one label up (``mx1.example.com`` -> ``example.com``)."""
    return host.partition(".")[2]
