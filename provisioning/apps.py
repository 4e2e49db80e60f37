from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self):
        from . import signals  # noqa: F401  (the wizard's selection counters when a number is deleted)
