"""The one base of every Celery task that talks to the carrier: acks late, retries transient carrier failures with
capped exponential backoff and jitter, and gives up cleanly after the last retry.

Why not Celery's own `autoretry_for`: its backoff and limit are fixed when the module is imported (whole seconds),
while ours are settings read at run time (tests and fault scripts shorten them); its last failure raises out of the
worker, while ours ends in the task's `give_up`, which leaves the order line, case or text visibly failed or waiting
with the reason in words; and run in-process (no broker: `make run`, most tests) its retry raises Retry into whoever
enqueued the task, where ours retries inline at once (or gives up at once, for tasks a request must not wait on).
"""

import logging
import random

from celery import Task
from django.conf import settings

from carrier import CarrierUnavailable

from .observability import task_gave_up

log = logging.getLogger(__name__)


def backoff(retries: int, base_seconds: float, cap_seconds: float) -> float:
    """Exponential backoff with jitter: about base × 2^retries seconds (between half and all of it), capped."""
    return random.uniform(0.5, 1.0) * min(cap_seconds, base_seconds * 2**retries)


class CarrierTask(Task):
    """A task that talks to the carrier (use as `@shared_task(base=..., bind=True)`; subclass to name the limits
    and say how to give up).

    Guarantees: acknowledged only once it finished (a worker that dies mid-task leaves it to be redelivered, so the
    task must be idempotent); a `retry_for` error (the carrier timed out, answered 5xx or 429, or could not be
    reached) retries the whole task after `backoff(retries)`, at most `max_carrier_retries()` times, then calls
    `give_up(exc, attempts, *args)` and returns what it returns. Any other error propagates.
    """

    acks_late = True
    # Celery's own retry limit stays off: the limit is max_carrier_retries(), and poll tasks re-poll through
    # self.retry() under their own bounds.
    max_retries = None
    retry_for: tuple[type[Exception], ...] = (CarrierUnavailable,)
    # The settings holding the retry limit and the first backoff in seconds (read at run time, so deployments and
    # tests can tune them), or None for the defaults.
    retries_setting: str | None = None
    default_max_retries = 8
    backoff_setting: str | None = "CARRIER_RETRY_BASE_SECONDS"
    default_backoff_seconds = 2.0
    backoff_cap_seconds = 300.0
    # Run in-process (no broker): retry inline at once (True), or give up at once so the request that enqueued the
    # task never waits on retries (False).
    retry_in_process = True

    def max_carrier_retries(self) -> int:
        return getattr(settings, self.retries_setting) if self.retries_setting else self.default_max_retries

    def retry_countdown(self, retries: int) -> float:
        base = getattr(settings, self.backoff_setting) if self.backoff_setting else self.default_backoff_seconds
        return backoff(retries, base, self.backoff_cap_seconds)

    def give_up(self, exc: Exception, attempts: int, *args, **kwargs):
        """After the last retry: leave what the task works on consistent and say why. By default, fail the task."""
        raise exc

    def __call__(self, *args, **kwargs):
        # The worker (and apply() in-process) have pushed this run's request already; Celery's documented pattern
        # for a base class that wraps every run is to call self.run here, not Task.__call__ (which would push a
        # second request without the retry count).
        retries = self.request.retries
        while True:
            try:
                return self.run(*args, **kwargs)
            except self.retry_for as exc:
                in_process = bool(self.request.is_eager)
                if retries >= self.max_carrier_retries() or (in_process and not self.retry_in_process):
                    log.warning(
                        "%s%s: carrier unavailable, giving up after %s attempts: %s", self.name, args, retries + 1, exc
                    )
                    task_gave_up(self.name)
                    return self.give_up(exc, retries + 1, *args, **kwargs)
                if not in_process:
                    countdown = self.retry_countdown(retries)
                    log.info(
                        "%s%s: carrier unavailable, retry %s in %.1f s: %s",
                        self.name,
                        args,
                        retries + 1,
                        countdown,
                        exc,
                    )
                    raise self.retry(exc=exc, countdown=countdown) from exc
                retries += 1
