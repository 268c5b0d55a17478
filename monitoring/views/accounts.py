"""Sign-up and the landing redirect; log-in, log-out and passwords use Django's own views."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from monitoring.forms import SignupForm


def signup(request: HttpRequest) -> HttpResponse:
    next_url = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(next_url or "organization_create")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    membership = request.current_membership
    if not membership:
        return redirect("organization_create")
    return redirect("domain_list", org_uuid=membership.organization.uuid)
