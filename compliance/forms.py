"""Forms of the case pages: opening a case, the registration form (draft and submit), and support's actions."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.forms import PortalForm, TypedTextField
from provisioning.models import PhoneNumber
from provisioning.phone import normalise_tn

from .checks import presubmission_warnings
from .models import RegistrationCase, RegistrationForm
from .models.registration import FIELD_LABELS, SAMPLE_FIELDS, EntityType
from .queries import support_users
from .validation import normalise_postal_code, normalise_registry_id, normalise_tax_number

BRAND_FIELDS = (
    "legal_name",
    "dba_name",
    "entity_type",
    "tax_number",
    "country",
    "street",
    "city",
    "region",
    "postal_code",
    "website",
    "vertical",
    "support_email",
    "support_phone",
    "stock_symbol",
    "stock_exchange",
)
CAMPAIGN_FIELDS = (
    "use_case",
    "description",
    *SAMPLE_FIELDS,
    "message_flow",
    "opt_in_keywords",
    "opt_in_message",
    "opt_out_keywords",
    "opt_out_message",
    "help_keywords",
    "help_message",
    "embedded_links",
    "embedded_phone_numbers",
    "age_gated",
    "monthly_volume",
)
REQUIRED = {
    "legal_name",
    "entity_type",
    "country",
    "street",
    "city",
    "region",
    "postal_code",
    "website",
    "vertical",
    "support_email",
    "support_phone",
    "use_case",
    "description",
    "message_flow",
    "opt_out_keywords",
    "opt_out_message",
    "help_keywords",
    "help_message",
    "monthly_volume",
}
SAMPLE_LENGTH = (20, 1024)
REPLY_LENGTH = (20, 320)
DESCRIPTION_LENGTH = (40, 4096)
KEYWORD = re.compile(r"^[A-Z0-9]{1,20}$")
STOCK_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
https_url = URLValidator(schemes=["https"])


def _length(text: str, bounds: tuple[int, int], what: str) -> None:
    low, high = bounds
    if not low <= len(text) <= high:
        raise ValidationError(
            gettext("%(what)s must be %(low)s to %(high)s characters long (now %(now)s).")
            % {"what": what, "low": low, "high": high, "now": len(text)},
            code="length",
        )


def _keywords(text: str, what: str, must_include: str | None = None) -> str:
    words = [word.strip().upper() for word in text.replace(";", ",").split(",") if word.strip()]
    bad = [word for word in words if not KEYWORD.match(word)]
    if bad:
        raise ValidationError(
            gettext(
                "%(what)s: “%(word)s” is not a keyword. Use single words of letters and digits, separated by commas."
            )
            % {"what": what, "word": bad[0]},
            code="keywords",
        )
    if must_include and must_include not in words:
        raise ValidationError(
            gettext("%(what)s must include %(keyword)s.") % {"what": what, "keyword": must_include}, code="keywords"
        )
    return ", ".join(dict.fromkeys(words))


def use_case_fixed(campaign) -> str:
    """Why a submitted campaign's use case cannot change."""
    return gettext(
        "The campaign was submitted as '%(use_case)s': its use case cannot change. A different use case is a new "
        "campaign: open a case for a new campaign instead."
    ) % {"use_case": campaign.get_use_case_display()}


