"""The form behind adding and editing an alert channel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.validators import validate_email

from monitoring.models import AlertChannel, ChannelKind, Domain, Organization, Severity

URL_KINDS = {ChannelKind.SLACK, ChannelKind.TEAMS, ChannelKind.WEBHOOK}
MAX_EMAILS = 20


class ChannelForm(forms.Form):
    """Name, where to send (URL or addresses), which severities and domains, digest."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ChannelKind.choices, label="Kind")
    url = forms.CharField(
        max_length=2000,
        required=False,
        label="Webhook URL",
        help_text="Slack and Teams: the incoming-webhook URL. Webhook: your HTTPS endpoint.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/..."}),
    )
    emails = forms.CharField(
        required=False,
        label="Email addresses",
        help_text="One per line or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    min_severity = forms.ChoiceField(
        choices=Severity.choices, initial=Severity.WARNING, label="Send"
    )
    domains = forms.ModelMultipleChoiceField(
        queryset=Domain.objects.none(),
        required=False,
        label="Only these domains",
        help_text="Leave empty for every domain, including ones added later.",
        widget=forms.CheckboxSelectMultiple,
    )
    daily_digest = forms.BooleanField(
        required=False, label="Also send a daily digest of what changed"
    )

    def __init__(
        self, *args: Any, organization: Organization, editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domains"].queryset = organization.domains.order_by("name")
        if editing:
            # The kind decides the config's shape; changing it means a new channel.
            self.fields["kind"].disabled = True

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "").strip()
        if not url:
            return url
        parts = urlsplit(url)
        allowed = ("https", "http") if settings.ALERTS_ALLOW_PRIVATE_TARGETS else ("https",)
        if parts.scheme not in allowed or not parts.hostname:
            raise forms.ValidationError("Enter an https:// URL.")
        return url

    def clean_emails(self) -> list[str]:
        raw = self.cleaned_data.get("emails", "")
        addresses = [a.strip().lower() for a in raw.replace(",", "\n").splitlines() if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address} is not an email address.") from None
        if len(addresses) > MAX_EMAILS:
            raise forms.ValidationError(f"At most {MAX_EMAILS} addresses per channel.")
        return list(dict.fromkeys(addresses))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        if kind in URL_KINDS and not data.get("url"):
            self.add_error("url", "A webhook URL is required for this kind.")
        if kind == ChannelKind.EMAIL and not data.get("emails"):
            self.add_error("emails", "Add at least one address.")
        return data

    def config(self) -> dict[str, Any]:
        """The channel's JSON config for the chosen kind."""
        if self.cleaned_data["kind"] == ChannelKind.EMAIL:
            return {"emails": self.cleaned_data["emails"]}
        return {"url": self.cleaned_data["url"]}

    @staticmethod
    def initial_for(channel: AlertChannel) -> dict[str, Any]:
        return {
            "name": channel.name,
            "kind": channel.kind,
            "url": channel.config.get("url", ""),
            "emails": "\n".join(channel.config.get("emails", [])),
            "min_severity": channel.min_severity,
            "domains": list(channel.domains.all()),
            "daily_digest": channel.daily_digest,
        }
