"""Cases of every kind against the carrier simulator: a first registration creates the organisation's Brand and
Campaign; later cases reuse them — a new campaign under the approved brand (no brand submission), numbers added to
the approved campaign (no form, no brand, no campaign: straight to assignment), a rejected campaign corrected and
resubmitted (its use case fixed). Bad input gets a clear refusal and changes nothing."""

import pytest

from compliance import actions, queries
from compliance.actions import CaseRefused
from compliance.models import (
    Brand,
    Campaign,
    CampaignCarrierStatus,
    CampaignNumber,
    RegistrationCase,
    RegistrationVersion,
)
from portal.models import AuditEvent
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers, make_org

from .factories import VALID_FORM, make_authorised_numbers, make_brand, make_campaign, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State
Kind = RegistrationCase.Kind
CONTACT = {"contact_name": "Casey", "contact_email": "casey@acme.example"}


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def registered_first(org, admin, support, run_on_commit):
    """A first registration taken to completion through the actions and the simulator: the organisation's approved
    brand and active campaign."""
    case = actions.open_case(org, admin, [n.pk for n in make_authorised_numbers(org, 2)], **CONTACT)
    actions.send_registration_form(case, support)
    form, submitted = actions.submit_registration_form(case, admin, VALID_FORM)
    assert submitted, form.errors
    run_on_commit(actions.submit_brand, case, support)
    run_on_commit(actions.submit_campaign, case, support)
    run_on_commit(actions.assign_numbers, case, support)
    case.refresh_from_db()
    assert case.state == State.COMPLETED, case.carrier_problem
    return case


def test_a_first_registration_creates_the_organisation_s_brand_and_campaign(
    carrier_sim, org, admin, support, run_on_commit
):
    case = registered_first(org, admin, support, run_on_commit)
    brand, campaign = Brand.objects.get(organisation=org), Campaign.objects.get(organisation=org)
    assert (case.brand, case.campaign) == (brand, campaign)
    assert brand.status == Brand.Status.APPROVED and brand.registry_id.startswith("B")
    assert campaign.status == Campaign.Status.ACTIVE and campaign.brand == brand
    assert campaign.use_case == VALID_FORM["use_case"]
    assert set(campaign.campaign_numbers.values_list("status", flat=True)) == {CampaignNumber.Status.ASSIGNED}
    version = case.versions.get()
    assert version.number == 1 and version.data["legal_name"] == VALID_FORM["legal_name"]


def test_adding_numbers_to_the_approved_campaign_submits_no_brand_and_no_campaign(
    carrier_sim, org, admin, support, run_on_commit
):
    first = registered_first(org, admin, support, run_on_commit)
    created = dict(carrier_sim.stats()["writes_created"])
    new = make_authorised_numbers(org, 3)

    case = actions.open_case(org, admin, [n.pk for n in new], kind=Kind.ADD_NUMBERS, campaign=first.campaign, **CONTACT)
    assert actions.allowed_transitions(case) == {State.NUMBERS_ASSIGNED, State.CANCELLED}  # no form
    run_on_commit(actions.assign_numbers, case, support, expected=State.OPENED)

    case.refresh_from_db()
    assert case.state == State.COMPLETED and case.brand == first.brand and case.campaign == first.campaign
    stats = carrier_sim.stats()["writes_created"]
    assert (stats["brands"], stats["campaigns"]) == (created["brands"], created["campaigns"]) == (1, 1)
    assert not hasattr(case, "registration") and not case.versions.exists()
    assert set(PhoneNumber.objects.filter(pk__in=[n.pk for n in new]).values_list("texting_state", flat=True)) == {
        PhoneNumber.TextingState.REGISTERED
    }
    assert first.campaign.campaign_numbers.filter(status=CampaignNumber.Status.ASSIGNED).count() == 5


