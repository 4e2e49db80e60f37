"""One way to move an object along its state machine, and one family of refusals.

Every state machine (authorisation orders, registration cases, business texts) is a table of allowed moves next to
its model; `transition` applies a move under a row lock and refuses the rest with a message in the user's words.
Every refusal of an action, a state move or anything else, is an `ActionRefused`: views catch that (or a domain
subclass of it) and show the message.
"""

from collections.abc import Callable, Mapping

from django.db import models
from django.utils.translation import gettext as _


class ActionRefused(Exception):
    """The action cannot be done as asked; the message says why, in the user's words. Nothing was changed."""


class TransitionRefused(ActionRefused):
    """An object cannot move from its state to the one asked (its model's TRANSITIONS table, or a rule on top)."""


def transition(
    queryset: models.QuerySet,
    pk: int,
    to: str,
    *,
    table: Mapping[str, set[str] | frozenset[str]],
    field: str = "status",
    changes: Mapping[str, object] | None = None,
    refusal: Callable[[models.Model], str | None] | None = None,
    refused: type[ActionRefused] = TransitionRefused,
    repeat_is_harmless: bool = False,
) -> tuple[models.Model, str]:
    """Move the row `pk` of `queryset` to `to`; returns (the object as saved, the state it left).

    Guarantees: the row is locked (`select_for_update`, this row only) while the move is checked, so of two callers
    acting on the same object at once one moves it and the other sees the new state. Refused, with `refused` and
    nothing saved: a move `table` does not allow from the current `field`, or one `refusal(obj)` (rules and words of
    the caller, checked first) objects to. Allowed: `field` and `changes` are saved together. With
    `repeat_is_harmless`, an object already in `to` is returned as it is (a repeated request, a duplicate callback).

    Call it inside `transaction.atomic()` (Django refuses a row lock outside one): the lock holds until the caller's
    transaction ends, so whatever the caller records about the move (audit event, timeline) lands with it.
    """
    obj = queryset.select_for_update(of=("self",)).get(pk=pk)
    current = getattr(obj, field)
    if repeat_is_harmless and current == to:
        return obj, current
    why = refusal(obj) if refusal is not None else None
    if why is None and to not in table.get(current, ()):
        why = _default_refusal(obj, field, current, to)
    if why:
        raise refused(why)
    setattr(obj, field, to)
    for name, value in (changes or {}).items():
        setattr(obj, name, value)
    obj.save(update_fields=[field, *(changes or {})])
    return obj, current


def _default_refusal(obj: models.Model, field: str, current: str, to: str) -> str:
    labels = dict(obj._meta.get_field(field).flatchoices)
    return _("This %(noun)s is %(current)s: it cannot become %(to)s.") % {
        "noun": obj._meta.verbose_name,
        "current": str(labels.get(current, current)).lower(),
        "to": str(labels.get(to, to)).lower(),
    }
