from django.contrib import admin

from monitoring.models import (
    Alert,
    AlertChannel,
    CheckRun,
    Domain,
    DomainSummary,
    Finding,
    HostedPolicy,
    Invitation,
    Membership,
    Notification,
    OnboardingSession,
    Organization,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "uuid", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    raw_id_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "organization__name"]
    readonly_fields = ["token", "accepted_at", "accepted_by"]
    raw_id_fields = ["organization", "invited_by"]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "enabled", "status", "next_check_at", "last_checked_at"]
    list_filter = ["enabled", "status"]
    search_fields = ["name", "organization__name"]
    raw_id_fields = ["organization", "created_by"]


@admin.register(CheckRun)
class CheckRunAdmin(admin.ModelAdmin):
    list_display = ["domain", "status", "finished_at", "duration_ms", "kept_daily"]
    list_filter = ["status"]
    search_fields = ["domain__name", "task_id"]
    raw_id_fields = ["domain"]
    readonly_fields = ["uuid", "task_id", "facts", "drift"]


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "organization", "enabled", "min_severity", "last_sent_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "organization__name"]
    raw_id_fields = ["organization"]
    filter_horizontal = ["domains"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["code", "domain", "severity", "source", "opened_at", "resolved_at"]
    list_filter = ["severity", "source"]
    search_fields = ["code", "domain__name", "key"]
    raw_id_fields = ["domain", "opened_by_run", "resolved_by_run"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["kind", "channel", "domain", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["dedup_key", "channel__name", "domain__name"]
    raw_id_fields = ["channel", "alert", "domain"]


@admin.register(HostedPolicy)
class HostedPolicyAdmin(admin.ModelAdmin):
    list_display = ["host", "domain", "enabled", "policy_id", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["host", "domain__organization__name"]
    raw_id_fields = ["domain"]
    readonly_fields = ["host"]


@admin.register(DomainSummary)
class DomainSummaryAdmin(admin.ModelAdmin):
    list_display = ["domain", "mode", "policy_id", "mx_covered", "mx_total", "min_cert_days"]
    list_filter = ["mode"]
    search_fields = ["domain__name"]
    raw_id_fields = ["domain"]
    readonly_fields = ["report"]


@admin.register(OnboardingSession)
class OnboardingSessionAdmin(admin.ModelAdmin):
    list_display = ["organization", "user", "step", "furthest_step", "completed_at"]
    raw_id_fields = ["organization", "user"]


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["code", "severity", "subject", "run"]
    list_filter = ["severity"]
    search_fields = ["code", "subject", "run__domain__name"]
    raw_id_fields = ["run"]
