"""Helpers that run the generated server configurations for real, on loopback.

Each web server is started from the recipe's own file, changed only where a test must
(listen address and port, certificate paths, a scratch directory), then queried over
HTTPS with SNI ``mta-sts.<domain>`` against a test CA.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


def find_binary(name: str) -> str | None:
    """The binary on PATH, or in /usr/sbin (not on a normal user's PATH on Debian)."""
    found = shutil.which(name)
    if found is None and os.access(f"/usr/sbin/{name}", os.X_OK):
        found = f"/usr/sbin/{name}"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: httpx.Headers
    body: bytes


def https_get(port: int, host: str, path: str, ca_file: Path) -> Response:
    """GET ``path`` from 127.0.0.1:``port`` with SNI and Host ``host``; never follows redirects."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with httpx.Client(verify=context, trust_env=False, follow_redirects=False) as client:
        response = client.get(
            f"https://127.0.0.1:{port}{path}",
            headers={"Host": host},
            extensions={"sni_hostname": host},
        )
    return Response(response.status_code, response.headers, response.content)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    # Bounded polling: a server that never comes up fails the test with its output.
    for _ in range(400):
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.025)
    process.kill()
    output = process.communicate()[0].decode("utf-8", "replace")
    raise AssertionError(f"server on port {port} did not start:\n{output}")


@contextlib.contextmanager
def running(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run ``command`` until the block ends, once it accepts connections on ``port``."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for_port(port, process)
        yield
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
