from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from provisioning.eligibility import check_eligibility, has_texting_addon

from . import actions, audit, throttling
from .access import organisation_view, support_view
from .htmx import render_page
from .lists import paginate, parse_id, query_without_page, search_term
from .middleware import SUPPORT_ORG_SESSION_KEY
from .models import AuditEvent, Organisation, User
from .replica import ReplicaStatus, replica_configured, replica_status, reporting_db


def home(request):
    if not request.user.is_authenticated:
        # Signed in, they come back here, and from here to their own page: sent on to the overview first, a
        # compliance officer, support or an operator would land on a page they may not open.
        return redirect_to_login(request.get_full_path())
    if request.user.is_operator:
        return redirect("admin:index")
    if request.user.is_support and request.organisation is None:
        return redirect("portal:switch_organisation")
    if request.user.is_compliance_officer and not request.user.is_customer_admin:
        return redirect("compliance:discovery")  # a compliance officer with no Control Hub role of their own
    return redirect("portal:overview")


@organisation_view
def overview(request):
    org = request.organisation
    addon = has_texting_addon(org)
    context = {
        "addon": addon,
        "eligibility": check_eligibility(org) if addon else None,
        "counts": {
            "users": org.users.count(),
            "locations": org.locations.count(),
        },
        "recent_events": AuditEvent.objects.filter(organisation=org)[:8],
    }
    return render(request, "portal/overview.html", context)


@organisation_view
def user_list(request):
    org = request.organisation
    q = search_term(request)
    users = User.objects.filter(organisation=org).annotate(number_count=Count("numbers")).order_by("email")
    if q:
        users = users.filter(
            Q(email__icontains=q) | Q(full_name__icontains=q) | Q(numbers__e164__contains=q)
        ).distinct()
    page = paginate(request, users, per_page=25)
    primaries = {n.assigned_user_id: n for n in _primary_numbers([u.pk for u in page.object_list])}
    for u in page.object_list:
        u.primary_number = primaries.get(u.pk)
    context = {"page": page, "q": q, "query": query_without_page(request)}
    return render_page(request, "portal/users.html", context, fragment="rows")


def _primary_numbers(user_ids):
    from provisioning.models import PhoneNumber

    return PhoneNumber.objects.filter(assigned_user_id__in=user_ids, is_primary=True).select_related("location")


@organisation_view
def user_detail(request, pk):
    user = get_object_or_404(User, pk=pk, organisation=request.organisation)
    numbers = user.numbers.select_related("location").order_by("-is_primary", "e164")
    return render(request, "portal/user_detail.html", {"subject": user, "numbers": numbers})


@organisation_view(manage=True)
@require_POST
def user_compliance_officer(request, pk):
    """A full administrator grants (grant=1) or revokes (grant=0) a user's compliance officer role."""
    subject = get_object_or_404(User, pk=pk, organisation=request.organisation)
    grant = request.POST.get("grant") == "1"
    try:
        actions.set_compliance_officer(request.user, subject, grant)
    except actions.UserChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        if grant:
            done = _("%(user)s is now a compliance officer: they can search and export texts.")
            messages.success(request, done % {"user": subject})
        else:
            messages.success(request, _("%(user)s is no longer a compliance officer.") % {"user": subject})
    return redirect("portal:user", pk=subject.pk)


@login_required
@require_POST
def set_language(request):
    """The user menu's language chooser: remember the language on the user (every page, every device, from the next
    sign-in on) and in the language cookie (so the sign-in page after signing out speaks it too), then go back."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = "home"
    code = request.POST.get("language", "")
    try:
        actions.set_language(request.user, code)
    except actions.UserChangeRefused as exc:
        messages.error(request, str(exc))
        return redirect(next_url)
    translation.activate(code)
    messages.success(request, _("Language changed to %(language)s.") % {"language": dict(settings.LANGUAGES)[code]})
    response = redirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@organisation_view
def audit_log(request):
    # A reporting read: on the replica when one may serve it (portal/replica.py; right after this browser changed
    # something, the primary, so the change is listed).
    events = AuditEvent.objects.using(reporting_db()).filter(organisation=request.organisation)
    page = paginate(request, events, per_page=50)
    return render(request, "portal/audit_log.html", {"page": page, "query": query_without_page(request)})


@support_view
def switch_organisation(request):
    """Support staff choose which customer organisation the Control Hub shell shows."""
    if request.method == "POST":
        org = Organisation.objects.filter(pk=parse_id(request.POST.get("organisation"))).first()
        if org is None:
            messages.error(request, _("Choose an organisation from the list."))
            return redirect("portal:switch_organisation")
        request.session[SUPPORT_ORG_SESSION_KEY] = org.pk
        audit.record("support.switch_organisation", actor=request.user, organisation=org, target=org)
        messages.info(request, _("You are viewing %(organisation)s.") % {"organisation": org.name})
        return redirect("portal:overview")
    q = search_term(request)
    orgs = Organisation.objects.select_related("partner").order_by("name")
    if q:
        orgs = orgs.filter(name__icontains=q)
    page = paginate(request, orgs, per_page=25)
    return render(
        request, "portal/switch_organisation.html", {"page": page, "q": q, "query": query_without_page(request)}
    )


def healthz(request):
    """Load balancer and compose health check: 200 when the database answers, 503 when it does not. With a read
    replica, a second line says how far behind it is; a replica that is down or behind does not fail the check
    (reporting reads then go to the primary: portal/replica.py)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    lines = ["ok"]
    if replica_configured():
        lines.append(_replica_line(replica_status()))
    return HttpResponse("".join(f"{line}\n" for line in lines), content_type="text/plain")


def _replica_line(status: ReplicaStatus) -> str:
    if not status.reachable:
        return "replica: unavailable (reporting reads use the primary)"
    if status.lag_seconds is None:
        return "replica: ok, lag unknown (not a standby)"
    line = f"replica: ok, lag_seconds={status.lag_seconds:.3f}"
    return line if status.usable else f"{line}, behind the limit (reporting reads use the primary)"


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, throttled per address and per client (portal.throttling.take_password_reset): a
    throttled request sends no email and gets the same answer whether or not the address has an account."""

    def form_valid(self, form):
        retry_at = throttling.take_password_reset(self.request, form.cleaned_data["email"])
        if retry_at is not None:
            return throttling.password_reset_throttled(self.request, form, retry_at)
        return super().form_valid(form)
