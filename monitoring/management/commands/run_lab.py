"""Serve the local lab (DNS, HTTPS, SMTP on loopback) until Ctrl-C, for the demo and by hand.

Prints the MTASTS_* variables that point a checker at it and writes them, with the lab
CA, under ``var/lab/`` so the web app and the worker can pick them up.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tests.lab import Lab, Ports

ENV_FILE = "lab.env"


class Command(BaseCommand):
    help = "Run the MTA-STS lab: scenario domains under lab.test on loopback, until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dns-port", type=int, default=5353)
        parser.add_argument("--https-port", type=int, default=8443)
        parser.add_argument("--smtp-port", type=int, default=2525)
        parser.add_argument(
            "--dir",
            default=None,
            help="where to write ca.pem and lab.env (default: VAR_DIR/lab)",
        )
        parser.add_argument(
            "--with-guard-scenarios",
            action="store_true",
            help="also serve the guard-* domains, which resolve to 10.0.0.1 and "
            "169.254.169.254: only for checkers with MTASTS_ALLOW_PRIVATE_TARGETS off",
        )
        parser.add_argument("--list", action="store_true", help="list the scenarios too")
        parser.add_argument(
            "--init-only",
            action="store_true",
            help="write ca.pem and lab.env, then exit (run before processes that need the CA)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        directory = Path(opts["dir"] or Path(settings.VAR_DIR) / "lab")
        ports = Ports(dns=opts["dns_port"], https=opts["https_port"], smtp=opts["smtp_port"])
        lab = Lab(ports, directory, include_guard=opts["with_guard_scenarios"])
        if opts["init_only"]:
            lab.ports = ports  # not started: the env names the ports it will use
            (directory / ENV_FILE).write_text(_env_text(lab.env()))
            self.stdout.write(f"wrote {lab.ca_bundle} and {directory / ENV_FILE}")
            return
        lab.start()
        try:
            env = lab.env()
            (directory / ENV_FILE).write_text(_env_text(env))
            self._report(lab, env, directory, listing=opts["list"])
            _wait_for_signal()
        finally:
            lab.stop()
            self.stdout.write("lab stopped")

    def _report(self, lab: Lab, env: dict[str, str], directory: Path, *, listing: bool) -> None:
        out = self.stdout
        out.write(f"Lab serving {len(lab.domains)} scenario domains under lab.test.")
        out.write(
            f"DNS 127.0.0.1:{lab.ports.dns} (UDP+TCP), HTTPS port {lab.ports.https}, "
            f"SMTP port {lab.ports.smtp}; CA bundle {lab.ca_bundle}"
        )
        out.write("Point a checker at it with:\n")
        for key, value in env.items():
            out.write(f"export {key}={value}")
        out.write(f"\n(also written to {directory / ENV_FILE})")
        out.write("Try: python manage.py check_domain plain.lab.test mx-expired.lab.test")
        if listing:
            out.write("")
            for scenario in lab.scenarios:
                codes = ", ".join(sorted(scenario.expected)) or "healthy"
                out.write(f"{scenario.domain:40} {codes:45} {scenario.description}")
        out.write("\nServing until Ctrl-C.")


def _env_text(env: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in env.items())


def _wait_for_signal() -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
