"""Pytest fixtures for the lab; registered in tests/conftest.py with ``pytest_plugins``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lab.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The lab servers on random loopback ports, shared by the whole session.

    Tests that change a domain must put it back: ``with lab.changed(domain): ...``.
    """
    with Lab() as running:
        yield running