def test_a_new_campaign_goes_under_the_approved_brand_without_registering_it_again(
    carrier_sim, org, admin, support, run_on_commit
):
    first = registered_first(org, admin, support, run_on_commit)
    numbers = make_authorised_numbers(org, 2)
    case = actions.open_case(org, admin, [n.pk for n in numbers], kind=Kind.NEW_CAMPAIGN, **CONTACT)
    assert case.brand == first.brand
    actions.send_registration_form(case, support)
    case.refresh_from_db()
    # The brand part starts as registered (and cannot change); the campaign part starts empty.
    assert case.registration.legal_name == VALID_FORM["legal_name"] and case.registration.description == ""
    form, submitted = actions.submit_registration_form(case, admin, {**VALID_FORM, "use_case": "2FA"})
    assert submitted, form.errors
    with pytest.raises(CaseRefused, match="the brand is registered once"):
        actions.submit_brand(case, support)
    run_on_commit(actions.submit_campaign, case, support)
    run_on_commit(actions.assign_numbers, case, support)
    case.refresh_from_db()
    assert case.state == State.COMPLETED
    assert carrier_sim.stats()["writes_created"]["brands"] == 1
    assert list(Campaign.objects.filter(organisation=org).values_list("use_case", flat=True).order_by("pk")) == [
        VALID_FORM["use_case"],
        "2FA",
    ]


def test_a_rejected_campaign_is_corrected_and_resubmitted_with_its_use_case_fixed(
    carrier_sim, client, org, admin, support, run_on_commit
):
    brand = registered_first(org, admin, support, run_on_commit).brand
    rejected = make_campaign(brand, status=Campaign.Status.REJECTED, reason="Samples lack opt-out language")
    prior = make_case(org, State.CANCELLED, kind=Kind.NEW_CAMPAIGN, brand=brand, campaign=rejected)
    RegistrationVersion.objects.create(
        case=prior,
        number=1,
        data={**VALID_FORM, "sample_1": "Buy now!"},
        rejection_reason="Samples lack opt-out language",
    )

    case = actions.open_case(org, admin, [], kind=Kind.RESUBMIT, campaign=rejected, **CONTACT)
    actions.send_registration_form(case, support)
    case.refresh_from_db()
    assert case.registration.sample_1 == "Buy now!"  # the form starts from what was rejected

    changed = {**VALID_FORM, "use_case": "MARKETING"}
    form, submitted = actions.submit_registration_form(case, admin, changed)
    assert not submitted and "its use case cannot change" in str(form.errors["use_case"])
    case.refresh_from_db()
    assert case.state == State.FORM_SENT and case.registration.use_case == VALID_FORM["use_case"]
    assert not case.versions.exists()

    form, submitted = actions.submit_registration_form(case, admin, VALID_FORM)
    assert submitted, form.errors
    # Support sees what the customer changed since the rejection, and only that.
    since = queries.changes_since_rejection(case)
    assert since["reason"] == "Samples lack opt-out language"
    assert since["changes"] == [("Sample message 1", "Buy now!", VALID_FORM["sample_1"])]
    client.force_login(support)
    page = client.get(f"/support/cases/{case.pk}/").content.decode()
    assert "What changed since the rejection" in page and "Buy now!" in page
    run_on_commit(actions.submit_campaign, case, support)
    case.refresh_from_db()
    rejected.refresh_from_db()
    assert case.state == State.CAMPAIGN_APPROVED and rejected.status == Campaign.Status.ACTIVE
    assert actions.allowed_transitions(case) == {State.COMPLETED, State.CANCELLED}  # no numbers to assign
    actions.complete_case(case, support)
    assert case.state == State.COMPLETED


def test_fiftieth_number_needs_the_number_pool_flag(org, admin):
    campaign = make_campaign(make_brand(org, registry_id="BPOOL01"), registry_id="CPOOL01")
    make_campaign(campaign.brand, registry_id="CPOOL01", numbers=make_authorised_numbers(org, 48))
    two = make_authorised_numbers(org, 2)
    before = (RegistrationCase.objects.count(), AuditEvent.objects.count())
    with pytest.raises(CaseRefused, match="has 48 numbers: with 2 more it would pass 49.*number pool"):
        actions.open_case(org, admin, [n.pk for n in two], kind=Kind.ADD_NUMBERS, campaign=campaign, **CONTACT)
    assert (RegistrationCase.objects.count(), AuditEvent.objects.count()) == before
    actions.open_case(org, admin, [two[0].pk], kind=Kind.ADD_NUMBERS, campaign=campaign, **CONTACT)  # the 49th
    Campaign.objects.filter(pk=campaign.pk).update(is_number_pool=True)
    actions.open_case(org, admin, [two[1].pk], kind=Kind.ADD_NUMBERS, campaign=campaign, **CONTACT)  # a pool


