"""The activity page's filters as a form: bookmarkable (GET), and a value the page does not offer (a period, a
status) or a number that is not a US or Canadian telephone number is refused with a message."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import FilterForm
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
