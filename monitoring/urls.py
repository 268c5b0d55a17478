from django.urls import path

from monitoring.views import accounts, domains, organizations

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
    path("orgs/<uuid:org_uuid>/domains/", domains.domain_list, name="domain_list"),
    path("orgs/<uuid:org_uuid>/domains/add/", domains.domain_add, name="domain_add"),
    path("orgs/<uuid:org_uuid>/domains/add-many/", domains.domain_add_many, name="domain_add_many"),
    path("domains/<uuid:domain_uuid>/delete/", domains.domain_delete, name="domain_delete"),
    path("domains/<uuid:domain_uuid>/toggle/", domains.domain_toggle, name="domain_toggle"),
]
