from django.urls import path

from . import views
from .views import discovery

app_name = "compliance"

urlpatterns = [
    # The customer's cases (Control Hub, one organisation).
    path("cases/", views.case_list, name="cases"),
    path("cases/open/", views.case_open, name="case_open"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/form/", views.case_form, name="case_form"),
    path("cases/<int:pk>/form/check/", views.case_form_check, name="case_form_check"),
    path("cases/<int:pk>/messages/", views.case_message, name="case_message"),
    path("cases/<int:pk>/cancel/", views.case_cancel, name="case_cancel"),
    # The organisation's 10DLC registration: brand, campaigns, their numbers (read-only).
    path("registration/", views.registration, name="registration"),
    # Legal holds (the organisation's compliance officers).
    path("compliance/legal-holds/", views.hold_list, name="holds"),
    path("compliance/legal-holds/new/", views.hold_new, name="hold_new"),
    path("compliance/legal-holds/<int:pk>/", views.hold_detail, name="hold"),
    path("compliance/legal-holds/<int:pk>/edit/", views.hold_edit, name="hold_edit"),
    path("compliance/legal-holds/<int:pk>/release/", views.hold_release, name="hold_release"),
    # The Cisco PSTN support console (every organisation).
    path("support/cases/", views.support_queue, name="support_queue"),
    path("support/cases/<int:pk>/", views.support_case, name="support_case"),
    path("support/cases/<int:pk>/<slug:action>/", views.support_action, name="support_action"),
    # eDiscovery: the compliance officers' search, texts and exports (one organisation).
    path("compliance/discovery/", discovery.discovery_search, name="discovery"),
    path("compliance/discovery/texts/<int:pk>/", discovery.discovery_text, name="discovery_text"),
    path("compliance/exports/", discovery.export_list, name="exports"),
    path("compliance/exports/new/", discovery.export_create, name="export_create"),
    path("compliance/exports/<int:pk>/", discovery.export_detail, name="export"),
    path("compliance/exports/<int:pk>/download/", discovery.export_download, name="export_download"),
    path("support/todos/<int:pk>/done/", views.support_todo_done, name="support_todo_done"),
    path("support/brands/<int:pk>/", views.support_brand, name="support_brand"),
    path("support/brands/<int:pk>/vetting/", views.support_brand_vetting, name="support_brand_vetting"),
    # The carrier's signed callbacks (server to server).
    path("carrier/callbacks/registrations", views.registration_callback, name="registration_callback"),
]
