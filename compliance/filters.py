"""The support queue's filters as a form: bookmarkable (GET), and a value the page does not offer is refused with a
message instead of being silently ignored."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import FilterForm
from portal.models import Organisation

from .models import RegistrationCase
from .queries import AGE_FILTERS, DEFAULT_SORT, SORTS


class SupportQueueFilters(FilterForm):
    """The support queue's filters and sort, from the query string. A value the lists do not offer is refused."""

    DEFAULTS = {"state": "open", "organisation": None, "age": "", "sort": DEFAULT_SORT}

    state = forms.ChoiceField(
        required=False, label=_("State"), error_messages={"invalid_choice": _("Choose a state from the list.")}
    )
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.filter(registration_cases__isnull=False).distinct().order_by("name"),
        required=False,
        label=_("Organisation"),
        empty_label=_("All organisations"),
        error_messages={"invalid_choice": _("Choose an organisation from the list.")},
    )
    age = forms.ChoiceField(
        required=False, label=_("Age"), error_messages={"invalid_choice": _("Choose an age from the list.")}
    )
    sort = forms.ChoiceField(
        required=False, label=_("Sort"), error_messages={"invalid_choice": _("Choose a sort order from the list.")}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [
            ("open", _("Open (not completed or cancelled)")),
            ("all", _("All states")),
            *RegistrationCase.State.choices,
        ]
        self.fields["age"].choices = [("", _("Any age")), *((k, label) for k, (label, _f) in AGE_FILTERS.items())]
        self.fields["sort"].choices = [(k, label) for k, (label, _o) in SORTS.items()]
