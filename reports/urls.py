from django.urls import path

from reports.receivers import https
from reports.views import actions, pages

urlpatterns = [
    path("tlsrpt/<str:token>/", https.receive, name="tlsrpt_receive"),
    path("orgs/<uuid:org_uuid>/reports/", pages.org_reports, name="org_reports"),
    path("orgs/<uuid:org_uuid>/reports/all/", pages.report_list, name="report_list"),
    path("orgs/<uuid:org_uuid>/reports/raw/", pages.raw_list, name="report_raw_list"),
    path("orgs/<uuid:org_uuid>/reports/upload/", actions.upload, name="report_upload"),
    path("orgs/<uuid:org_uuid>/reports/setup/", actions.setup, name="report_setup"),
    path(
        "orgs/<uuid:org_uuid>/reports/setup/rotate/",
        actions.rotate_token,
        name="report_rotate_token",
    ),
    path("orgs/<uuid:org_uuid>/reports/setup/imap/", actions.imap_settings, name="report_imap"),
    path("reports/<uuid:report_uuid>/", pages.report_detail, name="report_detail"),
    path("reports/<uuid:report_uuid>/json/", pages.report_json, name="report_json"),
    path("raw/<uuid:raw_uuid>/", pages.raw_detail, name="report_raw_detail"),
    path("raw/<uuid:raw_uuid>/download/", pages.raw_download, name="report_raw_download"),
    path("raw/<uuid:raw_uuid>/reparse/", actions.reparse, name="report_reparse"),
    path("domains/<uuid:domain_uuid>/reports/", pages.domain_reports, name="domain_reports"),
    path(
        "domains/<uuid:domain_uuid>/reports/charts/",
        pages.domain_charts,
        name="domain_report_charts",
    ),
    path(
        "domains/<uuid:domain_uuid>/reports/endpoint/",
        actions.domain_endpoint,
        name="domain_report_endpoint",
    ),
]
