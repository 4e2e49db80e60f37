"""Forms of the Business Texting pages."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from portal.forms import TypedTextField
from portal.models import User

from .models import ApiToken

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
