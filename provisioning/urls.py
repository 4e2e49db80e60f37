from django.urls import path

from . import views

app_name = "provisioning"

urlpatterns = [
    path("locations/", views.location_list, name="locations"),
    path("locations/<int:pk>/", views.location_detail, name="location"),
    path("locations/<int:pk>/numbers/retry/", views.retry_assignments, name="retry_assignments"),
    path("locations/<int:pk>/numbers/deauthorise/", views.deauthorise, name="deauthorise"),
    path("calling/pstn/", views.calling_pstn, name="calling_pstn"),
    path("calling/business-texting/authorize/", views.authorize, name="authorize"),
    path("calling/business-texting/authorize/selection/", views.authorize_selection, name="authorize_selection"),
    path("calling/business-texting/authorize/summary/", views.authorize_summary, name="authorize_summary"),
    path("calling/business-texting/authorize/submit/", views.authorize_submit, name="authorize_submit"),
    path("calling/business-texting/orders/", views.order_list, name="orders"),
    path("calling/business-texting/orders/<int:pk>/", views.order_detail, name="order"),
    path("carrier/callbacks/number-orders", views.number_order_callback, name="number_order_callback"),
]
