"""End-to-end TLSRPT ingest throughput and memory, against parsedmarc's parser.

    .venv/bin/python bench/ingest_throughput.py [--count 10000] [--repeat 5]
        [--pm /tmp/pmvenv/bin/python]

1. Writes ``--count`` report files made from the shared samples (varied report-ids and
   counts; 70% .json, 20% .json.gz, 10% .eml mail messages) into a temporary folder.
2. "ours": a child process runs ``manage.py ingest_reports`` on the folder against a fresh
   database (SQLite in a temporary VAR_DIR, or BENCH_DATABASE_URL): every input stored
   raw, parsed, and its Report / PolicyResult / FailureDetail rows written, then the
   dashboard figures refreshed and the TLSRPT alerts evaluated. The row counts are checked
   after. Timed inside the child after start-up (Django set up, the command and the URL
   configuration imported), as parsedmarc is timed after its import.
3. "parsedmarc": a child process of the separate venv runs ``parsedmarc.parse_report_file``
   (offline) on the same files, timed the same way. parsedmarc is not a dependency of the
   project: ``python3 -m venv /tmp/pmvenv && /tmp/pmvenv/bin/pip install parsedmarc``.
   Each round runs parsedmarc, ours with 1 and 2 processes, then parsedmarc again, and
   compares ours with the mean of the two parsedmarc runs; ``--repeat`` rounds give the
   median ratio. The machine's speed drifts by 20% and more from minute to minute (a
   shared VM), so one run of each is not a comparison.
4. A report of about 50 MB of JSON (gzip under 10 MB) is ingested in its own child, whose
   peak RSS is the "bounded memory" figure (target under 300 MB).

Peak memory is each child's ru_maxrss (whole process: interpreter, Django, data).
"""

from __future__ import annotations

import argparse
import email.message
import email.policy
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT.parent / "shared" / "data" / "tlsrpt"
BROKEN = "stalwartlabs__mail-auth__rpt03.json"
ORG_SLUG = "bench"

PM_SCRIPT = r"""
import json, sys, time, pathlib, parsedmarc
files = sorted(str(p) for p in pathlib.Path(sys.argv[1]).iterdir())
start = time.perf_counter()
ok = 0
for path in files:
    report = parsedmarc.parse_report_file(path, offline=True)
    ok += report["report_type"] == "smtp_tls"
print(json.dumps({"seconds": time.perf_counter() - start, "ok": ok}))
"""


# -- input ------------------------------------------------------------------------------


def sample_documents() -> list[dict]:
    """The JSON of every good sample, including the ones inside the .eml samples."""
    sys.path.insert(0, str(REPO_ROOT))
    from reports.limits import DEFAULT_LIMITS
    from reports.mail import extract_reports_from_message

    documents = []
    for path in sorted(SAMPLES.iterdir()):
        if path.name == BROKEN or path.suffix not in (".json", ".eml"):
            continue
        data = path.read_bytes()
        if path.suffix == ".eml":
            found = extract_reports_from_message(data, DEFAULT_LIMITS, check_dkim=False)
            data = found.reports[0]
        documents.append(json.loads(data))
    return documents


def vary(document: dict, n: int) -> dict:
    copy = json.loads(json.dumps(document))
    copy["report-id"] = f"bench-{n}-{copy['report-id']}"
    factor = n % 7 + 1
    for policy in copy["policies"]:
        summary = policy["summary"]
        for key in ("total-successful-session-count", "total-failure-session-count"):
            if isinstance(summary.get(key), int):
                summary[key] *= factor
    return copy


def as_message(body: bytes, n: int) -> bytes:
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"] = "noreply-smtp-tls-reporting@sender.example"
    message["To"] = "tlsrpt@example.com"
    message["Subject"] = f"Report Domain: example.com Submitter: sender.example Report-ID: <{n}>"
    message["TLS-Report-Domain"] = "example.com"
    message["TLS-Report-Submitter"] = "sender.example"
    message.set_content("This is an aggregate TLS report from sender.example")
    message.add_attachment(
        gzip.compress(body, mtime=0),
        maintype="application",
        subtype="tlsrpt+gzip",
        filename=f"sender.example!example.com!{n}.json.gz",
    )
    message.set_type("multipart/report")
    message.set_param("report-type", "tlsrpt")
    return message.as_bytes()


def write_inputs(folder: Path, count: int) -> dict[str, int]:
    """Write ``count`` files; returns the expected totals of what they hold."""
    documents = sample_documents()
    expected = {"reports": 0, "policies": 0, "failures": 0, "successful": 0}
    for n in range(count):
        document = vary(documents[n % len(documents)], n)
        body = json.dumps(document).encode()
        kind = n % 10
        if kind < 7:
            (folder / f"r{n:05}.json").write_bytes(body)
        elif kind < 9:
            (folder / f"r{n:05}.json.gz").write_bytes(gzip.compress(body, mtime=0))
        else:
            (folder / f"r{n:05}.eml").write_bytes(as_message(body, n))
        expected["reports"] += 1
        expected["policies"] += len(document["policies"])
        expected["failures"] += sum(
            len(p.get("failure-details") or []) for p in document["policies"]
        )
        expected["successful"] += sum(
            p["summary"]["total-successful-session-count"] for p in document["policies"]
        )
    return expected


