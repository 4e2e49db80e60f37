from django.urls import path

from . import api, views

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
    path("api/texting/messages", api.send_message, name="api_send_message"),
    path("api/texting/inbound", api.receive_message, name="api_inbound"),
    path("carrier/callbacks/messages", api.message_status_callback, name="carrier_message_callback"),
]
