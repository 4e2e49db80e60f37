from django.urls import path

from . import views

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
    # The Cisco PSTN support console (every organisation).
    path("support/cases/", views.support_queue, name="support_queue"),
    path("support/cases/<int:pk>/", views.support_case, name="support_case"),
    path("support/cases/<int:pk>/<slug:action>/", views.support_action, name="support_action"),
    path("support/todos/<int:pk>/done/", views.support_todo_done, name="support_todo_done"),
    path("support/brands/<int:pk>/", views.support_brand, name="support_brand"),
    path("support/brands/<int:pk>/vetting/", views.support_brand_vetting, name="support_brand_vetting"),
    # The carrier's signed callbacks (server to server).
    path("carrier/callbacks/registrations", views.registration_callback, name="registration_callback"),
]
