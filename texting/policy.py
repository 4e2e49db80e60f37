"""The sending policy (issue 5, SPEC.md 1 and 5): may this user send this text now?

Rules are checked in this order and the first one that fails is THE reason (machine-readable, stored with the
blocked text and answered by the API):

1. the organisation has the Business Texting Add-On licence (active) — `no_addon_licence`
2. its Business Texting switch (Calling → Service Settings) is on — `texting_disabled`
3. Cisco PSTN support has not suspended the organisation's texting — `suspended_by_cisco`
4. the sender uses their primary number — `not_primary_number`
5. Cisco PSTN support has not suspended that number — `suspended_by_cisco`
6. that number is registered in an approved 10DLC campaign (texting state *registered*) — `number_not_registered`;
   when the carrier holds it in a campaign (compliance CampaignNumber), that campaign is usable: not suspended by
   the registry or an operator — `campaign_suspended`, not expired — `campaign_expired`, not rejected by an operator
   — `number_not_registered`
7. the Webex App (header) is 42.12 or later — `app_version_too_old`
8. the destination is a valid US or Canadian number — `invalid_destination` / `international_destination`
9. text only — `media_not_supported`; not empty — `empty_body`; at most MAX_SEGMENTS segments — `body_too_long`
10. the recipient is not in the organisation's opt-out registry (a STOP, or an entry an administrator added or
    imported) — `recipient_opted_out`
11. the volume: for a number in a usable campaign, what its registration allows (SPEC.md 8: the brand's vetting
    tier) — the brand's texts per day (midnight to midnight Pacific) `brand_daily_cap_reached`, the campaign's texts
    per minute `campaign_rate_limited`; then, for every number, Cisco's own per-number limits — `daily_cap_exceeded`
    / `burst_limit_exceeded`. A number in no campaign keeps the per-number limits only.

The volume counters are taken last, so a text refused for any other reason does not use up the allowance.
A user naming a number of ANOTHER organisation as sender is refused with `ForeignNumber` before any rule runs:
nothing is stored, because the text belongs to neither organisation.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Subquery
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from compliance import queries as registrations
from compliance.models import Campaign, CampaignCarrierStatus, CampaignNumber
from portal.lists import clipped
from portal.models import User, parse_version
from provisioning.eligibility import version_at_least
from provisioning.models import Licence, PhoneNumber
from provisioning.phone import display_tn, normalise_tn

from . import volume
from .models import BlockReason, Message, OptOut, ServiceSettings, Suspension
from .segments import SegmentCount, count_segments
from .wording import later

# 10 segments (1,530 GSM-7 characters): longer texts are refused rather than sent as a stream of parts.
MAX_SEGMENTS = 10
PARTY_LENGTH = Message._meta.get_field("other_party").max_length

# The HTTP status the API answers each refusal with: who may send (403), what was sent (422), how much (429).
HTTP_STATUS = {
    BlockReason.NO_ADDON_LICENCE: 403,
    BlockReason.TEXTING_DISABLED: 403,
    BlockReason.NOT_PRIMARY_NUMBER: 403,
    BlockReason.NUMBER_NOT_REGISTERED: 403,
    BlockReason.CAMPAIGN_SUSPENDED: 403,
    BlockReason.CAMPAIGN_EXPIRED: 403,
    BlockReason.APP_VERSION_TOO_OLD: 403,
    BlockReason.INVALID_DESTINATION: 422,
    BlockReason.INTERNATIONAL_DESTINATION: 422,
    BlockReason.MEDIA_NOT_SUPPORTED: 422,
    BlockReason.EMPTY_BODY: 422,
    BlockReason.BODY_TOO_LONG: 422,
    BlockReason.RECIPIENT_OPTED_OUT: 403,
    BlockReason.SUSPENDED_BY_CISCO: 403,
    BlockReason.BURST_LIMIT_EXCEEDED: 429,
    BlockReason.DAILY_CAP_EXCEEDED: 429,
    BlockReason.CAMPAIGN_RATE_LIMITED: 429,
    BlockReason.BRAND_DAILY_CAP_REACHED: 429,
}


class ForeignNumber(Exception):
    """The sender named a number that is not one of their organisation's."""


@dataclass(frozen=True)
class Refusal:
    reason: str  # a BlockReason value
    detail: str  # in words, for the person sending: lazy (wording.later), read in the reader's language

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.reason]


