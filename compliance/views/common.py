"""What the customer's and support's case pages share: the step indicator, "what happens next", live refresh."""

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_htmx.http import HttpResponseClientRefresh

from portal.htmx import vary_on_htmx, wants_fragment

from ..models import RegistrationCase

State = RegistrationCase.State

STEPS = [
    ("Opened", {State.OPENED}),
    ("Registration form", {State.FORM_SENT, State.FORM_SUBMITTED}),
    ("Brand", {State.BRAND_SUBMITTED, State.BRAND_APPROVED, State.BRAND_REJECTED}),
    ("Campaign", {State.CAMPAIGN_SUBMITTED, State.CAMPAIGN_APPROVED, State.CAMPAIGN_REJECTED}),
    ("Numbers", {State.NUMBERS_ASSIGNED, State.REMOVING_NUMBERS}),
    ("Completed", {State.COMPLETED}),
]
# The step names as shown (a context of their own: "Opened" as a step, not the state).
STEP_TITLES = {
    "Opened": pgettext_lazy("case step", "Opened"),
    "Registration form": pgettext_lazy("case step", "Registration form"),
    "Brand": pgettext_lazy("case step", "Brand"),
    "Campaign": pgettext_lazy("case step", "Campaign"),
    "Numbers": pgettext_lazy("case step", "Numbers"),
    "Completed": pgettext_lazy("case step", "Completed"),
}
Kind = RegistrationCase.Kind
# The steps each kind of case goes through (labels of STEPS): a case that only moves numbers has no form.
STEPS_OF_KIND = {
    Kind.FIRST_REGISTRATION: [label for label, _states in STEPS],
    Kind.NEW_CAMPAIGN: ["Opened", "Registration form", "Campaign", "Numbers", "Completed"],
    Kind.RESUBMIT: ["Opened", "Registration form", "Campaign", "Numbers", "Completed"],
    Kind.ADD_NUMBERS: ["Opened", "Numbers", "Completed"],
    Kind.REMOVE_NUMBERS: ["Opened", "Numbers", "Completed"],
}

NEXT_FOR_CUSTOMER = {
    State.OPENED: _("Cisco PSTN support will send you the 10DLC registration form."),
    State.FORM_SENT: _("Fill in the 10DLC registration form below and submit it."),
    State.FORM_SUBMITTED: _("Support is reviewing your form and will register your brand and campaign."),
    State.BRAND_SUBMITTED: _("The Campaign Registry is checking your brand. This takes minutes to a few days."),
    State.BRAND_APPROVED: _("Your brand is approved. Support will now register your campaign."),
    State.BRAND_REJECTED: _("The registry rejected your brand. Correct the form below and submit it again."),
    State.CAMPAIGN_SUBMITTED: _("The registry and the mobile operators are reviewing your campaign."),
    State.CAMPAIGN_APPROVED: _("Your campaign is approved. Support will assign your numbers to it."),
    State.CAMPAIGN_REJECTED: _("The registry rejected your campaign. Correct the campaign below and submit it again."),
    State.NUMBERS_ASSIGNED: _("The carrier is adding your numbers to the campaign."),
    State.REMOVING_NUMBERS: _("The carrier is taking the numbers out of the campaign."),
    State.COMPLETED: _("Your numbers are registered in the campaign and can send business texts."),
    State.CANCELLED: _("This case was cancelled. Its numbers can be included in a new case."),
}

