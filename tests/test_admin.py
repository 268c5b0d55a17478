"""Every model of the project has an admin page, and the admin pages load."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("monitoring", "reports")


def _project_models():
    return [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models()]


def test_every_model_is_registered():
    missing = [m.__name__ for m in _project_models() if not admin.site.is_registered(m)]
    assert missing == []


def test_every_changelist_loads_for_a_superuser(client, django_user_model):
    user = django_user_model.objects.create_superuser("root@x.test", "root@x.test", "pw-12345678")
    client.force_login(user)
    for model in _project_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
