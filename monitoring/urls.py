from django.urls import path

from monitoring.views import (
    accounts,
    channels,
    checknow,
    dashboard,
    domain_page,
    domains,
    history,
    hosted,
    organizations,
    policy_editor,
    wizard,
)

urlpatterns = [
    path("", accounts.home, name="home"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("orgs/new/", organizations.organization_create, name="organization_create"),
    path("orgs/<uuid:org_uuid>/switch/", organizations.organization_switch, name="org_switch"),
    path("orgs/<uuid:org_uuid>/members/", organizations.members, name="members"),
    path(
        "orgs/<uuid:org_uuid>/members/<int:membership_id>/remove/",
        organizations.member_remove,
        name="member_remove",
    ),
    path(
        "orgs/<uuid:org_uuid>/invitations/<uuid:invitation_uuid>/revoke/",
        organizations.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invite/<str:token>/", organizations.invitation_accept, name="invitation_accept"),
    path("orgs/<uuid:org_uuid>/domains/", dashboard.dashboard, name="domain_list"),
    path("orgs/<uuid:org_uuid>/domains/add/", domains.domain_add, name="domain_add"),
    path("orgs/<uuid:org_uuid>/domains/add-many/", domains.domain_add_many, name="domain_add_many"),
    path("domains/<uuid:domain_uuid>/delete/", domains.domain_delete, name="domain_delete"),
    path("domains/<uuid:domain_uuid>/toggle/", domains.domain_toggle, name="domain_toggle"),
]

# Monitoring: history, check now, alert channels (issue 4).
urlpatterns += [
    path("domains/<uuid:domain_uuid>/history/", history.domain_history, name="domain_history"),
    path(
        "domains/<uuid:domain_uuid>/history/recent/",
        history.domain_history_partial,
        name="domain_history_partial",
    ),
    path("domains/<uuid:domain_uuid>/check-now/", checknow.check_now, name="check_now"),
    path(
        "domains/<uuid:domain_uuid>/check-now/<str:task_id>/",
        checknow.check_now_status,
        name="check_now_status",
    ),
    path("orgs/<uuid:org_uuid>/alerts/", channels.channel_list, name="alert_channels"),
    path("orgs/<uuid:org_uuid>/alerts/add/", channels.channel_add, name="channel_add"),
    path("alerts/channels/<uuid:channel_uuid>/", channels.channel_edit, name="channel_edit"),
    path(
        "alerts/channels/<uuid:channel_uuid>/toggle/",
        channels.channel_toggle,
        name="channel_toggle",
    ),
    path(
        "alerts/channels/<uuid:channel_uuid>/delete/",
        channels.channel_delete,
        name="channel_delete",
    ),
    path("alerts/channels/<uuid:channel_uuid>/test/", channels.channel_test, name="channel_test"),
    path(
        "alerts/channels/<uuid:channel_uuid>/test/<uuid:notification_uuid>/",
        channels.channel_test_status,
        name="channel_test_status",
    ),
]

# Dashboard, domain page, policy editor, onboarding wizard, hosted policies (issue 6).
urlpatterns += [
    path("orgs/<uuid:org_uuid>/domains/bulk/", dashboard.bulk_action, name="dashboard_bulk"),
    path("domains/<uuid:domain_uuid>/", domain_page.domain_detail, name="domain_detail"),
    path("domains/<uuid:domain_uuid>/policy/", policy_editor.policy_edit, name="policy_edit"),
    path(
        "domains/<uuid:domain_uuid>/policy/publish/",
        policy_editor.policy_publish,
        name="policy_publish",
    ),
    path(
        "domains/<uuid:domain_uuid>/policy/download/",
        policy_editor.policy_download,
        name="policy_download",
    ),
    path("domains/<uuid:domain_uuid>/coverage/", wizard.domain_coverage, name="domain_coverage"),
    path(
        "domains/<uuid:domain_uuid>/hosted-policy.txt",
        hosted.hosted_policy_preview,
        name="hosted_policy_preview",
    ),
    path("internal/tls-ask", hosted.tls_ask, name="tls_ask"),
    path("onboarding/", wizard.wizard_start, name="wizard_start"),
    path("orgs/<uuid:org_uuid>/onboarding/<int:step>/", wizard.wizard_step, name="wizard_step"),
    path(
        "orgs/<uuid:org_uuid>/onboarding/discover/<uuid:domain_uuid>/",
        wizard.wizard_discover,
        name="wizard_discover",
    ),
    path(
        "orgs/<uuid:org_uuid>/onboarding/verify/<uuid:domain_uuid>/",
        wizard.wizard_verify,
        name="wizard_verify",
    ),
    path(
        "orgs/<uuid:org_uuid>/onboarding/files/<uuid:domain_uuid>/<slug:slug>/<int:index>/",
        wizard.wizard_download,
        name="wizard_download",
    ),
    path(
        "orgs/<uuid:org_uuid>/onboarding/files/<uuid:domain_uuid>/<slug:slug>.zip",
        wizard.wizard_recipe_zip,
        name="wizard_recipe_zip",
    ),
    path(
        "orgs/<uuid:org_uuid>/onboarding/records.<str:fmt>",
        wizard.wizard_records_download,
        name="wizard_records_download",
    ),
]