NEXT_FOR_SUPPORT = {
    State.OPENED: _("Send the 10DLC registration form to the customer."),
    State.FORM_SENT: _("Waiting for the customer to fill in and submit the form."),
    State.FORM_SUBMITTED: _(
        "Review the form and submit the brand (or the campaign, if the brand is already approved)."
    ),
    State.BRAND_SUBMITTED: _("Waiting for the registry's decision on the brand (polled, or by callback)."),
    State.BRAND_APPROVED: _("Submit the campaign."),
    State.BRAND_REJECTED: _("Waiting for the customer to correct and resubmit the form."),
    State.CAMPAIGN_SUBMITTED: _("Waiting for the registry's decision on the campaign (polled, or by callback)."),
    State.CAMPAIGN_APPROVED: _("Assign the numbers to the campaign."),
    State.CAMPAIGN_REJECTED: _("Waiting for the customer to correct and resubmit the form."),
    State.NUMBERS_ASSIGNED: _("Waiting for the carrier to confirm the numbers in the campaign."),
    State.REMOVING_NUMBERS: _("Waiting for the carrier to confirm the numbers left the campaign."),
    State.COMPLETED: _("Nothing: the case is complete."),
    State.CANCELLED: _("Nothing: the case is cancelled."),
}


# What happens next where the kind of case changes it: (kind, state) -> (for the customer, for support).
NEXT_BY_KIND = {
    (Kind.ADD_NUMBERS, State.OPENED): (
        _("Cisco PSTN support will assign the numbers to your campaign: no registration form is needed."),
        _("Assign the numbers to the campaign: no form, no brand or campaign submission."),
    ),
    (Kind.REMOVE_NUMBERS, State.OPENED): (
        _("Cisco PSTN support will take the numbers out of the campaign."),
        _("Remove the numbers from the campaign at the carrier."),
    ),
    (Kind.NEW_CAMPAIGN, State.FORM_SUBMITTED): (
        _("Support is reviewing your form and will register the campaign under your approved brand."),
        _("Review the form and submit the campaign under the approved brand (no brand submission)."),
    ),
    (Kind.RESUBMIT, State.FORM_SUBMITTED): (
        _("Support is reviewing your corrections and will resubmit the campaign."),
        _("Review what changed since the rejection and resubmit the campaign."),
    ),
    (Kind.RESUBMIT, State.CAMPAIGN_APPROVED): (
        _("Your corrected campaign is approved. Support will assign the numbers of this case to it, if any."),
        _("Assign the case's numbers to the campaign, or complete the case if it brought none."),
    ),
    (Kind.RESUBMIT, State.COMPLETED): (
        _("Your corrected campaign is active: its numbers can send business texts."),
        _("Nothing: the case is complete."),
    ),
    (Kind.REMOVE_NUMBERS, State.COMPLETED): (
        _("The numbers left the campaign: they are authorised but send no business texts until they join a campaign."),
        _("Nothing: the case is complete."),
    ),
}


def next_step(case: RegistrationCase, *, for_support: bool) -> str:
    override = NEXT_BY_KIND.get((case.kind, case.state))
    if override is not None:
        return override[1 if for_support else 0]
    return (NEXT_FOR_SUPPORT if for_support else NEXT_FOR_CUSTOMER)[case.state]


def steps(case: RegistrationCase) -> list[tuple[str, str]]:
    """(label, "done" | "current" | "") for the step indicator, with the steps of the case's kind."""
    labels = STEPS_OF_KIND.get(case.kind, STEPS_OF_KIND[Kind.FIRST_REGISTRATION])
    of_state = next((label for label, states in STEPS if case.state in states), None)
    current = labels.index(of_state) if of_state in labels else None
    if case.state == State.COMPLETED:
        return [(STEP_TITLES[label], "done") for label in labels]
    return [
        (
            STEP_TITLES[label],
            "done" if current is not None and index < current else "current" if index == current else "",
        )
        for index, label in enumerate(labels)
    ]


def live_refresh(request, case: RegistrationCase) -> HttpResponse | None:
    """Answer the page's poll (`?seen=<state>` while the case waits on the carrier): reload the page when the state
    changed, else nothing to swap."""
    if not (wants_fragment(request) and "seen" in request.GET):
        return None
    if request.GET["seen"] != case.state:
        return vary_on_htmx(HttpResponseClientRefresh())
    return vary_on_htmx(HttpResponse(status=204))
