from django.apps import AppConfig


class CarrierConfig(AppConfig):
    """The one door to the outside carrier: gateway, HTTP client, webhook signatures and the local simulator.

    It has no models and imports none of the portal's apps, so every dependency points towards it.
    """

    name = "carrier"
    verbose_name = "Carrier"
