"""What each audit event's code says, in the reader's language.

An audit event is stored as a stable English code ("auth.login") and details keyed in English, never as a sentence
in the language of whoever caused it: the log must read the same to every reader, and to a script. The pages show
each code's label translated at display time (`AuditEvent.action_label`), with the code beside it. An app whose
actions write events registers their labels with `register()` when its module loads; a code without a label is shown
as the code itself."""

from django.utils.translation import gettext_lazy as _

LABELS: dict = {}


def register(labels: dict) -> None:
    """Add labels (code → gettext_lazy text) for an app's audit codes."""
    LABELS.update(labels)


def action_label(code: str):
    return LABELS.get(code, code)


register(
    {
        "auth.login": _("Signed in"),
        "auth.logout": _("Signed out"),
        "auth.login_failed": _("Failed sign-in"),
        "auth.locked_out": _("Sign-in locked"),
        "auth.password_reset_throttled": _("Password reset refused (too many requests)"),
        "admin.added": _("Added in the Django admin"),
        "admin.changed": _("Changed in the Django admin"),
        "admin.deleted": _("Deleted in the Django admin"),
        "support.switch_organisation": _("Support switched to this organisation"),
        "user.compliance_officer_granted": _("Compliance officer role granted"),
        "user.compliance_officer_revoked": _("Compliance officer role revoked"),
        "user.language_changed": _("Language changed"),
        "authorisation_order.placed": _("Authorisation order placed"),
        "authorisation_order.completed": _("Authorisation order completed"),
        "numbers.deauthorised": _("Numbers de-authorised"),
    }
)
