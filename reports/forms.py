"""Forms of the report pages: upload and the IMAP mailbox."""

from __future__ import annotations

from django import forms
from django.conf import settings

from reports.models import ImapMailbox


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files and returns a list."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Report files",
        help_text=(
            "JSON, .json.gz, .zip, .eml or .mbox; several at once. "
            "Each file up to the message limit."
        ),
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        limit = settings.TLSRPT_MAX_MESSAGE
        for upload in files:
            if upload.size > limit:
                raise forms.ValidationError(
                    f"{upload.name} is {upload.size} bytes, the limit is {limit}."
                )
        return files


class ImapMailboxForm(forms.ModelForm):
    """The password is write-only: never rendered back, blank keeps the stored one."""

    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Stored encrypted. Leave blank to keep the current password.",
    )

    class Meta:
        model = ImapMailbox
        fields = ["enabled", "host", "port", "security", "username", "folder"]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("password") and not self.instance.has_password:
            self.add_error("password", "A password is needed to log in.")
        return cleaned

    def save(self, commit: bool = True) -> ImapMailbox:
        mailbox = super().save(commit=False)
        if self.cleaned_data.get("password"):
            mailbox.set_password(self.cleaned_data["password"])
            mailbox.last_error = ""
        if commit:
            mailbox.save()
        return mailbox
