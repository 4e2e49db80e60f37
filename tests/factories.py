"""Small factory functions that build domain objects for tests (no fixtures files, no JSON)."""

import itertools

from portal.models import Organisation, Partner, User
from provisioning.models import Licence, Location, PhoneNumber

PASSWORD = "correct-horse-battery"

_seq = itertools.count(1)


def make_org(
    name=None, *, customer_type=Organisation.CustomerType.ENTERPRISE, country="US", addon=True, calling_plan=True
):
    n = next(_seq)
    partner, _ = Partner.objects.get_or_create(name="Test Partner")
    org = Organisation.objects.create(
        name=name or f"Org {n}", partner=partner, customer_type=customer_type, country=country
    )
    if calling_plan:
        Licence.objects.create(organisation=org, sku=Licence.Sku.CISCO_CALLING_PLAN, quantity=100)
    if addon:
        Licence.objects.create(organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON, quantity=100)
    return org


def make_location(org, name=None, *, country="US", pstn=Location.PstnConnection.CISCO_CALLING_PLAN):
    n = next(_seq)
    return Location.objects.create(
        organisation=org,
        name=name or f"Location {n}",
        address=f"{n} Main St",
        city="Springfield",
        state="IL",
        postal_code="62701",
        country=country,
        time_zone="America/Chicago",
        pstn_connection=pstn,
    )


def make_user(org=None, *, role=User.Role.FULL_ADMIN, email=None, app_version="42.12.0.1"):
    n = next(_seq)
    return User.objects.create_user(
        email or f"user{n}@example.com",
        PASSWORD,
        organisation=org,
        role=role,
        full_name=f"User {n}",
        webex_app_version=app_version if role == User.Role.END_USER else "",
    )


def make_compliance_officer(org, *, role=User.Role.END_USER, email=None):
    """A user of `org` with the compliance-officer role on top of `role` (set apart from it, as the portal does)."""
    user = make_user(org, role=role, email=email)
    User.objects.filter(pk=user.pk).update(is_compliance_officer=True)
    user.refresh_from_db()
    return user


def client_for(user, **kwargs):
    """A test client signed in as `user` (kwargs go to Client: headers, say)."""
    from django.test import Client

    client = Client(**kwargs)
    client.force_login(user)
    return client


AREA_CODES = {"US": "415", "CA": "416"}


def make_numbers(location, count, *, start=0, **fields):
    """`count` valid numbers in one location, +1 NPA NXX NNNN with an exchange of their own (returned in order)."""
    prefix = f"+1{AREA_CODES[location.country]}{200 + next(_seq) % 700}"
    PhoneNumber.objects.bulk_create(
        [PhoneNumber(e164=f"{prefix}{start + i:04d}", location=location, **fields) for i in range(count)],
        batch_size=1000,
    )
    return list(PhoneNumber.objects.filter(location=location, e164__startswith=prefix).order_by("e164"))