class RegistrationFormForm(forms.ModelForm):
    """The 10DLC registration form. Submitting needs every field valid; `save_draft` keeps whatever was typed.

    The brand part is read-only once the registry approved the brand (the form came back after a campaign
    rejection): only the campaign is corrected.
    """

    class Meta:
        model = RegistrationForm
        fields = BRAND_FIELDS + CAMPAIGN_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "message_flow": forms.Textarea(attrs={"rows": 3}),
            "opt_in_message": forms.Textarea(attrs={"rows": 2}),
            "opt_out_message": forms.Textarea(attrs={"rows": 2}),
            "help_message": forms.Textarea(attrs={"rows": 2}),
            **{name: forms.Textarea(attrs={"rows": 2}) for name in SAMPLE_FIELDS},
            "website": forms.TextInput(attrs={"type": "url", "placeholder": "https://"}),
            "support_email": forms.TextInput(attrs={"type": "email"}),
            "support_phone": forms.TextInput(attrs={"type": "tel"}),
        }
        labels = FIELD_LABELS
        help_texts = {
            "legal_name": _("Exactly as registered with the IRS (US) or the CRA (Canada)."),
            "tax_number": _(
                "US: EIN as NN-NNNNNNN. Canada: Business Number, 9 digits. Not needed for a sole proprietor."
            ),
            "website": _("A secure (https://) address the registry can check."),
            "stock_symbol": _("Public companies only."),
            "description": _("What the campaign sends and why (40 characters or more)."),
            "sample_1": _("20 to 1024 characters. Name your brand and say how to opt out (Reply STOP to opt out)."),
            "message_flow": _("How recipients agree to receive your texts: web form, keyword, paper form, ..."),
            "opt_out_keywords": _("Comma-separated; must include STOP."),
            "help_keywords": _("Comma-separated; must include HELP."),
            "opt_out_message": _("Sent once when someone opts out. Name your brand."),
            "help_message": _("Sent when someone texts HELP: your brand and how to reach you."),
        }

    def __init__(self, *args, case: RegistrationCase, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.case = case
        self.brand_locked = case.brand_is_approved
        # A submitted campaign keeps its use case: a different one is a new campaign (SPEC.md 8).
        self.locked_use_case = case.campaign.use_case if case.campaign_id and case.campaign.is_submitted else None
        for name, field in self.fields.items():
            field.required = name in REQUIRED
            if self.brand_locked and name in BRAND_FIELDS:
                field.disabled = True  # the page says once why the brand part is read-only
                field.help_text = ""
            if isinstance(field, forms.CharField):
                max_length = RegistrationForm._meta.get_field(name).max_length
                if max_length:
                    field.widget.attrs.setdefault("maxlength", max_length)
        for name in SAMPLE_FIELDS:
            self.fields[name].widget.attrs["maxlength"] = SAMPLE_LENGTH[1]

    # --- fields ---------------------------------------------------------------------------------------------------

    def clean_use_case(self):
        use_case = self.cleaned_data["use_case"]
        if self.locked_use_case and use_case != self.locked_use_case:
            raise ValidationError(use_case_fixed(self.case.campaign), code="use_case_fixed")
        return use_case

    def clean_website(self):
        website = self.cleaned_data["website"].strip()
        try:
            https_url(website)
        except ValidationError:
            raise ValidationError(
                _("Enter the brand's website as a full https:// address, for example https://www.example.com."),
                code="website",
            ) from None
        return website

    def clean_support_email(self):
        email = self.cleaned_data["support_email"].strip()
        validate_email(email)
        return email.lower()

    def clean_description(self):
        text = self.cleaned_data["description"].strip()
        _length(text, DESCRIPTION_LENGTH, _("The description"))
        return text

    def clean_message_flow(self):
        text = self.cleaned_data["message_flow"].strip()
        _length(text, DESCRIPTION_LENGTH, _("The opt-in description"))
        return text

    def clean_opt_out_keywords(self):
        return _keywords(self.cleaned_data["opt_out_keywords"], _("Opt-out keywords"), must_include="STOP")

    def clean_help_keywords(self):
        return _keywords(self.cleaned_data["help_keywords"], _("Help keywords"), must_include="HELP")

    def clean_opt_in_keywords(self):
        return _keywords(self.cleaned_data["opt_in_keywords"], _("Opt-in keywords"))

    def clean_opt_out_message(self):
        text = self.cleaned_data["opt_out_message"].strip()
        _length(text, REPLY_LENGTH, _("The opt-out reply"))
        return text

    def clean_help_message(self):
        text = self.cleaned_data["help_message"].strip()
        _length(text, REPLY_LENGTH, _("The help reply"))
        return text

    def clean_opt_in_message(self):
        text = self.cleaned_data["opt_in_message"].strip()
        if text:
            _length(text, REPLY_LENGTH, _("The opt-in confirmation"))
        return text

    def _clean_sample(self, name):
        text = self.cleaned_data[name].strip()
        if text:
            _length(text, SAMPLE_LENGTH, _("A sample message"))
        return text

    def clean_sample_1(self):
        return self._clean_sample("sample_1")

    def clean_sample_2(self):
        return self._clean_sample("sample_2")

    def clean_sample_3(self):
        return self._clean_sample("sample_3")

    def clean_sample_4(self):
        return self._clean_sample("sample_4")

    def clean_sample_5(self):
        return self._clean_sample("sample_5")

    # --- fields that depend on others -------------------------------------------------------------------------------

    def clean(self):
        data = super().clean()
        if self.brand_locked:
            return data
        country = data.get("country")
        entity_type = data.get("entity_type")
        tax_number = (self.data.get(self.add_prefix("tax_number")) or "").strip()
        if country and entity_type:
            if tax_number:
                try:
                    data["tax_number"] = normalise_tax_number(tax_number, country)
                except ValidationError as error:
                    self.add_error("tax_number", error)
            elif entity_type != EntityType.SOLE_PROPRIETOR:
                self.add_error(
                    "tax_number",
                    ValidationError(
                        _("Enter the tax number: the EIN for a US company, the Business Number for a Canadian one."),
                        code="required",
                    ),
                )
        if country and data.get("support_phone"):
            try:
                data["support_phone"] = normalise_tn(data["support_phone"], default_region=country)
            except ValidationError as error:
                self.add_error("support_phone", error)
        if country and data.get("postal_code"):
            try:
                data["postal_code"] = normalise_postal_code(data["postal_code"], country)
            except ValidationError as error:
                self.add_error("postal_code", error)
        if entity_type == EntityType.PUBLIC_PROFIT:
            symbol = (data.get("stock_symbol") or "").strip().upper()
            if not symbol:
                self.add_error(
                    "stock_symbol", ValidationError(_("A public company gives its stock symbol."), code="required")
                )
            elif not STOCK_SYMBOL.match(symbol):
                self.add_error("stock_symbol", _("Enter the ticker symbol, for example CSCO."))
            else:
                data["stock_symbol"] = symbol
            if not data.get("stock_exchange"):
                self.add_error(
                    "stock_exchange",
                    ValidationError(_("A public company gives the exchange its stock trades on."), code="required"),
                )
        return data

    def _post_clean(self):
        super()._post_clean()
        # At least two samples, whichever slots they are typed in.
        if len([name for name in SAMPLE_FIELDS if (self.data.get(self.add_prefix(name)) or "").strip()]) < 2:
            for name in ("sample_1", "sample_2"):
                if not (self.data.get(self.add_prefix(name)) or "").strip() and name not in self.errors:
                    self.add_error(name, ValidationError(_("Give at least two sample messages."), code="required"))

    # --- drafts ---------------------------------------------------------------------------------------------------

    def save_draft(self, by, *, for_submission: bool = False) -> RegistrationForm:
        """Store every field as typed (normalised where it is valid), whatever the errors. A plain draft then shows
        only the errors of fields that hold something (an empty field is fine in a draft); a failed submission
        shows them all."""
        self.is_valid()
        registration = self.instance
        self.not_saved = []  # labels of fields typed longer than they hold: kept as they were, never cut
        for name, field in self.fields.items():
            if field.disabled or (name == "use_case" and self.locked_use_case):
                continue  # never stored from a draft: read-only, or fixed once the campaign was submitted
            model_field = RegistrationForm._meta.get_field(name)
            if name in self.cleaned_data and name not in self.errors:
                value = self.cleaned_data[name]
            elif isinstance(field, forms.BooleanField):
                value = bool(self.data.get(self.add_prefix(name)))
            else:
                # As typed, minus NUL characters: no database text column holds them (PostgreSQL refuses them).
                value = (self.data.get(self.add_prefix(name)) or "").replace("\x00", "")
                if model_field.choices and value and value not in dict(model_field.flatchoices):
                    continue  # a choice that does not exist: keep what was there
                if model_field.max_length and len(value) > model_field.max_length:
                    self.not_saved.append(str(field.label))
                    continue
            setattr(registration, name, value)
        registration.saved_at = timezone.now()
        registration.saved_by = by
        registration.save()
        if not for_submission:
            self.drop_required_errors()
        return registration

    def drop_required_errors(self) -> None:
        """A draft may leave fields empty: forget "required" errors, keep the ones about what was typed."""
        for name in list(self._errors or {}):
            kept = [error for error in self._errors[name].as_data() if error.code != "required"]
            if kept:
                self._errors[name] = self.error_class(kept, renderer=self.renderer)
            else:
                del self._errors[name]

    @classmethod
    def for_saved_draft(cls, registration: RegistrationForm, case: RegistrationCase) -> "RegistrationFormForm":
        """The saved draft as a bound form, so what was wrong with it when saved shows again on a later visit."""
        data = {}
        for name in BRAND_FIELDS + CAMPAIGN_FIELDS:
            value = getattr(registration, name)
            if isinstance(value, bool):
                if value:
                    data[name] = "on"
            else:
                data[name] = value
        form = cls(data, instance=registration, case=case)
        form.is_valid()
        form.drop_required_errors()
        return form

    def warnings(self) -> list:
        """The pre-submission warnings for what the form shows: as typed when bound (a brand part the registry
        approved shows, and is checked, as saved), else as the draft was saved. Each warning is also attached to its
        field (`field.warnings`) for the field to show."""
        warnings = presubmission_warnings({name: self[name].value() for name in self.fields})
        for warning in warnings:
            bound = self[warning.field]
            bound.warnings = [*getattr(bound, "warnings", []), warning.message]
        return warnings

    def brand_fields(self):
        return [self[name] for name in BRAND_FIELDS]

    def campaign_fields(self):
        return [self[name] for name in CAMPAIGN_FIELDS]


class OpenCaseForm(PortalForm):
    contact_name = forms.CharField(max_length=200, label=_("Contact name"))
    contact_email = forms.EmailField(
        label=_("Contact email"),
        help_text=_("Support writes to this address, and the portal emails it when the case needs you."),
    )
    contact_phone = forms.CharField(
        max_length=40, required=False, label=_("Contact phone"), widget=forms.TextInput(attrs={"type": "tel"})
    )
    note = forms.CharField(
        max_length=2000, required=False, label=_("Note for support"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_contact_phone(self):
        phone = self.cleaned_data["contact_phone"].strip()
        return normalise_tn(phone) if phone else ""


class MessageForm(PortalForm):
    prefix = "message"  # several small forms share the case pages: keep their field ids apart
    text = forms.CharField(max_length=4000, label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(PortalForm):
    prefix = "note"
    text = forms.CharField(
        max_length=4000,
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only Cisco PSTN support staff see internal notes."),
    )


class CancelForm(PortalForm):
    prefix = "cancel"
    reason = forms.CharField(
        max_length=500, label=_("Why is the case cancelled?"), widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(PortalForm):
    """Support records the registry's decision on the brand or campaign by hand."""

    decision = forms.ChoiceField(
        choices=[("approved", _("Approved")), ("rejected", _("Rejected"))], widget=forms.RadioSelect
    )
    registry_id = forms.CharField(max_length=20, required=False, label=_("Registry id"))
    reason = forms.CharField(
        max_length=500, required=False, label=_("Reason (for a rejection)"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, kind: str, case: RegistrationCase, **kwargs):
        kwargs.setdefault("prefix", kind)
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.case = case
        known = _registry_id(case, kind)
        brand = kind == "brand"
        self.fields["registry_id"].label = (
            _("Brand id (The Campaign Registry)") if brand else _("Campaign id (The Campaign Registry)")
        )
        if known:
            self.fields["registry_id"].help_text = gettext("Known: %(id)s.") % {"id": known}
        else:
            self.fields["registry_id"].help_text = (
                _("Needed to approve: the registry's brand id.")
                if brand
                else _("Needed to approve: the registry's campaign id.")
            )
        if kind == "brand":
            self.fields["identity_status"] = forms.ChoiceField(
                required=False,
                label=_("Identity status"),
                choices=[
                    ("", "—"),
                    ("VERIFIED", "VERIFIED"),
                    ("VETTED_VERIFIED", "VETTED_VERIFIED"),
                    ("SELF_DECLARED", "SELF_DECLARED"),
                    ("UNVERIFIED", "UNVERIFIED"),
                ],
            )

    def clean_registry_id(self):
        value = self.cleaned_data["registry_id"].strip()
        return normalise_registry_id(value, self.kind) if value else ""

    def clean(self):
        data = super().clean()
        known = _registry_id(self.case, self.kind)
        if (
            data.get("decision") == "approved"
            and not (data.get("registry_id") or known)
            and "registry_id" not in self.errors
        ):
            self.add_error(
                "registry_id",
                gettext("Give the brand id the registry assigned.")
                if self.kind == "brand"
                else gettext("Give the campaign id the registry assigned."),
            )
        if data.get("decision") == "rejected" and not data.get("reason", "").strip():
            self.add_error("reason", _("Say why: the customer needs the reason to correct the form."))
        return data


def _registry_id(case: RegistrationCase, kind: str) -> str:
    """The registry id the case's brand or campaign has so far ("" if none)."""
    record = case.brand if kind == "brand" else case.campaign
    return record.registry_id if record is not None else ""


class SupportUserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name} ({obj.email})" if obj.full_name else obj.email


class OwnerForm(PortalForm):
    """Give a case to a support colleague. Only active Cisco PSTN support staff are offered, and only they pass."""

    prefix = "owner"
    owner = SupportUserChoiceField(
        queryset=None,
        label=_("Owner"),
        empty_label=None,
        error_messages={
            "required": _("Choose the colleague who will own the case."),
            "invalid_choice": _("Only Cisco PSTN support staff can own a case: choose a colleague from the list."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = support_users()
        # The options read once (a required select also reads them to decide on its `required` attribute), through
        # iter(): list() of the choices would ask their len(), a COUNT query.
        self.fields["owner"].widget.choices = list(iter(self.fields["owner"].choices))


class LegalHoldForm(PortalForm):
    """A legal hold's matter, custodians and range. The custodian users come as ids (a list to choose from); the
    numbers are typed, one a line or separated by commas, in any usual way, and must be the organisation's."""

    name = TypedTextField(label=_("Matter name"), max_length=200)
    reference = TypedTextField(label=_("Reference"), max_length=100, required=False)
    description = TypedTextField(label=_("Description"), max_length=2000, required=False, widget=forms.Textarea)
    first_day = forms.DateField(label=_("First day"), required=False)
    last_day = forms.DateField(label=_("Last day"), required=False)
    users = forms.TypedMultipleChoiceField(label=_("Users"), required=False, coerce=int)
    numbers = TypedTextField(label=_("Numbers"), max_length=4000, required=False, widget=forms.Textarea)

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        from .queries import hold_custodian_choices

        self.organisation = organisation
        self.fields["users"].choices = [
            (pk, f"{full_name} <{email}>" if full_name else email)
            for pk, full_name, email in hold_custodian_choices(organisation).values_list("pk", "full_name", "email")
        ]
        self.fields["users"].error_messages["invalid_choice"] = _(
            "Some chosen users are not users of your organisation. Reload the page and choose again."
        )

    def clean_numbers(self):
        """The typed numbers as the organisation's PhoneNumber ids; refused whole, naming the first that is not a
        number or not the organisation's."""
        typed = [part.strip() for part in re.split(r"[\n,;]+", self.cleaned_data["numbers"]) if part.strip()]
        e164s = {text: normalise_tn(text) for text in typed}  # ValidationError says what is wrong with a number
        found = dict(
            PhoneNumber.objects.filter(e164__in=e164s.values(), location__organisation=self.organisation).values_list(
                "e164", "pk"
            )
        )
        for text, e164 in e164s.items():
            if e164 not in found:
                # The number as typed: the page says nothing the officer did not write.
                raise ValidationError(_("“%(number)s” is not a number of your organisation.") % {"number": text})
        return sorted(set(found.values()))

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", _("The last day is before the first day."))
        if not self.errors and not cleaned.get("users") and not cleaned.get("numbers"):
            raise ValidationError(_("Choose at least one custodian: a user or a number whose texts the hold keeps."))
        return cleaned


class ReleaseHoldForm(PortalForm):
    note = TypedTextField(label=_("Why is the hold released?"), max_length=300, required=False)
    confirm = forms.BooleanField(
        label=_("I understand that the texts this hold keeps will be deleted by the next purge once past retention."),
        error_messages={"required": _("Tick the box to confirm the release.")},
    )