def test_bad_input_is_refused_and_changes_nothing(org, admin):
    campaign = make_campaign(make_brand(org, registry_id="BBAD001"), registry_id="CBAD001")
    stranger = make_org("Stranger Inc")
    theirs = make_numbers(make_location(stranger), 1, texting_state=PhoneNumber.TextingState.AUTHORISED)
    their_campaign = make_campaign(make_brand(stranger, registry_id="BBAD002"), registry_id="CBAD002")
    in_campaign = make_authorised_numbers(org, 1)
    make_campaign(campaign.brand, registry_id="CBAD001", numbers=in_campaign)
    before = (RegistrationCase.objects.count(), AuditEvent.objects.count())
    refusals = [
        ({"kind": Kind.ADD_NUMBERS, "campaign": campaign}, [theirs[0].pk], "not numbers of your organisation"),
        ({"kind": Kind.ADD_NUMBERS, "campaign": their_campaign}, [], "Choose one of your campaigns"),
        ({"kind": Kind.ADD_NUMBERS, "campaign": campaign}, [in_campaign[0].pk], "already in campaign CBAD001"),
        ({"kind": Kind.REMOVE_NUMBERS, "campaign": campaign}, [make_authorised_numbers(org, 1)[0].pk], "not in"),
        ({"kind": Kind.RESUBMIT, "campaign": campaign}, [], "only a rejected, suspended or expired campaign"),
        ({"kind": Kind.ADD_NUMBERS, "campaign": None}, [], "Choose one of your campaigns"),
    ]
    for options, ids, message in refusals:
        with pytest.raises(CaseRefused, match=message):
            actions.open_case(org, admin, ids, **options, **CONTACT)
    assert (RegistrationCase.objects.count(), AuditEvent.objects.count()) == before


def test_kinds_on_offer_follow_what_the_organisation_has(org):
    offered = actions.case_kinds_offered(org)
    assert offered[Kind.FIRST_REGISTRATION] is None
    assert "brand must be registered" in offered[Kind.NEW_CAMPAIGN]
    assert "no active campaign" in offered[Kind.ADD_NUMBERS]
    campaign = make_campaign(make_brand(org, registry_id="BOFFER1"), registry_id="COFFER1")
    offered = actions.case_kinds_offered(org)
    assert offered[Kind.NEW_CAMPAIGN] is None and offered[Kind.ADD_NUMBERS] is None
    assert "None of your campaigns needs correcting" in offered[Kind.RESUBMIT]
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SUSPENDED)
    assert actions.case_kinds_offered(org)[Kind.RESUBMIT] is None


def test_the_open_case_page_offers_the_kinds_and_opens_an_add_numbers_case(client, org, admin):
    campaign = make_campaign(make_brand(org, registry_id="BPAGE01"), registry_id="CPAGE01")
    new = make_authorised_numbers(org, 2)
    client.force_login(admin)
    html = client.get("/cases/open/?kind=add_numbers").content.decode()
    assert "Add numbers to an approved campaign" in html and "CPAGE01" in html and new[0].display in html
    response = client.post(
        "/cases/open/",
        {"kind": "add_numbers", "campaign": campaign.pk, "numbers": [n.pk for n in new], **CONTACT},
    )
    case = RegistrationCase.objects.get()
    assert response.status_code == 302 and (case.kind, case.campaign) == (Kind.ADD_NUMBERS, campaign)
    assert "no new registration form is needed" in client.get(response.url).content.decode()


def test_a_campaign_is_corrected_by_one_case_at_a_time(org, admin):
    """A rejected campaign whose own case waits for the correction is corrected there, not by a second case that
    would register it again beside the first."""
    rejected = make_case(org, State.CAMPAIGN_REJECTED)
    with pytest.raises(CaseRefused, match=f"Case #{rejected.pk} is already correcting campaign"):
        actions.open_case(org, admin, [], kind=Kind.RESUBMIT, campaign=rejected.campaign, **CONTACT)
    assert "a case is correcting it" in actions.case_kinds_offered(org)[Kind.RESUBMIT]
    actions.cancel_case(rejected, admin, reason="We will correct it later")
    case = actions.open_case(org, admin, [], kind=Kind.RESUBMIT, campaign=rejected.campaign, **CONTACT)
    assert case.campaign == rejected.campaign


