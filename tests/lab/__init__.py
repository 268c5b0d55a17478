"""A local lab of DNS, HTTPS and SMTP servers on loopback serving scenario domains.

``Lab`` starts them; ``tests.lab.scenarios`` lists every domain with the finding codes a
correct check reports for it. See ``tests/lab/README.md``.
"""

from __future__ import annotations

from tests.lab.certs import CertKind
from tests.lab.hosts import Http, MxSpec, PolicySpec, Smtp
from tests.lab.lab import Lab, Ports
from tests.lab.zone import Fault

__all__ = ["CertKind", "Fault", "Http", "Lab", "MxSpec", "PolicySpec", "Ports", "Smtp"]
