"""decode_report_bytes / decode_reports: plain JSON, gzip and zip, and hostile bodies."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest

from reports.decoding import decode_report_bytes, decode_reports
from reports.errors import ReportRejected
from reports.limits import Limits
from tests.reports.support import MIB, gzip_bytes, gzip_of_zeros, sample, zip_bytes

LIMITS = Limits()
REPORT = sample("stalwartlabs__mail-auth__rpt02.json")
OTHER = sample("phi-ag__mta-sts-exporter__google.json")


def rejected(data: bytes, limits: Limits = LIMITS, **labels: str) -> ReportRejected:
    with pytest.raises(ReportRejected) as caught:
        decode_reports(data, labels.get("content_type"), labels.get("filename"), limits)
    return caught.value


# What decodes.


def test_plain_json_passes_through_unchanged() -> None:
    assert decode_report_bytes(REPORT, "application/tlsrpt+json", None, LIMITS) == REPORT


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [
        ("application/tlsrpt+gzip", None),
        ("application/octet-stream", "report.json"),  # mislabelled: magic bytes decide
        (None, None),
    ],
)
def test_gzip_is_recognised_by_its_magic(content_type: str | None, filename: str | None) -> None:
    assert decode_report_bytes(gzip_bytes(REPORT), content_type, filename, LIMITS) == REPORT


def test_json_labelled_gzip_is_read_as_json() -> None:
    assert decode_report_bytes(REPORT, "application/tlsrpt+gzip", "r.json.gz", LIMITS) == REPORT


def test_concatenated_gzip_members_and_nul_padding() -> None:
    half = len(REPORT) // 2
    data = gzip_bytes(REPORT[:half]) + gzip_bytes(REPORT[half:]) + b"\x00" * 512
    assert decode_report_bytes(data, None, None, LIMITS) == REPORT


def test_zip_yields_each_json_and_json_gz_member() -> None:
    archive = zip_bytes(
        {"a.json": REPORT, "notes.txt": b"not a report", "sub/b.JSON.GZ": gzip_bytes(OTHER)}
    )
    assert decode_reports(archive, "application/zip", "x.zip", LIMITS) == [REPORT, OTHER]


def test_single_report_zip_for_decode_report_bytes() -> None:
    assert decode_report_bytes(zip_bytes({"r.json": REPORT}), None, None, LIMITS) == REPORT


def test_decode_report_bytes_refuses_several_reports() -> None:
    archive = zip_bytes({"a.json": REPORT, "b.json": OTHER})
    with pytest.raises(ReportRejected) as caught:
        decode_report_bytes(archive, None, None, LIMITS)
    assert caught.value.code == "multiple_reports"


def test_gzip_of_zeros_helper_builds_valid_gzip() -> None:
    # The bomb below is built by this helper; prove on a small size that it is genuine.
    assert gzip.decompress(gzip_of_zeros(8 * MIB, block=MIB)) == bytes(8 * MIB)


# What is refused.


def test_gzip_bomb_is_refused_after_about_the_limit() -> None:
    bomb = gzip_of_zeros(1024 * MIB)  # 1 GiB of zeros in about 1 MB
    assert len(bomb) < LIMITS.max_compressed
    tracemalloc.start()
    try:
        error = rejected(bomb, content_type="application/tlsrpt+gzip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.code == "decompressed_too_large"
    # Streaming: memory tracks the 50 MiB limit, not the 1 GiB the bomb expands to.
    assert peak < 2 * LIMITS.max_decompressed


def test_gzip_limit_is_exact() -> None:
    data = gzip_bytes(REPORT)
    assert decode_reports(data, None, None, Limits(max_decompressed=len(REPORT))) == [REPORT]
    assert rejected(data, Limits(max_decompressed=len(REPORT) - 1)).code == (
        "decompressed_too_large"
    )


@pytest.mark.parametrize("keep", [10, 30, -8, -1])
def test_truncated_gzip(keep: int) -> None:
    data = gzip_bytes(REPORT)[:keep]
    error = rejected(data, content_type="application/tlsrpt+gzip")
    assert error.code == "bad_gzip"


def test_truncated_gzip_says_so() -> None:
    error = rejected(gzip_bytes(REPORT)[:-20])
    assert error.code == "bad_gzip"
    assert "truncated" in error.reason


def test_corrupt_gzip() -> None:
    data = bytearray(gzip_bytes(REPORT * 4))
    data[20:40] = b"\xff" * 20
    assert rejected(bytes(data)).code == "bad_gzip"


def test_gzip_with_trailing_garbage() -> None:
    assert rejected(gzip_bytes(REPORT) + b"garbage").code == "bad_gzip"


def test_labelled_gzip_that_is_not_gzip() -> None:
    error = rejected(b"%PDF-1.7 ...", content_type="application/tlsrpt+gzip")
    assert error.code == "bad_gzip"


def test_labelled_zip_that_is_not_zip() -> None:
    assert rejected(b"%PDF-1.7 ...", filename="report.zip").code == "bad_zip"


def test_input_over_the_compressed_limit() -> None:
    assert rejected(REPORT, Limits(max_compressed=len(REPORT) - 1)).code == "too_large"


def test_plain_json_over_the_decompressed_limit() -> None:
    error = rejected(REPORT, Limits(max_decompressed=len(REPORT) - 1))
    assert error.code == "decompressed_too_large"


def test_zip_without_report_members() -> None:
    assert rejected(zip_bytes({"readme.txt": b"hello"})).code == "no_report_in_archive"


def test_zip_bomb_member_is_refused() -> None:
    archive = zip_bytes({"big.json": bytes(20 * MIB)})
    assert rejected(archive, Limits(max_decompressed=MIB)).code == "decompressed_too_large"


def test_zip_members_share_one_budget() -> None:
    archive = zip_bytes({"a.json": REPORT, "b.json": REPORT})
    limits = Limits(max_decompressed=len(REPORT) + 10)
    assert rejected(archive, limits).code == "decompressed_too_large"


def test_gzip_bomb_inside_a_zip_is_refused() -> None:
    archive = zip_bytes({"r.json.gz": gzip_of_zeros(64 * MIB, block=MIB)})
    assert rejected(archive, Limits(max_decompressed=MIB)).code == "decompressed_too_large"


def test_zip_with_too_many_members() -> None:
    archive = zip_bytes({f"r{i}.json": REPORT for i in range(5)})
    assert rejected(archive, Limits(max_archive_members=4)).code == "too_many_members"


def test_corrupt_zip() -> None:
    archive = bytearray(zip_bytes({"r.json": REPORT * 8}))
    archive[60:90] = b"\x00" * 30  # inside the deflated data
    assert rejected(bytes(archive)).code == "bad_zip"


def test_truncated_zip() -> None:
    assert rejected(zip_bytes({"r.json": REPORT})[:100]).code == "bad_zip"


def test_encrypted_zip_member() -> None:
    archive = bytearray(zip_bytes({"r.json": REPORT}))
    central = archive.index(b"PK\x01\x02")
    archive[central + 8] |= 0x01  # the general-purpose flag's "encrypted" bit
    error = rejected(bytes(archive))
    assert error.code == "bad_zip"
    assert "encrypted" in error.reason
