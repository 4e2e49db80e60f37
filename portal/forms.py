"""What every form of the portal shares (labels without a trailing colon, typed text that is never echoed back
unsafely, list filters read from the query string), and the sign-in form."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from .lists import typed_text
from .widgets import FastSelect, FastSelectMultiple

FAST_WIDGETS = {forms.Select: FastSelect, forms.SelectMultiple: FastSelectMultiple}


class PortalForm(forms.Form):
    """A form whose labels end without a colon, like every label in Control Hub. (Django adds ":" unless the form is
    created with label_suffix="": a `label_suffix` class attribute is overwritten by Form.__init__.)

    Its select boxes write their options in Python (portal.widgets: the same HTML, a fraction of the CPU): each
    plain Select or SelectMultiple of the form's own copy of its fields becomes the fast one, attributes and choices
    kept."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            fast = FAST_WIDGETS.get(type(field.widget))
            if fast is not None:  # the form's own deep copy of the field and its widget (Form.__init__)
                field.widget.__class__ = fast  # a subclass adding no state: everything the field set stays


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


class TypedTextField(forms.CharField):
    """A text field that, when its form is shown again to correct an error, shows what was typed minus what a page
    should not send back: NUL characters, and a value longer than the field takes (a megabyte posted by a script is
    refused, not echoed back a megabyte). Its validators still see the value as posted."""

    def bound_data(self, data, initial):
        if not isinstance(data, str) or (self.max_length is not None and len(data) > self.max_length):
            return ""
        return data.replace("\x00", "")


class SignInForm(AuthenticationForm):
    """Django's sign-in form, except that an email longer than any account's is refused as such: not looked up, not
    counted as a failed sign-in, and not echoed back into the page."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "username_too_long": _("An email address has at most %(limit_value)d characters."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        username = self.fields["username"]
        # AuthenticationForm sets max_length after the field was built, so no validator enforces it.
        username.validators.append(
            MaxLengthValidator(username.max_length, message=self.error_messages["username_too_long"])
        )
