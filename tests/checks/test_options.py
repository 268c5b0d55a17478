"""CheckOptions.from_env: defaults, every variable, and a clear error for bad values."""

from __future__ import annotations

import pytest

from monitoring.checks.options import CheckOptions, ConfigError, parse_nameserver


def test_empty_environment_gives_defaults() -> None:
    assert CheckOptions.from_env({}) == CheckOptions()


def test_empty_strings_mean_unset() -> None:
    env = {"MTASTS_NAMESERVERS": "", "MTASTS_TIMEOUT": " ", "MTASTS_CA_BUNDLE": ""}
    assert CheckOptions.from_env(env) == CheckOptions()


def test_every_variable_is_read(tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {
        "MTASTS_NAMESERVERS": "127.0.0.1:5353, ::1, [::1]:5300, 192.0.2.1",
        "MTASTS_CA_BUNDLE": str(bundle),
        "MTASTS_HTTPS_PORT": "8443",
        "MTASTS_SMTP_PORT": "2525",
        "MTASTS_TIMEOUT": "2.5",
        "MTASTS_DEADLINE": "9",
        "MTASTS_ALLOW_PRIVATE_TARGETS": "yes",
        "MTASTS_CERT_WARNING_DAYS": "30",
        "MTASTS_HELO_NAME": "checker.example.com.",
        "MTASTS_IPV6": "0",
    }
    options = CheckOptions.from_env(env)
    assert options == CheckOptions(
        nameservers=(("127.0.0.1", 5353), ("::1", 53), ("::1", 5300), ("192.0.2.1", 53)),
        ca_bundle=str(bundle),
        https_port=8443,
        smtp_port=2525,
        timeout=2.5,
        deadline=9.0,
        allow_private_targets=True,
        cert_warning_days=30,
        helo_name="checker.example.com",
        ipv6=False,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("no", False),
     ("False", False), ("off", False)],
)  # fmt: skip
def test_booleans(raw: str, expected: bool) -> None:
    env = {"MTASTS_ALLOW_PRIVATE_TARGETS": raw}
    assert CheckOptions.from_env(env).allow_private_targets is expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MTASTS_NAMESERVERS", "dns.example.com"),
        ("MTASTS_NAMESERVERS", "127.0.0.1:0"),
        ("MTASTS_NAMESERVERS", "127.0.0.1:99999"),
        ("MTASTS_NAMESERVERS", "[::1"),
        ("MTASTS_NAMESERVERS", "[::1]5353"),
        ("MTASTS_NAMESERVERS", "127.0.0.1:abc"),
        ("MTASTS_CA_BUNDLE", "/nonexistent/ca.pem"),
        ("MTASTS_HTTPS_PORT", "https"),
        ("MTASTS_HTTPS_PORT", "0"),
        ("MTASTS_SMTP_PORT", "65536"),
        ("MTASTS_SMTP_PORT", "-25"),
        ("MTASTS_TIMEOUT", "ten"),
        ("MTASTS_TIMEOUT", "0"),
        ("MTASTS_TIMEOUT", "-1"),
        ("MTASTS_TIMEOUT", "nan"),
        ("MTASTS_DEADLINE", "inf"),
        ("MTASTS_ALLOW_PRIVATE_TARGETS", "maybe"),
        ("MTASTS_CERT_WARNING_DAYS", "1.5"),
        ("MTASTS_CERT_WARNING_DAYS", "-3"),
        ("MTASTS_HELO_NAME", "not a host"),
        ("MTASTS_IPV6", "2"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CheckOptions.from_env({variable: value})
    assert variable in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("2001:db8::1", ("2001:db8::1", 53)),
        ("[2001:db8::1]", ("2001:db8::1", 53)),
        ("[2001:db8::1]:5353", ("2001:db8::1", 5353)),
    ],
)
def test_nameserver_forms(item: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(item) == expected


def test_options_are_hashable_and_frozen() -> None:
    options = CheckOptions()
    assert hash(options) == hash(CheckOptions())
    with pytest.raises(AttributeError):
        options.timeout = 1.0  # type: ignore[misc]
