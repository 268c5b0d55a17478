"""The lab: DNS, HTTPS and SMTP servers on loopback serving every scenario domain.

The servers run on an asyncio loop in a background thread, so the lab can be used from a
pytest session, a management command or a benchmark alike. Every public method is
thread-safe and may be called while checks are running.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.lab import scenarios as sc
from tests.lab.certs import CertKind, CertStore, Profile
from tests.lab.dnsserver import DnsServer
from tests.lab.hosts import (
    HTTPS_PLAIN,
    TRIPWIRE_ADDRESSES,
    Http,
    MxSpec,
    PolicySpec,
    Smtp,
    bound_https_addresses,
    bound_smtp_addresses,
)
from tests.lab.https_server import HttpsServer
from tests.lab.records import address_rdatas, scenario_records
from tests.lab.smtp_server import SmtpServer
from tests.lab.stats import Stats
from tests.lab.zone import Fault, Node, TxtRecord, Zone, rdata, to_name, to_rrset, txt_rdata

if TYPE_CHECKING:
    from monitoring.checks.options import CheckOptions

log = logging.getLogger(__name__)

BIND_ATTEMPTS = 50
# Short enough that hostile scenarios end quickly, long enough for a loaded CI machine.
TEST_TIMEOUT = 2.0
TEST_DEADLINE = 8.0


@dataclass(frozen=True)
class Ports:
    """0 means "pick a free one"."""

    dns: int = 0
    https: int = 0
    smtp: int = 0


@dataclass
class _Listener:
    sock: socket.socket
    role: str  # dns-udp, dns-tcp, https, smtp, tripwire-https, tripwire-smtp


class Lab:
    """Servers for every scenario domain; use as a context manager or start()/stop()."""

    def __init__(
        self,
        ports: Ports | None = None,
        directory: Path | str | None = None,
        *,
        include_guard: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.requested = ports or Ports()
        self.ports = Ports()
        self.host = host
        self.include_guard = include_guard
        self._tmp = None if directory else tempfile.mkdtemp(prefix="stsguard-lab-")
        self.directory = Path(directory or self._tmp or ".")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.stats = Stats()
        self.zone = Zone()
        # A given directory is the stable one of run_lab: keep the CA across restarts.
        self.certs = CertStore(self.directory, keep_ca=directory is not None)
        self._lock = threading.RLock()
        self._policies: dict[str, PolicySpec] = {}
        self._mx: dict[str, MxSpec] = {}
        self.scenarios = [s for s in sc.SCENARIOS if include_guard or not s.guard_only]
        for scenario in self.scenarios:
            self._apply(scenario)
        self.zone.add_generator(_bench_records)
        self._servers_thread: _LoopThread | None = None
        self._dns_thread: _LoopThread | None = None
        self._dns = DnsServer(self.zone, self.stats)
        self._https = HttpsServer(self.policy_for, self.stats)
        self._smtp = SmtpServer(self.stats)
        self._tripwires: list[asyncio.Server] = []
        self.tripwires: list[str] = []  # e.g. "tripwire/https/::1": listening, counting

    # -- what is served --------------------------------------------------------------
    @property
    def ca_bundle(self) -> str:
        """Path of the PEM file of the lab CA (the only CA the checker should trust)."""
        return str(self.certs.ca_bundle)

    @property
    def domains(self) -> list[str]:
        """Scenario domains that are safe to check with the guard off (no guard ones)."""
        return [s.domain for s in self.scenarios if not s.guard_only]

    @property
    def guard_domains(self) -> list[str]:
        """Domains resolving to forbidden addresses: check ONLY with the guard on."""
        return [s.domain for s in self.scenarios if s.guard_only]

    @staticmethod
    def scenario(domain: str) -> sc.Scenario:
        found = sc.BY_DOMAIN.get(domain.lower().rstrip(".")) or sc.bench_scenario(domain)
        if found is None:
            raise KeyError(f"{domain} is not a lab scenario")
        return found

    @staticmethod
    def bench_domains(count: int) -> list[str]:
        return sc.bench_domains(count)

    def address(self, host: str) -> str | None:
        """The first A (else AAAA) address the lab publishes for ``host``."""
        for rdtype in ("A", "AAAA"):
            found = self.zone.get(host, rdtype)
            if found:
                return found[0].to_text()
        return None

    def prepare_bench(self, count: int) -> None:
        """Issue the bench certificates now, so the first check does not pay for them."""
        for domain in sc.bench_domains(count):
            self.certs.context(f"mta-sts.{domain}", CertKind.WILDCARD)
            self.certs.context(f"mx1.{domain}", CertKind.WILDCARD)

    # -- pointing the checker at the lab ---------------------------------------------
    def env(self) -> dict[str, str]:
        """The MTASTS_* variables that point a checker process at this lab."""
        return {
            "MTASTS_NAMESERVERS": f"{self.host}:{self.ports.dns}",
            "MTASTS_CA_BUNDLE": self.ca_bundle,
            "MTASTS_HTTPS_PORT": str(self.ports.https),
            "MTASTS_SMTP_PORT": str(self.ports.smtp),
            "MTASTS_ALLOW_PRIVATE_TARGETS": "1",
            "MTASTS_TIMEOUT": str(TEST_TIMEOUT),
            "MTASTS_DEADLINE": str(TEST_DEADLINE),
        }

    def options(self, **overrides: Any) -> CheckOptions:
        """Check options for this lab (short timeouts), with any field overridden."""
        from monitoring.checks.options import CheckOptions

        return replace(CheckOptions.from_env(self.env()), **overrides)

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Lab:
        """Bind every socket, then serve from background threads; returns self."""
        listeners = self._bind()
        by_role: dict[str, list[socket.socket]] = {}
        for listener in listeners:
            by_role.setdefault(listener.role, []).append(listener.sock)
        # DNS gets its own loop: TLS handshakes on the servers' loop would otherwise
        # delay UDP answers past the checker's retry timer under load.
        self._dns_thread = _LoopThread("stsguard-lab-dns")
        self._servers_thread = _LoopThread("stsguard-lab")
        try:
            self._dns_thread.run(self._dns.start(by_role["dns-udp"][0], by_role["dns-tcp"][0]))
            self._servers_thread.run(self._serve(by_role))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every server and both loop threads; the temporary CA dir is removed."""
        if self._servers_thread is not None:
            self._servers_thread.stop(self._close())
            self._servers_thread = None
        if self._dns_thread is not None:
            self._dns_thread.stop(self._dns.close())
            self._dns_thread = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        """The servers' event loop (for tests that need to schedule work on it)."""
        return self._servers_thread.loop if self._servers_thread else None

    async def _serve(self, by_role: dict[str, list[socket.socket]]) -> None:
        https = bound_https_addresses()
        smtp = bound_smtp_addresses()
        modern = self.certs.server_context(Profile.MODERN, self.cert_kind_for)
        weak = self.certs.server_context(Profile.WEAK, self.cert_kind_for)
        for sock in by_role.get("https", []):
            behaviour = https[sock.getsockname()[0]]
            await self._https.listen(sock, behaviour, None if behaviour in HTTPS_PLAIN else modern)
        for sock in by_role.get("smtp", []):
            behaviour = smtp[sock.getsockname()[0]]
            await self._smtp.listen(sock, behaviour, weak if behaviour is Smtp.WEAK_TLS else modern)
        for role in ("tripwire-https", "tripwire-smtp"):
            for sock in by_role.get(role, []):
                self._tripwires.append(await self._tripwire(sock, role))
                self.tripwires.append(f"{role.replace('-', '/')}/{sock.getsockname()[0]}")

    async def _tripwire(self, sock: socket.socket, role: str) -> asyncio.Server:
        key = f"{role.replace('-', '/')}/{sock.getsockname()[0]}"

        async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.stats.count(key)
            writer.close()

        return await asyncio.start_server(handle, sock=sock)

    async def _close(self) -> None:
        await self._https.close()
        await self._smtp.close()
        for server in self._tripwires:
            server.close()

    # -- binding: one port per protocol across every address ---------------------------
    def _bind(self) -> list[_Listener]:
        listeners: list[_Listener] = []
        try:
            dns_port = self._bind_group(
                [
                    (self.host, socket.SOCK_DGRAM, "dns-udp"),
                    (self.host, socket.SOCK_STREAM, "dns-tcp"),
                ],
                self.requested.dns,
                listeners,
            )
            https_port = self._bind_group(
                [(a, socket.SOCK_STREAM, "https") for a in bound_https_addresses()]
                + [(a, socket.SOCK_STREAM, "tripwire-https") for a in TRIPWIRE_ADDRESSES],
                self.requested.https,
                listeners,
            )
            smtp_port = self._bind_group(
                [(a, socket.SOCK_STREAM, "smtp") for a in bound_smtp_addresses()]
                + [(a, socket.SOCK_STREAM, "tripwire-smtp") for a in TRIPWIRE_ADDRESSES],
                self.requested.smtp,
                listeners,
            )
        except BaseException:
            for listener in listeners:
                listener.sock.close()
            raise
        self.ports = Ports(dns=dns_port, https=https_port, smtp=smtp_port)
        return listeners

    def _bind_group(
        self, wanted: Sequence[tuple[str, int, str]], port: int, out: list[_Listener]
    ) -> int:
        """Bind every (address, type) on one port; a random port is retried on conflict."""
        last_error: OSError | None = None
        for _ in range(BIND_ATTEMPTS if port == 0 else 1):
            chosen = port or _free_port(self.host)
            bound: list[_Listener] = []
            try:
                for address, kind, role in wanted:
                    sock = _bind_one(address, kind, chosen, optional=role.startswith("tripwire"))
                    if sock is not None:
                        bound.append(_Listener(sock, role))
            except OSError as exc:
                last_error = exc
                for listener in bound:
                    listener.sock.close()
                continue
            out.extend(bound)
            return chosen
        raise OSError(f"could not bind the lab on port {port or 'any'}: {last_error}")

    # -- lookups used by the servers -------------------------------------------------
    def policy_for(self, host: str) -> PolicySpec | None:
        with self._lock:
            spec = self._policies.get(host)
        if spec is not None:
            return spec
        domain = host.removeprefix("mta-sts.")
        if host.startswith("mta-sts.") and sc.BENCH_RE.match(domain):
            return _bench_scenario(domain).policy
        return None

    def cert_kind_for(self, name: str) -> CertKind | None:
        name = name.lower().rstrip(".")
        with self._lock:
            if name in self._policies:
                return self._policies[name].cert
            if name in self._mx:
                return self._mx[name].cert
        parent = name.split(".", 1)[-1]
        if sc.BENCH_RE.match(parent):
            return CertKind.WILDCARD
        return None

    # -- changing the lab at runtime -------------------------------------------------
    def set_txt(self, name: str, records: Sequence[TxtRecord]) -> None:
        """Replace the TXT records at ``name``.

        Each item is one record: a ``str``, or a list of strings that stay separate
        character-strings in the record (checkers must join them).
        """
        self.zone.put(name, "TXT", [txt_rdata(r) for r in records])

    def remove_txt(self, name: str) -> None:
        self.zone.remove(name, "TXT")

    def set_sts_id(self, domain: str, record_id: str) -> None:
        """Publish ``v=STSv1; id=<record_id>`` as the only _mta-sts record."""
        self.set_txt(f"_mta-sts.{domain}", [f"v=STSv1; id={record_id}"])

    def set_mx(self, domain: str, mx: Sequence[tuple[int, str]]) -> None:
        """Replace the MX records; unknown hosts under lab.test become healthy MX hosts."""
        self.zone.put(domain, "MX", [rdata("MX", f"{p} {h.rstrip('.')}.") for p, h in mx])
        for _, host in mx:
            host = host.lower().rstrip(".")
            with self._lock:
                known = host in self._mx
            if not known and host.endswith(sc.ZONE) and not self.zone.get(host, "A"):
                self.set_mx_host(host, MxSpec())

    def set_mx_host(self, host: str, spec: MxSpec) -> None:
        """Set an MX host's behaviour and certificate (and its address to match)."""
        host = host.lower().rstrip(".")
        with self._lock:
            self._mx[host] = spec
        self._set_behaviour_address(host, spec.address())

    def set_policy(self, domain: str, body: str | bytes | None = None, **changes: Any) -> None:
        """Replace the policy body and/or any :class:`PolicySpec` field of a domain.

        ``lab.set_policy(d, "version: STSv1\\n...")`` keeps the status, headers and
        behaviour; ``lab.set_policy(d, status=500)`` keeps the body.
        """
        host = f"mta-sts.{domain.lower().rstrip('.')}"
        with self._lock:
            old = self._policies.get(host)
            if body is not None:
                changes["body"] = body.encode("utf-8") if isinstance(body, str) else body
            new = replace(old or PolicySpec(), **changes)
            self._policies[host] = new
        if old is None or new.behaviour != old.behaviour:
            self._set_behaviour_address(host, new.address())

    def policy_body(self, domain: str) -> bytes:
        spec = self.policy_for(f"mta-sts.{domain.lower().rstrip('.')}")
        return spec.body if spec else b""

    def set_address(self, host: str, addresses: Sequence[str]) -> None:
        """Give a host fixed A/AAAA records (an empty list removes both)."""
        self.zone.remove(host, "A")
        self.zone.remove(host, "AAAA")
        for rdtype, items in address_rdatas(list(addresses)).items():
            self.zone.put(host, rdtype, items)

    def set_fault(self, name: str, fault: Fault | str | None) -> None:
        """``servfail`` or ``timeout`` for every query at ``name``; ``None`` clears it."""
        self.zone.set_fault(name, fault)

    def remove(self, name: str, rdtype: str | None = None) -> None:
        self.zone.remove(name, rdtype)

    def reset(self, domain: str | None = None) -> None:
        """Put one scenario domain (or all of them) back as it started."""
        targets = self.scenarios if domain is None else [self.scenario(domain)]
        for scenario in targets:
            self._clear(scenario)
            self._apply(scenario)

    @contextlib.contextmanager
    def changed(self, domain: str) -> Iterator[Lab]:
        """``with lab.changed(d): lab.set_policy(d, ...)`` restores ``d`` afterwards."""
        try:
            yield self
        finally:
            self.reset(domain)

    # -- internals -------------------------------------------------------------------
    def _set_behaviour_address(self, host: str, address: str | None) -> None:
        self.set_address(host, [address] if address else [])

    def _apply(self, scenario: sc.Scenario) -> None:
        for name, node in scenario_records(scenario).items():
            for rdtype, items in node.items():
                self.zone.put(name, rdtype, items)
        for name, fault in scenario.faults.items():
            self.zone.set_fault(name, fault)
        with self._lock:
            self._policies[scenario.policy_host] = scenario.policy
            self._mx.update(scenario.mx_hosts)

    def _clear(self, scenario: sc.Scenario) -> None:
        self.zone.remove_subtree(scenario.domain)
        for name in [*scenario.cnames, *scenario.txt, *scenario.addresses, *scenario.mx_hosts]:
            self.zone.remove(name)
        with self._lock:
            self._policies.pop(scenario.policy_host, None)
            for host in scenario.mx_hosts:
                self._mx.pop(host, None)


