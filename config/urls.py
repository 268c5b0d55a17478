from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from monitoring.forms import LoginForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("reports.urls")),
    path("", include("monitoring.urls")),
]
