"""Carry every registration made so far onto the organisation-level records: each brand and campaign the registry
knows (or is deciding) becomes a Brand / Campaign, every case points at them, the numbers of completed cases become
the campaign's assigned numbers (of cases still assigning: pending assignment), and every submitted registration
form becomes its case's first kept version. Nothing on the cases is removed here, so nothing can be lost; reversing
deletes only what this migration created."""

from django.db import migrations

BRAND_WAITING = "brand_submitted"
CAMPAIGN_WAITING = "campaign_submitted"
CAMPAIGN_ACTIVE_STATES = {"campaign_approved", "numbers_assigned", "completed"}
NOT_FORM_FIELDS = {"id", "case", "saved_at", "saved_by", "submitted_at", "submitted_by"}


def _form_data(form) -> dict:
    return {
        field.attname: getattr(form, field.attname)
        for field in form._meta.concrete_fields
        if field.name not in NOT_FORM_FIELDS
    }


def _brand_status(case) -> str:
    if case.brand_approved_at is not None:
        return "approved"
    if case.state == BRAND_WAITING:
        return "pending"
    return "rejected" if case.brand_reason else "pending"


def _campaign_status(case, cancelled_from: str) -> str:
    if case.state == CAMPAIGN_WAITING:
        return "pending"
    if case.state in CAMPAIGN_ACTIVE_STATES:
        return "active"
    if case.campaign_reason:
        return "rejected"
    # A cancelled case: its campaign is what it was when the case was cancelled (the state the cancellation left).
    if cancelled_from == CAMPAIGN_WAITING:
        return "pending"  # the registry had not decided: the campaign poll reconciles it
    return "active" if cancelled_from in CAMPAIGN_ACTIVE_STATES else "rejected"


def forwards(apps, schema_editor):
    RegistrationCase = apps.get_model("compliance", "RegistrationCase")
    RegistrationForm = apps.get_model("compliance", "RegistrationForm")
    Brand = apps.get_model("compliance", "Brand")
    Campaign = apps.get_model("compliance", "Campaign")
    CampaignNumber = apps.get_model("compliance", "CampaignNumber")
    CaseNumber = apps.get_model("compliance", "CaseNumber")
    RegistrationVersion = apps.get_model("compliance", "RegistrationVersion")
    CaseEvent = apps.get_model("compliance", "CaseEvent")
    # The state each cancelled case was in when it was cancelled (its last transition's from_state).
    cancelled_from = dict(
        CaseEvent.objects.filter(kind="transition", to_state="cancelled").values_list("case_id", "from_state")
    )

    forms = {form.case_id: form for form in RegistrationForm.objects.all()}
    brands_by_id: dict[str, object] = {}
    campaigns_by_id: dict[str, object] = {}
    membership: dict[int, tuple] = {}  # number id -> (campaign id, status, case id), the latest case wins
    for case in RegistrationCase.objects.order_by("opened_at", "id"):
        form = forms.get(case.pk)
        if form is not None and form.submitted_at is not None:
            RegistrationVersion.objects.create(
                case_id=case.pk,
                number=1,
                submitted_at=form.submitted_at,
                submitted_by_id=form.submitted_by_id,
                data=_form_data(form),
                rejection_reason=(case.campaign_reason or case.brand_reason)[:500]
                if case.state in ("brand_rejected", "campaign_rejected")
                else "",
            )
        brand = None
        if case.brand_registry_id and case.brand_registry_id in brands_by_id:
            # The same brand reached by a later case: the later case's view of it is the newer one.
            brand = brands_by_id[case.brand_registry_id]
            if case.brand_approved_at is not None or brand.status != "approved":
                Brand.objects.filter(pk=brand.pk).update(
                    status=_brand_status(case), reason=case.brand_reason, identity_status=case.brand_identity_status
                )
        elif case.brand_registry_id or case.state == BRAND_WAITING or case.brand_reason:
            # (a brand the registry refused outright has a reason but no id: kept, so the reason is not lost)
            brand = Brand.objects.create(
                organisation_id=case.organisation_id,
                legal_name=(form.legal_name if form else "") or case.organisation.name,
                dba_name=form.dba_name if form else "",
                entity_type=form.entity_type if form else "",
                tax_number=form.tax_number if form else "",
                country=form.country if form else "US",
                registry_id=case.brand_registry_id,
                reference=f"case-{case.pk}-brand-{case.brand_round}",
                attempts=case.brand_attempts,
                status=_brand_status(case),
                identity_status=case.brand_identity_status,
                reason=case.brand_reason,
                submitted_at=case.state_changed if case.state == BRAND_WAITING else case.opened_at,
                approved_at=case.brand_approved_at,
                status_changed=case.brand_approved_at or case.state_changed,
                created=case.opened_at,
            )
            if case.brand_registry_id:
                brands_by_id[case.brand_registry_id] = brand
        campaign = None
        if case.campaign_registry_id and case.campaign_registry_id in campaigns_by_id:
            campaign = campaigns_by_id[case.campaign_registry_id]
            Campaign.objects.filter(pk=campaign.pk).update(
                status=_campaign_status(case, cancelled_from.get(case.pk, "")), reason=case.campaign_reason
            )
        elif brand is not None and (
            case.campaign_registry_id or case.state == CAMPAIGN_WAITING or case.campaign_reason
        ):
            status = _campaign_status(case, cancelled_from.get(case.pk, ""))
            campaign = Campaign.objects.create(
                organisation_id=case.organisation_id,
                brand=brand,
                use_case=(form.use_case if form else "") or "MIXED",
                description=form.description if form else "",
                registry_id=case.campaign_registry_id,
                reference=f"case-{case.pk}-campaign-{case.campaign_round}",
                attempts=case.campaign_attempts,
                status=status,
                reason=case.campaign_reason,
                submitted_at=case.state_changed,
                approved_at=case.state_changed if status == "active" else None,
                status_changed=case.state_changed,
                created=case.opened_at,
            )
            if case.campaign_registry_id:
                campaigns_by_id[case.campaign_registry_id] = campaign
        RegistrationCase.objects.filter(pk=case.pk).update(kind="first_registration", brand=brand, campaign=campaign)
        if campaign is not None and case.state in ("numbers_assigned", "completed"):
            status = "assigned" if case.state == "completed" else "pending_assignment"
            for number_id in CaseNumber.objects.filter(case_id=case.pk).values_list("number_id", flat=True):
                membership[number_id] = (campaign.pk, status, case.pk)
    CampaignNumber.objects.bulk_create(
        CampaignNumber(number_id=number_id, campaign_id=campaign_id, status=status, case_id=case_id)
        for number_id, (campaign_id, status, case_id) in membership.items()
    )
    for campaign in Campaign.objects.all():
        if CampaignNumber.objects.filter(campaign=campaign).exclude(status="removed").count() > 49:
            Campaign.objects.filter(pk=campaign.pk).update(is_number_pool=True)


def backwards(apps, schema_editor):
    apps.get_model("compliance", "RegistrationCase").objects.update(brand=None, campaign=None)
    for name in ("CampaignNumber", "RegistrationVersion", "Campaign", "Brand"):
        apps.get_model("compliance", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_brands_and_campaigns")]

    operations = [migrations.RunPython(forwards, backwards)]