@dataclass(frozen=True)
class Decision:
    """What the policy decided, and what to store either way."""

    business_number: str  # E.164 of the sender's number, or what they tried
    other_party: str  # E.164 of the destination when valid, else as given
    segments: SegmentCount
    refusal: Refusal | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def minimum_app_version_text() -> str:
    return ".".join(str(part) for part in settings.MIN_WEBEX_APP_VERSION)


def check_sending_policy(
    user: User,
    *,
    to: str,
    body: str,
    media=None,
    app_version: str = "",
    from_number: str | None = None,
    now: datetime,
) -> Decision:
    """Apply every rule to one text; when all pass, take one text from the number's volume allowance.

    Raises ForeignNumber (nothing to store) and volume.CountersUnavailable (Redis down: nothing decided).
    """
    org = user.organisation
    # Suspensions by Cisco PSTN support ride along as subqueries of two lookups the policy makes anyway (the switch,
    # the primary number), each answered by a partial unique index of Suspension: no query of their own.
    primary = (
        PhoneNumber.objects.filter(assigned_user=user, is_primary=True, location__organisation=org)
        .only("e164", "texting_state")
        .annotate(
            suspended_because=_active_suspension_reason(number=OuterRef("pk")),
            # Whether the carrier holds it in a campaign: the campaign is read only then (one query fewer otherwise).
            in_campaign=Exists(
                CampaignNumber.objects.filter(number=OuterRef("pk"), status__in=registrations.SENDING_MEMBERSHIP)
            ),
        )
        .first()
    )
    business_number = primary.e164 if primary else ""
    if from_number:
        try:
            wanted = normalise_tn(from_number)
        except ValidationError:
            wanted = None
        if wanted is None or not PhoneNumber.objects.filter(e164=wanted, location__organisation=org).exists():
            raise ForeignNumber(_("%(number)s is not a number of %(org)s.") % {"number": from_number, "org": org.name})
        business_number = wanted

    destination, destination_refusal = _destination(to)
    segments = count_segments(body if isinstance(body, str) else "")

    def refuse(reason, detail):
        return Decision(business_number, destination, segments, Refusal(reason, detail))

    # The add-on licence, the switch and support's suspension of the organisation in one query (the settings row
    # with the licence as a subquery); an organisation that never saved its settings has no row: switched off.
    addon = Licence.objects.filter(
        organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON, status=Licence.Status.ACTIVE
    )
    switch = (
        ServiceSettings.objects.filter(organisation=org)
        .annotate(
            has_addon=Exists(addon), suspended_because=_active_suspension_reason(organisation=org, number__isnull=True)
        )
        .values_list("has_addon", "business_texting_enabled", "suspended_because")
        .first()
    )
    has_addon, switched_on, suspended_because = switch if switch is not None else (addon.exists(), False, None)
    if not has_addon:
        return refuse(
            BlockReason.NO_ADDON_LICENCE,
            later(gettext_lazy("%(org)s has no active Business Texting Add-On licence."), org=org.name),
        )
    if not switched_on:
        return refuse(
            BlockReason.TEXTING_DISABLED,
            later(
                gettext_lazy("Business Texting is switched off for %(org)s (Calling → Service Settings)."), org=org.name
            ),
        )
    if suspended_because is not None:
        return refuse(
            BlockReason.SUSPENDED_BY_CISCO,
            later(
                gettext_lazy(
                    "Cisco PSTN support suspended Business Texting for %(org)s: %(reason)s "
                    "Contact Cisco PSTN support through your partner."
                ),
                org=org.name,
                reason=as_sentence(suspended_because),
            ),
        )
    if primary is None:
        return refuse(
            BlockReason.NOT_PRIMARY_NUMBER,
            later(gettext_lazy("You have no primary number from Cisco Calling Plan, so you cannot text.")),
        )
    if business_number != primary.e164:
        return refuse(
            BlockReason.NOT_PRIMARY_NUMBER,
            later(
                gettext_lazy("Texts go out from your primary number %(primary)s, not %(number)s."),
                primary=display_tn(primary.e164),
                number=display_tn(business_number),
            ),
        )
    if primary.suspended_because is not None:
        return refuse(
            BlockReason.SUSPENDED_BY_CISCO,
            later(
                gettext_lazy(
                    "Cisco PSTN support suspended texting from %(number)s: %(reason)s "
                    "Contact Cisco PSTN support through your partner."
                ),
                number=display_tn(primary.e164),
                reason=as_sentence(primary.suspended_because),
            ),
        )
    if primary.texting_state != PhoneNumber.TextingState.REGISTERED:
        return refuse(
            BlockReason.NUMBER_NOT_REGISTERED,
            later(
                gettext_lazy("%(number)s is not registered in an approved 10DLC campaign (it is %(state)s)."),
                number=display_tn(primary.e164),
                state=_lowered(primary.get_texting_state_display),
            ),
        )
    campaign = registrations.sending_campaign(primary) if primary.in_campaign else None
    if campaign is not None and not campaign.is_usable:
        return refuse(*campaign_refusal(campaign, primary.e164))
    if not version_at_least(parse_version(app_version or ""), tuple(settings.MIN_WEBEX_APP_VERSION)):
        minimum = minimum_app_version_text()
        return refuse(
            BlockReason.APP_VERSION_TOO_OLD,
            later(
                gettext_lazy("Webex App %(version)s cannot text: update to Webex App %(minimum)s or later."),
                version=app_version,
                minimum=minimum,
            )
            if app_version
            else later(
                gettext_lazy(
                    "This Webex App (it did not say its version) cannot text: update to Webex App %(minimum)s or later."
                ),
                minimum=minimum,
            ),
        )
    if destination_refusal is not None:
        return Decision(business_number, destination, segments, destination_refusal)
    if media:
        return refuse(
            BlockReason.MEDIA_NOT_SUPPORTED,
            later(
                gettext_lazy(
                    "Business Texting sends text only: pictures and other attachments (MMS) are not supported."
                )
            ),
        )
    if not isinstance(body, str) or not body.strip():
        return refuse(BlockReason.EMPTY_BODY, later(gettext_lazy("The text is empty.")))
    if segments.segments > MAX_SEGMENTS:
        return refuse(
            BlockReason.BODY_TOO_LONG,
            later(
                gettext_lazy("The text needs %(segments)s segments; at most %(limit)s are allowed."),
                segments=segments.segments,
                limit=MAX_SEGMENTS,
            ),
        )
    opt_out_source = (
        OptOut.objects.filter(organisation=org, party=destination, opted_in_at__isnull=True)
        .values_list("source", flat=True)
        .first()
    )
    if opt_out_source == OptOut.Source.KEYWORD:
        return refuse(
            BlockReason.RECIPIENT_OPTED_OUT,
            later(
                gettext_lazy("%(number)s replied STOP to %(org)s: they receive no texts until they reply START."),
                number=display_tn(destination),
                org=org.name,
            ),
        )
    if opt_out_source is not None:
        return refuse(
            BlockReason.RECIPIENT_OPTED_OUT,
            later(
                gettext_lazy(
                    "%(number)s is on %(org)s's do-not-text list (its opt-out registry): they receive no texts from "
                    "the organisation."
                ),
                number=display_tn(destination),
                org=org.name,
            ),
        )
    limits = _registration_limits(campaign)
    over = volume.reserve(business_number, now, limits)
    if over == BlockReason.BRAND_DAILY_CAP_REACHED:
        return refuse(
            over,
            later(
                gettext_lazy(
                    "%(brand)s has sent %(cap)s texts today, the daily cap of its 10DLC brand (reset at midnight "
                    "Pacific time). Secondary vetting of the brand can raise it."
                ),
                brand=limits.brand_label,
                cap=_grouped(limits.daily_cap),
            ),
        )
    if over == BlockReason.CAMPAIGN_RATE_LIMITED:
        return refuse(
            over,
            later(
                gettext_lazy(
                    "Campaign %(campaign)s has sent %(limit)s texts this minute, the most its 10DLC registration "
                    "allows. Try again in a minute."
                ),
                campaign=limits.campaign_label,
                limit=_grouped(limits.per_minute),
            ),
        )
    if over == BlockReason.BURST_LIMIT_EXCEEDED:
        return refuse(
            over,
            later(
                gettext_lazy(
                    "%(number)s has sent %(limit)s texts this minute, the most allowed. Try again in a minute."
                ),
                number=display_tn(business_number),
                limit=_grouped(settings.TEXTING_BURST_PER_MINUTE),
            ),
        )
    if over == BlockReason.DAILY_CAP_EXCEEDED:
        return refuse(
            over,
            later(
                gettext_lazy("%(number)s has sent %(limit)s texts today (UTC), the most allowed per number per day."),
                number=display_tn(business_number),
                limit=_grouped(settings.TEXTING_DAILY_CAP_PER_NUMBER),
            ),
        )
    return Decision(business_number, destination, segments, None)


