"""The support queue's filters as a form: bookmarkable (GET), and a value the page does not offer is refused with a
message instead of being silently ignored."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import FilterForm
from portal.models import Organisation
from portal.replica import reporting_db

from .models import RegistrationCase
from .queries import AGE_FILTERS, DEFAULT_SORT, OWNER_FILTERS, READ_FILTERS, SORTS, SearchRefused, parse_case_search


def _searches(text) -> bool:
    """Whether `text` is a search the queue runs (not empty, not refused)."""
    try:
        return parse_case_search(text if isinstance(text, str) else "") is not None
    except SearchRefused:
        return False


class SupportQueueFilters(FilterForm):
    """The support queue's search box, filters and sort, from the query string. A value the lists do not offer is
    refused, and so is a search too short to mean anything (with what to type instead)."""

    DEFAULTS = {
        "q": "",
        "state": "open",
        "kind": "",
        "owner": "",
        "read": "",
        "organisation": None,
        "age": "",
        "sort": DEFAULT_SORT,
    }

    q = forms.CharField(
        required=False,
        max_length=100,
        label=_("Search"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("#1042, +1 512-555-0100, B1A2C3D, Acme…"), "size": 28}
        ),
        help_text=_(
            "Case number (#1042), phone number (any form, or some of its digits), brand or campaign id (B… / C…), "
            "organisation or brand name."
        ),
    )
    state = forms.ChoiceField(
        required=False, label=_("State"), error_messages={"invalid_choice": _("Choose a state from the list.")}
    )
    kind = forms.ChoiceField(
        required=False, label=_("Kind"), error_messages={"invalid_choice": _("Choose a case kind from the list.")}
    )
    owner = forms.ChoiceField(
        required=False, label=_("Owner"), error_messages={"invalid_choice": _("Choose an owner from the list.")}
    )
    read = forms.ChoiceField(
        required=False, label=_("Read"), error_messages={"invalid_choice": _("Choose read or unread from the list.")}
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

    def __init__(self, data, **kwargs):
        # A search looks through every state unless a state was chosen: the number support is asked about may be in
        # a completed case.
        if not data.get("state") and _searches(data.get("q")):
            data = data.copy()
            data["state"] = "all"
        super().__init__(data, **kwargs)
        self.search = None  # what the search box asked for, once the form is cleaned
        self.fields["state"].choices = [
            ("open", _("Open (not completed or cancelled)")),
            ("all", _("All states")),
            *RegistrationCase.State.choices,
        ]
        self.fields["kind"].choices = [("", _("Any kind")), *RegistrationCase.Kind.choices]
        self.fields["owner"].choices = [("", _("Anyone or nobody")), *OWNER_FILTERS.items()]
        self.fields["read"].choices = [("", _("Read or unread")), *READ_FILTERS.items()]
        self.fields["age"].choices = [("", _("Any age")), *((k, label) for k, (label, _f) in AGE_FILTERS.items())]
        self.fields["sort"].choices = [(k, label) for k, (label, _o) in SORTS.items()]
        # The organisations that have cases: read with the queue itself (portal/replica.py).
        self.fields["organisation"].queryset = self.fields["organisation"].queryset.using(reporting_db())

    def clean_q(self):
        text = self.cleaned_data.get("q", "")
        try:
            self.search = parse_case_search(text)
        except SearchRefused as refused:
            self.search = None
            raise forms.ValidationError(str(refused), code="search") from None
        return text

    def filters(self) -> dict:
        values = super().filters()
        values["search"] = self.search
        return values
