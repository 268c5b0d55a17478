"""Helpers shared by the report tests: where the samples are, and input builders."""

from __future__ import annotations

import copy
import gzip
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# CI clones the repository with the shared folder beside it, as on the dev machines.
TLSRPT_SAMPLES = REPO_ROOT.parent / "shared" / "data" / "tlsrpt"

MIB = 1024 * 1024

MINIMAL_REPORT: dict[str, Any] = {
    "organization-name": "Sender Org",
    "date-range": {
        "start-datetime": "2024-05-01T00:00:00Z",
        "end-datetime": "2024-05-01T23:59:59Z",
    },
    "contact-info": "tlsrpt@sender.example",
    "report-id": "2024-05-01_example.com",
    "policies": [
        {
            "policy": {
                "policy-type": "sts",
                "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.example.com"],
                "policy-domain": "example.com",
                "mx-host": ["mx.example.com"],
            },
            "summary": {
                "total-successful-session-count": 10,
                "total-failure-session-count": 2,
            },
            "failure-details": [
                {
                    "result-type": "certificate-expired",
                    "sending-mta-ip": "192.0.2.1",
                    "receiving-mx-hostname": "mx.example.com",
                    "receiving-ip": "198.51.100.7",
                    "failed-session-count": 2,
                }
            ],
        }
    ],
}


def sample(name: str) -> bytes:
    return (TLSRPT_SAMPLES / name).read_bytes()


def report_dict() -> dict[str, Any]:
    """A fresh deep copy of MINIMAL_REPORT, safe to mutate."""
    return copy.deepcopy(MINIMAL_REPORT)


def to_json(document: Any) -> bytes:
    return json.dumps(document).encode()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def gzip_of_zeros(total: int, block: int = 16 * MIB) -> bytes:
    """One valid gzip member holding ``total`` zero bytes (a bomb for large totals).

    Deflating 1 GiB takes seconds, so one block is deflated and ends in a full flush,
    which makes it self-contained and byte-aligned; the body repeats it, then an empty
    final block and the real CRC and length close the member.
    """
    count, rest = divmod(total, block)
    assert rest == 0, "total must be a multiple of block"
    zeros = bytes(block)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, header added here
    body = deflater.compress(zeros) + deflater.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final_block = b"\x03\x00"  # BFINAL=1, fixed Huffman, end-of-block only
    return header + body * count + final_block + struct.pack("<II", crc, total & 0xFFFFFFFF)
