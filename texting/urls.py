from django.urls import path

from . import api, opt_out_views, suspension_views, views

app_name = "texting"

urlpatterns = [
    path("calling/service-settings/", views.service_settings, name="service_settings"),
    path("calling/service-settings/business-texting/", views.set_business_texting, name="set_business_texting"),
    path("texting/activity/", views.activity, name="activity"),
    path("texting/activity/export/", views.export_texts, name="export_texts"),
    path("healthz/retention", views.retention_healthz, name="retention_health"),
    path("texting/api-tokens/", views.api_tokens, name="api_tokens"),
    path("texting/api-tokens/issue/", views.issue_api_token, name="issue_api_token"),
    path("texting/api-tokens/<int:pk>/revoke/", views.revoke_api_token, name="revoke_api_token"),
    path("texting/opt-outs/", opt_out_views.opt_outs, name="opt_outs"),
    path("texting/opt-outs/export.csv", opt_out_views.opt_outs_export, name="opt_outs_export"),
    path("texting/opt-outs/add/", opt_out_views.opt_out_add, name="opt_out_add"),
    path("texting/opt-outs/<int:pk>/remove/", opt_out_views.opt_out_remove, name="opt_out_remove"),
    path("texting/opt-outs/import/", opt_out_views.opt_out_import, name="opt_out_import"),
    path("support/texting/suspensions/", suspension_views.support_suspensions, name="support_suspensions"),
    path("support/texting/suspensions/suspend/", suspension_views.support_suspend, name="support_suspend"),
    path(
        "support/texting/suspensions/<int:pk>/lift/",
        suspension_views.support_lift_suspension,
        name="support_lift_suspension",
    ),
    path("api/texting/messages", api.send_message, name="api_send_message"),
    path("api/texting/inbound", api.receive_message, name="api_inbound"),
    path("carrier/callbacks/messages", api.message_status_callback, name="carrier_message_callback"),
]
