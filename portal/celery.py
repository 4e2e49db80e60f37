"""The Celery app: `celery -A portal worker` and `celery -A portal beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _connect_observability() -> None:
    # The request id through every task, task metrics, and the portal's log format in the worker.
    from portal.observability import connect_celery_signals

    connect_celery_signals()


_connect_observability()


def override(**options) -> dict:
    """Change settings of the running app (`override(task_always_eager=True)`: tests, benchmarks) and return the
    previous values, to pass back to `override` afterwards.

    The app reads the Django settings under their CELERY_ names, and those win over a plain key set later
    (`app.conf.task_always_eager = True` silently does nothing), so each option is set under both names."""
    previous = {key: app.conf[key] for key in options}
    for key, value in options.items():
        app.conf[key] = value
        app.conf[f"CELERY_{key.upper()}"] = value
    return previous