def campaign_refusal(campaign: Campaign, e164: str) -> tuple[str, str]:
    """Why a number in an unusable campaign cannot send: the registry's state first, then the operators'. The words
    are lazy (wording.later)."""
    words = {"campaign": campaign.registry_id or str(campaign), "number": display_tn(e164), "why": ""}
    if campaign.status == Campaign.Status.EXPIRED:
        words["why"] = _because(campaign.reason)
        return BlockReason.CAMPAIGN_EXPIRED, later(
            gettext_lazy("Campaign %(campaign)s of %(number)s has expired%(why)s. It must be renewed."), **words
        )
    if campaign.status == Campaign.Status.SUSPENDED:
        words["why"] = f" ({campaign.reason})" if campaign.reason else ""
        return BlockReason.CAMPAIGN_SUSPENDED, later(
            gettext_lazy("The registry suspended campaign %(campaign)s of %(number)s%(why)s."), **words
        )
    statuses = campaign.carrier_statuses.all()
    for status in statuses:
        if status.status == CampaignCarrierStatus.Status.SUSPENDED:
            words.update(operator=status.get_carrier_display(), why=f" ({status.reason})" if status.reason else "")
            return BlockReason.CAMPAIGN_SUSPENDED, later(
                gettext_lazy("%(operator)s suspended campaign %(campaign)s of %(number)s%(why)s."), **words
            )
    rejected = next((s for s in statuses if s.status == CampaignCarrierStatus.Status.REJECTED), None)
    if rejected is not None:
        words.update(operator=rejected.get_carrier_display(), why=_because(rejected.reason))
        return BlockReason.NUMBER_NOT_REGISTERED, later(
            gettext_lazy("%(operator)s rejected campaign %(campaign)s of %(number)s%(why)s."), **words
        )
    return BlockReason.NUMBER_NOT_REGISTERED, later(
        gettext_lazy("Campaign %(campaign)s of %(number)s is not active at the registry."), **words
    )


