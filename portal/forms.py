"""Form pieces every app shares, and the sign-in form."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _


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
