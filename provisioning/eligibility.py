"""Who may use Business Texting (SPEC.md section 1), as a checklist the portal shows in words.

Requirements 1–4 are organisation-wide and block authorising numbers. 5–7 concern the people who will text and
the 10DLC registration: the portal shows them so the admin knows what is left, but they do not block the wizard
(a number is authorised before its campaign exists, and users can be given numbers later).
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation, User, parse_version

from .models import Licence, Location, PhoneNumber

# SPEC.md 1.7: every customer using Business Texting registers; US and Canadian numbers alike join a campaign. The
# pages say it in these words (templates use the same msgid), never "to text in the US".
EVERY_NUMBER_NEEDS_A_CAMPAIGN = _("Every business texting number, US and Canadian, must be in a 10DLC campaign.")


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    met: bool
    detail: str
    blocking: bool = True


@dataclass(frozen=True)
class Eligibility:
    requirements: list[Requirement]

    @property
    def eligible(self) -> bool:
        """May the organisation authorise numbers for Business Texting?"""
        return all(r.met for r in self.requirements if r.blocking)

    @property
    def unmet(self) -> list[Requirement]:
        return [r for r in self.requirements if not r.met]


def has_texting_addon(org: Organisation) -> bool:
    """The Business Texting card is not shown at all until the add-on licence exists (SPEC.md 1.4)."""
    return Licence.objects.filter(organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON).exists()


def version_at_least(version: tuple[int, ...] | None, minimum: tuple[int, ...]) -> bool:
    return version is not None and version[: len(minimum)] >= minimum


def check_eligibility(org: Organisation, *, advisory: bool = True) -> Eligibility:
    """The checklist for `org`. With advisory=False only the blocking requirements (1–4) are computed: what the
    wizard and the order action need on every request, in two queries."""
    blocking = _blocking_requirements(org)
    return Eligibility(blocking + _advisory_requirements(org) if advisory else blocking)


def _blocking_requirements(org: Organisation) -> list[Requirement]:
    licences = {lic.sku: lic for lic in Licence.objects.filter(organisation=org)}
    calling_plan = licences.get(Licence.Sku.CISCO_CALLING_PLAN)
    addon = licences.get(Licence.Sku.BUSINESS_TEXTING_ADDON)
    ccp_locations = Location.objects.filter(
        organisation=org, pstn_connection=Location.PstnConnection.CISCO_CALLING_PLAN
    ).count()
    enterprise = org.customer_type == Organisation.CustomerType.ENTERPRISE
    calling_plan_active = calling_plan is not None and calling_plan.status == Licence.Status.ACTIVE
    calling_plan_ok = calling_plan_active and org.country in ("US", "CA")
    addon_ok = addon is not None and addon.status == Licence.Status.ACTIVE
    return [
        Requirement(
            "enterprise",
            gettext("Enterprise customer"),
            enterprise,
            gettext("This is an Enterprise organisation.")
            if enterprise
            else gettext(
                "This organisation is a %(type)s customer. Business Texting is available only to Enterprise customers: "
                "ask your partner to convert the organisation."
            )
            % {"type": org.get_customer_type_display().lower()},
        ),
        Requirement(
            "calling_plan",
            gettext("Cisco Calling Plan in the United States or Canada"),
            calling_plan_ok,
            gettext("Cisco Calling Plan is active in the United States or Canada.")
            if calling_plan_ok
            else (
                gettext("There is no active Cisco Calling Plan licence: order Cisco Calling Plan through your partner.")
                if not calling_plan_active
                else gettext(
                    "Cisco Calling Plan service is not in the United States or Canada, where Business Texting is "
                    "offered."
                )
            ),
        ),
        Requirement(
            "cisco_pstn_location",
            gettext("A location that uses Cisco PSTN"),
            ccp_locations > 0,
            ngettext(
                "%(count)s location uses Cisco Calling Plan as PSTN connection.",
                "%(count)s locations use Cisco Calling Plan as PSTN connection.",
                ccp_locations,
            )
            % {"count": ccp_locations}
            if ccp_locations
            else gettext(
                "No location uses Cisco Calling Plan as its PSTN connection. Locations on Cloud Connected PSTN or "
                "premises-based PSTN cannot text: move a location to Cisco Calling Plan under Calling → PSTN."
            ),
        ),
        Requirement(
            "addon_licence",
            gettext("Business Texting Add-On licence"),
            addon_ok,
            ngettext(
                "Business Texting Add-On: %(count)s licence.",
                "Business Texting Add-On: %(count)s licences.",
                addon.quantity,
            )
            % {"count": addon.quantity}
            if addon_ok
            else gettext(
                "The Business Texting Add-On licence is not active: "
                "buy it through your partner together with Cisco Calling Plan."
            ),
        ),
    ]


def _advisory_requirements(org: Organisation) -> list[Requirement]:
    texters = list(
        User.objects.filter(
            organisation=org,
            numbers__is_primary=True,
            numbers__location__pstn_connection=Location.PstnConnection.CISCO_CALLING_PLAN,
        ).values_list("webex_app_version", flat=True)
    )
    users_total = User.objects.filter(organisation=org).exclude(role=User.Role.SUPPORT).count()
    minimum = settings.MIN_WEBEX_APP_VERSION
    outdated = sum(1 for v in texters if not version_at_least(parse_version(v), minimum))
    registered = PhoneNumber.objects.filter(
        location__organisation=org, texting_state=PhoneNumber.TextingState.REGISTERED
    ).exists()
    minimum_text = ".".join(str(p) for p in minimum)
    return [
        Requirement(
            "primary_numbers",
            gettext("Users with a Cisco Calling Plan primary number"),
            len(texters) > 0,
            ngettext(
                "%(count)s of %(total)s user has a primary number from Cisco Calling Plan. "
                "Users without one cannot text.",
                "%(count)s of %(total)s users have a primary number from Cisco Calling Plan. "
                "Users without one cannot text.",
                users_total,
            )
            % {"count": len(texters), "total": users_total}
            if texters
            else gettext(
                "No user has a primary number from Cisco Calling Plan in a US or Canadian location: "
                "assign numbers under Users."
            ),
            blocking=False,
        ),
        Requirement(
            "webex_app_version",
            gettext("Webex App %(version)s or later") % {"version": minimum_text},
            outdated == 0 and len(texters) > 0,
            gettext("All texting users run Webex App %(version)s or later.") % {"version": minimum_text}
            if outdated == 0 and texters
            else (
                ngettext(
                    "%(count)s texting user needs to upgrade to Webex App %(version)s or later.",
                    "%(count)s texting users need to upgrade to Webex App %(version)s or later.",
                    outdated,
                )
                % {"count": outdated, "version": minimum_text}
                if texters
                else gettext("No texting users yet.")
            ),
            blocking=False,
        ),
        Requirement(
            "ten_dlc",
            gettext("10DLC brand and campaign registered (US and Canadian numbers alike)"),
            registered,
            gettext("Numbers are registered in an approved 10DLC campaign.")
            if registered
            else gettext(
                "%(rule)s Authorise numbers, then open a Cisco Calling Plan support case to register your 10DLC "
                "brand and campaign."
            )
            % {"rule": EVERY_NUMBER_NEEDS_A_CAMPAIGN},
            blocking=False,
        ),
    ]


def authorisable_numbers(location: Location):
    """Numbers of a Cisco Calling Plan location that can be authorised: not already authorised or pending."""
    if not location.is_cisco_calling_plan:
        return PhoneNumber.objects.none()
    return PhoneNumber.objects.filter(
        location=location,
        texting_state__in=[PhoneNumber.TextingState.NOT_AUTHORISED, PhoneNumber.TextingState.FAILED],
    )
