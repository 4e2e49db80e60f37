"""Background work for registration cases: register brands and campaigns at the carrier, poll for its answers,
assign numbers. Every task is thin (load by id, call an action), idempotent (the action checks the case's state
and the submission round's reference is the idempotency key) and acks late, so a task delivered twice, or redelivered
after a worker crash, never registers twice and never applies an answer twice.
"""

import logging

from celery import shared_task
from django.conf import settings

from carrier import get_gateway
from carrier.gateway import CarrierRejected, CarrierUnavailable
from portal.tasks import CarrierTask

from . import actions, stored_texts
from .actions import numbers as campaign_numbers
from .models import Brand, Campaign, RegistrationCase

log = logging.getLogger(__name__)

# The first re-poll after a submission waits REGISTRATION_POLL_SECONDS; doubled each time up to ten minutes, then
# the beat takes over.
POLL_MAX_SECONDS = 600.0
POLL_CHAIN = 12


class RegistrationTask(CarrierTask):
    """A task that registers something at the carrier. When the last retry fails, the case stays consistent (still
    waiting on the carrier, which the periodic poll resumes) and support is told why nothing is happening."""

    retries_setting = "REGISTRATION_MAX_RETRIES"

    def give_up(self, exc, attempts, case_id):
        actions.note_carrier_problem(
            case_id,
            stored_texts.store(stored_texts.CARRIER_UNREACHABLE, count=attempts - 1, error=exc),
        )


def _poll_seconds() -> float:
    return settings.REGISTRATION_POLL_SECONDS


def chain_poll(case_id: int) -> None:
    """Poll the case soon, then with a growing delay while it waits on the carrier (see `poll_registration`)."""
    poll_registration.apply_async((case_id,), {"chain": 1}, countdown=_poll_seconds())


@shared_task(base=RegistrationTask, bind=True)
def submit_brand_registration(self, case_id: int) -> None:
    """Register the brand of a case in *brand submitted* (once per round: reconciles by reference on retry), then
    start polling for the registry's decision. Any other state: nothing to do."""
    actions.send_brand_to_carrier(case_id, get_gateway())
    if RegistrationCase.objects.filter(pk=case_id, state=RegistrationCase.State.BRAND_SUBMITTED).exists():
        chain_poll(case_id)


@shared_task(base=RegistrationTask, bind=True)
def submit_campaign_registration(self, case_id: int) -> None:
    """Register the campaign of a case in *campaign submitted* under its approved brand (once per round), then
    poll. A refusal (e.g. an UNVERIFIED brand) rejects the campaign with the registry's reason."""
    actions.send_campaign_to_carrier(case_id, get_gateway())
    if RegistrationCase.objects.filter(pk=case_id, state=RegistrationCase.State.CAMPAIGN_SUBMITTED).exists():
        chain_poll(case_id)


@shared_task(base=CarrierTask, bind=True)
def poll_registration(self, case_id: int, chain: int = 0) -> None:
    """Look at the carrier once for a case waiting on it and apply the answer (idempotent).

    With `chain`, re-polls itself with a growing delay (5 s, 10 s, ... up to 10 min) a bounded number of times
    while the case still waits; after that the periodic `poll_open_registrations` (and the carrier's callbacks)
    carry on. A carrier that cannot be reached is retried at the next poll, not blindly.
    """
    try:
        actions.poll_case(case_id, get_gateway())
    except CarrierUnavailable as exc:
        log.info("Case %s: carrier unavailable while polling, will look again: %s", case_id, exc)
    still_waiting = RegistrationCase.objects.filter(pk=case_id, state__in=RegistrationCase.CARRIER_STATES).exists()
    if chain and still_waiting and not self.request.is_eager and chain < POLL_CHAIN:
        countdown = min(POLL_MAX_SECONDS, _poll_seconds() * 2**chain)
        poll_registration.apply_async((case_id,), {"chain": chain + 1}, countdown=countdown)


@shared_task(name="compliance.tasks.poll_open_registrations", acks_late=True)
def poll_open_registrations() -> int:
    """Periodic (beat, every 10 minutes): poll every case waiting on the carrier — brand or campaign submitted,
    numbers being assigned. Returns how many it queued. Harmless if run twice."""
    queued = 0
    for case_id in RegistrationCase.objects.filter(state__in=RegistrationCase.CARRIER_STATES).values_list(
        "pk", flat=True
    ):
        poll_registration.delay(case_id)
        queued += 1
    return queued


@shared_task(acks_late=True)
def build_discovery_export(export_id: int) -> None:
    """Build an eDiscovery export's archive (compliance.actions.discovery.build_export): idempotent, a redelivered
    task starts the archive over; a ready or failed export is left alone."""
    from .actions import discovery

    discovery.build_export(export_id)


@shared_task
def delete_expired_exports() -> int:
    """Beat: delete expired eDiscovery exports and their files (idempotent)."""
    from .actions import discovery

    return discovery.delete_expired_exports()


# --- a campaign's life after registration, and secondary vetting ----------------------------------------------------


