"""Parse stored raw reports again, e.g. after a parser fix."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.models import Organization
from reports import batch_ingest
from reports.bulk import fewer_collections
from reports.models import RawReport, RawStatus
from reports.tasks import parse_raw_report


class Command(BaseCommand):
    help = "Re-parse stored raw reports (by default the refused and failed ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", help="raw report UUIDs (default: by status)")
        parser.add_argument("--org", help="only this organization (slug)")
        parser.add_argument(
            "--status",
            default="rejected,error",
            help="comma-separated statuses to re-parse (default: rejected,error)",
        )
        parser.add_argument("--all", action="store_true", help="every raw report, any status")
        parser.add_argument("--queue", action="store_true", help="queue for a worker instead")

    def handle(self, *args, **options) -> None:
        raws = RawReport.objects.all()
        if options["ids"]:
            raws = raws.filter(uuid__in=options["ids"])
        elif not options["all"]:
            statuses = [s.strip() for s in options["status"].split(",") if s.strip()]
            unknown = set(statuses) - set(RawStatus.values)
            if unknown:
                raise CommandError(f"unknown status {', '.join(sorted(unknown))}")
            raws = raws.filter(status__in=statuses)
        if options["org"]:
            organization = Organization.objects.filter(slug=options["org"]).first()
            if organization is None:
                raise CommandError(f"no organization with slug {options['org']!r}")
            raws = raws.filter(organization=organization)
        by_org: dict[int, list[int]] = {}
        for raw_id, org_id in raws.order_by("id").values_list("id", "organization_id"):
            by_org.setdefault(org_id, []).append(raw_id)
        total = sum(len(ids) for ids in by_org.values())
        if options["queue"]:
            for ids in by_org.values():
                for raw_id in ids:
                    parse_raw_report.apply_async((raw_id,), retry=False)
            self.stdout.write(f"queued {total} raw report(s)")
            return
        counts = dict.fromkeys(RawStatus.values, 0)
        with fewer_collections():
            for org_id, ids in by_org.items():
                for outcome in batch_ingest.parse_many(ids, organization_id=org_id):
                    counts[outcome.raw.status] += 1
        errors = total - sum(counts.values())
        summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        self.stdout.write(f"re-parsed {total} raw report(s): {summary or 'nothing'}")
        if errors:
            self.stdout.write(f"{errors} crashed; see the log and the raw reports' reasons")