def big_report(path: Path, target: int = 49 * 1024 * 1024) -> int:
    """A report of about ``target`` bytes of JSON: 10,000 failure entries with long
    additional-information, plus policies whose policy-string pads to the target."""
    detail = {
        "result-type": "certificate-expired",
        "sending-mta-ip": "192.0.2.1",
        "receiving-mx-hostname": "mx1.example.com",
        "receiving-ip": "198.51.100.7",
        "failed-session-count": 1,
    }
    failures = [
        {**detail, "additional-information": f"entry {i} " + "x" * 1990} for i in range(10_000)
    ]
    document = {
        "organization-name": "Big Sender",
        "date-range": {
            "start-datetime": "2024-05-01T00:00:00Z",
            "end-datetime": "2024-05-01T23:59:59Z",
        },
        "contact-info": "big@sender.example",
        "report-id": "big-report",
        "policies": [
            {
                "policy": {"policy-type": "sts", "policy-domain": "example.com"},
                "summary": {
                    "total-successful-session-count": 1,
                    "total-failure-session-count": 10_000,
                },
                "failure-details": failures,
            }
        ],
    }
    size = len(json.dumps(document))
    line = "mx: " + "m" * 996
    per_policy = 200  # 200 lines of 1 kB per padding policy
    while size < target - per_policy * 1100:
        document["policies"].append(
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-domain": "example.com",
                    "policy-string": [line] * per_policy,
                },
                "summary": {
                    "total-successful-session-count": 1,
                    "total-failure-session-count": 0,
                },
            }
        )
        size += per_policy * (len(line) + 4) + 200
    body = json.dumps(document).encode()
    path.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
    return len(body)


# -- children ---------------------------------------------------------------------------