class VettingTask(CarrierTask):
    """Asks the registry to vet a brand. When the last retry fails the brand stays *vetting requested* and the
    periodic `poll_live_campaigns` carries on (reconciling by reference first)."""

    retries_setting = "REGISTRATION_MAX_RETRIES"

    def give_up(self, exc, attempts, brand_id):
        log.warning("Brand %s: vetting request not sent after %s attempts: %s", brand_id, attempts, exc)


@shared_task(base=VettingTask, bind=True)
def submit_vetting(self, brand_id: int) -> None:
    """Send a brand's secondary vetting request (once per round), then look again for the score once."""
    actions.send_vetting_to_carrier(brand_id, get_gateway())
    if Brand.objects.filter(pk=brand_id, vetting_status=Brand.Vetting.REQUESTED).exists() and not self.request.is_eager:
        poll_vetting.apply_async((brand_id,), countdown=_poll_seconds())


@shared_task(acks_late=True)
def poll_vetting(brand_id: int) -> None:
    """Look at the registry once for a brand waiting on its vetting (idempotent)."""
    try:
        actions.poll_vetting(brand_id, get_gateway())
    except CarrierUnavailable as exc:
        log.info("Brand %s: carrier unavailable while polling vetting, will look again: %s", brand_id, exc)


@shared_task(acks_late=True)
def poll_campaign(campaign_id: int) -> None:
    """Ask the carrier for one live campaign and apply what changed (operators' statuses, suspension, expiry)."""
    campaign = Campaign.objects.filter(pk=campaign_id).exclude(registry_id="").first()
    if campaign is None:
        return
    try:
        actions.apply_campaign_answer(get_gateway().get_campaign(campaign.registry_id))
    except CarrierUnavailable as exc:
        log.info("Campaign %s: carrier unavailable while polling, will look again: %s", campaign.registry_id, exc)
    except CarrierRejected as exc:
        log.warning("Campaign %s: the carrier refused the status request: %s", campaign.registry_id, exc)


@shared_task(name="compliance.tasks.poll_live_campaigns", acks_late=True)
def poll_live_campaigns() -> int:
    """Periodic (beat, CAMPAIGN_POLL_SECONDS): poll every campaign that can still change at the carrier (active or
    suspended) and every brand waiting on its vetting, so an event whose callback was lost still arrives. Returns how
    many it queued. Harmless if run twice."""
    queued = 0
    live = Campaign.objects.filter(status__in=(Campaign.Status.ACTIVE, Campaign.Status.SUSPENDED)).exclude(
        registry_id=""
    )
    for campaign_id in live.values_list("pk", flat=True):
        poll_campaign.delay(campaign_id)
        queued += 1
    for brand_id in Brand.objects.filter(vetting_status=Brand.Vetting.REQUESTED).values_list("pk", flat=True):
        poll_vetting.delay(brand_id)
        queued += 1
    return queued


# --- numbers joining and leaving campaigns (compliance.actions.numbers) ---------------------------------------------


class CampaignNumbersTask(CarrierTask):
    """Sends a campaign's waiting numbers to the carrier. After the last retry they stay *pending* (visible as such
    to the administrator and support) and the periodic `poll_campaign_assignments` sends them again."""

    retries_setting = "REGISTRATION_MAX_RETRIES"
    # Enqueued from administrators' requests (assign, retry, de-authorise): run in-process, a request never waits on
    # retries; the poll sends the numbers later.
    retry_in_process = False

    def give_up(self, exc, attempts, campaign_id):
        log.warning(
            "Campaign %s: carrier unreachable after %s attempts, the poll resends: %s", campaign_id, attempts, exc
        )


@shared_task(base=CampaignNumbersTask, bind=True)
def send_campaign_numbers(self, campaign_id: int) -> None:
    """Ask the carrier to assign the campaign's *pending assignment* numbers and apply its per-number answers (the
    ones still pending are polled). Safe to repeat: the same rows give the same idempotency key."""
    campaign_numbers.send_assignments(campaign_id, get_gateway())


@shared_task(base=CampaignNumbersTask, bind=True)
def send_campaign_number_removals(self, campaign_id: int) -> None:
    """Ask the carrier to remove the campaign's *pending removal* numbers and apply its answers. Safe to repeat."""
    campaign_numbers.send_removals(campaign_id, get_gateway())


@shared_task(base=CarrierTask, bind=True)
def poll_campaign_numbers(self, campaign_id: int) -> None:
    """Look at the carrier once for a campaign's waiting numbers (idempotent); unreachable: the next poll."""
    try:
        campaign_numbers.poll_campaign_numbers(campaign_id, get_gateway())
    except CarrierUnavailable as exc:
        log.info("Campaign %s: carrier unavailable while polling numbers, will look again: %s", campaign_id, exc)


@shared_task(name="compliance.tasks.poll_campaign_assignments", acks_late=True)
def poll_campaign_assignments() -> int:
    """Periodic (beat, every 10 minutes): poll every campaign with numbers being assigned or removed (the carrier
    takes about two hours). Returns how many it queued. Harmless if run twice."""
    queued = 0
    for campaign_id in campaign_numbers.campaigns_waiting_on_carrier():
        poll_campaign_numbers.delay(campaign_id)
        queued += 1
    return queued
