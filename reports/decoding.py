"""Turn a received body (plain JSON, gzip or zip) into JSON document bytes, within limits.

Nothing here parses JSON: the output is the JSON text exactly as the sender wrote it,
for ``reports.parsing.parse_report``. Every decompression is streamed in bounded chunks
and stops as soon as the output passes ``Limits.max_decompressed``, so a gzip bomb
costs about the limit in memory and time, never its full expanded size.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import replace

from reports.errors import ReportRejected
from reports.limits import Limits

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local header, or an empty archive
CHUNK = 64 * 1024
_JSON_START = (b"{", b"[")  # what a JSON body starts with after BOM and whitespace

GZIP_TYPES = frozenset(
    {
        "application/tlsrpt+gzip",
        "application/gzip",
        "application/x-gzip",
        "application/gzip-compressed",
    }
)
ZIP_TYPES = frozenset({"application/zip", "application/x-zip", "application/x-zip-compressed"})
REPORT_MEMBER_SUFFIXES = (".json", ".json.gz")


def decode_report_bytes(
    data: bytes, content_type: str | None, filename: str | None, limits: Limits
) -> bytes:
    """Return the JSON bytes of the one report in ``data``.

    ``content_type`` and ``filename`` are hints: the leading magic bytes decide, so a
    mislabelled body still decodes. A zip holding several reports is refused with
    ``multiple_reports``; use ``decode_reports`` where several are acceptable.
    """
    documents = decode_reports(data, content_type, filename, limits)
    if len(documents) > 1:
        raise ReportRejected(
            f"the archive holds {len(documents)} reports, one was expected", "multiple_reports"
        )
    return documents[0]


def decode_reports(
    data: bytes, content_type: str | None, filename: str | None, limits: Limits
) -> list[bytes]:
    """Return the JSON bytes of every report in ``data`` (several only for a zip)."""
    if len(data) > limits.max_compressed:
        raise ReportRejected(
            f"{len(data)} bytes received, the limit is {limits.max_compressed}", "too_large"
        )
    kind = sniff_kind(data, content_type, filename)
    if kind == "gzip":
        return [gunzip_limited(data, limits.max_decompressed)]
    if kind == "zip":
        return unzip_reports(data, limits)
    if len(data) > limits.max_decompressed:
        raise ReportRejected(
            f"{len(data)} bytes of JSON, the limit is {limits.max_decompressed}",
            "decompressed_too_large",
        )
    return [bytes(data)]


def sniff_kind(data: bytes, content_type: str | None, filename: str | None) -> str:
    """Say ``gzip``, ``zip`` or ``json``: magic bytes first, then the labels."""
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    if data.startswith(ZIP_MAGICS):
        return "zip"
    # Senders mislabel JSON as gzip; a body that starts like JSON is read as JSON.
    if _looks_like_json(data):
        return "json"
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    name = (filename or "").strip().lower()
    if media_type in GZIP_TYPES or name.endswith(".gz"):
        raise ReportRejected(
            f"labelled gzip ({media_type or name}) but does not start with the gzip magic bytes",
            "bad_gzip",
        )
    if media_type in ZIP_TYPES or name.endswith(".zip"):
        raise ReportRejected(
            f"labelled zip ({media_type or name}) but does not start with a zip header",
            "bad_zip",
        )
    return "json"


def _looks_like_json(data: bytes) -> bool:
    head = data[:256].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(_JSON_START)


def looks_like_json_object(data: bytes) -> bool:
    """True when the text starts with ``{`` after an optional BOM and whitespace."""
    return data[:256].removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")


def gunzip_limited(data: bytes, max_output: int) -> bytes:
    """Decompress gzip ``data`` (one or more members), refusing output over ``max_output``.

    The decompressor never produces more than ``max_output + 1`` bytes in total, so the
    work done on a bomb is bounded by the limit, not by the bomb.
    """
    chunks: list[bytes] = []
    total = 0
    pending = data
    while True:
        decompressor = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer only
        try:
            while not decompressor.eof:
                piece = decompressor.decompress(pending, min(CHUNK, max_output - total + 1))
                total += len(piece)
                if total > max_output:
                    raise ReportRejected(
                        f"gzip content is over the limit of {max_output} bytes",
                        "decompressed_too_large",
                    )
                chunks.append(piece)
                pending = decompressor.unconsumed_tail
                if not piece and not pending and not decompressor.eof:
                    raise ReportRejected(
                        "gzip stream is truncated (no end-of-stream marker or trailer)", "bad_gzip"
                    )
        except zlib.error as exc:
            raise ReportRejected(f"gzip stream is corrupt: {exc}", "bad_gzip") from None
        pending = decompressor.unused_data
        if not pending.strip(b"\x00"):  # some writers pad the file with NULs
            return b"".join(chunks)
        if not pending.startswith(GZIP_MAGIC):
            raise ReportRejected(
                f"{len(pending)} bytes of trailing data after the gzip stream", "bad_gzip"
            )
        # Concatenated gzip members are one valid gzip file (RFC 1952 2.2).


def unzip_reports(data: bytes, limits: Limits) -> list[bytes]:
    """Return the JSON of every ``.json`` and ``.json.gz`` member of a zip archive.

    The decompressed total over all members is held to ``max_decompressed``; members
    with other names are skipped, encrypted members refuse the archive.
    """
    documents: list[bytes] = []
    budget = limits.max_decompressed
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > limits.max_archive_members:
                raise ReportRejected(
                    f"the archive has {len(members)} members, "
                    f"the limit is {limits.max_archive_members}",
                    "too_many_members",
                )
            for info in members:
                name = info.filename.lower()
                if info.is_dir() or not name.endswith(REPORT_MEMBER_SUFFIXES):
                    continue
                if info.flag_bits & 0x1:
                    raise ReportRejected(f"member {info.filename!r} is encrypted", "bad_zip")
                raw = _read_member(archive, info, budget)
                if name.endswith(".gz"):
                    # The .gz inside the zip gets what is left of the same budget.
                    raw = gunzip_limited(raw, budget)
                budget -= len(raw)
                documents.append(raw)
    except ReportRejected:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise ReportRejected(f"zip archive is unreadable: {exc}", "bad_zip") from None
    except (zlib.error, OSError, ValueError, RuntimeError) as exc:
        # zipfile surfaces corrupt deflate data and unsupported features this way.
        raise ReportRejected(f"zip archive is corrupt: {exc}", "bad_zip") from None
    if not documents:
        raise ReportRejected("the archive has no .json or .json.gz member", "no_report_in_archive")
    return documents


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    # file_size in the directory is the sender's claim; refuse early when it admits the
    # excess, and count what actually comes out either way.
    if info.file_size > budget:
        raise ReportRejected(
            f"member {info.filename!r} declares {info.file_size} bytes, over the limit",
            "decompressed_too_large",
        )
    chunks: list[bytes] = []
    total = 0
    with archive.open(info) as member:
        while True:
            piece = member.read(min(CHUNK, budget - total + 1))
            if not piece:
                return b"".join(chunks)
            total += len(piece)
            if total > budget:
                raise ReportRejected(
                    f"member {info.filename!r} decompresses to more than the limit",
                    "decompressed_too_large",
                )
            chunks.append(piece)


def with_budget(limits: Limits, remaining: int) -> Limits:
    """The same limits with ``max_decompressed`` lowered to what a caller has left."""
    return replace(limits, max_decompressed=max(1, min(limits.max_decompressed, remaining)))
