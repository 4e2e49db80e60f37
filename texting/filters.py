"""The activity page's filters as a form: bookmarkable (GET), and a value the page does not offer (a period, a
status) or a number that is not a US or Canadian telephone number is refused with a message."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import FilterForm, PortalForm, TypedTextField
from portal.models import User
from provisioning.phone import normalise_tn

from .models import Message
from .queries import PERIODS


class ActivityFilters(FilterForm):
    DEFAULTS = {"days": 30, "number": "", "status": ""}

    days = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(str(days), days) for days in PERIODS],
        label=_("Period"),
        error_messages={"invalid_choice": _("Choose a period of 7, 30 or 90 days.")},
    )
    number = forms.CharField(
        required=False,
        max_length=40,
        label=_("Our number"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Our number, e.g. +1 512 555 0101")}),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", _("Any status")), *Message.Status.choices],
        label=_("Status"),
        error_messages={"invalid_choice": _("Choose a status from the list.")},
    )

    def clean_number(self):
        """Our number in any usual writing (+1 512 555 0101, (512) 555-0101), as stored: E.164."""
        number = self.cleaned_data["number"]
        return normalise_tn(number) if number else ""


class ExportFilters(PortalForm):
    """What to export: UTC days (both required, the last not before the first, at most MAX_DAYS apart), and
    optionally our number and a user of the organisation."""

    MAX_DAYS = 400

    first_day = forms.DateField(label=_("First day"))
    last_day = forms.DateField(label=_("Last day"))
    number = TypedTextField(required=False, max_length=40, label=_("Our number"))
    user = TypedTextField(required=False, max_length=254, label=_("User's email"))

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        return normalise_tn(number) if number else ""

    def clean_user(self):
        email = self.cleaned_data["user"].strip()
        if not email:
            return None
        user = User.objects.filter(organisation=self.organisation, email__iexact=email).first()
        if user is None:
            raise forms.ValidationError(_("“%(email)s” is not a user of your organisation.") % {"email": email})
        return user

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", _("The last day is before the first day."))
        elif first and last and (last - first).days >= self.MAX_DAYS:
            self.add_error("last_day", _("Export at most %(days)s days at a time.") % {"days": self.MAX_DAYS})
        return cleaned
