from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Control Hub"

    def ready(self):
        from . import signals  # noqa: F401  (audit events for logins)