def test_a_campaign_an_operator_suspended_is_offered_for_correction(org):
    campaign = make_campaign(make_brand(org, registry_id="BOPS001"), registry_id="COPS001")
    assert actions.case_kinds_offered(org)[Kind.RESUBMIT] is not None
    CampaignCarrierStatus.objects.create(campaign=campaign, carrier="tmobile", status="suspended", reason="Spam")
    assert actions.case_kinds_offered(org)[Kind.RESUBMIT] is None


def test_numbers_that_open_cases_are_adding_count_towards_the_number_pool(org, admin):
    campaign = make_campaign(make_brand(org, registry_id="BPOOL02"), registry_id="CPOOL02")
    make_campaign(campaign.brand, registry_id="CPOOL02", numbers=make_authorised_numbers(org, 40))
    actions.open_case(
        org, admin, [n.pk for n in make_authorised_numbers(org, 9)], kind=Kind.ADD_NUMBERS, campaign=campaign, **CONTACT
    )
    with pytest.raises(CaseRefused, match="has 49 numbers: with 1 more it would pass 49"):
        actions.open_case(
            org, admin, [make_authorised_numbers(org, 1)[0].pk], kind=Kind.ADD_NUMBERS, campaign=campaign, **CONTACT
        )


def test_a_number_of_another_campaign_cannot_be_removed_from_this_one(org, admin):
    """Two campaigns the registry has not numbered yet (no registry ids) are still two campaigns."""
    brand = make_brand(org, registry_id="BTWO001")
    mine = make_campaign(
        brand, registry_id="", status=Campaign.Status.SUSPENDED, numbers=make_authorised_numbers(org, 1)
    )
    theirs = make_authorised_numbers(org, 1)
    make_campaign(brand, registry_id="", status=Campaign.Status.SUSPENDED, numbers=theirs)
    with pytest.raises(CaseRefused, match="is not in campaign"):
        actions.open_case(org, admin, [theirs[0].pk], kind=Kind.REMOVE_NUMBERS, campaign=mine, **CONTACT)


def test_a_new_campaign_goes_under_the_brand_the_customer_chose(client, org, admin):
    first = make_brand(org, registry_id="BCHO001", legal_name="Acme Corp")
    labs = make_brand(org, registry_id="BCHO002", legal_name="Acme Labs LLC", tax_number="98-7654321")
    numbers = make_authorised_numbers(org, 1)
    with pytest.raises(CaseRefused, match="Choose the approved brand"):
        actions.open_case(org, admin, [numbers[0].pk], kind=Kind.NEW_CAMPAIGN, **CONTACT)
    client.force_login(admin)
    html = client.get("/cases/open/?kind=new_campaign").content.decode()
    assert "Acme Corp · BCHO001" in html and "Acme Labs LLC · BCHO002" in html
    response = client.post(
        "/cases/open/", {"kind": "new_campaign", "brand": labs.pk, "numbers": [numbers[0].pk], **CONTACT}
    )
    assert response.status_code == 302 and RegistrationCase.objects.get().brand == labs != first


def test_a_posted_campaign_that_no_longer_fits_is_refused_not_replaced(client, org, admin):
    active = make_campaign(make_brand(org, registry_id="BPOST01"), registry_id="CPOST01")
    other = make_campaign(active.brand, registry_id="CPOST02")
    Campaign.objects.filter(pk=other.pk).update(status=Campaign.Status.SUSPENDED)  # since the page was shown
    new = make_authorised_numbers(org, 1)
    client.force_login(admin)
    response = client.post(
        "/cases/open/", {"kind": "add_numbers", "campaign": other.pk, "numbers": [new[0].pk], **CONTACT}
    )
    assert response.status_code == 200 and "Choose one of your campaigns" in response.content.decode()
    assert not RegistrationCase.objects.exists()


