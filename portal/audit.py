"""One way to write the audit log, used by every domain action."""

from django.db import models

from .models import AuditEvent, Organisation, User


def record(
    action: str,
    *,
    actor: User | None,
    organisation: Organisation | None = None,
    target: models.Model | None = None,
    **details,
) -> AuditEvent:
    """Append one audit event. Call it inside the action's transaction so the event and the change land together."""
    actor = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        actor=actor,
        actor_email=actor.email if actor else "",
        organisation=organisation,
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        details=details,
    )
