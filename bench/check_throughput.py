"""Check throughput: N lab domains (two MX hosts each) through the engine's check_many.

The lab runs in its own process so its servers do not share the checker's GIL; the
figures are the checker's alone. Prints one line per figure, ready for bench/README.md.

    .venv/bin/python bench/check_throughput.py [--domains 500] [--concurrency 50]
        [--tracemalloc] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import multiprocessing as mp
import os
import platform
import pstats
import resource
import statistics
import sys
import time
import tracemalloc
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitoring.checks.engine import check_domain_async, check_many  # noqa: E402
from monitoring.checks.options import CheckOptions  # noqa: E402
from tests.lab import Lab  # noqa: E402

LATENCY_SAMPLES = 20


def serve_lab(count: int, pipe: Connection) -> None:
    """Child process: run the lab with the bench certificates ready, until told to stop."""
    with Lab() as lab:
        lab.prepare_bench(count)
        pipe.send(lab.env())
        while pipe.recv() == "report":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime
            pipe.send({"cpu": cpu, "dns": lab.stats.total("dns/")})


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def single_latency(names: list[str], options: CheckOptions) -> list[float]:
    """One domain at a time: the time a user waits for one healthy check."""
    durations = []
    for name in names:
        started = time.perf_counter()
        await check_domain_async(name, options)
        durations.append(time.perf_counter() - started)
    return durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python memory")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the batch: top 25 by own time"
    )
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=serve_lab, args=(args.domains, theirs), daemon=True)
    child.start()
    try:
        env = ours.recv()
        options = CheckOptions.from_env(env)
        names = Lab.bench_domains(args.domains)
        return run(names, options, args, ours)
    finally:
        ours.send("stop")
        child.join(timeout=15)


def lab_usage(pipe: Connection) -> dict[str, float]:
    pipe.send("report")
    return pipe.recv()


def run(names: list[str], options: CheckOptions, args: argparse.Namespace, lab: Connection) -> int:
    asyncio.run(check_domain_async(names[0], options))  # warm-up: imports, first contexts
    latency = asyncio.run(single_latency(names[:LATENCY_SAMPLES], options))

    if args.tracemalloc:
        tracemalloc.start()
    profiler = cProfile.Profile() if args.profile else None
    lab_before = lab_usage(lab)
    cpu_before = time.process_time()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    reports = asyncio.run(check_many(names, options, concurrency=args.concurrency))
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    lab_after = lab_usage(lab)
    lab_cpu = lab_after["cpu"] - lab_before["cpu"]
    queries = lab_after["dns"] - lab_before["dns"]
    traced_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None

    per_domain = [r.duration_ms / 1000 for r in reports]
    not_ok = [r for r in reports if r.status != "ok"]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    today = dt.date.today().isoformat()
    machine = f"{platform.node()} {os.cpu_count()} CPU, Python {platform.python_version()}"
    print(f"# {today}, {machine}")
    print(f"# {len(names)} domains x 2 MX hosts, check_many concurrency {args.concurrency}")
    print(f"throughput: {len(names) / elapsed:.1f} domains/s ({elapsed:.2f} s for {len(names)})")
    print(
        f"per domain under load: median {statistics.median(per_domain):.3f} s, "
        f"p95 {percentile(per_domain, 0.95):.3f} s, max {max(per_domain):.3f} s"
    )
    print(
        f"single healthy domain, alone: median {statistics.median(latency):.3f} s, "
        f"max {max(latency):.3f} s ({len(latency)} checks)"
    )
    print(f"checker CPU: {cpu:.2f} s, {cpu / len(names) * 1000:.1f} ms per domain")
    print(f"lab CPU (servers, other process): {lab_cpu / len(names) * 1000:.1f} ms per domain")
    print(f"DNS queries: {queries / len(names):.2f} per domain (9 without retries)")
    print(f"peak RSS (checker process): {rss_mib:.0f} MiB")
    if traced_peak is not None:
        print(f"peak traced Python memory: {traced_peak / 2**20:.1f} MiB")
    first = f" (first: {not_ok[0].domain} {sorted(not_ok[0].codes())})" if not_ok else ""
    print(f"not ok: {len(not_ok)}{first}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 1 if not_ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
