from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from . import views
from .forms import SignInForm
from .observability import metrics_view

shell_patterns = [
    path("overview/", views.overview, name="overview"),
    path("users/", views.user_list, name="users"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("users/<int:pk>/compliance-officer/", views.user_compliance_officer, name="user_compliance_officer"),
    path("audit/", views.audit_log, name="audit_log"),
    path("account/language/", views.set_language, name="set_language"),
    path("support/organisations/", views.switch_organisation, name="switch_organisation"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("", include((shell_patterns, "portal"))),
    path("", include("provisioning.urls")),
    path("", include("compliance.urls")),
    path("", include("texting.urls")),
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    # Ahead of Django's own: the same URL and name, throttled.
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]

# The 500 page names the request id, so a user can quote it to support.
handler500 = "portal.observability.server_error"
