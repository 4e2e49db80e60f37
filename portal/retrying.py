"""Retry pacing shared by every task that talks to the carrier."""

import random


def backoff(retries: int, base_seconds: float = 2.0, cap_seconds: float = 300.0) -> float:
    """Exponential backoff with jitter: about base × 2^retries seconds (between half and all of it), capped."""
    return random.uniform(0.5, 1.0) * min(cap_seconds, base_seconds * 2**retries)


def retry_later(task, *, exc=None, countdown: float) -> None:
    """Retry `task` after `countdown`. Run in-process (no broker: `make run`, most tests), Celery's own retry would
    raise Retry into whoever enqueued the task; there the retry runs at once, inline, with the retry count raised."""
    if task.request.is_eager:
        task.apply(args=task.request.args, kwargs=task.request.kwargs, retries=task.request.retries + 1)
        return
    raise task.retry(exc=exc, countdown=countdown)
