"""Forms of the Business Texting pages."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from portal.forms import FilterForm, PortalForm, TypedTextField
from portal.models import Organisation, User
from provisioning.models import PhoneNumber
from provisioning.phone import normalise_tn

from .models import ApiToken, OptOut

NOT_A_USER = _("Enter the email of a user of this organisation.")


class ApiTokenForm(forms.Form):
    """Messaging API tokens → Issue a token: whose (the email of a user of the organisation) and an optional label.
    `cleaned_data["user"]` is that user."""

    email = TypedTextField(
        max_length=User._meta.get_field("email").max_length,
        label=_("User's email"),
        error_messages={"required": _("Enter the user's email."), "null_characters_not_allowed": NOT_A_USER},
    )
    label = TypedTextField(
        max_length=ApiToken._meta.get_field("label").max_length,
        required=False,
        label=_("Label"),
        error_messages={"null_characters_not_allowed": _("The label cannot contain NUL characters.")},
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(NOT_A_USER, code="not_a_user") from None
        user = User.objects.filter(organisation=self.organisation, email=email).first()
        if user is None:
            raise ValidationError(NOT_A_USER, code="not_a_user")
        self.cleaned_data["user"] = user
        return email


# --- the opt-out registry -----------------------------------------------------------------------------------------


class OptOutFilters(FilterForm):
    """The registry's search (digits of a number, any part of it) and which entries to list. Bookmarkable (GET); a
    search without a single digit is refused with a message and not applied."""

    DEFAULTS = {"q": "", "state": "active"}

    q = forms.CharField(
        required=False,
        max_length=40,
        label=_("Search by number"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Digits of a number, e.g. 555 0123")}),
    )
    state = forms.ChoiceField(
        required=False,
        choices=[
            ("active", _("In effect")),
            ("ended", _("Ended (START or removed)")),
            ("all", _("All")),
        ],
        label=_("Show"),
        error_messages={"invalid_choice": _("Choose what to show from the list.")},
    )

    def clean_q(self) -> str:
        """Only the digits count: +1 (415) 555-0123, 415.555 and 5550123 all search by their digits."""
        text = self.cleaned_data["q"]
        digits = "".join(ch for ch in text if "0" <= ch <= "9")
        if text and not digits:
            raise ValidationError(_("Search by the digits of a number."), code="no_digits")
        return digits


REASON_FIELD_LENGTH = OptOut._meta.get_field("reason").max_length


def reason_field(label, required_message):
    return TypedTextField(
        max_length=REASON_FIELD_LENGTH,
        label=label,
        error_messages={
            "required": required_message,
            "max_length": _("A reason has at most %(limit_value)d characters."),
            "null_characters_not_allowed": _("The reason cannot contain NUL characters."),
        },
    )


class OptOutAddForm(PortalForm):
    """Opt-out registry → Add a number: the number (any usual writing) and why."""

    number = TypedTextField(
        max_length=40,
        label=_("Number"),
        error_messages={
            "required": _("Enter the number to add."),
            "max_length": _("That is too long to be a telephone number."),
            "null_characters_not_allowed": _("That is not a telephone number."),
        },
    )
    reason = reason_field(_("Reason"), _("Say why this number must not be texted."))

    def clean_number(self) -> str:
        return normalise_tn(self.cleaned_data["number"])


class OptOutRemoveForm(PortalForm):
    reason = reason_field(_("Reason for removing"), _("Say why this number may be texted again."))


class OptOutImportForm(PortalForm):
    """Opt-out registry → Import a do-not-text list: a CSV file and why."""

    file = forms.FileField(
        label=_("CSV file"),
        error_messages={
            "required": _("Choose a CSV file to import."),
            "empty": _("The file is empty: it holds no telephone numbers."),
            "invalid": _("Choose a CSV file to import."),
        },
    )
    reason = reason_field(_("Reason"), _("Say why you import this list (for example, where it comes from)."))


# --- suspensions by Cisco PSTN support ----------------------------------------------------------------------------


class SuspendForm(PortalForm):
    """Support console → Suspend texting: the organisation, optionally one of its numbers, and the reason the
    customer will see. `cleaned_data["phone_number"]` is the PhoneNumber, or None for the whole organisation."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        label=_("Organisation"),
        error_messages={
            "required": _("Choose the organisation."),
            "invalid_choice": _("Choose an organisation from the list."),
        },
    )
    number = TypedTextField(
        max_length=40,
        required=False,
        label=_("Number"),
        help_text=_("Leave empty to suspend the whole organisation."),
        error_messages={"null_characters_not_allowed": _("That is not a telephone number.")},
    )
    reason = reason_field(_("Reason (the customer sees it)"), _("Say why texting is suspended: the customer sees it."))

    def clean(self):
        cleaned = super().clean()
        org, typed = cleaned.get("organisation"), cleaned.get("number")
        cleaned["phone_number"] = None
        if org is not None and typed:
            try:
                e164 = normalise_tn(typed)
            except ValidationError as exc:
                self.add_error("number", exc)
                return cleaned
            number = (
                PhoneNumber.objects.select_related("location").filter(e164=e164, location__organisation=org).first()
            )
            if number is None:
                self.add_error("number", _("%(org)s has no number %(number)s.") % {"org": org.name, "number": e164})
            cleaned["phone_number"] = number
        return cleaned


class LiftForm(PortalForm):
    reason = reason_field(_("Reason for lifting"), _("Say why the suspension is lifted."))
