"""Alert channels of an organization: list, add, edit, enable/disable, delete, send a test."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from monitoring.access import get_organization, membership_for
from monitoring.alerting import open_alerts_of
from monitoring.alerts.channels import (
    channel_save,
    channel_send_test,
    channel_set_enabled,
)
from monitoring.alerts.forms import ChannelForm
from monitoring.models import AlertChannel, ChannelKind, Notification

RECENT = 30


def _channel(request: HttpRequest, channel_uuid, *, write: bool) -> tuple[AlertChannel, bool]:
    """The channel if the user belongs to its organization (404 otherwise; 403 on writes)."""
    channel = AlertChannel.objects.select_related("organization").filter(uuid=channel_uuid).first()
    if channel is None or membership_for(request, channel.organization_id) is None:
        raise Http404("No such channel.")
    _, can_write = get_organization(request, channel.organization.uuid, write=write)
    return channel, can_write


@login_required
def channel_list(request: HttpRequest, org_uuid) -> HttpResponse:
    organization, can_write = get_organization(request, org_uuid)
    channels = organization.alert_channels.prefetch_related("domains")
    recent = (
        Notification.objects.filter(channel__organization=organization)
        .select_related("channel", "domain")
        .order_by("-created_at")[:RECENT]
    )
    context = {
        "organization": organization,
        "can_write": can_write,
        "channels": channels,
        "notifications": recent,
        "open_alerts": open_alerts_of(organization)[:50],
        "kinds": ChannelKind.choices,
    }
    return render(request, "monitoring/channels.html", context)


@login_required
def channel_add(request: HttpRequest, org_uuid) -> HttpResponse:
    organization, _ = get_organization(request, org_uuid, write=True)
    initial = {"kind": request.GET.get("kind", ChannelKind.EMAIL)}
    form = ChannelForm(request.POST or None, organization=organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        channel = channel_save(
            organization=organization, data=form.cleaned_data, config=form.config()
        )
        messages.success(request, f"Added {channel.name}. Send a test to see it work.")
        return redirect("alert_channels", org_uuid=organization.uuid)
    context = {"organization": organization, "form": form, "channel": None}
    return render(request, "monitoring/channel_form.html", context)


@login_required
def channel_edit(request: HttpRequest, channel_uuid) -> HttpResponse:
    channel, _ = _channel(request, channel_uuid, write=True)
    organization = channel.organization
    form = ChannelForm(
        request.POST or None,
        organization=organization,
        editing=True,
        initial=ChannelForm.initial_for(channel),
    )
    if request.method == "POST" and form.is_valid():
        channel_save(
            organization=organization,
            data=form.cleaned_data,
            config=form.config(),
            channel=channel,
        )
        messages.success(request, f"Saved {channel.name}.")
        return redirect("alert_channels", org_uuid=organization.uuid)
    context = {"organization": organization, "form": form, "channel": channel}
    return render(request, "monitoring/channel_form.html", context)


@login_required
@require_POST
def channel_toggle(request: HttpRequest, channel_uuid) -> HttpResponse:
    channel, _ = _channel(request, channel_uuid, write=True)
    channel_set_enabled(channel, enabled=not channel.enabled)
    state = "disabled" if channel.enabled else "enabled"
    messages.success(request, f"{channel.name} is {state}.")
    return redirect("alert_channels", org_uuid=channel.organization.uuid)


@login_required
@require_POST
def channel_delete(request: HttpRequest, channel_uuid) -> HttpResponse:
    channel, _ = _channel(request, channel_uuid, write=True)
    organization = channel.organization
    channel.delete()
    messages.success(request, f"Deleted {channel.name}.")
    return redirect("alert_channels", org_uuid=organization.uuid)


@login_required
@require_POST
def channel_test(request: HttpRequest, channel_uuid) -> HttpResponse:
    """Queue a test message; htmx gets a status fragment that polls until it is sent."""
    channel, _ = _channel(request, channel_uuid, write=True)
    notification = channel_send_test(channel, user=request.user)
    if not request.htmx:
        messages.success(request, f"Test message queued for {channel.name}.")
        return redirect("alert_channels", org_uuid=channel.organization.uuid)
    context = {"channel": channel, "notification": notification}
    return render(request, "monitoring/partials/channel_test.html", context)


@login_required
def channel_test_status(request: HttpRequest, channel_uuid, notification_uuid) -> HttpResponse:
    channel, _ = _channel(request, channel_uuid, write=False)
    notification = channel.notifications.filter(uuid=notification_uuid).first()
    if notification is None:
        raise Http404("No such test.")
    context = {"channel": channel, "notification": notification}
    return render(request, "monitoring/partials/channel_test.html", context)
