"""Factories for business texting tests: texting users, the switch, stored texts, API tokens."""

from datetime import datetime

from django.utils import timezone

from portal.models import User
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers, make_user
from texting import actions
from texting.models import Message, ServiceSettings

APP_VERSION = "42.12.0.2345"
RECIPIENT = "+14155550123"


def enable_texting(org, on=True):
    ServiceSettings.objects.update_or_create(organisation=org, defaults={"business_texting_enabled": on})


def make_texter(
    org,
    *,
    state=PhoneNumber.TextingState.REGISTERED,
    location=None,
    email=None,
    app_version=APP_VERSION,
    switch_on=True,
):
    """An end user with a primary number (in `state`) in a Cisco Calling Plan location; Business Texting on."""
    location = location or make_location(org)
    number = make_numbers(location, 1)[0]
    user = make_user(org, role=User.Role.END_USER, email=email, app_version=app_version)
    PhoneNumber.objects.filter(pk=number.pk).update(assigned_user=user, is_primary=True, texting_state=state)
    number.refresh_from_db()
    if switch_on:
        enable_texting(org)
    return user, number


def send(user, to=RECIPIENT, body="Your table is ready.", **kwargs):
    kwargs.setdefault("app_version", APP_VERSION)
    return actions.send_text(user, to=to, body=body, **kwargs)


def make_text(
    org,
    *,
    created_at: datetime | None = None,
    number="+15125550101",
    party=RECIPIENT,
    direction=Message.Direction.OUTBOUND,
    status=Message.Status.DELIVERED,
    body="Hello",
    reason="",
    user=None,
):
    created_at = created_at or timezone.now()
    return Message.objects.create(
        organisation=org,
        user=user,
        business_number=number,
        other_party=party,
        direction=direction,
        body=body,
        segments=1,
        status=status,
        blocked_reason=reason,
        created_at=created_at,
        status_changed=created_at,
    )


def bulk_texts(org, count, *, created_at, number="+15125550101"):
    Message.objects.bulk_create(
        [
            Message(
                organisation=org,
                business_number=number,
                other_party=RECIPIENT,
                direction="outbound",
                body="x",
                segments=1,
                status="delivered",
                created_at=created_at,
                status_changed=created_at,
            )
            for _ in range(count)
        ],
        batch_size=1000,
    )


def issue_token(admin, user):
    return actions.issue_api_token(admin.organisation, admin, user)[1]
