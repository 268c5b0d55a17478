from django.contrib import admin

from reports.models import (
    FailureDetail,
    ImapMailbox,
    PolicyResult,
    RawReport,
    Report,
    ReportEndpoint,
)


@admin.register(RawReport)
class RawReportAdmin(admin.ModelAdmin):
    list_display = ["received_at", "organization", "source", "kind", "size", "status"]
    list_filter = ["status", "source", "kind"]
    search_fields = ["sha256", "uuid", "reason"]
    exclude = ["data"]
    readonly_fields = ["uuid", "sha256", "size", "headers", "reason", "reason_code"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["start_datetime", "organization", "policy_domain", "organization_name"]
    list_filter = ["organization"]
    search_fields = ["report_id", "organization_name", "policy_domain"]
    raw_id_fields = ["raw", "domain"]


@admin.register(ReportEndpoint)
class ReportEndpointAdmin(admin.ModelAdmin):
    list_display = ["organization", "domain", "created_at"]
    exclude = ["token"]


@admin.register(ImapMailbox)
class ImapMailboxAdmin(admin.ModelAdmin):
    list_display = ["organization", "host", "username", "enabled", "last_polled_at"]
    exclude = ["password_encrypted"]


@admin.register(PolicyResult)
class PolicyResultAdmin(admin.ModelAdmin):
    list_display = ["report", "policy_type", "successful_sessions", "failed_sessions", "day"]
    list_filter = ["policy_type"]
    raw_id_fields = ["report", "organization", "domain"]


@admin.register(FailureDetail)
class FailureDetailAdmin(admin.ModelAdmin):
    list_display = [
        "result_type",
        "sending_mta_ip",
        "receiving_mx_hostname",
        "failed_session_count",
    ]
    list_filter = ["result_type"]
    raw_id_fields = ["policy", "report", "organization", "domain"]
