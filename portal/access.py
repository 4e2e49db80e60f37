"""Who may see and change what. Every view goes through one of these decorators.

- `organisation_view`: a page of one customer organisation (the Control Hub shell). Customer administrators see
  their own organisation; support staff see the organisation they switched to, read-only. End users have no
  Control Hub, and neither have portal operators (they have the Django admin). With `manage=True` only full
  administrators pass (support staff do not act for customers).
- `support_view`: the Cisco PSTN support console.
- `compliance_view`: the compliance officer's pages (eDiscovery, exports, legal holds) of the user's own
  organisation. The role is granted on top of any customer role; nobody else passes, not even a full administrator.
Objects are always fetched through `request.organisation`, so another organisation's id answers 404.

The checks are plain functions called on every request rather than code inside the decorated wrappers, so the
mutation run (`make mutation`) reaches them: mutmut does not mutate decorated functions, and the decorators below run
when the views are defined (at import), before any mutant is switched on, so they are marked `no mutate`.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .models import User


def check_organisation_access(request, *, manage: bool):
    """Raise PermissionDenied, or answer a redirect, when `request` may not open an organisation page; else None."""
    user = request.user
    if user.role == User.Role.END_USER:
        raise PermissionDenied(_("Control Hub is for administrators. Use the Webex App to text."))
    if user.is_operator:
        raise PermissionDenied(_("Portal operators work in the Django admin, not in a customer's Control Hub."))
    if manage and not user.can_manage:
        raise PermissionDenied(_("Only full administrators of this organisation can make this change."))
    if user.is_support and request.organisation is None:
        return redirect("portal:switch_organisation")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not user.can_manage:
        raise PermissionDenied(_("Read-only access: only full administrators of this organisation can make changes."))
    return None


def check_support_access(request) -> None:
    """Raise PermissionDenied unless the signed-in user is Cisco PSTN support staff."""
    if not request.user.is_support:
        raise PermissionDenied(_("This page is for Cisco PSTN support staff."))


def check_compliance_access(request) -> None:
    """Raise PermissionDenied unless the signed-in user is a compliance officer of an organisation."""
    user = request.user
    if not user.is_compliance_officer or user.organisation_id is None:
        raise PermissionDenied(_("This page is for the organisation's compliance officers."))


def organisation_view(view=None, *, manage: bool = False):  # pragma: no mutate block
    def decorate(func):
        @login_required
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            return check_organisation_access(request, manage=manage) or func(request, *args, **kwargs)

        wrapper.access = "manage" if manage else "organisation"
        return wrapper

    return decorate(view) if view is not None else decorate


def support_view(func):  # pragma: no mutate block
    @login_required
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        check_support_access(request)
        return func(request, *args, **kwargs)

    wrapper.access = "support"
    return wrapper


def compliance_view(func):  # pragma: no mutate block
    @login_required
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        check_compliance_access(request)
        return func(request, *args, **kwargs)

    wrapper.access = "compliance"
    return wrapper
