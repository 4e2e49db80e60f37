"""Demo data for `make run`: three customer organisations, their locations, licences, numbers and logins.

Idempotent: every object is found by its natural key first, so a second run changes nothing.
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from compliance.demo import seed_demo_cases
from portal.models import Organisation, Partner, User
from provisioning.models import Licence, Location, PhoneNumber
from texting.demo import seed_demo_texting

ACME_LOCATIONS = [
    # name, address, city, state, postal code, country, time zone, PSTN, NPA-NXX, how many numbers
    (
        "San Francisco HQ",
        "100 Market St",
        "San Francisco",
        "CA",
        "94105",
        "US",
        "America/Los_Angeles",
        Location.PstnConnection.CISCO_CALLING_PLAN,
        "415555",
        800,
    ),
    (
        "New York Office",
        "200 Park Ave",
        "New York",
        "NY",
        "10166",
        "US",
        "America/New_York",
        Location.PstnConnection.CISCO_CALLING_PLAN,
        "212555",
        500,
    ),
    (
        "Austin Office",
        "300 Congress Ave",
        "Austin",
        "TX",
        "78701",
        "US",
        "America/Chicago",
        Location.PstnConnection.CISCO_CALLING_PLAN,
        "512555",
        400,
    ),
    (
        "Chicago Branch",
        "400 Wacker Dr",
        "Chicago",
        "IL",
        "60606",
        "US",
        "America/Chicago",
        Location.PstnConnection.CLOUD_CONNECTED,
        "312555",
        300,
    ),
]
MAPLE_LOCATIONS = [
    (
        "Toronto Clinic",
        "500 King St W",
        "Toronto",
        "ON",
        "M5V 1L9",
        "CA",
        "America/Toronto",
        Location.PstnConnection.CISCO_CALLING_PLAN,
        "416555",
        40,
    ),
    (
        "Vancouver Clinic",
        "600 Granville St",
        "Vancouver",
        "BC",
        "V6C 1T2",
        "CA",
        "America/Vancouver",
        Location.PstnConnection.CISCO_CALLING_PLAN,
        "604555",
        20,
    ),
]
STARTUP_LOCATIONS = [
    (
        "Denver Loft",
        "700 Larimer St",
        "Denver",
        "CO",
        "80202",
        "US",
        "America/Denver",
        Location.PstnConnection.CISCO_CALLING_PLAN,
        "720555",
        10,
    ),
]
FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Isla",
    "Jonah",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Ravi",
    "Sara",
    "Tomas",
]
DEMO_LOGINS = [
    "admin@acme.example",
    "readonly@acme.example",
    "compliance@acme.example",
    "admin@maple.example",
    "admin@startup.example",
    "support@pstn.example",
    "operator@texting-hub.example",
]
LAST_NAMES = ["Nguyen", "Smith", "Garcia", "Okafor", "Chen", "Patel", "Rossi", "Kim"]


class Command(BaseCommand):
    help = "Create the demo organisations, locations, numbers and logins (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never in production).")
        parser.add_argument("--logins-only", action="store_true", help="Only print the demo logins.")

    def handle(self, *args, force=False, logins_only=False, **options):
        if logins_only:
            return self._print_logins(User.objects.filter(email__in=DEMO_LOGINS).order_by("pk"))
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates well-known logins: it runs only with DEBUG=1, or with --force.")
        password = settings.PORTAL_DEMO_PASSWORD
        # Hash once: every demo login shares the password, and hashing is deliberately slow.
        self.password_hash = make_password(password)
        with transaction.atomic():
            partner, _ = Partner.objects.get_or_create(name="Northwind Telecom Partners")
            acme = self._organisation("Acme Corp", partner, Organisation.CustomerType.ENTERPRISE, "US")
            maple = self._organisation("Maple Health", partner, Organisation.CustomerType.ENTERPRISE, "CA")
            startup = self._organisation("Startup Inc", partner, Organisation.CustomerType.ONLINE, "US")

            self._licence(acme, Licence.Sku.CISCO_CALLING_PLAN, 2000)
            self._licence(acme, Licence.Sku.BUSINESS_TEXTING_ADDON, 500)
            self._licence(maple, Licence.Sku.CISCO_CALLING_PLAN, 60)
            self._licence(startup, Licence.Sku.CISCO_CALLING_PLAN, 10)
            self._licence(startup, Licence.Sku.BUSINESS_TEXTING_ADDON, 10)

            logins = [
                self._user("admin@acme.example", "Alex Admin", acme, User.Role.FULL_ADMIN, password),
                self._user("readonly@acme.example", "Riley Reader", acme, User.Role.READONLY_ADMIN, password),
                # eDiscovery: a compliance officer with no administrator role (Compliance → eDiscovery only).
                self._user(
                    "compliance@acme.example", "Casey Compliance", acme, User.Role.END_USER, password, officer=True
                ),
                self._user("admin@maple.example", "Morgan Maple", maple, User.Role.FULL_ADMIN, password),
                self._user("admin@startup.example", "Sam Startup", startup, User.Role.FULL_ADMIN, password),
                self._user("support@pstn.example", "Pat Support", None, User.Role.SUPPORT, password),
                # The Django admin belongs to the operator alone: support works through the support console.
                self._user(
                    "operator@texting-hub.example", "Oli Operator", None, User.Role.OPERATOR, password, staff=True
                ),
            ]
            for org, locations, domain, people in (
                (acme, ACME_LOCATIONS, "acme.example", 60),
                (maple, MAPLE_LOCATIONS, "maple.example", 12),
                (startup, STARTUP_LOCATIONS, "startup.example", 4),
            ):
                self._locations_and_numbers(org, locations, domain, people, password)
            seed_demo_cases()  # 10DLC cases: one per state for Acme, one overdue
            seed_demo_texting()  # Business Texting: switch on, Austin texters, a month of texts
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self._print_logins(logins)

    def _print_logins(self, logins):
        self.stdout.write(f"Demo logins (password: {settings.PORTAL_DEMO_PASSWORD}):")
        for user in logins:
            org = user.organisation.name if user.organisation else "all organisations"
            if user.is_operator:
                org = "the Django admin (/admin/)"
            role = "Compliance officer" if user.is_compliance_officer else user.get_role_display()
            self.stdout.write(f"  {user.email:<29} {role:<26} {org}")

    def _organisation(self, name, partner, customer_type, country):
        org, _ = Organisation.objects.get_or_create(
            name=name, defaults={"partner": partner, "customer_type": customer_type, "country": country}
        )
        return org

    def _licence(self, org, sku, quantity):
        Licence.objects.get_or_create(organisation=org, sku=sku, defaults={"quantity": quantity})

    def _user(self, email, name, org, role, password, staff=False, app_version="", officer=False):
        user, _ = User.objects.get_or_create(
            email=email,
            defaults=dict(
                full_name=name,
                organisation=org,
                role=role,
                is_staff=staff,
                is_superuser=staff,
                webex_app_version=app_version,
                is_compliance_officer=officer,
                password=self.password_hash,
            ),
        )
        return user

    def _locations_and_numbers(self, org, locations, domain, people, password):
        numbers = []
        for name, address, city, state, postal, country, tz, pstn, prefix, count in locations:
            location, _ = Location.objects.get_or_create(
                organisation=org,
                name=name,
                defaults=dict(
                    address=address,
                    city=city,
                    state=state,
                    postal_code=postal,
                    country=country,
                    time_zone=tz,
                    pstn_connection=pstn,
                ),
            )
            numbers += [
                PhoneNumber(
                    e164=f"+1{prefix}{i:04d}",
                    location=location,
                    origin=(PhoneNumber.Origin.PORTED if i % 10 == 3 else PhoneNumber.Origin.EXISTING),
                )
                for i in range(count)
            ]
        PhoneNumber.objects.bulk_create(numbers, ignore_conflicts=True, batch_size=1000)
        # End users, each with a primary number from a Cisco Calling Plan location (one per 8 numbers or so).
        ccp_numbers = list(
            PhoneNumber.objects.filter(
                location__organisation=org, location__pstn_connection=Location.PstnConnection.CISCO_CALLING_PLAN
            )
            .order_by("e164")
            .values_list("pk", flat=True)
        )
        for i in range(people):
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
            version = "42.10.0.1000" if i % 7 == 6 else "42.12.0.2345"
            user = self._user(
                f"{first.lower()}.{last.lower()}{i}@{domain}",
                f"{first} {last}",
                org,
                User.Role.END_USER,
                password,
                app_version=version,
            )
            if i * 8 < len(ccp_numbers) and not user.numbers.exists():
                PhoneNumber.objects.filter(pk=ccp_numbers[i * 8], assigned_user__isnull=True).update(
                    assigned_user=user, is_primary=True
                )
