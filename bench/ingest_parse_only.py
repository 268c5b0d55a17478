"""Time decode + parse of TLSRPT reports, and parsedmarc's parser on the same input.

    .venv/bin/python bench/ingest_parse_only.py            # ours only
    /tmp/pmvenv/bin/python bench/ingest_parse_only.py      # ours and parsedmarc

parsedmarc is not a project dependency: install it in a separate venv to compare.
Each figure is the best of several runs, in milliseconds. "ours" is gunzip + JSON +
validation into dataclasses (the part of ingest before the database);
"parsedmarc" is ``parse_smtp_tls_report_json`` on the already-gunzipped JSON.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from reports.decoding import decode_report_bytes  # noqa: E402
from reports.limits import Limits  # noqa: E402
from reports.parsing import parse_report  # noqa: E402

SAMPLES = REPO_ROOT.parent / "shared" / "data" / "tlsrpt"
LIMITS = Limits(max_failure_entries=1_000_000)


def synthetic(entries: int, policies: int = 1) -> bytes:
    """A report shaped like Google's, with ``entries`` failure-details per policy."""
    details = [
        {
            "result-type": "validation-failure",
            "sending-mta-ip": f"198.51.{i // 256 % 256}.{i % 256}",
            "receiving-ip": "203.0.113.58",
            "receiving-mx-hostname": "mx1.example.com",
            "failed-session-count": 1 + i % 7,
            "failure-reason-code": "X509_V_ERR_CERT_HAS_EXPIRED",
        }
        for i in range(entries)
    ]
    policy = {
        "policy": {
            "policy-type": "sts",
            "policy-string": ["version: STSv1", "mode: enforce", "mx: mx1.example.com"],
            "policy-domain": "example.com",
            "mx-host": ["mx1.example.com"],
        },
        "summary": {
            "total-successful-session-count": 1000,
            "total-failure-session-count": sum(d["failed-session-count"] for d in details),
        },
        "failure-details": details,
    }
    report = {
        "organization-name": "Bench Sender",
        "date-range": {
            "start-datetime": "2024-01-01T00:00:00Z",
            "end-datetime": "2024-01-01T23:59:59Z",
        },
        "contact-info": "tlsrpt@bench.example",
        "report-id": f"bench-{entries}-{policies}",
        "policies": [policy] * policies,
    }
    return json.dumps(report).encode()


def best_ms(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings) * 1000


def cases() -> list[tuple[str, bytes]]:
    """(label, gzip body) pairs: every JSON sample, then synthetic sizes."""
    found = [(path.name[:40], path.read_bytes()) for path in sorted(SAMPLES.glob("*.json"))]
    found = [(label, data) for label, data in found if b"invalid-policy-type" not in data]
    found += [(f"synthetic {n} failures", synthetic(n)) for n in (100, 1_000, 10_000, 100_000)]
    return [(label, gzip.compress(data, mtime=0)) for label, data in found]


def main() -> None:
    try:
        import parsedmarc
    except ImportError:
        parsedmarc = None
    print(f"{'case':42} {'gz bytes':>9} {'ours ms':>9} {'parsedmarc ms':>14}")
    total_ours = total_theirs = 0.0
    for label, body in cases():
        runs = 3 if len(body) > 100_000 else 20

        def ours(body: bytes = body) -> object:
            return parse_report(
                decode_report_bytes(body, "application/tlsrpt+gzip", None, LIMITS), LIMITS
            )

        ours_ms = best_ms(ours, runs)
        total_ours += ours_ms
        theirs = "-"
        if parsedmarc is not None:
            text = gzip.decompress(body)
            theirs_ms = best_ms(lambda text=text: parsedmarc.parse_smtp_tls_report_json(text), runs)
            total_theirs += theirs_ms
            theirs = f"{theirs_ms:.2f}"
        print(f"{label:42} {len(body):>9} {ours_ms:>9.2f} {theirs:>14}")
    print(f"{'total':42} {'':>9} {total_ours:>9.2f} {total_theirs or '-':>14}")


if __name__ == "__main__":
    main()
