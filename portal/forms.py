"""What every form of the portal shares: labels without a trailing colon, and list filters read from the query
string."""

from django import forms

from .lists import typed_text


class PortalForm(forms.Form):
    """A form whose labels end without a colon, like every label in Control Hub. (Django adds ":" unless the form is
    created with label_suffix="": a `label_suffix` class attribute is overwritten by Form.__init__.)"""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class FilterForm(PortalForm):
    """A list page's filters, read from its query string (GET, so a filtered list can be bookmarked and shared).

    `filters()` gives every filter's value: what was asked for when it is valid, else the field's default
    (`DEFAULTS`), so the page still shows; `errors` then says which value was refused and why. Typed text is trimmed,
    cut to the field's max_length and rid of NUL characters before it is validated or shown back.
    """

    DEFAULTS: dict = {}

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self.data = self.data.copy()
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) and name in self.data:
                self.data[name] = typed_text(self.data[name], field.max_length or 100)
            elif not self.data.get(name) and self.DEFAULTS.get(name) not in (None, ""):
                self.data[name] = str(self.DEFAULTS[name])  # so the page shows the filter that applies

    def filters(self) -> dict:
        self.is_valid()  # a refused value is left out of cleaned_data, its error kept for the page to show
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned[name] if cleaned.get(name) not in (None, "") else self.DEFAULTS.get(name, "")
            for name in self.fields
        }
