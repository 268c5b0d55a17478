"""Every network choice the check engine makes, in one immutable object.

Django settings build it once with ``CheckOptions.from_env(os.environ)`` so a bad value
stops start-up; the lab and the tests build it directly.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_HELO_NAME = "mta-sts-check.invalid"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A bad MTASTS_* value; the message names the variable and the value seen."""


@dataclass(frozen=True)
class CheckOptions:
    """How the engine reaches the network.

    ``nameservers`` empty means the system resolver (/etc/resolv.conf); ``ca_bundle``
    None means the system trust store. ``timeout`` bounds each step (connect, one
    reply, one handshake); ``deadline`` bounds the whole domain.
    """

    nameservers: tuple[tuple[str, int], ...] = ()
    ca_bundle: str | None = None
    https_port: int = 443
    smtp_port: int = 25
    timeout: float = 10.0
    deadline: float = 20.0
    allow_private_targets: bool = False
    cert_warning_days: int = 14
    helo_name: str = DEFAULT_HELO_NAME
    ipv6: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CheckOptions:
        """Read the MTASTS_* variables; unset or empty means the default.

        Raises ConfigError naming the variable on any bad value.
        """
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            nameservers=_nameservers(env, "MTASTS_NAMESERVERS"),
            ca_bundle=_ca_bundle(env, "MTASTS_CA_BUNDLE"),
            https_port=_port(env, "MTASTS_HTTPS_PORT", defaults.https_port),
            smtp_port=_port(env, "MTASTS_SMTP_PORT", defaults.smtp_port),
            timeout=_seconds(env, "MTASTS_TIMEOUT", defaults.timeout),
            deadline=_seconds(env, "MTASTS_DEADLINE", defaults.deadline),
            allow_private_targets=_bool(
                env, "MTASTS_ALLOW_PRIVATE_TARGETS", defaults.allow_private_targets
            ),
            cert_warning_days=_days(env, "MTASTS_CERT_WARNING_DAYS", defaults.cert_warning_days),
            helo_name=_helo(env, "MTASTS_HELO_NAME", defaults.helo_name),
            ipv6=_bool(env, "MTASTS_IPV6", defaults.ipv6),
        )


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _raw(env, name)
    if raw is None:
        return default
    return _parse_port(raw, name)


def _parse_port(raw: str, name: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, got {raw!r}")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _raw(env, name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number of days (0 or more), got {raw!r}")
    return int(raw)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1/0, true/false or yes/no, got {raw!r}")


def _ca_bundle(env: Mapping[str, str], name: str) -> str | None:
    raw = _raw(env, name)
    if raw is None:
        return None
    if not os.path.isfile(raw):
        raise ConfigError(f"{name} must be the path of a PEM file of CA certificates, got {raw!r}")
    return raw


def _helo(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _raw(env, name)
    if raw is None:
        return default
    labels = raw.rstrip(".").split(".")
    if not all(label and label.replace("-", "").isalnum() and label.isascii() for label in labels):
        raise ConfigError(f"{name} must be a host name such as check.example.com, got {raw!r}")
    return raw.rstrip(".")


def _nameservers(env: Mapping[str, str], name: str) -> tuple[tuple[str, int], ...]:
    raw = _raw(env, name)
    if raw is None:
        return ()
    servers = []
    for item in raw.split(","):
        item = item.strip()
        if item:
            servers.append(parse_nameserver(item, name))
    return tuple(servers)


def parse_nameserver(item: str, name: str = "nameserver") -> tuple[str, int]:
    """``host``, ``host:port``, ``v6`` or ``[v6]:port`` to (ip, port); port 53 by default."""
    host, port = item, "53"
    if item.startswith("["):
        close = item.find("]")
        if close == -1:
            raise ConfigError(f"{name}: missing ']' in {item!r}")
        host, rest = item[1:close], item[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"{name}: expected ':port' after ']' in {item!r}")
            port = rest[1:]
    elif item.count(":") == 1:
        host, port = item.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"{name} must list IP addresses as host, host:port or [v6]:port, got {item!r}"
        ) from None
    return str(address), _parse_port(port, name)
