"""Whether the customer wrote or submitted something support has not seen yet (`RegistrationCase.unread_by_support`).

- `note_customer_activity`: the customer posted a message or submitted the form. The case is marked unread and
  support is emailed after commit: the case owner when there is one, else SUPPORT_NOTIFICATION_EMAIL, else every
  active support user (compliance.notifications.notify_support).
- `mark_read_by_support`: support opened the case page or acted on it.

Imports nothing of the other action modules, so `cases` and `registration` can hook into it.
"""

from django.db import transaction

from portal.models import User

from ..models import RegistrationCase


def note_customer_activity(case: RegistrationCase, by: User | None, what: str) -> None:
    """The customer did something support must read (`what`: "message" or "form"): mark the case unread and email
    support after commit. Call it inside the transaction of the customer's action; support's own actions are not
    customer activity and are ignored."""
    if by is not None and by.is_support:
        return
    RegistrationCase.objects.filter(pk=case.pk).update(unread_by_support=True)
    case.unread_by_support = True
    case_id = case.pk
    transaction.on_commit(lambda: _notify_support(case_id, what), robust=True)


def _notify_support(case_id: int, what: str) -> None:
    from ..notifications import notify_support

    notify_support(case_id, what)


def mark_read_by_support(case: RegistrationCase, by: User) -> bool:
    """Support has seen the case: clear its unread mark. True when it was unread. Only support staff clear it (a
    customer reading their own case does not tell support anything). One conditional UPDATE; not audited (reading
    a page is not a change anybody needs to trace)."""
    if not by.is_support or not case.unread_by_support:
        return False
    changed = RegistrationCase.objects.filter(pk=case.pk, unread_by_support=True).update(unread_by_support=False)
    case.unread_by_support = False
    return bool(changed)