def child_env(var_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "VAR_DIR": str(var_dir),
        "SECRET_KEY": "bench-only",
        "DEBUG": "0",
        "CELERY_BROKER_URL": "memory://",
        "TLSRPT_DKIM_VERIFY": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = f"{os.environ['BENCH_DATABASE_URL']}_{var_dir.name.replace('-', '_')}"
    return env


def fresh_database(var_dir: Path) -> None:
    """With BENCH_DATABASE_URL (PostgreSQL), each run gets its own empty database."""
    base = os.environ.get("BENCH_DATABASE_URL")
    if not base:
        return
    import psycopg

    url = child_env(var_dir)["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(var_dir: Path) -> None:
    """Drop a run's PostgreSQL database once it is measured (SQLite's goes with tmp)."""
    base = os.environ.get("BENCH_DATABASE_URL")
    if not base:
        return
    import psycopg

    name = child_env(var_dir)["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run_child(argv: list[str], env: dict[str, str] | None = None) -> tuple[str, int]:
    """Run a child; returns (stdout, peak RSS in MB)."""
    process = subprocess.Popen(
        argv, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{err.decode()[-3000:]}")
    # ru_maxrss of the last waited child: communicate() has waited for exactly this one.
    rss = _children_peak_mb()
    return out.decode(), rss


def _children_peak_mb() -> int:
    import resource

    # RUSAGE_CHILDREN is the maximum over all waited children; each child here is bigger
    # than the setup ones before it or measured in a fresh bench process (see main()).
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def child_ours(folder: str, workers: str = "1") -> None:
    """In the child: set Django up, then time the ingest command (startup excluded)."""
    sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command, load_command_class
    from django.urls import get_resolver

    from monitoring.models import Domain, Organization
    from reports.models import FailureDetail, PolicyResult, RawReport, Report

    organization, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "B"})
    Domain.objects.get_or_create(organization=organization, name="example.com")
    # Imported before the clock starts, as parsedmarc is in its child: start-up either way
    # (the URL configuration, which imports every view, is first needed for the links in
    # alert messages: 0.2 s once per process).
    load_command_class("reports", "ingest_reports")
    get_resolver().url_patterns  # noqa: B018 - loading it is the point
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        call_command("ingest_reports", folder, "--org", ORG_SLUG, "--workers", workers, stdout=sink)
    elapsed = time.perf_counter() - start
    counts = {
        "raw": RawReport.objects.count(),
        "reports": Report.objects.count(),
        "policies": PolicyResult.objects.count(),
        "failures": FailureDetail.objects.count(),
        "successful": sum(Report.objects.values_list("total_successful", flat=True)),
    }
    print(json.dumps({"seconds": elapsed, **counts}))


def measure_in_fresh_process(args: list[str]) -> tuple[dict, int]:
    """Run this script in ``--measure`` mode so RUSAGE_CHILDREN sees one child only."""
    out, _ = run_child([sys.executable, __file__, "--measure", *args], env=os.environ.copy())
    result = json.loads(out.strip().splitlines()[-1])
    return result, result.pop("peak_mb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--pm", default="/tmp/pmvenv/bin/python", help="parsedmarc's python")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of ours + parsedmarc")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stsguard-bench-") as tmp:
        root = Path(tmp)
        inputs = root / "inputs"
        inputs.mkdir()
        expected = write_inputs(inputs, args.count)
        megabytes = sum(p.stat().st_size for p in inputs.iterdir()) / 1e6
        print(f"{args.count} inputs, {megabytes:.1f} MB, expected {expected}")

        script = root / "pm.py"
        script.write_text(PM_SCRIPT)
        ratios: dict[int, list[float]] = {1: [], 2: []}
        for round_number in range(1, args.repeat + 1):
            if args.repeat > 1:
                print(f"round {round_number}:")
            round_ratios = one_round(root, inputs, args, expected, round_number)
            for workers, ratio in round_ratios.items():
                ratios[workers].append(ratio)
        if args.repeat > 1 and ratios[1]:
            for workers, values in ratios.items():
                shown = ", ".join(f"{value:.2f}" for value in values)
                print(
                    f"ratio ours ({workers} process(es)) / parsedmarc over {len(values)} "
                    f"rounds: median {statistics.median(values):.2f}x (min {min(values):.2f}, "
                    f"max {max(values):.2f}; {shown})"
                )

        big = root / "big.json.gz"
        size = big_report(big)
        folder = root / "big"
        folder.mkdir()
        big.rename(folder / big.name)
        big_var = root / "var-big"
        big_var.mkdir()
        fresh_database(big_var)
        run_child([sys.executable, "manage.py", "migrate", "-v", "0"], env=child_env(big_var))
        result, peak = measure_in_fresh_process(
            [str(big_var), sys.executable, __file__, "--child-ours", str(folder)]
        )
        assert result["reports"] == 1 and result["failures"] == 10_000, result
        print(
            f"big report: {size / 1e6:.1f} MB JSON, "
            f"{(folder / big.name).stat().st_size / 1e6:.1f} MB gzip, "
            f"{result['seconds']:.2f} s, peak {peak} MB "
            f"({result['policies']} policies, {result['failures']} failure rows)"
        )
        drop_database(big_var)


def one_round(
    root: Path, inputs: Path, args: argparse.Namespace, expected: dict[str, int], number: int
) -> dict[int, float]:
    """parsedmarc, ours with 1 and 2 processes, parsedmarc again; returns ours/parsedmarc
    per process count, against the mean of the two parsedmarc runs that bracket ours."""
    have_pm = Path(args.pm).exists()
    pm_seconds = [run_parsedmarc(root, inputs, args)] if have_pm else []
    ours_seconds: dict[int, float] = {}
    for workers in (1, 2):
        var_dir = root / f"var{number}-{workers}"
        var_dir.mkdir()
        fresh_database(var_dir)
        run_child([sys.executable, "manage.py", "migrate", "-v", "0"], env=child_env(var_dir))
        ours, ours_peak = measure_in_fresh_process(
            [str(var_dir), sys.executable, __file__, "--child-ours", str(inputs), str(workers)]
        )
        for key, value in expected.items():
            assert ours[key] == value, (key, ours[key], value)
        assert ours["raw"] == args.count
        ours_seconds[workers] = ours["seconds"]
        print(
            f"ours, {workers} process(es): {ours['seconds']:.2f} s, "
            f"{args.count / ours['seconds']:,.0f} reports/s, peak {ours_peak} MB per process "
            f"({ours['reports']} reports, {ours['policies']} policies, "
            f"{ours['failures']} failure rows)"
        )
        drop_database(var_dir)
    if not have_pm:
        print(f"parsedmarc: skipped ({args.pm} not found)")
        return {}
    pm_seconds.append(run_parsedmarc(root, inputs, args))
    pm_mean = statistics.mean(pm_seconds)
    ratios = {workers: pm_mean / seconds for workers, seconds in ours_seconds.items()}
    for workers, ratio in ratios.items():
        print(f"ratio ours ({workers} process(es)) / parsedmarc (mean of the two): {ratio:.2f}x")
    return ratios


def run_parsedmarc(root: Path, inputs: Path, args: argparse.Namespace) -> float:
    """parsedmarc's parser over the inputs in its own child; returns the seconds."""
    pm, pm_peak = measure_in_fresh_process([str(root), args.pm, str(root / "pm.py"), str(inputs)])
    print(
        f"parsedmarc {_pm_version(args.pm)}: {pm['seconds']:.2f} s, "
        f"{args.count / pm['seconds']:,.0f} reports/s, peak {pm_peak} MB ({pm['ok']} parsed)"
    )
    assert pm["ok"] == args.count, pm
    return pm["seconds"]


def _pm_version(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import parsedmarc; print(parsedmarc.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


def measure(var_dir: str, argv: list[str]) -> None:
    """``--measure VAR CMD...``: run CMD as the only child; print its JSON plus peak_mb."""
    out, peak = run_child(argv, env=child_env(Path(var_dir)))
    print(json.dumps({**json.loads(out.strip().splitlines()[-1]), "peak_mb": peak}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["--child-ours"]:
        child_ours(*sys.argv[2:4])
    else:
        main()