def _registration_limits(campaign: Campaign | None) -> volume.RegistrationLimits | None:
    """The campaign's per-minute limit and its brand's daily cap (the brand's vetting tier), or None: a number in no
    campaign has only the per-number limits."""
    if campaign is None:
        return None
    brand = campaign.brand
    return volume.RegistrationLimits(
        campaign_id=campaign.pk,
        campaign_label=campaign.registry_id or str(campaign),
        brand_id=brand.pk,
        brand_label=brand.name,
        per_minute=brand.per_minute,
        daily_cap=brand.daily_cap,
        campaign_numbers=registrations.sending_numbers(campaign=campaign),
        brand_numbers=registrations.sending_numbers(brand=brand),
    )


def _active_suspension_reason(**scope) -> Subquery:
    """Support's reason for the suspension in effect that `scope` selects, as a subquery: NULL when there is none."""
    return Subquery(Suspension.objects.filter(lifted_at__isnull=True, **scope).values("reason")[:1])


def _because(reason: str) -> str:
    """The registry's or an operator's reason appended to a sentence (": reason", " : reason" in French), or ""."""
    return later(pgettext_lazy("a reason appended to a sentence", ": %(reason)s"), reason=reason) if reason else ""


def _grouped(value: int) -> str:
    """A count with the reader's digit grouping (4,500 / 4 500), read when the words are."""
    return lazy(number_format, str)(value, force_grouping=True)


def _lowered(label) -> str:
    """A choice's label in lower case, read (and translated) when the words are."""
    return lazy(lambda: str(label()).lower(), str)()


def as_sentence(text: str) -> str:
    """Support's reason as a sentence of the refusal: ends with a full stop (or the mark support ended it with)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _destination(raw) -> tuple[str, Refusal | None]:
    """(E.164, None) for a valid US/CA number, else (what was given, trimmed and clipped to its column, and the
    refusal). The whole text is judged: its first 40 characters may read as a number the sender did not write."""
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        return normalise_tn(text), None
    except ValidationError as exc:
        reason = (
            BlockReason.INTERNATIONAL_DESTINATION if exc.code == "international" else BlockReason.INVALID_DESTINATION
        )
        # Read again in the reader's language (provisioning.phone's words are translatable too).
        return clipped(text, PARTY_LENGTH), Refusal(reason, lazy(lambda error=exc: error.messages[0], str)())