def test_a_cancelled_case_withdraws_the_campaign_the_registry_was_deciding(org, admin):
    case = make_case(org, State.CAMPAIGN_SUBMITTED)
    actions.cancel_case(case, admin, reason="Changed our mind")
    case.campaign.refresh_from_db()
    assert case.campaign.status == Campaign.Status.REJECTED and "Withdrawn" in case.campaign.reason
    assert actions.case_kinds_offered(org)[Kind.RESUBMIT] is None  # it can be corrected and sent again


def test_a_brand_at_the_registry_is_not_submitted_again_by_another_case(org, support):
    make_case(org, State.BRAND_SUBMITTED, brand_registry_id="")
    twin = make_case(org, State.FORM_SUBMITTED)
    with pytest.raises(CaseRefused, match="at the registry already, by another case"):
        actions.submit_brand(twin, support)
    twin.refresh_from_db()
    assert twin.state == State.FORM_SUBMITTED and twin.brand is None


def test_numbers_leave_a_campaign_through_a_remove_case(carrier_sim, org, admin, support, run_on_commit, mailoutbox):
    first = registered_first(org, admin, support, run_on_commit)
    leaving = list(first.campaign.campaign_numbers.select_related("number"))[:1]
    case = actions.open_case(
        org, admin, [m.number_id for m in leaving], kind=Kind.REMOVE_NUMBERS, campaign=first.campaign, **CONTACT
    )
    assert actions.allowed_transitions(case) == {State.REMOVING_NUMBERS, State.CANCELLED}
    run_on_commit(actions.remove_numbers, case, support, expected=State.OPENED)
    case.refresh_from_db()
    assert case.state == State.COMPLETED, case.carrier_problem
    number = PhoneNumber.objects.get(pk=leaving[0].number_id)
    assert number.texting_state == PhoneNumber.TextingState.AUTHORISED
    assert CampaignNumber.objects.get(number=number, case=case).status == CampaignNumber.Status.REMOVED
    assert mailoutbox[-1].subject == f"Your numbers left the campaign (case #{case.pk})"


def test_a_case_that_only_moves_numbers_is_due_in_three_days(client, org, support):
    campaign = make_campaign(make_brand(org, registry_id="BDUE001"), registry_id="CDUE001")
    numbers_case = make_case(
        org, State.OPENED, kind=Kind.ADD_NUMBERS, brand=campaign.brand, campaign=campaign, opened_days_ago=4
    )
    registration = make_case(org, State.FORM_SENT, opened_days_ago=4)
    assert numbers_case.is_overdue and not registration.is_overdue
    client.force_login(support)
    html = client.get("/support/cases/", {"age": "overdue"}).content.decode()
    assert f"Case #{numbers_case.pk}" in html and f"Case #{registration.pk}" not in html
    assert "4 / 3 days" in html


def test_a_suspended_campaign_is_resubmitted_under_its_id_and_keeps_its_numbers(
    carrier_sim, org, admin, support, run_on_commit
):
    first = registered_first(org, admin, support, run_on_commit)
    campaign = first.campaign
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SUSPENDED, reason="Spam complaints")
    created = dict(carrier_sim.stats()["writes_created"])

    case = actions.open_case(org, admin, [], kind=Kind.RESUBMIT, campaign=campaign, **CONTACT)
    actions.send_registration_form(case, support)
    corrected = {**VALID_FORM, "description": VALID_FORM["description"] + " Opt-out honoured at once."}
    form, submitted = actions.submit_registration_form(case, admin, corrected)
    assert submitted, form.errors
    run_on_commit(actions.submit_campaign, case, support)

    case.refresh_from_db()
    campaign.refresh_from_db()
    assert case.state == State.CAMPAIGN_APPROVED and campaign.status == Campaign.Status.ACTIVE
    assert campaign.registry_id == first.campaign.registry_id  # the same campaign at the registry
    stats = carrier_sim.stats()
    assert stats["writes_created"]["campaigns"] == created["campaigns"] == 1 and stats["campaigns_resubmitted"] == 1
    assert campaign.campaign_numbers.filter(status=CampaignNumber.Status.ASSIGNED).count() == 2