class _LoopThread:
    """An asyncio loop running forever in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(_quiet_exception_handler)
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, work: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def stop(self, closing: Coroutine[Any, Any, Any]) -> None:
        try:
            self.run(closing, timeout=10)
        except Exception:
            log.debug("closing the lab servers failed", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()


@functools.lru_cache(maxsize=4096)
def _bench_scenario(domain: str) -> sc.Scenario:
    found = sc.bench_scenario(domain)
    assert found is not None
    return found


@functools.lru_cache(maxsize=4096)
def _bench_zone(domain: str) -> dict[Any, Node]:
    return {
        name: {rdtype: to_rrset(name, rdtype, items) for rdtype, items in node.items()}
        for name, node in scenario_records(_bench_scenario(domain)).items()
    }


def _bench_records(name: Any) -> Node | None:
    """Zone generator: the records of ``bench-NNNN.lab.test`` names, made on demand."""
    labels = name.to_text(omit_final_dot=True).split(".")
    for start in range(len(labels) - 2):
        domain = ".".join(labels[start:])
        if sc.BENCH_RE.match(domain):
            return _bench_zone(domain).get(to_name(".".join(labels)))
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _bind_one(address: str, kind: int, port: int, *, optional: bool) -> socket.socket | None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            # Lets a restarted lab reuse its fixed ports while old connections sit in
            # TIME_WAIT; Linux still refuses two live listeners on one address and port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(512)
        sock.setblocking(False)
        return sock
    except OSError as exc:
        sock.close()
        if optional and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return None  # no IPv6 loopback here: that tripwire just is not set
        raise


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Hostile scenarios make clients hang up mid-handshake all the time; that is noise.
    exc = context.get("exception")
    if isinstance(exc, ConnectionError | ssl.SSLError | TimeoutError | OSError):
        return
    loop.default_exception_handler(context)


__all__ = ["Fault", "Http", "Lab", "MxSpec", "PolicySpec", "Ports", "Smtp"]
