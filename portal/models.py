"""The Control Hub shell's own nouns: partners, customer organisations, users and their roles, the audit log."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class ChoiceLabels:
    """`get_FOO_display()` that finds the label by value in a dict built once per field and language. Django's builds
    that dict on every call by hashing each choice's label, and a translated label is hashed by translating it: a
    catalogue look-up per choice, per call (a 50-row page of numbers made some 600 of them; benchmarks/i18n_render.py).
    Put it before models.Model in a model's bases."""

    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        by_language = field.__dict__.setdefault("_labels_by_language", {})
        language = get_language()
        try:
            labels = by_language.get(language)
            if labels is None:
                labels = by_language[language] = {
                    choice: force_str(label, strings_only=True) for choice, label in field.flatchoices
                }
            return labels.get(value, value)
        except TypeError:  # an unhashable choice value (a list, a dict): Django's way copes with it
            return super()._get_FIELD_display(field)


class Partner(models.Model):
    """The reseller that sells Cisco Calling Plan and the Business Texting Add-On to customers."""

    name = models.CharField(max_length=200, unique=True)

    def __str__(self):
        return self.name


class Organisation(ChoiceLabels, models.Model):
    class CustomerType(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        ONLINE = "online", _("Online (self-service)")
        TRIAL = "trial", _("Trial")

    name = models.CharField(max_length=200, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="organisations")
    customer_type = models.CharField(max_length=20, choices=CustomerType.choices)
    # ISO 3166-1 alpha-2 country of the organisation's Cisco Calling Plan service.
    country = models.CharField(max_length=2)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer_type__in=["enterprise", "online", "trial"]),
                name="organisation_customer_type_valid",
            ),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="organisation_country_iso2"),
        ]

    def __str__(self):
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        """The portal operator (`manage.py createsuperuser`): the one account that may use the Django admin."""
        extra.update(is_staff=True, is_superuser=True, role=User.Role.OPERATOR, organisation=None)
        return self._create(email, password, **extra)


class User(ChoiceLabels, AbstractBaseUser, PermissionsMixin):
    """Everyone who signs in. Customer users belong to one organisation; Cisco PSTN support staff and portal operators
    to none. Only operators may use the Django admin (is_staff, is_superuser): support staff work through the support
    console alone, which checks their role, not these flags."""

    class Role(models.TextChoices):
        FULL_ADMIN = "full_admin", _("Full administrator")
        READONLY_ADMIN = "readonly_admin", _("Read-only administrator")
        SUPPORT = "support", _("Cisco PSTN support")
        END_USER = "end_user", _("End user")
        OPERATOR = "operator", _("Portal operator")

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.END_USER)
    # Dotted version string reported by the user's Webex App, e.g. "42.12.0.2345". Empty: unknown.
    webex_app_version = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text=_("May use the Django admin (portal operators only)."))
    # Granted by a full administrator of the organisation, on top of the user's role: only compliance officers read
    # text bodies (eDiscovery, exports, legal holds). Support staff and operators never hold it.
    is_compliance_officer = models.BooleanField(
        _("Compliance officer"),
        default=False,
        help_text=_("May search, export and place legal holds on the organisation's business texts."),
    )
    date_joined = models.DateTimeField(default=timezone.now)
    # The language the user chose in the user menu (a code of settings.LANGUAGES); empty: the browser's language.
    # Checked against settings.LANGUAGES when chosen (portal.actions.set_language), not by field choices, so adding a
    # language needs no migration.
    language = models.CharField(
        _("Language"),
        max_length=10,
        blank=True,
        help_text=_("The language of the portal for this user; empty: the browser's language."),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            # Support staff and operators work across organisations; everyone else belongs to exactly one.
            models.CheckConstraint(
                condition=(
                    Q(role__in=["support", "operator"], organisation__isnull=True)
                    | (~Q(role__in=["support", "operator"]) & Q(organisation__isnull=False))
                ),
                name="user_organisation_matches_role",
            ),
            # The Django admin edits users, licences and numbers outside every rule of the portal: operators only.
            models.CheckConstraint(
                condition=Q(role="operator") | Q(is_staff=False, is_superuser=False),
                name="user_only_operators_use_the_django_admin",
            ),
            # Compliance officers read one organisation's texts: a customer user, never support or an operator.
            models.CheckConstraint(
                condition=Q(is_compliance_officer=False) | ~Q(role__in=["support", "operator"]),
                name="user_compliance_officer_is_a_customer_user",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "role"])]

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        if self.role in (self.Role.SUPPORT, self.Role.OPERATOR) and self.organisation_id:
            raise ValidationError(
                {"organisation": _("Cisco PSTN support staff and operators do not belong to a customer organisation.")}
            )
        if self.role not in (self.Role.SUPPORT, self.Role.OPERATOR) and not self.organisation_id:
            raise ValidationError({"organisation": _("Customer users must belong to an organisation.")})
        if (self.is_staff or self.is_superuser) and self.role != self.Role.OPERATOR:
            raise ValidationError({"is_staff": _("Only portal operators may use the Django admin.")})

    @property
    def is_support(self) -> bool:
        return self.role == self.Role.SUPPORT

    @property
    def is_operator(self) -> bool:
        return self.role == self.Role.OPERATOR

    @property
    def is_customer_admin(self) -> bool:
        return self.role in (self.Role.FULL_ADMIN, self.Role.READONLY_ADMIN)

    @property
    def can_manage(self) -> bool:
        """Only full administrators change their organisation's configuration."""
        return self.role == self.Role.FULL_ADMIN

    def webex_app_version_tuple(self) -> tuple[int, ...] | None:
        return parse_version(self.webex_app_version)


def parse_version(text: str) -> tuple[int, ...] | None:
    """ "42.12.0.2345" -> (42, 12, 0, 2345); None when empty or not a dotted version."""
    try:
        return tuple(int(part) for part in text.strip().split(".")) if text and text.strip() else None
    except ValueError:
        return None


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError("Audit events are append-only.")

    def delete(self):
        raise ValidationError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Append-only record of who did what to which object. Written by domain actions via `portal.audit.record`."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "-created"])]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action} {self.target_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")

    @property
    def action_label(self):
        """What the event's code says, in the reader's language (portal.audit_labels)."""
        from .audit_labels import action_label

        return action_label(self.action)
