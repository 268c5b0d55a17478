"""Forms for accounts, organizations, invitations and domains."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from monitoring.checks.names import normalize_domain
from monitoring.models import Role

User = get_user_model()


class SignupForm(UserCreationForm):
    """Sign up with an e-mail address, which is also the user name."""

    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(username__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists; log in.")
        return email

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.username = user.email = self.cleaned_data["email"]
        if commit:
            user.save()
        return user


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100, label="Organization name")


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class DomainForm(forms.Form):
    name = forms.CharField(
        max_length=260, label="Domain", widget=forms.TextInput(attrs={"placeholder": "example.com"})
    )

    def clean_name(self) -> str:
        try:
            return normalize_domain(self.cleaned_data["name"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class BulkDomainForm(forms.Form):
    names = forms.CharField(
        label="Domains, one per line",
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": "example.com\nexample.org"}),
        max_length=200_000,
    )
