from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Control Hub"

    def ready(self):
        from . import signals  # noqa: F401  (audit events for logins)
        from .observability import install_carrier_hooks

        install_carrier_hooks()  # the request id to the carrier, and carrier calls counted
