"""What administrators change for business texting: the Business Texting switch and messaging API tokens. Each
change is audited (texts themselves are not: each one is its own record in the message store)."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from portal import audit
from portal.lists import storable
from portal.models import Organisation, User
from provisioning.eligibility import has_texting_addon

from ..models import ApiToken, ServiceSettings, hash_token
from .refusals import TextingError

# --- the Business Texting switch -------------------------------------------------------------------------------


def set_business_texting(org: Organisation, by: User, enabled: bool) -> ServiceSettings:
    """A full administrator switches Business Texting on or off for the organisation (Calling → Service Settings).

    On needs the Business Texting Add-On licence (TextingError otherwise). Off stops sending at once (the policy
    refuses with `texting_disabled`); nothing is deleted. Audited; switching to the state it is already in changes
    nothing and writes nothing (an organisation that never switched it on has no row to write: off is the default).
    """
    if not by.can_manage or by.organisation_id != org.pk:
        raise TextingError(gettext("Only full administrators of this organisation can change Business Texting."))
    if enabled and not has_texting_addon(org):
        raise TextingError(
            gettext("Business Texting needs the Business Texting Add-On licence: buy it through your partner.")
        )
    with transaction.atomic():
        if not enabled and not ServiceSettings.objects.filter(organisation=org).exists():
            return ServiceSettings(organisation=org)
        ServiceSettings.objects.get_or_create(organisation=org)
        current = ServiceSettings.objects.select_for_update().get(organisation=org)
        if current.business_texting_enabled == enabled:
            return current
        current.business_texting_enabled = enabled
        current.changed, current.changed_by = timezone.now(), by
        current.save()
        audit.record("texting.enabled" if enabled else "texting.disabled", actor=by, organisation=org, target=current)
    return current


# --- API tokens ---------------------------------------------------------------------------------------------------


def issue_api_token(org: Organisation, by: User, user: User, label: str = "") -> tuple[ApiToken, str]:
    """A full administrator issues a messaging API token for a user of the organisation; returns (token row, the
    token). The token itself is returned only here: the database keeps its SHA-256."""
    if not by.can_manage or by.organisation_id != org.pk:
        raise TextingError(gettext("Only full administrators of this organisation can issue API tokens."))
    if user.organisation_id != org.pk or not user.is_active:
        raise TextingError(gettext("Choose an active user of this organisation."))
    label = (label or "").strip()
    limit = ApiToken._meta.get_field("label").max_length
    if len(label) > limit:
        raise TextingError(gettext("A label has at most %(limit)d characters.") % {"limit": limit})
    if not storable(label):
        raise TextingError(gettext("The label cannot contain NUL characters."))
    token = ApiToken.PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = ApiToken.objects.create(
            organisation=org, user=user, label=label, hint=token[:10], token_hash=hash_token(token), created_by=by
        )
        audit.record("texting.api_token.issued", actor=by, organisation=org, target=row, user=user.email, label=label)
    return row, token


def revoke_api_token(org: Organisation, by: User, token_id: int) -> ApiToken:
    """A full administrator revokes a token: from then on it answers 401. Revoking twice changes nothing."""
    if not by.can_manage or by.organisation_id != org.pk:
        raise TextingError(gettext("Only full administrators of this organisation can revoke API tokens."))
    with transaction.atomic():
        row = ApiToken.objects.select_for_update().select_related("user").get(pk=token_id, organisation=org)
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = timezone.now(), by
            row.save(update_fields=["revoked_at", "revoked_by"])
            audit.record("texting.api_token.revoked", actor=by, organisation=org, target=row, user=row.user.email)
    return row


def authenticate_api_token(token: str) -> User | None:
    """The user a bearer token belongs to, if the token is active and the user still texts for its organisation."""
    if not token or not token.startswith(ApiToken.PREFIX) or len(token) > 100:
        return None
    row = (
        ApiToken.objects.select_related("user__organisation")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active or row.user.organisation_id != row.organisation_id:
        return None
    now = timezone.now()
    if row.last_used_at is None or row.last_used_at < now - timedelta(minutes=1):
        # At most one write a minute per token: "last used" is for admins, not an access log.
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def record_texts_export(org, by, *, first_day, last_day, number: str = "", user=None):
    """An administrator exports text metadata (Texting activity → Export): recorded before the first row leaves, with
    the filters, so every export is in the audit log even if the download is interrupted."""
    return audit.record(
        "texting.texts_exported",
        actor=by,
        organisation=org,
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        number=number,
        user=user.email if user is not None else "",
    )
